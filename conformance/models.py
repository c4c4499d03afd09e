"""Models for the cross-backend `.keras` matrix: Sequential and functional,
rank 1, 2 and 3 layers, both data formats, mixed in one functional model, and
PyTorch-style layers (groups, explicit padding, strides with dilation), and
layers with LoRA whose adapters have moved (saved as the merged kernel), and
layers quantized int8 and int4 (Keras 3.13 or newer)."""

import pathlib

import keras
import numpy as np

import keras_ct_plugin as ct


def _sequential():
    return {
        "sequential-1d": keras.Sequential([
            keras.Input((7, 3)),
            ct.Conv1DTranspose(4, 3, strides=2, padding="same", activation="relu"),
            ct.Conv1DTranspose(2, 2, dilation_rate=2, output_padding=1),
        ]),
        "sequential-2d-channels-first": keras.Sequential([
            keras.Input((3, 5, 4)),
            ct.Conv2DTranspose(4, (3, 2), strides=(2, 1), padding="same",
                               data_format="channels_first"),
            ct.Conv2DTranspose(2, 4, strides=2, output_padding=(1, 0), use_bias=False,
                               data_format="channels_first"),
        ]),
        "sequential-3d": keras.Sequential([
            keras.Input((2, 3, 3, 2)),
            ct.Conv3DTranspose(3, 2, strides=2, activation="tanh"),
            ct.Conv3DTranspose(2, 3, padding="same"),
        ]),
        "sequential-torch-style": keras.Sequential([
            keras.Input((4, 5, 5)),
            ct.Conv2DTranspose(6, 3, strides=2, padding=1, output_padding=1, groups=2,
                               data_format="channels_first"),
            ct.Conv2DTranspose(4, 3, strides=2, dilation_rate=2, padding=((1, 2), (0, 1)),
                               groups=2, data_format="channels_first"),
        ]),
        "sequential-1d-3d-groups": keras.Sequential([
            keras.Input((2, 3, 2, 4)),
            ct.Conv3DTranspose(4, 2, strides=2, padding=((1, 0), (0, 1), (1, 1)), groups=4),
            keras.layers.Reshape((-1, 4)),
            ct.Conv1DTranspose(2, 3, strides=3, dilation_rate=2, padding=2, groups=2),
        ]),
    }


def _functional():
    a, b, c = keras.Input((6, 3)), keras.Input((4, 5, 3)), keras.Input((3, 2, 3, 2))
    pooled = [
        keras.layers.GlobalAveragePooling1D()(ct.Conv1DTranspose(4, 3, strides=3)(a)),
        keras.layers.GlobalAveragePooling2D()(
            ct.Conv2DTranspose(4, 3, strides=2, padding="same", dilation_rate=1)(b)),
        keras.layers.GlobalAveragePooling3D(data_format="channels_first")(
            ct.Conv3DTranspose(4, 2, dilation_rate=2, data_format="channels_first")(c)),
    ]
    out = keras.layers.Dense(5)(keras.layers.Concatenate()(pooled))
    return {"functional-1d-2d-3d": keras.Model([a, b, c], out)}


def _lora():
    model = keras.Sequential([
        keras.Input((5, 4, 3)),
        ct.Conv2DTranspose(4, 3, strides=2, padding="same", output_padding=1, lora_rank=2),
        ct.Conv2DTranspose(4, 2, strides=2, groups=2),
    ])
    model.layers[1].enable_lora(3, lora_alpha=1.5)
    for layer in model.layers:
        layer.lora_kernel_b.assign(keras.random.uniform(layer.lora_kernel_b.shape, -1, 1))
    return {"sequential-2d-lora": model}


def _quantized():
    if not hasattr(keras.quantizers, "QuantizationConfig"):
        return {}
    model = keras.Sequential([
        keras.Input((5, 4, 3)),
        ct.Conv2DTranspose(6, 3, strides=2, padding="same", groups=3),
        ct.Conv2DTranspose(4, 2, strides=2, activation="relu"),
    ])
    model.layers[0].quantize("int8")
    model.layers[1].quantize("int4")
    return {"sequential-2d-int8-int4": model}


def build():
    keras.utils.set_random_seed(0)
    return {**_sequential(), **_functional(), **_lora(), **_quantized()}


def inputs_for(model):
    rng = np.random.default_rng(7)
    return [rng.uniform(-1, 1, (2, *t.shape[1:])).astype("float32") for t in model.inputs]


def save_all(directory):
    directory = pathlib.Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    for name, model in build().items():
        inputs = inputs_for(model)
        output = keras.ops.convert_to_numpy(model(inputs if len(inputs) > 1 else inputs[0]))
        model.save(directory / f"{name}.keras")
        np.savez(directory / f"{name}.npz", output=output,
                 **{f"input_{i}": x for i, x in enumerate(inputs)})


def load_and_predict(keras_path):
    """What the saved model predicts here, and what it predicted where saved."""
    keras_path = pathlib.Path(keras_path)
    saved = np.load(keras_path.with_suffix(".npz"))
    inputs = [saved[f"input_{i}"] for i in range(len(saved.files) - 1)]
    model = keras.saving.load_model(keras_path)
    # Called, not `predict`: OpenVINO compiles `predict`'s model with its
    # default bf16 precision on bf16 CPUs, which rounds the `Dense` layer.
    predicted = model(inputs if len(inputs) > 1 else inputs[0])
    return keras.ops.convert_to_numpy(predicted), saved["output"]
