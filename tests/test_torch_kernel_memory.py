"""On torch, the kernel variable holds its values in torch's weight order
behind the Keras shape, so the native path hands torch a view, not a copy;
training, saving and loading keep that order and the layer's results."""

import keras
import numpy as np
import pytest

import keras_ct_plugin as ct

pytestmark = pytest.mark.skipif(keras.backend.backend() != "torch",
                                reason="torch's memory order")


def _in_torch_order(layer):
    value = layer.kernel.value
    rank = value.ndim - 2
    return value.permute(rank + 1, rank, *range(rank)).is_contiguous()


def _model(layer, input_shape):
    inputs = keras.Input(input_shape)
    return keras.Model(inputs, layer(inputs))


@pytest.mark.parametrize("layer_class, kwargs, input_shape", [
    (ct.Conv2DTranspose, dict(filters=6, kernel_size=3, strides=2), (5, 5, 4)),
    (ct.Conv3DTranspose, dict(filters=3, kernel_size=3, strides=2, padding="same",
                              data_format="channels_first"), (4, 3, 3, 3)),
    (ct.Conv1DTranspose, dict(filters=5, kernel_size=4, strides=2), (7, 2)),
])
def test_training_saving_and_loading_keep_torch_order(layer_class, kwargs, input_shape,
                                                      tmp_path):
    model = _model(layer_class(**kwargs), input_shape)
    layer = model.layers[-1]
    assert _in_torch_order(layer)
    x = np.random.default_rng(0).standard_normal((4, *input_shape)).astype("float32")
    y = np.random.default_rng(1).standard_normal(
        (4, *model.output_shape[1:])).astype("float32")
    before = keras.ops.convert_to_numpy(layer.kernel).copy()
    model.compile(optimizer="adam", loss="mse")
    model.fit(x, y, epochs=2, batch_size=2, verbose=0)
    assert not np.allclose(keras.ops.convert_to_numpy(layer.kernel), before)
    assert _in_torch_order(layer)
    model.save(tmp_path / "model.keras")
    loaded = keras.saving.load_model(tmp_path / "model.keras")
    assert _in_torch_order(loaded.layers[-1])
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(loaded.layers[-1].kernel),
                                  keras.ops.convert_to_numpy(layer.kernel))
    np.testing.assert_allclose(keras.ops.convert_to_numpy(loaded(x)),
                               keras.ops.convert_to_numpy(model(x)), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("kwargs", [
    dict(groups=2),  # torch's grouped weight is no strided view of Keras's
    dict(kernel_size=2, strides=2),  # the channels_last matmul reads Keras's order
    dict(implementation="generic"),  # keras.ops read Keras's order
])
def test_other_kernels_keep_keras_order(kwargs):
    layer = ct.Conv2DTranspose(**{"filters": 4, "kernel_size": 3, **kwargs})
    layer.build((None, 5, 5, 4))
    assert layer.kernel.value.is_contiguous()
