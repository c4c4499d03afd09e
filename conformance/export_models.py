"""The models of the export matrix, each built from the plugin's layers or from
Keras's built-in ones: small Sequential and functional models in 1-D, 2-D and
3-D, the settings decoders use, and the settings only the plugin has."""

from dataclasses import dataclass

# Keras is imported where a model is built: the conformance runner reads the
# models' descriptions without starting a backend.


@dataclass(frozen=True)
class ExportModel:
    name: str
    input_shape: tuple  # without the batch; None for an unknown size
    layers: tuple  # (rank, filters, kernel_size, settings) per layer
    plugin_only: bool = False
    functional: bool = False
    # Where a format has a transposed-convolution op, each layer should
    # export as exactly one.
    plain: bool = True
    # Per layer, the mode `layer.quantize` is given, or None.
    quantize: tuple = ()

    @property
    def tolerance(self):
        """The largest |artifact - Keras| / max|Keras| accepted. A quantized
        layer rounds each input to an integer step: a runtime whose division
        differs in the last bit at a half rounds it to the neighbouring step,
        which moves the outputs it reaches by about 1/127 of their range."""
        return 1e-2 if any(self.quantize) else 1e-4

    def build(self, subject):
        """The Keras model, or None where the subject has no such layer."""
        if subject == "builtin" and self.plugin_only:
            return None
        import keras

        import keras_ct_plugin

        module = keras_ct_plugin if subject == "plugin" else keras.layers
        keras.utils.set_random_seed(0)
        layers = [getattr(module, f"Conv{rank}DTranspose")(
                      filters, kernel_size, bias_initializer="glorot_uniform", **settings)
                  for rank, filters, kernel_size, settings in self.layers]
        if self.functional:
            inputs = keras.Input(self.input_shape)
            x = inputs
            for layer in layers:
                x = layer(x)
            model = keras.Model(inputs, x)
        else:
            model = keras.Sequential([keras.Input(self.input_shape), *layers])
        for layer, mode in zip(layers, self.quantize):
            if mode:
                layer.quantize(mode)
        for layer in layers:
            if getattr(layer, "lora_enabled", False):
                # Trained adapters: B starts at zero.
                layer.lora_kernel_b.assign(keras.random.uniform(layer.lora_kernel_b.shape,
                                                                -0.5, 0.5, seed=1))
        return model

    @property
    def dynamic_axes(self):
        """Input axes whose size is unknown: the batch, and any None size."""
        return [0] + [i + 1 for i, n in enumerate(self.input_shape) if n is None]

    def input_shapes(self, dynamic):
        """The input shapes an artifact is run on: a batch other than the
        traced one and, where sizes are unknown, other sizes; two of them
        where the format keeps the unknown sizes unknown."""
        shapes = [(3, *(7 if n is None else n for n in self.input_shape))]
        if dynamic:
            shapes.append((1, *(5 if n is None else n for n in self.input_shape)))
        return shapes


LORA = "2-D k3 s2 same op1, LoRA rank 2"
MODELS = (
    ExportModel("1-D k2 s2 relu", (8, 3), ((1, 4, 2, dict(strides=2, activation="relu")),)),
    ExportModel("2-D k2 s2 relu", (6, 5, 3), ((2, 4, 2, dict(strides=2, activation="relu")),)),
    ExportModel("2-D k3 s2 same op1", (6, 5, 3),
                ((2, 4, 3, dict(strides=2, padding="same", output_padding=1)),)),
    ExportModel("2-D k4 s2 same", (6, 5, 3), ((2, 4, 4, dict(strides=2, padding="same")),)),
    ExportModel("2-D k3 s1 same", (6, 5, 3), ((2, 4, 3, dict(padding="same")),)),
    ExportModel("2-D channels_first", (3, 6, 5),
                ((2, 4, 3, dict(strides=2, padding="same", data_format="channels_first")),)),
    ExportModel("2-D dilation 2", (6, 5, 3), ((2, 4, 3, dict(dilation_rate=2)),), plain=False),
    ExportModel("3-D k3 s2 same", (3, 4, 5, 2), ((3, 3, 3, dict(strides=2, padding="same")),)),
    ExportModel("fully convolutional, H and W unknown", (None, None, 3),
                ((2, 4, 4, dict(strides=2, padding="same", activation="relu")),
                 (2, 2, 3, dict(padding="same"))), functional=True),
    ExportModel("2-D groups 2", (6, 5, 4), ((2, 4, 3, dict(strides=2, groups=2)),),
                plugin_only=True, plain=False),
    ExportModel("2-D explicit padding", (6, 5, 3),
                ((2, 4, 3, dict(strides=2, padding=((1, 2), (0, 1)), output_padding=1)),),
                plugin_only=True),
    ExportModel("2-D dilation 2 + strides 2", (6, 5, 3),
                ((2, 4, 3, dict(strides=2, dilation_rate=2)),), plugin_only=True, plain=False),
    ExportModel("2-D int8 then int4", (6, 5, 3),
                ((2, 8, 3, dict(strides=2, padding="same", output_padding=1)),
                 (2, 5, 2, dict(strides=2))), plugin_only=True, quantize=("int8", "int4")),
    ExportModel(LORA, (6, 5, 3),
                ((2, 4, 3, dict(strides=2, padding="same", output_padding=1, lora_rank=2)),),
                plugin_only=True),
)
# The plain model that the plugin-only settings are compared with: where it
# exports, they must too. The LoRA model is it with LoRA enabled: its
# artifact must have no more ops than the baseline's (the adapters merged).
BASELINE = "2-D k3 s2 same op1"
