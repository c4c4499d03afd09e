"""Shared test helpers: inputs, layers and tolerances per dtype."""

import keras
import numpy as np

import keras_ct_plugin as ct

from keras_ct_plugin.conformance import reference
from keras_ct_plugin.conformance.tolerances import assert_close

LAYERS = {1: ct.Conv1DTranspose, 2: ct.Conv2DTranspose, 3: ct.Conv3DTranspose}
BUILTIN_LAYERS = {
    1: keras.layers.Conv1DTranspose,
    2: keras.layers.Conv2DTranspose,
    3: keras.layers.Conv3DTranspose,
}

def uniform(shape, seed):
    return np.random.default_rng(seed).uniform(-1, 1, shape).astype("float32")


def to_numpy(x):
    return np.asarray(keras.ops.convert_to_numpy(keras.ops.cast(x, "float32")))


def layer_for(case, **kwargs):
    return LAYERS[case.rank](
        case.filters,
        case.kernel_size,
        **case.settings,
        bias_initializer="random_uniform",
        **kwargs,
    )


def reference_output(case, x, kernel, bias=None):
    y = reference.conv_transpose(x, kernel, **case.settings)
    if bias is None:
        return y
    if case.data_format == "channels_first":
        bias = np.reshape(bias, (-1,) + (1,) * case.rank)
    return y + bias


def assert_matches_reference(actual, expected, dtype="float32"):
    assert_close(to_numpy(actual), expected, dtype)
