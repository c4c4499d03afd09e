"""BilinearUpsampling and ICNR: what the initialized layer computes, their
errors, and their serialization."""

import keras
import numpy as np
import pytest

import keras_ct_plugin as ct
from helpers import LAYERS
from keras_ct_plugin.initializers import ICNR
from keras_ct_plugin.initializers import BilinearUpsampling
from keras_ct_plugin.conformance.operands import uniform


def _linear_upsampling(x, factor, axes):
    """Half-pixel linear interpolation along each of `axes`, from the
    definition: output position `o` samples input coordinate
    `(o + 0.5) / factor - 0.5`, clamped at the ends."""
    for axis in axes:
        n = x.shape[axis]
        coordinate = np.clip((np.arange(n * factor) + 0.5) / factor - 0.5, 0, n - 1)
        low = np.floor(coordinate).astype(int)
        high = np.minimum(low + 1, n - 1)
        weight = (coordinate - low).reshape([-1 if a == axis else 1 for a in range(x.ndim)])
        x = np.take(x, low, axis) * (1 - weight) + np.take(x, high, axis) * weight
    return x


def _interior(y, factor, axes):
    index = [slice(None)] * y.ndim
    for axis in axes:
        index[axis] = slice(2 * factor, -2 * factor)
    return y[tuple(index)]


def _output(layer, x):
    return keras.ops.convert_to_numpy(layer(x)).astype("float64")


@pytest.mark.parametrize("rank, factor, data_format, groups", [
    (1, 2, "channels_last", 1), (1, 3, "channels_first", 3), (2, 2, "channels_last", 1),
    (2, 3, "channels_first", 1), (2, 4, "channels_last", 3), (3, 2, "channels_first", 3),
    (3, 1, "channels_last", 1),
])
def test_bilinear_upsampling_interpolates_each_channel(rank, factor, data_format, groups):
    channels = 3
    spatial = (7, 6, 5)[:rank]
    shape = (2, *spatial, channels) if data_format == "channels_last" else (2, channels, *spatial)
    x = uniform(shape, rank + factor)
    layer = LAYERS[rank](channels, 2 * factor - factor % 2, strides=factor, padding="same",
                         data_format=data_format, groups=groups, use_bias=False,
                         kernel_initializer=BilinearUpsampling())
    axes = range(1, rank + 1) if data_format == "channels_last" else range(2, rank + 2)
    expected = _linear_upsampling(x.astype("float64"), factor, axes)
    y = _output(layer, x)
    np.testing.assert_allclose(_interior(y, factor, axes), _interior(expected, factor, axes),
                               atol=1e-5)


def test_bilinear_upsampling_is_keras_upsampling2d_away_from_the_borders():
    x = uniform((2, 9, 8, 4), 7)
    for factor in (2, 3):
        layer = ct.Conv2DTranspose(4, 2 * factor - factor % 2, strides=factor, padding="same",
                                   kernel_initializer=BilinearUpsampling())
        expected = keras.layers.UpSampling2D(factor, interpolation="bilinear")(x)
        expected = keras.ops.convert_to_numpy(expected).astype("float64")
        np.testing.assert_allclose(_interior(_output(layer, x), factor, (1, 2)),
                                   _interior(expected, factor, (1, 2)), atol=1e-5)


@pytest.mark.parametrize("shape, message", [
    ((3, 3, 2, 2), "BilinearUpsampling needs each kernel size to be 2 * factor - factor % 2 "
     "for an upsampling factor (1, 4, 5, 8, 9, ...). Received kernel size 3 on spatial axis "
     "0 of shape=(3, 3, 2, 2)."),
    ((4, 4, 6, 3), "BilinearUpsampling needs each output channel to read one input channel: "
     "filters equal to the input channels (groups=1), or one input channel per group. "
     "Received filters=6 and 3 input channels per group (shape=(4, 4, 6, 3))."),
    ((4, 2), "BilinearUpsampling initializes the kernel of a 1-D, 2-D or 3-D transposed "
     "convolution: kernel_size + (filters, channels // groups), 3 to 5 axes. Received "
     "shape=(4, 2)."),
])
def test_bilinear_upsampling_refuses_kernels_it_does_not_define(shape, message):
    with pytest.raises(ValueError) as error:
        BilinearUpsampling()(shape)
    assert str(error.value) == "Invalid value for argument `shape`. " + message


