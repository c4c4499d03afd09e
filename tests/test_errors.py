"""Bad input fails early, with the argument named, what was expected and what
was received; nothing is left half-built."""

import re

import keras
import numpy as np
import pytest

import keras_ct_plugin as ct

CONSTRUCTOR_ERRORS = {
    "filters-zero": (
        dict(filters=0, kernel_size=2),
        ValueError,
        "Invalid value for argument `filters`. Expected a strictly positive "
        "value. Received filters=0.",
    ),
    "filters-float": (
        dict(filters=2.5, kernel_size=2),
        TypeError,
        "Invalid type for argument `filters`. Expected a positive int. "
        "Received filters=2.5 of type float.",
    ),
    "filters-bool": (
        dict(filters=True, kernel_size=2),
        TypeError,
        "Invalid type for argument `filters`. Expected a positive int. "
        "Received filters=True of type bool.",
    ),
    "kernel-size-length": (
        dict(filters=4, kernel_size=(2, 2, 2)),
        ValueError,
        "Invalid value for argument `kernel_size`. Expected an int or a tuple "
        "of 2 ints, each >= 1. Received kernel_size=(2, 2, 2).",
    ),
    "kernel-size-zero": (
        dict(filters=4, kernel_size=(2, 0)),
        ValueError,
        "Invalid value for argument `kernel_size`. Expected an int or a tuple "
        "of 2 ints, each >= 1. Received kernel_size=(2, 0).",
    ),
    "kernel-size-string": (
        dict(filters=4, kernel_size="3"),
        TypeError,
        "Invalid type for argument `kernel_size`. Expected an int or a tuple "
        "of 2 ints, each >= 1. Received kernel_size='3' of type str.",
    ),
    "strides-zero": (
        dict(filters=4, kernel_size=2, strides=0),
        ValueError,
        "Invalid value for argument `strides`. Expected an int or a tuple of "
        "2 ints, each >= 1. Received strides=0.",
    ),
    "strides-length": (
        dict(filters=4, kernel_size=2, strides=[2]),
        ValueError,
        "Invalid value for argument `strides`. Expected an int or a tuple of "
        "2 ints, each >= 1. Received strides=[2].",
    ),
    "dilation-negative": (
        dict(filters=4, kernel_size=2, dilation_rate=(1, -1)),
        ValueError,
        "Invalid value for argument `dilation_rate`. Expected an int or a "
        "tuple of 2 ints, each >= 1. Received dilation_rate=(1, -1).",
    ),
    "dilation-float": (
        dict(filters=4, kernel_size=2, dilation_rate=(1, 1.5)),
        TypeError,
        "Invalid type for argument `dilation_rate`. Expected an int or a "
        "tuple of 2 ints, each >= 1. Received dilation_rate=(1, 1.5) of type "
        "tuple.",
    ),
    "output-padding-too-large": (
        dict(filters=4, kernel_size=3, strides=(2, 3), output_padding=(1, 3)),
        ValueError,
        "Invalid value for argument `output_padding`. Expected each value to "
        "be strictly less than max(strides, dilation_rate) on its axis, here "
        "(2, 3). Received output_padding=(1, 3) with strides=(2, 3) and "
        "dilation_rate=(1, 1).",
    ),
    "output-padding-negative": (
        dict(filters=4, kernel_size=3, strides=2, output_padding=-1),
        ValueError,
        "Invalid value for argument `output_padding`. Expected an int or a "
        "tuple of 2 ints, each >= 0. Received output_padding=-1.",
    ),
    "padding-unknown": (
        dict(filters=4, kernel_size=3, padding="full"),
        ValueError,
        "Invalid value for argument `padding`. Expected 'valid' or 'same'. "
        "Received padding='full'.",
    ),
    "padding-type": (
        dict(filters=4, kernel_size=3, padding=None),
        TypeError,
        "Invalid type for argument `padding`. Expected 'valid' or 'same', an "
        "int, a tuple of 2 ints, or a tuple of 2 (before, after) pairs of ints, "
        "each >= 0. Received padding=None of type NoneType.",
    ),
    "padding-negative": (
        dict(filters=4, kernel_size=3, padding=(1, -1)),
        ValueError,
        "Invalid value for argument `padding`. Expected 'valid' or 'same', an "
        "int, a tuple of 2 ints, or a tuple of 2 (before, after) pairs of ints, "
        "each >= 0. Received padding=(1, -1).",
    ),
    "padding-length": (
        dict(filters=4, kernel_size=3, padding=((1, 0),)),
        ValueError,
        "Invalid value for argument `padding`. Expected 'valid' or 'same', an "
        "int, a tuple of 2 ints, or a tuple of 2 (before, after) pairs of ints, "
        "each >= 0. Received padding=((1, 0),).",
    ),
    "padding-triple": (
        dict(filters=4, kernel_size=3, padding=((1, 0, 2), (0, 0))),
        TypeError,
        "Invalid type for argument `padding`. Expected 'valid' or 'same', an "
        "int, a tuple of 2 ints, or a tuple of 2 (before, after) pairs of ints, "
        "each >= 0. Received padding=((1, 0, 2), (0, 0)) of type tuple.",
    ),
    "padding-mixed": (
        dict(filters=4, kernel_size=3, padding=(1, (0, 1))),
        TypeError,
        "Invalid type for argument `padding`. Expected 'valid' or 'same', an "
        "int, a tuple of 2 ints, or a tuple of 2 (before, after) pairs of ints, "
        "each >= 0. Received padding=(1, (0, 1)) of type tuple.",
    ),
    "groups-not-divisor": (
        dict(filters=6, kernel_size=3, groups=4),
        ValueError,
        "Invalid value for argument `groups`. Expected a divisor of filters=6. "
        "Received groups=4.",
    ),
    "groups-zero": (
        dict(filters=6, kernel_size=3, groups=0),
        ValueError,
        "Invalid value for argument `groups`. Expected a strictly positive "
        "value. Received groups=0.",
    ),
    "groups-float": (
        dict(filters=6, kernel_size=3, groups=2.0),
        TypeError,
        "Invalid type for argument `groups`. Expected a positive int. "
        "Received groups=2.0 of type float.",
    ),
    "data-format-empty": (
        dict(filters=4, kernel_size=3, data_format=""),
        ValueError,
        "Invalid value for argument `data_format`. Expected 'channels_last' "
        "or 'channels_first'. Received data_format=''.",
    ),
    "data-format-int": (
        dict(filters=4, kernel_size=3, data_format=1),
        TypeError,
        "Invalid type for argument `data_format`. Expected 'channels_last' "
        "or 'channels_first'. Received data_format=1 of type int.",
    ),
    "data-format-unknown": (
        dict(filters=4, kernel_size=3, data_format="NHWC"),
        ValueError,
        "Invalid value for argument `data_format`. Expected 'channels_last' "
        "or 'channels_first'. Received data_format='NHWC'.",
    ),
}


