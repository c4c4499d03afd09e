"""int8 and int4 quantization, with the API of Keras's Dense: every path
against a NumPy reference of the quantized arithmetic, `model.quantize`,
`.keras` files, LoRA on a quantized layer, custom quantizers and errors."""

import pathlib
import re
import warnings

import keras
import numpy as np
import pytest

import keras_ct_plugin as ct
from keras_ct_plugin.conformance import quantized_reference
from keras_ct_plugin.conformance import reference
from keras_ct_plugin.conformance.autodiff import vjp
from keras_ct_plugin.conformance.operands import to_float32
from keras_ct_plugin.conformance.operands import uniform

from cases import Case
from helpers import LAYERS
from helpers import assert_matches_reference
from helpers import path_params

BACKEND = keras.backend.backend()
needs_autodiff = pytest.mark.skipif(BACKEND == "numpy", reason="no autodiff on numpy")
pytestmark = pytest.mark.skipif(not hasattr(keras.quantizers, "QuantizationConfig"),
                                reason="quantize needs Keras 3.13 or newer")

CASES = [
    Case((3, 3), (2, 2), (1, 1), "same", (1, 1), "channels_last", (3, 4), filters=5),
    Case((4,), (2,), (1,), "valid", None, "channels_first", (5,)),
    Case((2, 3, 2), (2, 1, 2), (1, 2, 1), "valid", None, "channels_last", (2, 3, 2)),
    Case((3, 3), (2, 2), (1, 1), ((1, 0), (0, 1)), (1, 1), "channels_first", (3, 3),
         groups=2, in_channels=4),
]


def _reference(case, x, kernel, mode, inputs_quantized=None):
    return quantized_reference.conv_transpose(x, kernel, mode, case.settings, inputs_quantized)


def _layer(case, mode, path="auto", config=None):
    layer = LAYERS[case.rank](case.filters, case.kernel_size, **case.settings,
                              implementation=path, use_bias=False)
    layer.build(case.input_shape)
    layer._kernel.assign(uniform(case.kernel_shape, 1))
    layer.quantize(mode, config=config)
    return layer


@pytest.mark.parametrize("mode", ["int8", "int4"])
@pytest.mark.parametrize("case, path", path_params(CASES))
def test_every_path_computes_the_quantized_arithmetic(case, path, mode):
    layer = _layer(case, mode, path)
    x = uniform(case.input_shape, 2)
    expected = _reference(case, x, uniform(case.kernel_shape, 1), mode)
    assert_matches_reference(layer(x), expected)


@pytest.mark.parametrize("mode", ["int8", "int4"])
def test_quantized_output_is_near_the_float_output(mode):
    case = CASES[0]
    x = uniform(case.input_shape, 2)
    exact = reference.conv_transpose(x, uniform(case.kernel_shape, 1), **case.settings)
    error = np.max(np.abs(to_float32(_layer(case, mode)(x)) - exact)) / np.max(np.abs(exact))
    assert error < quantized_reference.FLOAT_TOLERANCE[mode]


@pytest.mark.parametrize("mode", ["int8", "int4"])
def test_model_quantize_quantizes_every_layer_and_reloads(mode, tmp_path):
    inputs = keras.Input((5, 5, 3))
    y = ct.Conv2DTranspose(4, 3, strides=2, padding="same")(inputs)
    y = keras.layers.Reshape((10, 10, 4))(y)
    y = ct.Conv2DTranspose(3, 2, strides=2, groups=1, use_bias=False)(y)
    flat = keras.layers.Reshape((20 * 20, 3))(y)
    y1 = ct.Conv1DTranspose(5, 3, strides=2)(flat)
    model = keras.Model(inputs, y1)
    x = uniform((2, 5, 5, 3), 3)
    before = to_float32(model(x))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model.quantize(mode)
    assert not [w for w in caught if "DTranspose" in str(w.message)]
    ours = [layer for layer in model.layers if isinstance(layer, ct.BaseConvTranspose)]
    for layer in ours:
        assert layer.dtype_policy.name == f"{mode}_from_float32"
        assert layer.quantization_mode == mode
        assert keras.backend.standardize_dtype(layer._kernel.dtype) == "int8"
        assert not layer._kernel.trainable
    assert ours[1]._kernel.shape == ((2, 2, 2, 4) if mode == "int4" else (2, 2, 3, 4))
    after = to_float32(model(x))
    assert np.max(np.abs(after - before)) / np.max(np.abs(before)) < (
        0.05 if mode == "int8" else 0.5)
    path = tmp_path / "quantized.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    np.testing.assert_array_equal(to_float32(loaded(x)), after)
    for layer, original in zip(loaded.layers, model.layers):
        if isinstance(layer, ct.BaseConvTranspose):
            assert layer.quantization_mode == mode
            np.testing.assert_array_equal(keras.ops.convert_to_numpy(layer._kernel),
                                          keras.ops.convert_to_numpy(original._kernel))


