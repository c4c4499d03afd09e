"""Odd but legal input on every implementation path: NaN and Inf, an empty
batch, repeated calls; and `.keras` files whose config was corrupted."""

import json
import re
import zipfile

import keras
import numpy as np
import pytest

from cases import Case
from helpers import LAYERS
from helpers import path_params
from keras_ct_plugin.conformance.operands import reference_output
from keras_ct_plugin.conformance.operands import to_float32
from keras_ct_plugin.conformance.operands import uniform

import keras_ct_plugin as ct

CASES = [
    Case((3, 3), (2, 2), (1, 1), "same", None, "channels_last", (4, 5)),
    Case((2, 2), (2, 2), (1, 1), "valid", None, "channels_last", (3, 3)),
    Case((3,), (1,), (2,), "valid", None, "channels_first", (6,)),
    Case((3, 3), (2, 2), (2, 1), ((1, 1), (0, 2)), (1, 1), "channels_first", (3, 4),
         in_channels=4, filters=6, groups=2),
    Case((2, 3, 2), (2, 1, 2), (1, 1, 1), "same", (1, 0, 1), "channels_last", (2, 3, 2)),
]


PARAMS = path_params(CASES)


def _layer(case, path):
    layer = LAYERS[case.rank](case.filters, case.kernel_size, **case.settings,
                              implementation=path, bias_initializer="random_uniform")
    layer.build(case.input_shape)
    return layer


def _reference(case, layer, x):
    return reference_output(case, x, to_float32(layer.kernel), to_float32(layer.bias))


@pytest.mark.parametrize("case, path", PARAMS)
def test_nan_and_inf_propagate_as_the_reference_says(case, path):
    x = uniform(case.input_shape, seed=40)
    flat = x.reshape(-1)
    flat[flat.size // 3] = np.nan
    flat[2 * flat.size // 3] = np.inf
    flat[-1] = -np.inf
    layer = _layer(case, path)
    actual = to_float32(layer(x))
    with np.errstate(invalid="ignore"):
        expected = _reference(case, layer, x)
    np.testing.assert_array_equal(np.isnan(actual), np.isnan(expected))
    np.testing.assert_array_equal(np.isposinf(actual), np.isposinf(expected))
    np.testing.assert_array_equal(np.isneginf(actual), np.isneginf(expected))
    finite = np.isfinite(expected)
    assert np.any(~finite) and np.any(finite)
    np.testing.assert_allclose(actual[finite], expected[finite], atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("case, path", PARAMS)
def test_empty_batch(case, path):
    layer = _layer(case, path)
    x = np.zeros((0, *case.input_shape[1:]), "float32")
    y = layer(x)
    assert tuple(y.shape) == layer.compute_output_shape(x.shape)
    assert y.shape[0] == 0 and all(n > 0 for n in y.shape[1:])


@pytest.mark.parametrize("case, path", PARAMS)
def test_repeated_calls_are_identical(case, path):
    layer = _layer(case, path)
    x = uniform(case.input_shape, seed=41)
    first = to_float32(layer(x))
    for _ in range(3):
        np.testing.assert_array_equal(to_float32(layer(x)), first)


@pytest.fixture(scope="module")
def saved_model(tmp_path_factory):
    model = keras.Sequential(
        [keras.Input((4, 4, 4)), ct.Conv2DTranspose(2, 3, groups=2, name="up")]
    )
    path = tmp_path_factory.mktemp("corrupt") / "model.keras"
    model.save(path)
    return path


def _corrupted(saved_model, tmp_path, edit):
    """A copy of the saved model with its layer's config edited."""
    path = tmp_path / "corrupted.keras"
    with zipfile.ZipFile(saved_model) as source, zipfile.ZipFile(path, "w") as target:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename == "config.json":
                config = json.loads(data)
                edit(config["config"]["layers"][1])
                data = json.dumps(config)
            target.writestr(item, data)
    return path


def _set(key, value):
    return lambda layer: layer["config"].update({key: value})


CORRUPTIONS = {
    "bad-padding": (_set("padding", "full"), ValueError,
                    "Invalid value for argument `padding`. Expected 'valid' or "
                    "'same'. Received padding='full'."),
    "bad-groups": (_set("groups", 3), ValueError,
                   "Invalid value for argument `groups`. Expected a divisor of "
                   "filters=2. Received groups=3."),
    "bad-output-padding": (_set("output_padding", [5, 5]), ValueError,
                           "Invalid value for argument `output_padding`. Expected "
                           "each value to be strictly less than max(strides, "
                           "dilation_rate) on its axis"),
    "missing-key": (lambda layer: layer["config"].pop("filters"), ValueError,
                    "Invalid config for Conv2DTranspose 'up'. Expected the keys "
                    "'filters' and 'kernel_size'. Received a config without "
                    "'filters'."),
}
# Keras's own errors, whose wording is Keras's and changes between its
# releases: the error's type, and that it names what is wrong.
KERAS_CORRUPTIONS = {
    "unknown-key": (_set("unknown", 1), ValueError, ["Conv2DTranspose", "unknown"]),
    "not-a-dict": (lambda layer: layer.update(config=[1, 2]), TypeError, ["Conv2DTranspose"]),
    "unknown-class": (lambda layer: layer.update(
        registered_name="keras_ct_plugin>Conv4DTranspose", class_name="Conv4DTranspose"),
        TypeError, ["Conv4DTranspose"]),
}


@pytest.mark.parametrize("edit, error, message", CORRUPTIONS.values(), ids=CORRUPTIONS.keys())
def test_corrupted_config_fails_to_load_with_a_clear_error(
    saved_model, tmp_path, edit, error, message
):
    with pytest.raises(error, match=f"^{re.escape(message)}"):
        keras.saving.load_model(_corrupted(saved_model, tmp_path, edit))


@pytest.mark.parametrize("edit, error, names", KERAS_CORRUPTIONS.values(),
                         ids=KERAS_CORRUPTIONS.keys())
def test_corrupted_config_keras_rejects_names_what_is_wrong(saved_model, tmp_path, edit, error,
                                                            names):
    with pytest.raises(error) as raised:
        keras.saving.load_model(_corrupted(saved_model, tmp_path, edit))
    assert all(name in str(raised.value) for name in names), str(raised.value)


def test_uncorrupted_copy_loads(saved_model, tmp_path):
    model = keras.saving.load_model(_corrupted(saved_model, tmp_path, lambda layer: None))
    assert model.layers[0].groups == 2
