"""Move a model from Keras's built-in transposed convolutions to this plugin's."""

import keras

from keras_ct_plugin import layers

_PLUGIN_FOR = {
    keras.layers.Conv1DTranspose: layers.Conv1DTranspose,
    keras.layers.Conv2DTranspose: layers.Conv2DTranspose,
    keras.layers.Conv3DTranspose: layers.Conv3DTranspose,
}


def replace_builtin_layers(model):
    """A copy of `model` in which every `keras.layers.Conv{1,2,3}DTranspose`
    is this plugin's layer of the same rank, with the same configuration,
    name and weights; every other layer is cloned as it is.

    >>> model = keras.saving.load_model("built_in.keras")
    >>> model = keras_ct_plugin.replace_builtin_layers(model)
    """
    if not isinstance(model, keras.Model):
        raise TypeError(
            "Invalid value for argument `model`. Expected a keras.Model. "
            f"Received model={model!r} of type {type(model).__name__}."
        )

    def clone(layer):
        cls = _PLUGIN_FOR.get(type(layer), type(layer))
        return cls.from_config(layer.get_config())

    copy = keras.models.clone_model(model, clone_function=clone)
    copy.set_weights(model.get_weights())
    return copy
