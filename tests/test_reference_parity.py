"""Every setting of the sweeps (Keras-style, then PyTorch-style: explicit
padding, groups, strides with dilation), compared with the independent NumPy
reference."""

import keras
import pytest

from cases import REFERENCE_CASES
from cases import TORCH_STYLE_CASES
from helpers import assert_matches_reference
from helpers import built_layer_for
from keras_ct_plugin.conformance.operands import reference_output
from keras_ct_plugin.conformance.operands import to_float32
from keras_ct_plugin.conformance.operands import uniform

import keras_ct_plugin as ct


# On JAX every case costs an XLA compilation (about 60 ms on the CI machine):
# there every third Keras-style case runs (and every PyTorch-style one); the
# conformance suite runs its 559 cases on JAX too.
ALL_CASES = (REFERENCE_CASES[::3] if keras.backend.backend() == "jax" else REFERENCE_CASES) + (
    TORCH_STYLE_CASES)


@pytest.mark.parametrize("case", ALL_CASES, ids=lambda c: c.id)
def test_layer_matches_reference(case):
    x = uniform(case.input_shape, seed=0)
    layer = built_layer_for(case, seed=1)
    y = layer(x)
    assert tuple(y.shape) == layer.compute_output_shape(x.shape)
    expected = reference_output(case, x, to_float32(layer.kernel), to_float32(layer.bias))
    assert_matches_reference(y, expected)


@pytest.mark.parametrize("case", ALL_CASES[::7], ids=lambda c: c.id)
def test_functional_op_matches_reference(case):
    x = uniform(case.input_shape, seed=1)
    kernel = uniform(case.kernel_shape, seed=2)
    y = ct.ops.conv_transpose(x, kernel, **case.settings)
    assert_matches_reference(y, reference_output(case, x, kernel))