@pytest.mark.parametrize(
    "kwargs, error, message",
    CONSTRUCTOR_ERRORS.values(),
    ids=CONSTRUCTOR_ERRORS.keys(),
)
def test_constructor_rejects(kwargs, error, message):
    with pytest.raises(error, match=f"^{re.escape(message)}$"):
        ct.Conv2DTranspose(**kwargs)


@pytest.mark.parametrize("padding, pairs", [
    (1, ((1, 1), (1, 1))),
    ((0, 2), ((0, 0), (2, 2))),
    (((1, 0), (0, 3)), ((1, 0), (0, 3))),
])
def test_integer_padding_crops_both_ends_as_pytorch_does(padding, pairs):
    assert ct.Conv2DTranspose(4, 3, padding=padding).padding == pairs


def test_base_class_is_abstract():
    with pytest.raises(
        TypeError,
        match=re.escape(
            "BaseConvTranspose is abstract: use Conv1DTranspose, "
            "Conv2DTranspose or Conv3DTranspose."
        ),
    ):
        ct.BaseConvTranspose(4, 2)


def test_padding_is_case_insensitive():
    assert ct.Conv2DTranspose(4, 3, padding="SaMe").padding == "same"


BUILD_ERRORS = {
    "wrong-rank": (
        dict(),
        (2, 8, 3),
        "Invalid shape for argument `inputs`. Expected a 4-D input of shape "
        "(batch, spatial_1, spatial_2, channels) for "
        "data_format='channels_last'. Received inputs with shape (2, 8, 3).",
    ),
    "wrong-rank-channels-first": (
        dict(data_format="channels_first"),
        (2, 3, 8, 8, 8),
        "Invalid shape for argument `inputs`. Expected a 4-D input of shape "
        "(batch, channels, spatial_1, spatial_2) for "
        "data_format='channels_first'. Received inputs with shape "
        "(2, 3, 8, 8, 8).",
    ),
    "unknown-channels": (
        dict(),
        (None, 8, 8, None),
        "Invalid shape for argument `inputs`. Expected a 4-D input of shape "
        "(batch, spatial_1, spatial_2, channels) for "
        "data_format='channels_last', with a known channel dimension. "
        "Received inputs with shape (None, 8, 8, None).",
    ),
    "channels-not-divisible-by-groups": (
        dict(groups=2),
        (2, 8, 8, 3),
        "Invalid shape for argument `inputs`. Expected a 4-D input of shape "
        "(batch, spatial_1, spatial_2, channels) for "
        "data_format='channels_last', with a channel count divisible by "
        "groups=2. Received inputs with shape (2, 8, 8, 3).",
    ),
    "empty-spatial": (
        dict(),
        (2, 0, 8, 3),
        "Invalid shape for argument `inputs`. Expected a 4-D input of shape "
        "(batch, spatial_1, spatial_2, channels) for "
        "data_format='channels_last', with every spatial size >= 1. Received "
        "inputs with shape (2, 0, 8, 3).",
    ),
    "empty-last-spatial": (
        dict(),
        (2, 8, 0, 3),
        "Invalid shape for argument `inputs`. Expected a 4-D input of shape "
        "(batch, spatial_1, spatial_2, channels) for "
        "data_format='channels_last', with every spatial size >= 1. Received "
        "inputs with shape (2, 8, 0, 3).",
    ),
    "empty-first-spatial-channels-first": (
        dict(data_format="channels_first"),
        (2, 3, 0, 8),
        "Invalid shape for argument `inputs`. Expected a 4-D input of shape "
        "(batch, channels, spatial_1, spatial_2) for "
        "data_format='channels_first', with every spatial size >= 1. Received "
        "inputs with shape (2, 3, 0, 8).",
    ),
}


