"""Every setting of the sweep, compared with the independent NumPy reference."""

import pytest

from cases import REFERENCE_CASES
from helpers import assert_matches_reference
from helpers import layer_for
from keras_ct_plugin.conformance.operands import reference_output
from keras_ct_plugin.conformance.operands import to_float32
from keras_ct_plugin.conformance.operands import uniform

import keras_ct_plugin as ct


@pytest.mark.parametrize("case", REFERENCE_CASES, ids=lambda c: c.id)
def test_layer_matches_reference(case):
    x = uniform(case.input_shape, seed=0)
    layer = layer_for(case)
    y = layer(x)
    assert tuple(y.shape) == layer.compute_output_shape(x.shape)
    expected = reference_output(case, x, to_float32(layer.kernel), to_float32(layer.bias))
    assert_matches_reference(y, expected)


@pytest.mark.parametrize("case", REFERENCE_CASES[::7], ids=lambda c: c.id)
def test_functional_op_matches_reference(case):
    x = uniform(case.input_shape, seed=1)
    kernel = uniform(case.kernel_shape, seed=2)
    y = ct.ops.conv_transpose(x, kernel, **case.settings)
    assert_matches_reference(y, reference_output(case, x, kernel))
