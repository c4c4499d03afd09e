"""LoRA on the transposed convolution layers: the API, errors and save
semantics of `keras.layers.Conv2D`'s, and every path computing with the
effective kernel, forward and gradients, against the NumPy reference."""

import os
import re

import keras
import numpy as np
import pytest

import keras_ct_plugin as ct
from keras_ct_plugin.conformance import reference
from keras_ct_plugin.conformance.autodiff import vjp
from keras_ct_plugin.conformance.operands import reference_output
from keras_ct_plugin.conformance.operands import to_float32
from keras_ct_plugin.conformance.operands import uniform

from cases import Case
from helpers import assert_matches_reference
from helpers import path_params

BACKEND = keras.backend.backend()
needs_autodiff = pytest.mark.skipif(BACKEND == "numpy", reason="no autodiff on numpy")

CASES = [
    Case((3, 3), (2, 2), (1, 1), "same", (1, 1), "channels_last", (3, 4)),
    Case((2, 2), (2, 2), (1, 1), "valid", None, "channels_last", (3, 3)),
    Case((4, 4), (2, 2), (1, 1), "same", None, "channels_first", (3, 4)),
    Case((3,), (1,), (2,), "same", None, "channels_last", (5,)),
    Case((3, 2, 2), (2, 1, 2), (1, 1, 1), "valid", None, "channels_last", (2, 2, 3)),
    Case((3, 3), (2, 2), (1, 1), ((1, 0), (0, 1)), (1, 1), "channels_last", (3, 3),
         groups=2, in_channels=4),
]
RANK, ALPHA = 2, 3.0


def _lora_layer(case, path="auto"):
    layer = getattr(ct, f"Conv{case.rank}DTranspose")(
        case.filters, case.kernel_size, **case.settings, implementation=path,
        lora_rank=RANK, lora_alpha=ALPHA)
    layer.build(case.input_shape)
    layer._kernel.assign(uniform(case.kernel_shape, 1))
    layer.bias.assign(uniform((case.filters,), 2))
    layer.lora_kernel_a.assign(uniform(layer.lora_kernel_a.shape, 3))
    layer.lora_kernel_b.assign(uniform(layer.lora_kernel_b.shape, 4))
    return layer


def _effective(layer):
    kernel, a, b = (to_float32(v).astype("float64")
                    for v in (layer._kernel, layer.lora_kernel_a, layer.lora_kernel_b))
    return kernel + (ALPHA / RANK) * (a @ b)