def test_the_scale_is_per_output_channel_with_groups():
    case = CASES[-1]
    layer = _layer(case, "int8")
    kernel = uniform(case.kernel_shape, 1).astype("float64")
    axes = tuple(i for i in range(case.rank + 2) if i != case.rank)
    _, scale = quantized_reference.quantize(kernel, axes, "int8")
    np.testing.assert_allclose(to_float32(layer.kernel_scale), scale.reshape(-1), rtol=1e-6)
    assert layer.kernel_scale.shape == (case.filters,)


def test_without_an_activation_quantizer_the_inputs_stay_float():
    case = CASES[0]
    config = keras.quantizers.Int8QuantizationConfig(
        weight_quantizer=keras.quantizers.AbsMaxQuantizer(axis=(0, 1, 3)),
        activation_quantizer=None)
    layer = _layer(case, "int8", config=config)
    x = uniform(case.input_shape, 2)
    expected = _reference(case, x, uniform(case.kernel_shape, 1), "int8",
                          inputs_quantized=False)
    assert_matches_reference(layer(x), expected)


def test_lora_on_a_quantized_layer_trains_the_adapters_and_saves_requantized(tmp_path):
    case = CASES[0]
    layer = _layer(case, "int8")
    layer.enable_lora(2)
    trainable = {v.path.split("/")[-1] for v in layer.trainable_variables}
    assert trainable == {"lora_kernel_a", "lora_kernel_b"}
    layer.lora_kernel_b.assign(uniform(layer.lora_kernel_b.shape, 4))
    x = uniform(case.input_shape, 2)
    # The float layer with the dequantized kernel, the same adapters, on the
    # quantized inputs.
    float_layer = ct.Conv2DTranspose(case.filters, case.kernel_size, **case.settings,
                                     use_bias=False, lora_rank=2)
    float_layer.build(case.input_shape)
    float_layer._kernel.assign(to_float32(layer._float_kernel()))
    float_layer.lora_kernel_a.assign(to_float32(layer.lora_kernel_a))
    float_layer.lora_kernel_b.assign(to_float32(layer.lora_kernel_b))
    merged = to_float32(layer(x))
    np.testing.assert_allclose(merged, to_float32(float_layer(
        keras.ops.convert_to_numpy(layer._quantized_inputs(x)))), atol=1e-5)
    model = keras.Sequential([keras.Input(case.input_shape[1:]), layer])
    model.save(tmp_path / "qlora.keras")
    loaded = keras.saving.load_model(tmp_path / "qlora.keras").layers[0]
    assert loaded.quantization_mode == "int8"
    assert not np.any(to_float32(loaded.lora_kernel_b))
    np.testing.assert_allclose(to_float32(loaded(x)), merged,
                               atol=0.02 * np.max(np.abs(merged)))


@needs_autodiff
def test_gradients_reach_the_inputs_straight_through():
    case = CASES[0]
    layer = _layer(case, "int8")
    x = uniform(case.input_shape, 2)
    y_shape = to_float32(layer(x)).shape
    upstream = uniform(y_shape, 5)
    dequantized = to_float32(layer._float_kernel()).astype("float64")
    (dx,) = vjp(lambda inputs: layer(inputs), x, upstream)
    expected, _ = reference.conv_transpose_vjp(x, dequantized, upstream, **case.settings)
    assert_matches_reference(dx, expected)


@pytest.mark.parametrize("mode", ["float8", "gptq", "awq"])
def test_modes_it_does_not_serve_raise(mode):
    layer = ct.Conv2DTranspose(4, 3)
    layer.build((1, 5, 5, 2))
    message = (f"Layer Conv2DTranspose does not serve quantization mode {mode!r}. "
               f"Expected one of 'int8', 'int4'. Received: mode={mode!r}")
    with pytest.raises(NotImplementedError, match=f"^{re.escape(message)}$"):
        layer.quantize(mode, config=_config_for(mode))


def _config_for(mode):
    """GPTQ and AWQ take a configuration with calibration data."""
    configs = {"gptq": keras.quantizers.GPTQConfig, "awq": keras.quantizers.AWQConfig}
    if mode not in configs:
        return None
    return configs[mode](dataset=["calibration text"], tokenizer=lambda text: text)


def test_model_quantize_warns_for_a_mode_it_does_not_serve():
    model = keras.Sequential([keras.Input((5, 5, 2)), ct.Conv2DTranspose(4, 3)])
    with pytest.warns(UserWarning, match="does not serve quantization mode 'float8'"):
        model.quantize("float8")
    assert model.layers[0].quantization_mode is None


