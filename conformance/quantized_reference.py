"""What an int8 or int4 quantized transposed convolution computes, in NumPy,
from the definitions: symmetric abs-max quantization (integer =
round(value * scale), clipped to the mode's range, scale = max / max|value|)
of the kernel per output channel and, for int8, of the inputs per position;
then the integers over their scales, scattered as `reference.conv_transpose`
scatters (in float64, where the integer products and their sums are exact)."""

import numpy as np

from keras_ct_plugin.conformance import reference

# Keras's default epsilon, which its AbsMaxQuantizer adds to max|value|.
EPSILON = 1e-7
RANGES = {"int8": (-127, 127), "int4": (-8, 7)}
# max |quantized - float| / max |float| seen on uniform(-1, 1) operands; the
# conformance family checks these bounds.
FLOAT_TOLERANCE = {"int8": 0.03, "int4": 0.3}


def quantize(values, axes, mode):
    """(integers, scale) with the scale kept on the reduced axes."""
    low, high = RANGES[mode]
    scale = high / (np.max(np.abs(values), axis=axes, keepdims=True) + EPSILON)
    return np.clip(np.round(values * scale), low, high), scale


def conv_transpose(x, kernel, mode, settings, inputs_quantized=None):
    """`settings`: conv_transpose's keyword arguments. The inputs are
    quantized (int8, per position) where `inputs_quantized`, by default for
    int8 only, as Keras's Dense quantizes them."""
    x, kernel = np.asarray(x, np.float64), np.asarray(kernel, np.float64)
    rank = kernel.ndim - 2
    kernel_q, kernel_scale = quantize(kernel, tuple(i for i in range(rank + 2) if i != rank),
                                      mode)
    if inputs_quantized is None:
        inputs_quantized = mode == "int8"
    if inputs_quantized:
        channel_axis = -1 if settings.get("data_format", "channels_last") == "channels_last" else 1
        x_q, x_scale = quantize(x, channel_axis, "int8")
        # Each position's integer row, over its scale: the scatter is linear,
        # so dividing before it is dividing its contributions after.
        x = x_q / x_scale
    return reference.conv_transpose(x, kernel_q / kernel_scale, **settings)