def test_shapes_and_trainability():
    case = CASES[-1]
    layer = _lora_layer(case)
    assert layer.lora_enabled
    assert layer.lora_kernel_a.shape == (3, 3, case.filters, RANK)
    assert layer.lora_kernel_b.shape == (RANK, case.in_channels // case.groups)
    assert not layer._kernel.trainable
    trainable = {v.path.split("/")[-1] for v in layer.trainable_variables}
    assert trainable == {"bias", "lora_kernel_a", "lora_kernel_b"}
    policy = ct.Conv2DTranspose(4, 3, dtype="mixed_bfloat16")
    policy.build((1, 4, 4, 2))
    policy.enable_lora(2)
    assert policy.lora_kernel_a.dtype == policy.lora_kernel_b.dtype == "float32"
    assert keras.backend.standardize_dtype(policy.kernel.dtype) == "bfloat16"


def test_enable_lora_follows_conv2d():
    layer = ct.Conv2DTranspose(4, 3)
    with pytest.raises(ValueError, match="^Cannot enable lora on a layer that isn't yet "
                                         "built.$"):
        layer.enable_lora(2)
    layer.build((1, 5, 5, 3))
    layer.enable_lora(2, lora_alpha=8)
    assert (layer.lora_rank, layer.lora_alpha) == (2, 8)
    with pytest.raises(ValueError, match="^lora is already enabled. This can only be done "
                                         "once per layer.$"):
        layer.enable_lora(2)
    constrained = ct.Conv2DTranspose(4, 3, kernel_constraint="non_neg")
    constrained.build((1, 5, 5, 3))
    with pytest.raises(ValueError, match=re.escape(
            "Lora is incompatible with kernel constraints. In order to enable lora on this "
            "layer, remove the `kernel_constraint` argument.")):
        constrained.enable_lora(2)


def test_config_round_trip():
    layer = ct.Conv2DTranspose(4, 3, lora_rank=4, lora_alpha=2.0)
    config = layer.get_config()
    assert (config["lora_rank"], config["lora_alpha"]) == (4, 2.0)
    assert "lora_rank" not in ct.Conv2DTranspose(4, 3).get_config()
    clone = ct.Conv2DTranspose.from_config(config)
    clone.build((1, 5, 5, 3))
    assert clone.lora_enabled and clone.lora_rank == 4


@pytest.mark.parametrize("case, path", path_params(CASES))
def test_every_path_computes_with_the_effective_kernel(case, path):
    layer = _lora_layer(case, path)
    x = uniform(case.input_shape, 5)
    expected = reference_output(case, x, _effective(layer), to_float32(layer.bias))
    assert_matches_reference(layer(x), expected)


@needs_autodiff
@pytest.mark.parametrize("case, path", path_params(CASES))
def test_gradients_reach_the_adapters_and_bias_only(case, path):
    layer = _lora_layer(case, path)
    x = uniform(case.input_shape, 5)
    upstream = uniform(reference_output(case, x, _effective(layer)).shape, 6)
    trainable = layer.trainable_variables
    names = [v.path.split("/")[-1] for v in trainable]

    def function(x, *weights):
        return layer.stateless_call(list(weights), [v.value for v in
                                                    layer.non_trainable_variables], x)[0]

    grads = dict(zip(["x"] + names, vjp(function, x, *[to_float32(v) for v in trainable],
                                        upstream)))
    _, dkernel = reference.conv_transpose_vjp(x, _effective(layer), upstream, **case.settings)
    a, b = (to_float32(v).astype("float64") for v in (layer.lora_kernel_a, layer.lora_kernel_b))
    scale = ALPHA / RANK
    assert_matches_reference(grads["lora_kernel_a"], scale * dkernel @ b.T)
    expected_b = scale * a.reshape(-1, RANK).T @ dkernel.reshape(-1, dkernel.shape[-1])
    assert_matches_reference(grads["lora_kernel_b"], expected_b)
    channel_axis = -1 if case.data_format == "channels_last" else 1
    assert_matches_reference(
        grads["bias"], np.moveaxis(upstream, channel_axis, -1).reshape(-1, case.filters).sum(0))


@needs_autodiff
def test_fit_changes_only_the_adapters_and_bias():
    case = CASES[0]
    layer = _lora_layer(case)
    model = keras.Sequential([keras.Input(case.input_shape[1:]), layer])
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    before = {v.path: to_float32(v).copy() for v in layer.weights}
    x = uniform(case.input_shape, 7)
    model.fit(x, np.zeros(tuple(model(x).shape), "float32"), epochs=2, verbose=0)
    changed = {v.path.split("/")[-1] for v in layer.weights
               if np.abs(to_float32(v) - before[v.path]).max() > 0}
    assert changed == {"bias", "lora_kernel_a", "lora_kernel_b"}


def test_saving_merges_and_loading_zeroes_the_adapters(tmp_path):
    case = CASES[-1]
    layer = _lora_layer(case)
    model = keras.Sequential([keras.Input(case.input_shape[1:]), layer])
    x = uniform(case.input_shape, 8)
    predicted = to_float32(model(x))
    path = os.path.join(tmp_path, "lora.keras")
    model.save(path)
    loaded = keras.saving.load_model(path).layers[-1]
    assert loaded.lora_enabled and loaded.lora_rank == RANK
    np.testing.assert_allclose(to_float32(loaded._kernel), _effective(layer), atol=1e-5)
    assert not np.any(to_float32(loaded.lora_kernel_a))
    assert not np.any(to_float32(loaded.lora_kernel_b))
    assert_matches_reference(loaded(x), predicted)


@needs_autodiff
def test_trained_adapters_save_as_the_merged_kernel(tmp_path):
    """enable_lora on a trained layer, train, save: a layer without LoRA
    loads the merged kernel, and predicts what the adapted layer did."""
    case = CASES[0]
    layer = ct.Conv2DTranspose(case.filters, case.kernel_size, **case.settings)
    model = keras.Sequential([keras.Input(case.input_shape[1:]), layer])
    layer.enable_lora(RANK)
    model.compile(optimizer=keras.optimizers.Adam(0.05), loss="mse")
    x = uniform(case.input_shape, 9)
    model.fit(x, uniform(tuple(model(x).shape), 10), epochs=3, verbose=0)
    assert np.any(to_float32(layer.lora_kernel_b))
    merged = to_float32(layer.kernel)
    path = os.path.join(tmp_path, "trained.keras")
    model.save(path)
    plain = keras.Sequential([keras.Input(case.input_shape[1:]),
                              ct.Conv2DTranspose(case.filters, case.kernel_size,
                                                 **case.settings)])
    plain.load_weights(path)
    np.testing.assert_allclose(to_float32(plain.layers[-1].kernel), merged, atol=1e-6)
    assert_matches_reference(plain(x), to_float32(model(x)))


def test_from_torch_layers_can_enable_lora():
    torch = pytest.importorskip("torch")
    module = torch.nn.ConvTranspose2d(4, 6, 3, stride=2, padding=1, output_padding=1, groups=2)
    layer = ct.from_torch(module, data_format="channels_first")
    layer.enable_lora(2)
    x = uniform((2, 4, 3, 3), 11)
    with torch.no_grad():
        expected = module(torch.tensor(x)).numpy()
    assert_matches_reference(layer(x), expected)