def test_int4_by_blocks_and_a_wrong_weight_axis_raise():
    layer = ct.Conv2DTranspose(4, 3)
    layer.build((1, 5, 5, 2))
    message = ("Invalid value for argument `config`. Expected int4 per output channel "
               "(block_size None, -1 or Keras's default 128). Received: block_size=8")
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        layer.quantize("int4", config=keras.quantizers.Int4QuantizationConfig(block_size=8))
    config = keras.quantizers.Int8QuantizationConfig(
        weight_quantizer=keras.quantizers.AbsMaxQuantizer(axis=(0, 1, 2)))
    message = ("Invalid weight quantizer in `config`. Expected a scale per output channel: "
               "4 values along the kernel's filters axis (axis 2 of (3, 3, 4, 2)). "
               "Received a scale of shape (1, 1, 1, 2).")
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        layer.quantize("int8", config=config)


def _keras_dequantized_inputs(x, axis, dtype):
    values, scale = keras.quantizers.AbsMaxQuantizer()(keras.ops.cast(x, dtype), axis=axis)
    return keras.ops.cast(keras.ops.divide(keras.ops.cast(values, "float32"),
                                           keras.ops.cast(scale, "float32")), dtype)


@pytest.mark.parametrize("dtype", ["float32", "bfloat16"])
@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_default_input_quantizer_gives_keras_values_to_the_bit(data_format, dtype):
    shape = (2, 4, 5, 6) if data_format == "channels_last" else (2, 6, 4, 5)
    layer = ct.Conv2DTranspose(3, 2, data_format=data_format, dtype=dtype)
    layer.build(shape)
    layer.quantize("int8")
    x = uniform(shape, 7) * 3
    # A position of zeros (scale 127 / epsilon), and one whose values land
    # next to halves once scaled: 127 * k / 254 = k / 2, less the epsilon's
    # share.
    axis = -1 if data_format == "channels_last" else 1
    x = np.moveaxis(x, axis, -1)
    x[0, 0, 0] = 0
    x[1, 2, 3] = np.arange(6) / 254 * 2 - 5 / 254
    x[1, 2, 3, 0] = 254 / 254
    x = np.moveaxis(x, -1, axis)
    ours = to_float32(layer._quantized_inputs(x))
    theirs = to_float32(_keras_dequantized_inputs(x, axis, dtype))
    np.testing.assert_array_equal(ours, theirs)


@pytest.mark.skipif(BACKEND != "torch", reason="torch's own int4 unpacking")
@pytest.mark.parametrize("traced", [False, True])
@pytest.mark.parametrize("length", [1, 4, 5])
def test_torch_int4_unpacking_gives_keras_values(length, traced, monkeypatch):
    from keras_ct_plugin.backends import torch as torch_backend

    monkeypatch.setattr(torch_backend, "_eager", lambda: not traced)
    values = np.random.RandomState(length).randint(-8, 8, (2, length, 3)).astype("int8")
    values[0, :, 0] = np.resize([-8, 7, -1, 0, 1], length)
    packed = keras.quantizers.pack_int4(values, axis=1)[0]
    unpacked = to_float32(torch_backend._unpacked_int4(packed, 1, length))
    np.testing.assert_array_equal(unpacked, values)
    np.testing.assert_array_equal(
        unpacked, to_float32(keras.quantizers.unpack_int4(packed, length, axis=1)))


# The formats whose exporter keeps an int8 constant that is converted, then
# scaled (docs/quantization.md has the sizes of the others).
KEEPS_INT8 = {"tensorflow": ("tf_saved_model", "openvino", "litert"),
              "jax": ("tf_saved_model", "onnx"),
              "torch": ("onnx", "openvino", "litert")}


def _artifact_bytes(path):
    path = pathlib.Path(path)
    if path.is_dir():
        return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())
    companions = [path.with_suffix(".bin"), pathlib.Path(f"{path}.data")]
    return path.stat().st_size + sum(p.stat().st_size for p in companions if p.exists())


@pytest.mark.parametrize("format", KEEPS_INT8.get(BACKEND, ()))
def test_an_int8_artifact_keeps_the_kernel_in_int8(format, tmp_path):
    from keras_ct_plugin.conformance import export_formats

    missing = export_formats.missing_packages(format, BACKEND)
    if missing:
        pytest.skip(f"needs {', '.join(missing)}")
    # A static signature: with a dynamic batch, Keras exports torch to ONNX
    # with TorchScript, which folds the kernel into float.
    signature = [keras.InputSpec(shape=(2, 4, 4, 64), dtype="float32")]
    x = uniform((2, 4, 4, 64), 3)
    sizes = {}
    for mode in ("float", "int8"):
        keras.utils.set_random_seed(0)
        model = keras.Sequential([keras.Input((4, 4, 64)),
                                  ct.Conv2DTranspose(128, 4, strides=2, padding="same")])
        if mode == "int8":
            model.quantize("int8")
        expected = to_float32(model(x))
        path = str(tmp_path / f"{mode}{export_formats.SUFFIX[format]}")
        model.export(path, format=format, verbose=False, input_signature=signature)
        actual = export_formats.run(format, path, x)
        assert np.max(np.abs(actual - expected)) <= 1e-2 * np.max(np.abs(expected))
        sizes[mode] = _artifact_bytes(path)
    assert sizes["int8"] < 0.35 * sizes["float"], sizes
