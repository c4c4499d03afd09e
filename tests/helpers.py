"""Shared test helpers: inputs, layers and tolerances per dtype."""

import keras
import pytest

import keras_ct_plugin as ct
from keras_ct_plugin import dispatch
from keras_ct_plugin import shapes

from keras_ct_plugin.conformance.operands import to_float32
from keras_ct_plugin.conformance.operands import uniform
from keras_ct_plugin.conformance.tolerances import assert_close

LAYERS = {1: ct.Conv1DTranspose, 2: ct.Conv2DTranspose, 3: ct.Conv3DTranspose}
BUILTIN_LAYERS = {
    1: keras.layers.Conv1DTranspose,
    2: keras.layers.Conv2DTranspose,
    3: keras.layers.Conv3DTranspose,
}


def layer_for(case, **kwargs):
    return LAYERS[case.rank](case.filters, case.kernel_size, **case.settings, **kwargs)


def built_layer_for(case, seed, **kwargs):
    """`layer_for(case)`, built, with uniform weights set from NumPy (a random
    initializer would cost JAX a compilation per weight shape)."""
    layer = layer_for(case, kernel_initializer="zeros", **kwargs)
    layer.build(case.input_shape)
    layer.set_weights([uniform(case.kernel_shape, seed), uniform((case.filters,), seed + 1)])
    return layer


def assert_matches_reference(actual, expected, dtype="float32"):
    assert_close(to_float32(actual), expected, dtype)


def windows(case):
    return shapes.axis_windows(case.kernel_size, case.strides, case.dilation_rate,
                               case.padding, case.output_padding)


def serves(path, case):
    return path in dispatch.serving_paths(windows(case), case.settings)


def path_params(cases, paths=None):
    """(case, path) for every implementation path (of `paths`, if given) that
    serves each case."""
    return [
        pytest.param(case, path, id=f"{path}-{case.id}")
        for case in cases
        for path in dispatch.serving_paths(windows(case), case.settings)
        if paths is None or path in paths
    ]
