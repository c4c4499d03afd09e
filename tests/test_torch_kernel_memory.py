"""On torch, the kernel variable holds its values in the memory order torch's
op reads its weight in, behind the Keras shape, so the native path hands
torch a view, not a copy; training, saving and loading keep that order and
the layer's results."""

import math

import keras
import numpy as np
import pytest

import keras_ct_plugin as ct

pytestmark = pytest.mark.skipif(keras.backend.backend() != "torch",
                                reason="torch's memory order")


def _kernel_copies(layer, x):
    """The copies torch's ops make of a kernel-sized tensor in one forward."""
    import torch
    from torch.profiler import profile

    size = math.prod(layer.kernel.shape)
    with torch.no_grad(), profile(record_shapes=True) as profiled:
        layer(x)
    return [event.name for event in profiled.events() if event.name == "aten::copy_"
            and any(shape and math.prod(shape) == size for shape in event.input_shapes)]


def _model(layer, input_shape):
    inputs = keras.Input(input_shape)
    return keras.Model(inputs, layer(inputs))


# Input, kernel and output sizes differ, so that only kernel copies count.
@pytest.mark.parametrize("layer_class, kwargs, input_shape", [
    (ct.Conv2DTranspose, dict(filters=6, kernel_size=3, strides=2), (5, 5, 4)),
    (ct.Conv2DTranspose, dict(filters=6, kernel_size=3, data_format="channels_first"),
     (4, 5, 5)),
    (ct.Conv3DTranspose, dict(filters=3, kernel_size=3, strides=2, padding="same",
                              data_format="channels_first"), (4, 3, 3, 3)),
    (ct.Conv1DTranspose, dict(filters=5, kernel_size=4, strides=2), (7, 2)),
])
def test_training_saving_and_loading_keep_torch_order(layer_class, kwargs, input_shape,
                                                      tmp_path):
    model = _model(layer_class(**kwargs), input_shape)
    layer = model.layers[-1]
    x = np.random.default_rng(0).standard_normal((4, *input_shape)).astype("float32")
    x_tensor = keras.ops.convert_to_tensor(x)
    assert _kernel_copies(layer, x_tensor) == []
    strides = layer.kernel.value.stride()
    y = np.random.default_rng(1).standard_normal(
        (4, *model.output_shape[1:])).astype("float32")
    before = keras.ops.convert_to_numpy(layer.kernel).copy()
    model.compile(optimizer="adam", loss="mse")
    model.fit(x, y, epochs=2, batch_size=2, verbose=0)
    assert not np.allclose(keras.ops.convert_to_numpy(layer.kernel), before)
    assert layer.kernel.value.stride() == strides
    model.save(tmp_path / "model.keras")
    loaded = keras.saving.load_model(tmp_path / "model.keras")
    assert loaded.layers[-1].kernel.value.stride() == strides
    assert _kernel_copies(loaded.layers[-1], x_tensor) == []
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


def test_gradients_where_torch_runs_its_own_kernel():
    """Batch 1, a 1x4 kernel, dilation 2: torch runs its own CPU kernel there,
    not oneDNN's, and its backward needs a contiguous weight (the
    conformance suite caught it)."""
    from keras_ct_plugin.conformance import checks
    from keras_ct_plugin.conformance import matrix

    case_id = "2d-k1x4-s2x2-d2x2-valid-opnone-cl-n3x3-b1-tanh"
    case = next(case for case in matrix.load() if case.id == case_id)
    checks.gradients(checks.prepare(ct.Conv2DTranspose, case))
