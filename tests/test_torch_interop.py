"""PyTorch's transposed convolution, on every Keras backend: the NumPy
reference agrees with torch itself on torch-style settings, and `from_torch`
reproduces a `torch.nn.ConvTranspose{1,2,3}d` module's output."""

import re

import keras
import numpy as np
import pytest
import torch

from cases import MATRIX
from keras_ct_plugin.conformance import reference
from keras_ct_plugin.conformance.operands import to_float32
from keras_ct_plugin.conformance.operands import uniform
from keras_ct_plugin.conformance.torch_modules import MODULES
from keras_ct_plugin.conformance.torch_modules import TOLERANCE
from keras_ct_plugin.conformance.torch_modules import reproduce

import keras_ct_plugin as ct

_FUNCTIONAL = {1: torch.nn.functional.conv_transpose1d,
               2: torch.nn.functional.conv_transpose2d,
               3: torch.nn.functional.conv_transpose3d}


def _torch_conv_transpose(case, x, kernel):
    """torch's own op, channels_first, on symmetric padding only."""
    weight = torch.from_numpy(
        np.moveaxis(kernel.reshape(*case.kernel_size, case.groups, -1, kernel.shape[-1]),
                    (-3, -1, -2), (0, 1, 2)).reshape(case.in_channels, -1, *case.kernel_size)
    )
    if case.data_format == "channels_last":
        x = np.moveaxis(x, -1, 1)
    y = _FUNCTIONAL[case.rank](
        torch.from_numpy(x), weight, stride=case.strides,
        padding=[before for before, _ in case.padding],
        output_padding=case.output_padding, groups=case.groups,
        dilation=case.dilation_rate,
    ).numpy()
    return np.moveaxis(y, 1, -1) if case.data_format == "channels_last" else y


# Torch rejects an empty output, which the layer gives as Keras does.
SYMMETRIC = [c for c in MATRIX if not isinstance(c.padding, str)
             and all(a == b for a, b in c.padding)
             and all(reference.output_length(*axis) > 0 for axis in zip(
                 c.spatial, c.kernel_size, c.strides, c.dilation_rate, c.padding,
                 c.output_padding or (0,) * c.rank))]


# NumPy and torch only: the same on every backend, so run on one.
@pytest.mark.skipif(keras.backend.backend() != "torch", reason="backend-independent")
@pytest.mark.parametrize("case", SYMMETRIC, ids=lambda c: c.id)
def test_reference_agrees_with_torch(case):
    x = uniform(case.input_shape, seed=30)
    kernel = uniform(case.kernel_shape, seed=31)
    expected = _torch_conv_transpose(case, x, kernel)
    np.testing.assert_allclose(
        reference.conv_transpose(x, kernel, **case.settings), expected, atol=1e-5
    )


def test_weight_layout_by_hand():
    # torch weight (in=4, out/groups=1, k=1), groups=2: input channel c feeds
    # output channel c // 2 with weight 10 * c + 1.
    weight = (10 * np.arange(4) + 1).reshape(4, 1, 1).astype("float32")
    kernel = ct.torch_interop.keras_kernel(weight, groups=2)
    assert kernel.shape == (1, 2, 2)
    np.testing.assert_array_equal(kernel[0], [[1, 11], [21, 31]])


# Every module on torch; on the other backends every third (the conformance
# suite runs every module on every backend).
REPRODUCED = list(MODULES)[::1 if keras.backend.backend() == "torch" else 3]


@pytest.mark.parametrize("data_format", ["channels_first", "channels_last"])
@pytest.mark.parametrize("name", REPRODUCED, ids=str)
def test_from_torch_reproduces_module(name, data_format):
    error = reproduce(name, data_format)
    assert error < TOLERANCE, f"max abs error {error}"


def test_from_torch_keeps_dtype_and_bias_choice():
    module = torch.nn.ConvTranspose2d(4, 2, 3, bias=False).double()
    layer = ct.from_torch(module)
    assert layer.dtype == "float64" and layer.bias is None
    assert layer.data_format == "channels_first" and layer.built


def test_from_torch_rejects_other_modules():
    message = (
        "Invalid type for argument `module`. Expected a torch.nn.ConvTranspose1d, "
        "ConvTranspose2d or ConvTranspose3d. Received module of type Conv2d."
    )
    with pytest.raises(TypeError, match=f"^{re.escape(message)}$"):
        ct.from_torch(torch.nn.Conv2d(3, 4, 3))


def test_from_torch_rejects_padding_modes_other_than_zeros():
    module = torch.nn.ConvTranspose2d(3, 4, 3)
    module.padding_mode = "reflect"
    message = (
        "Invalid value for argument `module`. Expected a module with "
        "padding_mode='zeros', the only padding a transposed convolution has. "
        "Received padding_mode='reflect'."
    )
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        ct.from_torch(module)


def test_from_torch_layer_takes_the_modules_input():
    module = torch.nn.ConvTranspose1d(6, 4, 3, groups=2)
    layer = ct.from_torch(module, data_format="channels_last")
    x = uniform((2, 5, 6), seed=32)
    assert tuple(to_float32(layer(x)).shape) == (2, 7, 4)
