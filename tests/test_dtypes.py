"""Input dtypes: integer and bool inputs are computed in the layer's compute
dtype (the op: the kernel's), as `keras.layers.Dense` does, with the kernel
never cast to the input's dtype; complex inputs raise. The same on every
backend."""

import re

import keras
import numpy as np
import pytest

import keras_ct_plugin as ct
from keras_ct_plugin.conformance import reference

from helpers import assert_matches_reference

SETTINGS = dict(strides=(2, 2), padding="same", output_padding=None, dilation_rate=(1, 1),
                data_format="channels_last", groups=1)
# Kernel values well away from integers: casting the kernel to an integer
# dtype would truncate them all to 0.
KERNEL = np.linspace(-0.9, 0.9, 3 * 3 * 4 * 2).reshape(3, 3, 4, 2).astype("float32")
BIAS = np.array([0.25, -0.5, 0.75, 0.125], "float32")


def _layer(**kwargs):
    layer = ct.Conv2DTranspose(4, 3, strides=2, padding="same", **kwargs)
    layer.build((None, 3, 4, 2))
    layer.set_weights([KERNEL, BIAS])
    return layer


def _integer_input(dtype):
    values = np.arange(2 * 3 * 4 * 2).reshape(2, 3, 4, 2) % 5 - 2
    return (values > 0) if dtype == "bool" else values.astype(dtype)


def _expected(x):
    return reference.conv_transpose(np.asarray(x, "float64"), KERNEL, **SETTINGS) + BIAS


@pytest.mark.parametrize("dtype", ["int32", "int64", "uint8", "bool"])
def test_layer_computes_integer_inputs_in_its_compute_dtype(dtype):
    x = keras.ops.convert_to_tensor(_integer_input(dtype), dtype=dtype)
    y = _layer()(x)
    assert keras.backend.standardize_dtype(y.dtype) == "float32"
    assert_matches_reference(y, _expected(_integer_input(dtype)))


@pytest.mark.parametrize("policy", ["float16", "bfloat16"])
def test_layer_computes_integer_inputs_in_a_float16_policy(policy):
    x = keras.ops.convert_to_tensor(_integer_input("int32"))
    layer = ct.Conv2DTranspose(4, 3, strides=2, padding="same", dtype=policy)
    layer.build((None, 3, 4, 2))
    layer.set_weights([KERNEL, BIAS])
    y = layer(x)
    assert keras.backend.standardize_dtype(y.dtype) == policy
    assert_matches_reference(y, _expected(_integer_input("int32")), dtype=policy)


@pytest.mark.parametrize("dtype", ["int32", "bool"])
def test_op_computes_integer_inputs_in_the_kernels_dtype(dtype):
    x = keras.ops.convert_to_tensor(_integer_input(dtype), dtype=dtype)
    y = ct.ops.conv_transpose(x, KERNEL, strides=2, padding="same")
    assert keras.backend.standardize_dtype(y.dtype) == "float32"
    assert_matches_reference(y, _expected(_integer_input(dtype)) - BIAS)


def test_op_with_integer_inputs_and_kernel_computes_in_floatx():
    x = keras.ops.convert_to_tensor(_integer_input("int32"))
    kernel = keras.ops.convert_to_tensor(np.ones((2, 2, 3, 2), "int32"))
    y = ct.ops.conv_transpose(x, kernel, strides=2)
    assert keras.backend.standardize_dtype(y.dtype) == keras.config.floatx()
    expected = reference.conv_transpose(
        _integer_input("int32").astype("float64"), np.ones((2, 2, 3, 2)),
        **{**SETTINGS, "padding": "valid"})
    assert_matches_reference(y, expected)


def test_integer_inputs_in_a_model():
    model = keras.Sequential([keras.Input((3, 4, 2), dtype="int32"), _layer()])
    y = model.predict(_integer_input("int32"), verbose=0)
    assert_matches_reference(y, _expected(_integer_input("int32")))


def _complex_input():
    return keras.ops.convert_to_tensor(np.ones((2, 3, 4, 2), "complex64"))


def test_layer_rejects_complex_inputs():
    message = ("Invalid dtype for argument `inputs`. Expected a real tensor (floating, "
               "integer or bool). Received inputs of dtype complex64.")
    # Keras wraps errors raised in `call` with the layer's name and arguments.
    with pytest.raises(TypeError, match=re.escape(message)):
        _layer()(_complex_input())


def test_layer_rejects_complex_symbolic_inputs():
    with pytest.raises(TypeError, match=re.escape(
            "Received inputs of dtype complex64.")):
        _layer()(keras.Input((3, 4, 2), dtype="complex64"))


def test_op_rejects_complex_inputs_and_kernels():
    with pytest.raises(TypeError, match=re.escape(
            "Invalid dtype for argument `inputs`. Expected a real tensor")):
        ct.ops.conv_transpose(_complex_input(), KERNEL)
    message = ("Invalid dtype for argument `kernel`. Expected a real tensor (floating, "
               "integer or bool). Received kernel of dtype complex64.")
    with pytest.raises(TypeError, match=f"^{re.escape(message)}$"):
        ct.ops.conv_transpose(np.ones((2, 3, 4, 2), "float32"), KERNEL.astype("complex64"))
