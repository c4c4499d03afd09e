"""The layers inside models: symbolic inputs, training, saving, precision."""

import json

import keras
import numpy as np
import pytest

from cases import Case
from helpers import LAYERS
from helpers import assert_matches_reference
from keras_ct_plugin.conformance.operands import reference_output
from keras_ct_plugin.conformance.operands import to_float32
from keras_ct_plugin.conformance.operands import uniform

import keras_ct_plugin as ct

needs_training = pytest.mark.skipif(
    keras.backend.backend() == "numpy",
    reason="Keras's numpy backend cannot train (Model.fit raises).",
)


def test_seed_example():
    x = keras.random.uniform((4, 10, 8, 128))
    y = ct.Conv2DTranspose(32, 2, 2, activation="relu")(x)
    assert tuple(y.shape) == (4, 20, 16, 32)
    assert to_float32(y).min() >= 0


def test_positional_arguments_follow_keras_order():
    import inspect

    builtin_order = list(inspect.signature(keras.layers.Conv2DTranspose).parameters)
    if builtin_order[4] != "output_padding":
        pytest.skip("this Keras's built-in predates output_padding in 5th place (3.15's order)")
    layer = ct.Conv2DTranspose(8, 3, 2, "same", 1, "channels_first", 1, "relu", False)
    builtin = keras.layers.Conv2DTranspose(
        8, 3, 2, "same", 1, "channels_first", 1, "relu", False
    )
    for name in ("strides", "padding", "output_padding", "data_format",
                 "dilation_rate", "use_bias"):
        assert getattr(layer, name) == getattr(builtin, name), name
    assert layer.activation is builtin.activation


def test_defaults_follow_the_seed():
    layer = ct.Conv2DTranspose(4, 3, kernel_initializer=None, bias_initializer=None)
    assert layer.strides == (1, 1) and layer.dilation_rate == (1, 1)
    assert layer.padding == "valid" and layer.use_bias
    assert layer.data_format == keras.config.image_data_format()
    assert isinstance(layer.kernel_initializer, keras.initializers.GlorotUniform)
    assert isinstance(layer.bias_initializer, keras.initializers.Zeros)


@pytest.mark.parametrize("rank", [1, 2, 3])
@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_symbolic_shape_with_unknown_sizes(rank, data_format):
    spatial = (None,) * rank
    shape = spatial + (3,) if data_format == "channels_last" else (3,) + spatial
    layer = LAYERS[rank](5, 3, strides=2, padding="same", data_format=data_format)
    y = layer(keras.Input(shape))
    expected = (None,) + spatial + (5,) if data_format == "channels_last" else (None, 5) + spatial
    assert tuple(y.shape) == expected
    assert layer.compute_output_shape((None,) + shape) == expected


def test_compute_output_shape_keeps_known_sizes():
    layer = ct.Conv2DTranspose(5, (3, 4), strides=(2, 3), output_padding=(1, 2))
    assert layer.compute_output_shape((None, 7, None, 2)) == (None, 16, None, 5)


def test_functional_op_on_keras_inputs():
    case = Case((3, 3), (2, 2), (1, 1), "same", (1, 0), "channels_first", (4, 5))
    x_in = keras.Input(case.input_shape[1:])
    k_in = keras.Input(case.kernel_shape, batch_size=1)
    y = ct.ops.conv_transpose(x_in, k_in[0], **case.settings)
    model = keras.Model([x_in, k_in], y)
    x = uniform(case.input_shape, seed=7)
    kernel = uniform(case.kernel_shape, seed=8)
    assert tuple(y.shape) == (None, 4, 8, 9)
    assert_matches_reference(
        model.predict([x, kernel[None].repeat(2, 0)], verbose=0, batch_size=2),
        reference_output(case, x, kernel),
    )


def _mixed_model():
    inputs = keras.Input((6, 3))
    a = ct.Conv1DTranspose(4, 3, strides=2, padding="same", activation="relu")(inputs)
    b = keras.layers.Reshape((12, 4, 1))(a)
    b = ct.Conv2DTranspose(2, (3, 2), strides=(1, 2), data_format="channels_last")(b)
    c = keras.layers.Reshape((14, 8, 2, 1))(b)
    c = ct.Conv3DTranspose(
        3, 2, strides=(1, 1, 2), dilation_rate=1, data_format="channels_first",
        kernel_regularizer="l2", bias_constraint="non_neg",
    )(keras.layers.Permute((4, 1, 2, 3))(c))
    return keras.Model(inputs, c)


def test_get_config_round_trip():
    layer = ct.Conv2DTranspose(
        6, (3, 2), strides=(2, 1), padding="same", output_padding=(1, 0),
        data_format="channels_first", activation="tanh", use_bias=False,
        kernel_initializer="he_normal", kernel_regularizer=keras.regularizers.L1(0.01),
        activity_regularizer="l2", kernel_constraint="max_norm", name="up",
    )
    config = layer.get_config()
    clone = ct.Conv2DTranspose.from_config(json.loads(json.dumps(config)))
    assert clone.get_config() == config


