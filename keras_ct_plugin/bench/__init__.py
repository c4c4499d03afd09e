"""Benchmark of the plugin's layers against `keras.layers.Conv2DTranspose`."""