@pytest.mark.parametrize(
    "kwargs, input_shape, message", BUILD_ERRORS.values(), ids=BUILD_ERRORS.keys()
)
def test_build_rejects_and_leaves_layer_unbuilt(kwargs, input_shape, message):
    layer = ct.Conv2DTranspose(4, 3, **kwargs)
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        layer.build(input_shape)
    assert not layer.built
    assert layer.weights == []


def test_symbolic_input_of_wrong_rank_is_rejected():
    layer = ct.Conv2DTranspose(4, 3)
    with pytest.raises(ValueError, match="Received inputs with shape \\(None, 8, 3\\)"):
        layer(keras.Input((8, 3)))
    assert not layer.built and layer.weights == []


def test_channel_count_must_match_built_kernel():
    layer = ct.Conv2DTranspose(4, 3)
    layer(np.zeros((1, 5, 5, 3), "float32"))
    message = (
        "Invalid shape for argument `inputs`. Expected a 4-D input of shape "
        "(batch, spatial_1, spatial_2, channels) for "
        "data_format='channels_last', with 3 channels to match the kernel. "
        "Received inputs with shape (1, 5, 5, 2)."
    )
    # Keras wraps errors raised in `call` with the layer's name and arguments.
    with pytest.raises(ValueError, match=re.escape(message)):
        layer(np.zeros((1, 5, 5, 2), "float32"))
    with pytest.raises(ValueError, match=re.escape("with 3 channels to match")):
        layer.compute_output_shape((None, 5, 5, 2))


