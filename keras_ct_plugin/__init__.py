"""Transposed convolution layers that behave the same on every Keras backend."""

import sys

__version__ = "0.1.0"

__all__ = [
    "BaseConvTranspose",
    "Conv1DTranspose",
    "Conv2DTranspose",
    "Conv3DTranspose",
    "exporting",
    "from_torch",
    "initializers",
    "ops",
    "replace_builtin_layers",
]

# The command-line tools that run each backend in a process of its own. Their
# parent process imports no framework (Keras imports one), so that the user
# sees their progress bars and tables without a framework's start-up log.
_LAUNCHERS = ("keras_ct_plugin.conformance", "keras_ct_plugin.bench")


def _is_launcher():
    argv = getattr(sys, "orig_argv", [])
    return "-m" in argv[:-1] and argv[argv.index("-m") + 1] in _LAUNCHERS


if not _is_launcher():
    # Importing the layers registers them with Keras, so that `.keras` files
    # load after `import keras_ct_plugin` alone.
    from keras_ct_plugin import initializers
    from keras_ct_plugin import ops
    from keras_ct_plugin.base_conv_transpose import BaseConvTranspose
    from keras_ct_plugin.layers import Conv1DTranspose
    from keras_ct_plugin.layers import Conv2DTranspose
    from keras_ct_plugin.layers import Conv3DTranspose
    from keras_ct_plugin.migrate import replace_builtin_layers
    from keras_ct_plugin.torch_interop import from_torch
    from keras_ct_plugin.tracing import exporting
