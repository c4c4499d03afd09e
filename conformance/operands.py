"""A case's operands, and the reference's answer for them."""

import keras
import numpy as np

from keras_ct_plugin.conformance import reference


def uniform(shape, seed):
    return np.random.default_rng(seed).uniform(-1, 1, shape).astype("float32")


def to_float32(x):
    """A backend tensor (any float dtype) as a float32 NumPy array."""
    return np.asarray(keras.ops.convert_to_numpy(keras.ops.cast(x, "float32")))


def reference_output(case, x, kernel, bias=None):
    """The float64 reference, with the bias added on the channel axis."""
    y = reference.conv_transpose(x, kernel, **case.settings)
    if bias is None:
        return y
    if case.data_format == "channels_first":
        bias = np.reshape(bias, (-1,) + (1,) * case.rank)
    return y + bias
