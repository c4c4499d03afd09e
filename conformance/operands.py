"""A case's operands, and the reference's answer for them."""

import keras
import ml_dtypes
import numpy as np

from keras_ct_plugin.conformance import reference


def uniform(shape, seed):
    return np.random.default_rng(seed).uniform(-1, 1, shape).astype("float32")


def in_dtype(array, dtype):
    """A NumPy array in a Keras float dtype name, bfloat16 included; casting
    in NumPy spares JAX a compilation per shape."""
    return np.asarray(array).astype(ml_dtypes.bfloat16 if dtype == "bfloat16" else dtype)


def to_float32(x):
    """A backend tensor (any float dtype) as a float32 NumPy array."""
    # bfloat16 arrives as ml_dtypes.bfloat16.
    return np.asarray(keras.ops.convert_to_numpy(x)).astype("float32")


def reference_output(case, x, kernel, bias=None, y=None):
    """The float64 reference, with the bias added on the channel axis; `y`:
    another reference's output to add the bias to."""
    if y is None:
        y = reference.conv_transpose(x, kernel, **case.settings)
    if bias is None:
        return y
    if case.data_format == "channels_first":
        bias = np.reshape(bias, (-1,) + (1,) * case.rank)
    return y + bias
