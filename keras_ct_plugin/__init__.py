"""Transposed convolution layers that behave the same on every Keras backend."""

from keras_ct_plugin import ops
from keras_ct_plugin.base_conv_transpose import BaseConvTranspose
from keras_ct_plugin.tracing import exporting
from keras_ct_plugin.layers import Conv1DTranspose
from keras_ct_plugin.layers import Conv2DTranspose
from keras_ct_plugin.layers import Conv3DTranspose
from keras_ct_plugin.migrate import replace_builtin_layers
from keras_ct_plugin.torch_interop import from_torch

__version__ = "0.1.0"

__all__ = [
    "BaseConvTranspose",
    "Conv1DTranspose",
    "Conv2DTranspose",
    "Conv3DTranspose",
    "exporting",
    "from_torch",
    "ops",
    "replace_builtin_layers",
]
