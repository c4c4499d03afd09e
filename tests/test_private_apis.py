"""Each private API the layers read (ARCHITECTURE.md, "Private APIs")
is guarded: without it, the layers still compute the reference's values."""

import importlib

import keras
import numpy as np
import pytest

import keras_ct_plugin as ct
from keras_ct_plugin import backend_interface
from keras_ct_plugin import dispatch
from keras_ct_plugin.conformance import reference

BACKEND = keras.backend.backend()
needs_torch = pytest.mark.skipif(BACKEND != "torch", reason="torch's private APIs")


def _forward_backward_match_reference(layer_class, x, strides, **kwargs):
    import torch

    layer = layer_class(filters=3, kernel_size=3, strides=strides, use_bias=False, **kwargs)
    x = torch.tensor(x, requires_grad=True)
    y = layer(x)
    upstream = np.random.default_rng(1).standard_normal(tuple(y.shape)).astype("float32")
    y.backward(torch.tensor(upstream))
    kernel = layer.kernel.numpy()
    np.testing.assert_allclose(y.detach().numpy(),
                               reference.conv_transpose(x.detach().numpy(), kernel, strides),
                               rtol=1e-4, atol=1e-4)
    dx, dkernel = reference.conv_transpose_vjp(x.detach().numpy(), kernel, upstream, strides)
    np.testing.assert_allclose(x.grad.numpy(), dx, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(layer.kernel.value.grad.numpy(), dkernel, rtol=1e-4, atol=1e-4)


@needs_torch
@pytest.mark.parametrize("missing", ["_select_conv_backend", "_ConvBackend"])
def test_torch_without_its_kernel_choice(missing, monkeypatch):
    """Without torch's choice of CPU kernel (`torch._C._select_conv_backend`,
    `torch._C._ConvBackend`), torch's own kernel is assumed: contiguous
    weight and input, right at batch 1 (where torch runs it) and above."""
    import torch

    from keras_ct_plugin.backends import torch as torch_backend

    monkeypatch.delattr(torch._C, missing)
    if missing == "_ConvBackend":
        monkeypatch.setattr(torch_backend, "_TORCH_OWN_KERNELS", set())
    monkeypatch.setattr(torch_backend, "_OWN_KERNEL_CHOICES", {})
    rng = np.random.default_rng(0)
    for batch in (1, 8):
        x = rng.standard_normal((batch, 3, 5, 5, 4)).astype("float32")
        _forward_backward_match_reference(ct.Conv3DTranspose, x, 2)
    assert set(torch_backend._OWN_KERNEL_CHOICES.values()) == {True}


@needs_torch
def test_torch_without_its_tracing_internals(monkeypatch):
    """Without torch's tracing state, `as_constant` traces the computation."""
    import torch

    from keras_ct_plugin.backends import torch as torch_backend

    monkeypatch.delattr(torch._C, "_get_tracing_state")
    value = torch_backend.as_constant(lambda: torch.ones(2) * 3)
    np.testing.assert_array_equal(value.numpy(), [3, 3])


@needs_torch
def test_torch_without_is_exporting(monkeypatch):
    """torch releases before `torch.compiler.is_exporting` (torch < 2.4)."""
    import torch

    from keras_ct_plugin.backends import torch as torch_backend

    monkeypatch.delattr(torch.compiler, "is_exporting")
    module = importlib.reload(torch_backend)
    monkeypatch.undo()  # torch's own code calls it
    try:
        assert module._is_exporting is module._false
        assert module.export_target(None) is None
        x = np.random.default_rng(0).standard_normal((2, 5, 5, 4)).astype("float32")
        _forward_backward_match_reference(ct.Conv2DTranspose, x, 2)
    finally:
        importlib.reload(torch_backend)


@pytest.mark.skipif(BACKEND not in backend_interface.MODULES, reason="no backend module here")
def test_a_backend_module_that_cannot_be_imported_leaves_the_portable_paths(monkeypatch):
    """The OpenVINO module imports Keras internals; a Keras that renamed them
    would make it fail. Then every call takes the portable paths."""
    real_import = importlib.import_module

    def failing(name, *args):
        if name.startswith("keras_ct_plugin.backends."):
            raise ImportError(f"No module named {name!r}")
        return real_import(name, *args)

    monkeypatch.setattr(importlib, "import_module", failing)
    with pytest.warns(UserWarning, match="the portable paths serve every call"):
        module = dispatch._import_backend_module()
    assert module is None
    monkeypatch.setattr(dispatch, "_BACKEND_MODULE", None)
    layer = ct.Conv2DTranspose(3, 3, strides=2)
    assert layer._serving_path in ("matmul", "generic")
    x = np.random.default_rng(0).standard_normal((2, 5, 5, 4)).astype("float32")
    y = keras.ops.convert_to_numpy(layer(x))
    expected = reference.conv_transpose(x, keras.ops.convert_to_numpy(layer.kernel), 2)
    np.testing.assert_allclose(y, expected + keras.ops.convert_to_numpy(layer.bias),
                               rtol=1e-4, atol=1e-4)


def test_loading_a_file_with_the_wrong_variables_names_them(tmp_path):
    """The check Keras's `_check_load_own_variables` made, without it."""
    layer = ct.Conv2DTranspose(3, 3, use_bias=False, name="decoder")
    layer.build((None, 5, 5, 4))
    with pytest.raises(ValueError) as raised:
        layer.load_own_variables({"0": np.zeros((3, 3, 3, 4)), "1": np.zeros(3)})
    assert str(raised.value) == (
        "Layer 'decoder' expected 1 variables, but received 2 variables during loading. "
        "Expected: the kernel.")