def test_functional_op_rejects_mismatched_kernel():
    message = (
        "Invalid shape for argument `inputs`. Expected a 3-D input of shape "
        "(batch, spatial_1, channels) for data_format='channels_last', with "
        "5 channels to match the kernel. Received inputs with shape (2, 6, 3)."
    )
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        ct.ops.conv_transpose(
            np.zeros((2, 6, 3), "float32"), np.zeros((3, 4, 5), "float32")
        )


def test_functional_op_rejects_bad_settings():
    message = (
        "Invalid value for argument `strides`. Expected an int or a tuple of "
        "1 ints, each >= 1. Received strides=(1, 2)."
    )
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        ct.ops.conv_transpose(
            np.zeros((2, 6, 3), "float32"),
            np.zeros((3, 4, 3), "float32"),
            strides=(1, 2),
        )


def test_failed_build_can_be_retried_with_good_input():
    layer = ct.Conv2DTranspose(4, 3)
    with pytest.raises(ValueError):
        layer(np.zeros((2, 8, 3), "float32"))
    assert layer(np.zeros((2, 8, 8, 3), "float32")).shape == (2, 10, 10, 4)


def test_grouped_channel_count_must_match_built_kernel():
    layer = ct.Conv1DTranspose(4, 3, groups=2)
    layer(np.zeros((1, 5, 6), "float32"))
    assert layer.kernel.shape == (3, 4, 3)
    message = (
        "Invalid shape for argument `inputs`. Expected a 3-D input of shape "
        "(batch, spatial_1, channels) for data_format='channels_last', with 6 "
        "channels, 2 groups of 3, to match the kernel. Received inputs with "
        "shape (None, 5, 4)."
    )
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        layer.compute_output_shape((None, 5, 4))


def test_crop_larger_than_the_output_is_rejected_with_the_sizes():
    # kernel 3, stride 1, input 2: the full output has 4 positions; cropping
    # 3 + 2 leaves -1 on the first axis.
    layer = ct.Conv2DTranspose(4, 3, padding=((3, 2), (1, 1)))
    message = (
        "Invalid value for argument `padding`. Expected a crop no larger than "
        "the full transposed convolution on each axis. Received a crop that "
        "leaves output lengths (-1, 3) for spatial input sizes (2, 3)."
    )
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        layer.compute_output_shape((1, 2, 3, 5))
    with pytest.raises(ValueError, match=re.escape(message)):
        layer(np.zeros((1, 2, 3, 5), "float32"))
    # One more input position is enough.
    assert layer(np.zeros((1, 3, 3, 5), "float32")).shape == (1, 0, 3, 4)


def test_functional_op_rejects_kernel_not_matching_groups():
    message = (
        "Invalid shape for argument `inputs`. Expected a 3-D input of shape "
        "(batch, spatial_1, channels) for data_format='channels_last', with "
        "4 channels, 2 groups of 2, to match the kernel. Received inputs with "
        "shape (2, 6, 6)."
    )
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        ct.ops.conv_transpose(
            np.zeros((2, 6, 6), "float32"), np.zeros((3, 4, 2), "float32"), groups=2
        )


@pytest.mark.skipif(hasattr(keras.quantizers, "QuantizationConfig"),
                    reason="this Keras has quantization configs (test_quantization.py)")
def test_quantize_names_the_keras_it_needs():
    layer = ct.Conv2DTranspose(4, 3)
    layer.build((1, 5, 5, 2))
    message = ("Quantizing Conv2DTranspose needs keras.quantizers.QuantizationConfig "
               f"(Keras 3.13 or newer). This is Keras {keras.__version__}.")
    with pytest.raises(NotImplementedError, match=f"^{re.escape(message)}$"):
        layer.quantize("int8")
