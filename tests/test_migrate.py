"""`replace_builtin_layers`: a model built with Keras's layers, rebuilt with
the plugin's, computes the same."""

import re

import keras
import numpy as np
import pytest

import keras_ct_plugin as ct
from keras_ct_plugin.conformance.operands import to_float32
from keras_ct_plugin.conformance.operands import uniform


def _builtin_model():
    a, b, c = keras.Input((5, 3)), keras.Input((4, 3, 2)), keras.Input((2, 3, 2, 2))
    outputs = [
        keras.layers.Conv1DTranspose(4, 3, strides=2, padding="same", name="one")(a),
        keras.layers.Conv2DTranspose(3, 2, strides=2, activation="relu")(b),
        keras.layers.Conv3DTranspose(2, 3, output_padding=0, padding="same", strides=2)(c),
    ]
    pooled = [keras.layers.Flatten()(o) for o in outputs]
    return keras.Model([a, b, c], keras.layers.Dense(2)(keras.layers.Concatenate()(pooled)))


def test_replaces_every_builtin_layer_and_keeps_the_numbers(tmp_path):
    model = _builtin_model()
    model.save(tmp_path / "builtin.keras")
    loaded = keras.saving.load_model(tmp_path / "builtin.keras")
    migrated = ct.replace_builtin_layers(loaded)
    kinds = {type(layer) for layer in migrated.layers}
    assert {ct.Conv1DTranspose, ct.Conv2DTranspose, ct.Conv3DTranspose} <= kinds
    assert not kinds & {keras.layers.Conv1DTranspose, keras.layers.Conv2DTranspose,
                        keras.layers.Conv3DTranspose}
    assert migrated.get_layer("one").get_config()["strides"] == (2,)
    inputs = [uniform((2, *t.shape[1:]), i) for i, t in enumerate(model.inputs)]
    np.testing.assert_allclose(to_float32(migrated(inputs)), to_float32(model(inputs)),
                               rtol=1e-5, atol=1e-5)


def test_rejects_what_is_not_a_model():
    message = ("Invalid value for argument `model`. Expected a keras.Model. "
               "Received model='model.keras' of type str.")
    with pytest.raises(TypeError, match=f"^{re.escape(message)}$"):
        ct.replace_builtin_layers("model.keras")