@pytest.mark.parametrize("rank, kernel, stride, groups", [
    (1, 3, 2, 1), (1, 4, 4, 2), (2, 5, 2, 1), (2, 4, 3, 2), (2, 6, 2, 1), (3, 3, 2, 2),
])
def test_icnr_gives_a_constant_output_on_a_constant_input(rank, kernel, stride, groups):
    """Every output phase sums the same taps (a random kernel's phases do not)."""
    spatial = (8, 7, 5)[:rank]
    x = np.ones((1, *spatial, 4), "float32")
    interior = tuple(slice(kernel, -kernel) for _ in range(rank))

    def spread(initializer):
        layer = LAYERS[rank](4, kernel, strides=stride, padding="same", groups=groups,
                             use_bias=False, kernel_initializer=initializer)
        y = _output(layer, x)[(0, *interior)]
        return np.ptp(y.reshape(-1, 4), axis=0).max()

    assert spread(ICNR(keras.initializers.GlorotUniform(seed=1), scale=stride)) < 1e-5
    assert spread(keras.initializers.GlorotUniform(seed=1)) > 1e-2


def test_icnr_is_nearest_upsampling_then_the_drawn_kernel():
    """With ICNR, the layer equals nearest-neighbour upsampling followed by the
    transposed convolution (stride 1) of the kernel it drew."""
    drawn = keras.initializers.GlorotUniform(seed=4)
    layer = ct.Conv2DTranspose(3, 5, strides=2, padding="valid", use_bias=False,
                               kernel_initializer=ICNR(drawn, scale=2))
    x = uniform((1, 4, 5, 2), 9)
    small = ct.Conv2DTranspose(3, 4, padding="valid", use_bias=False, kernel_initializer=drawn)
    upsampled = np.repeat(np.repeat(x, 2, axis=1), 2, axis=2)
    y, expected = _output(layer, x), _output(small, upsampled)
    np.testing.assert_allclose(y[:, :expected.shape[1], :expected.shape[2]], expected,
                               atol=1e-5)


def test_icnr_refuses_what_it_cannot_tie():
    with pytest.raises(ValueError) as error:
        ICNR(scale=3)((2, 4, 2, 2))
    assert str(error.value) == (
        "Invalid value for argument `scale`. ICNR needs each kernel size to be at least its "
        "scale. Received scale=3 for kernel size (2, 4) (shape=(2, 4, 2, 2)).")
    with pytest.raises(TypeError) as error:
        ICNR(scale=1.5)
    assert str(error.value) == (
        "Invalid type for argument `scale`. Expected a positive int or a tuple of positive "
        "ints, one per spatial axis. Received scale=1.5 of type float.")


@pytest.mark.parametrize("initializer", [
    BilinearUpsampling(), ICNR("he_normal", scale=(2, 3)), ICNR(),
], ids=["bilinear", "icnr", "icnr-default"])
def test_initializers_serialize_and_load_by_name(initializer, tmp_path):
    config = keras.initializers.serialize(initializer)
    again = keras.initializers.deserialize(config)
    assert type(again) is type(initializer)
    assert again.get_config() == initializer.get_config()
    name = f"keras_ct_plugin>{type(initializer).__name__}"
    assert type(keras.initializers.get(name)) is type(initializer)
    model = keras.Sequential([keras.Input((5, 4, 2)),
                              ct.Conv2DTranspose(2, 4, strides=2, padding="same",
                                                 kernel_initializer=initializer)])
    model.save(tmp_path / "model.keras")
    loaded = keras.models.load_model(tmp_path / "model.keras")
    assert (loaded.layers[0].kernel_initializer.get_config() == initializer.get_config())


def test_bilinear_taps_are_caffes_filler():
    """Caffe's bilinear filler, written out for factor 2 and 3."""
    two = keras.ops.convert_to_numpy(BilinearUpsampling()((4, 1, 1)))[:, 0, 0]
    three = keras.ops.convert_to_numpy(BilinearUpsampling()((5, 1, 1)))[:, 0, 0]
    np.testing.assert_allclose(two, [0.25, 0.75, 0.75, 0.25])
    np.testing.assert_allclose(three, [1 / 3, 2 / 3, 1, 2 / 3, 1 / 3], rtol=1e-6)