@pytest.mark.parametrize("padding, standard", [
    (1, ((1, 1), (1, 1))),
    ((2, 0), ((2, 2), (0, 0))),
    ([[1, 0], [0, 2]], ((1, 0), (0, 2))),
])
def test_torch_style_config_round_trip(padding, standard):
    layer = ct.Conv2DTranspose(6, 3, strides=2, padding=padding, output_padding=1,
                               dilation_rate=2, groups=3)
    config = layer.get_config()
    assert config["padding"] == standard and config["groups"] == 3
    clone = ct.Conv2DTranspose.from_config(json.loads(json.dumps(config)))
    assert clone.get_config() == config


def test_model_json_needs_no_custom_objects():
    model = _mixed_model()
    clone = keras.models.model_from_json(model.to_json())
    x = uniform((2, 6, 3), seed=9)
    clone.set_weights(model.get_weights())
    np.testing.assert_allclose(to_float32(clone(x)), to_float32(model(x)), rtol=1e-6)


def test_keras_file_round_trip(tmp_path):
    model = _mixed_model()
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    x = uniform((2, 6, 3), seed=10)
    np.testing.assert_array_equal(to_float32(loaded.predict(x, verbose=0)),
                                  to_float32(model.predict(x, verbose=0)))
    assert [type(layer).__name__ for layer in loaded.layers] == [
        type(layer).__name__ for layer in model.layers
    ]


@needs_training
def test_sequential_trains_one_step():
    model = keras.Sequential([
        keras.Input((4, 4, 3)),
        ct.Conv2DTranspose(8, 3, strides=2, padding="same", activation="relu"),
        ct.Conv2DTranspose(1, 2, data_format="channels_last"),
    ])
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    x, y = uniform((8, 4, 4, 3), seed=11), uniform((8, 9, 9, 1), seed=12)
    before = [w.copy() for w in model.get_weights()]
    loss_before = model.evaluate(x, y, verbose=0)
    history = model.fit(x, y, epochs=1, batch_size=8, verbose=0)
    after = model.get_weights()
    assert all(not np.array_equal(a, b) for a, b in zip(before, after))
    assert np.isfinite(history.history["loss"][0])
    assert model.evaluate(x, y, verbose=0) < loss_before


def test_builtin_weights_move_over_unchanged():
    x = uniform((2, 5, 6, 3), seed=13)
    builtin = keras.Sequential([keras.Input((5, 6, 3)),
                                keras.layers.Conv2DTranspose(4, 3, strides=2)])
    plugin = keras.Sequential([keras.Input((5, 6, 3)), ct.Conv2DTranspose(4, 3, strides=2)])
    plugin.set_weights(builtin.get_weights())
    np.testing.assert_allclose(to_float32(plugin(x)), to_float32(builtin(x)), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("policy", ["mixed_float16", "mixed_bfloat16"])
def test_mixed_precision(policy):
    keras.config.set_dtype_policy(policy)
    case = Case((3, 3), (2, 2), (1, 1), "same", None, "channels_last", (5, 4))
    layer = ct.Conv2DTranspose(4, 3, strides=2, padding="same",
                               bias_initializer="random_uniform")
    x = uniform(case.input_shape, seed=14)
    y = layer(x)
    compute_dtype = policy.split("_")[1]
    assert keras.backend.standardize_dtype(y.dtype) == compute_dtype
    assert keras.backend.standardize_dtype(layer.kernel.dtype) == "float32"
    expected = reference_output(case, x, to_float32(layer.kernel), to_float32(layer.bias))
    assert_matches_reference(y, expected, dtype=compute_dtype)


@needs_training
def test_mixed_precision_training_step():
    keras.config.set_dtype_policy("mixed_float16")
    model = keras.Sequential([keras.Input((4, 4, 2)), ct.Conv2DTranspose(2, 2, strides=2)])
    model.compile(optimizer="adam", loss="mse")
    history = model.fit(uniform((4, 4, 4, 2), 15), uniform((4, 8, 8, 2), 16), verbose=0)
    assert np.isfinite(history.history["loss"][0])


def test_channels_first_equals_transposed_channels_last():
    x = uniform((2, 5, 4, 3), seed=17)
    last = ct.Conv2DTranspose(4, 3, strides=(2, 1), padding="same", output_padding=(1, 0))
    first = ct.Conv2DTranspose(4, 3, strides=(2, 1), padding="same", output_padding=(1, 0),
                               data_format="channels_first")
    y_last = last(x)
    first.build((2, 3, 5, 4))
    first.set_weights(last.get_weights())
    y_first = first(np.moveaxis(x, -1, 1))
    np.testing.assert_allclose(np.moveaxis(to_float32(y_first), 1, -1), to_float32(y_last),
                               rtol=1e-5, atol=1e-5)


def test_empty_output_like_keras():
    layer = ct.Conv1DTranspose(4, 2, padding="same", output_padding=0)
    assert tuple(layer(np.ones((3, 1, 2), "float32")).shape) == (3, 0, 4)
