"""The conformance suite: `python -m keras_ct_plugin.conformance`."""
