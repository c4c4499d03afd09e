"""The adjoint identity <conv(z), y> = <z, conv_transpose(y)> against
`keras.ops.conv`, independent of how either is implemented."""

import keras
import numpy as np
import pytest

from cases import Case
from keras_ct_plugin.conformance.operands import to_float32
from keras_ct_plugin.conformance.operands import uniform

import keras_ct_plugin as ct

# Settings where the forward convolution of the transposed output's length
# gives back the input length (output_padding < stride), channels_last, and
# strides and dilation not both > 1 (keras.ops.conv rejects that on TF).
ADJOINT_CASES = [
    Case(k, s, d, padding, op, "channels_last", n)
    for k, s, d, padding, op, n in [
        ((3,), (2,), (1,), "valid", None, (5,)),
        ((3,), (2,), (1,), "same", None, (5,)),
        ((4,), (2,), (1,), "same", None, (4,)),
        ((3,), (1,), (2,), "same", None, (6,)),
        ((3,), (3,), (1,), "valid", (1,), (4,)),
        ((2, 2), (2, 2), (1, 1), "valid", None, (4, 3)),
        ((3, 3), (2, 2), (1, 1), "same", None, (3, 4)),
        ((4, 3), (2, 1), (1, 1), "same", None, (3, 5)),
        ((3, 3), (1, 1), (2, 1), "valid", None, (4, 4)),
        ((3, 3), (2, 3), (1, 1), "valid", (1, 2), (3, 2)),
        ((2, 3, 2), (2, 1, 2), (1, 1, 1), "same", None, (2, 3, 2)),
        ((3, 2, 2), (1, 1, 1), (2, 1, 1), "valid", None, (3, 2, 2)),
    ]
]


@pytest.mark.parametrize("case", ADJOINT_CASES, ids=lambda c: c.id)
def test_adjoint_of_keras_conv(case):
    y = uniform(case.input_shape, seed=4)
    kernel = uniform(case.kernel_shape, seed=5)
    transposed = to_float32(ct.ops.conv_transpose(y, kernel, **case.settings))
    z = uniform(transposed.shape, seed=6)
    forward = to_float32(
        keras.ops.conv(
            z,
            kernel,
            strides=case.strides,
            padding=case.padding,
            dilation_rate=case.dilation_rate,
            data_format="channels_last",
        )
    )
    assert forward.shape == y.shape
    lhs = np.vdot(forward.astype("float64"), y)
    rhs = np.vdot(z.astype("float64"), transposed)
    np.testing.assert_allclose(lhs, rhs, rtol=1e-4)
