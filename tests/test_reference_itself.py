"""The NumPy reference, checked on its own: by hand, and against Keras's
built-in layers where they run (on JAX and torch they take every setting they
accept; on TensorFlow/CPU some raise, which is what this plugin fixes)."""

import keras
import numpy as np
import pytest

from keras_ct_plugin.conformance import reference
from cases import BUILTIN_COVERING
from cases import COVERING
from helpers import BUILTIN_LAYERS
from helpers import assert_matches_reference
from helpers import layer_for
from keras_ct_plugin.conformance.operands import to_float32
from keras_ct_plugin.conformance.operands import uniform


def test_scatter_by_hand():
    # x = [1, 2], kernel [1, 10, 100], stride 2: 1 lands on 0..2, 2 on 2..4.
    x = np.array([1.0, 2.0]).reshape(1, 2, 1)
    kernel = np.array([1.0, 10.0, 100.0]).reshape(3, 1, 1)
    full = [1, 10, 102, 20, 200]
    np.testing.assert_array_equal(
        reference.conv_transpose(x, kernel, 2).ravel(), full
    )
    # "same" keeps 2 * 2 = 4 positions, dropping floor(1 / 2) = 0 at the start.
    np.testing.assert_array_equal(
        reference.conv_transpose(x, kernel, 2, "same").ravel(), full[:4]
    )
    # dilation 2 spreads the taps: 1 at 0, 2, 4 and 2 at 1, 3, 5.
    np.testing.assert_array_equal(
        reference.conv_transpose(x, kernel, 1, dilation_rate=2).ravel(),
        [1, 2, 10, 20, 100, 200],
    )
    # output_padding appends zeros after the full output under "valid".
    np.testing.assert_array_equal(
        reference.conv_transpose(x, kernel, 2, output_padding=1).ravel(), full + [0]
    )
    # An integer padding (PyTorch's) crops that many positions from each end.
    np.testing.assert_array_equal(
        reference.conv_transpose(x, kernel, 2, padding=1).ravel(), full[1:-1]
    )


def test_gradients_by_hand():
    # The example above with an upstream gradient of ones: each input reads
    # back the sum of the kernel, each tap the sum of the inputs.
    x = np.array([1.0, 2.0]).reshape(1, 2, 1)
    kernel = np.array([1.0, 10.0, 100.0]).reshape(3, 1, 1)
    dx, dkernel = reference.conv_transpose_vjp(x, kernel, np.ones((1, 5, 1)), 2)
    np.testing.assert_array_equal(dx.ravel(), [111, 111])
    np.testing.assert_array_equal(dkernel.ravel(), [3, 3, 3])


@pytest.mark.parametrize("case", BUILTIN_COVERING, ids=lambda c: c.id)
def test_plugin_and_reference_match_keras_builtin(case):
    x = uniform(case.input_shape, seed=3)
    builtin = BUILTIN_LAYERS[case.rank](
        case.filters, case.kernel_size, **case.builtin_settings, use_bias=False,
        kernel_initializer="zeros",
    )
    builtin.build(x.shape)
    builtin.set_weights([uniform(case.kernel_shape, seed=4)])
    try:
        expected = to_float32(builtin(x))
    except Exception as error:  # noqa: BLE001 - the built-in's own failures
        if keras.backend.backend() != "tensorflow":
            raise
        pytest.skip(f"keras.layers built-in raises on TensorFlow: {type(error).__name__}")
    kernel = to_float32(builtin.kernel)
    assert_matches_reference(
        expected, reference.conv_transpose(x, kernel, **case.settings)
    )
    layer = layer_for(case, use_bias=False, kernel_initializer="zeros")
    layer.build(x.shape)
    layer.set_weights(builtin.get_weights())
    np.testing.assert_allclose(to_float32(layer(x)), expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("case", COVERING, ids=lambda c: c.id)
def test_reference_gradients_are_its_adjoints(case):
    """The reference is linear in x and in the kernel, so its gradients are
    the adjoints: <upstream, conv(v, kernel)> = <dx, v> and
    <upstream, conv(x, w)> = <dkernel, w> for any v and w."""
    x, kernel = uniform(case.input_shape, 30), uniform(case.kernel_shape, 31)
    v, w = uniform(case.input_shape, 32), uniform(case.kernel_shape, 33)
    upstream = uniform(reference.conv_transpose(x, kernel, **case.settings).shape, 34)
    dx, dkernel = reference.conv_transpose_vjp(x, kernel, upstream, **case.settings)
    assert dx.shape == x.shape and dkernel.shape == kernel.shape
    np.testing.assert_allclose(
        np.vdot(upstream, reference.conv_transpose(v, kernel, **case.settings)),
        np.vdot(dx, v), rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(
        np.vdot(upstream, reference.conv_transpose(x, w, **case.settings)),
        np.vdot(dkernel, w), rtol=1e-9, atol=1e-9)
