"""The layer on the covering slice of the case matrix (every pair of setting
values at least once: dtype, activation, bias, groups, explicit padding
included), through the conformance suite's own checks, against the
independent NumPy reference; the conformance suite runs the whole matrix."""

import keras
import pytest

from cases import COVERING
from helpers import LAYERS
from helpers import assert_matches_reference
from keras_ct_plugin.conformance import checks
from keras_ct_plugin.conformance.operands import reference_output
from keras_ct_plugin.conformance.operands import uniform

import keras_ct_plugin as ct

# Compiled calls: tests/test_paths.py and the conformance suite.
CHECKS = [checks.shapes, checks.forward, checks.serialization]
if keras.backend.backend() != "numpy":
    CHECKS.append(checks.gradients)


@pytest.mark.parametrize("check", CHECKS, ids=lambda check: check.__name__)
@pytest.mark.parametrize("case", COVERING, ids=lambda c: c.id)
def test_layer_matches_reference(case, check):
    check(checks.prepare(LAYERS[case.rank], case))


@pytest.mark.parametrize("case", COVERING[::3], ids=lambda c: c.id)
def test_functional_op_matches_reference(case):
    x = uniform(case.input_shape, seed=1)
    kernel = uniform(case.kernel_shape, seed=2)
    y = ct.ops.conv_transpose(x, kernel, **case.settings)
    assert_matches_reference(y, reference_output(case, x, kernel))
