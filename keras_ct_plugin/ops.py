"""`conv_transpose`: the public functional op, eager and symbolic."""

import keras

from keras_ct_plugin import arguments
from keras_ct_plugin import dispatch
from keras_ct_plugin import shapes


class ConvTranspose(keras.Operation):
    """The op as a Keras `Operation`, so it traces on `keras.Input`s.

    Settings are passed by keyword, never by position (Keras's own symbolic
    `ConvTranspose` swaps `padding` and `output_padding` that way).
    """

    def __init__(self, *, settings, name=None):
        super().__init__(name=name)
        self.settings = settings

    def call(self, inputs, kernel):
        return _dispatch(inputs, kernel, self.settings, _windows(kernel.shape, self.settings))

    def compute_output_spec(self, inputs, kernel):
        return keras.KerasTensor(
            output_shape(
                inputs.shape,
                kernel.shape,
                self.settings,
                _windows(kernel.shape, self.settings),
            ),
            dtype=arguments.op_compute_dtype(inputs.dtype, kernel.dtype),
        )


def _windows(kernel_shape, settings):
    rank = len(kernel_shape) - 2
    return shapes.axis_windows(
        tuple(kernel_shape[:rank]),
        settings["strides"],
        settings["dilation_rate"],
        settings["padding"],
        settings["output_padding"],
    )


def _dispatch(inputs, kernel, settings, windows):
    return dispatch.conv_transpose(
        inputs, kernel, implementation="auto", windows=windows,
        dtype=arguments.op_compute_dtype(inputs.dtype, kernel.dtype), **settings
    )


def output_shape(input_shape, kernel_shape, settings, windows):
    rank = len(kernel_shape) - 2
    groups = settings["groups"]
    arguments.input_channels(
        input_shape, rank, settings["data_format"], kernel_shape[-1] * groups, groups
    )
    return shapes.output_shape(
        input_shape, kernel_shape[-2], windows, settings["data_format"]
    )


def conv_transpose(
    inputs,
    kernel,
    *,
    strides=1,
    padding="valid",
    output_padding=None,
    dilation_rate=1,
    data_format=None,
    groups=1,
    output_size=None,
):
    """N-D transposed convolution, the same on every Keras backend.

    Args:
        inputs: tensor of rank N+2, `(batch, *spatial, channels)` for
            `"channels_last"` or `(batch, channels, *spatial)`.
        kernel: tensor of shape `kernel_size + (filters, channels // groups)`,
            the layout of `keras.layers.Conv2DTranspose`'s kernel.
        strides: int or tuple of N ints.
        padding: `"valid"` or `"same"` (case-insensitive), or explicit crops
            as in PyTorch: an int, a tuple of N ints, or a tuple of N
            (before, after) pairs.
        output_padding: `None`, or int / tuple of N ints, each strictly less
            than `max(stride, dilation_rate)` on its axis.
        dilation_rate: int or tuple of N ints.
        data_format: `"channels_last"` or `"channels_first"`; defaults to
            `keras.config.image_data_format()`.
        groups: int dividing `filters` and the input channels: input channel
            group `g` feeds only output channel group `g`.
        output_size: `None`, or the spatial output sizes (int or tuple of N
            ints), among those `output_padding` 0 to `max(stride,
            dilation_rate) - 1` gives for these inputs (PyTorch's
            `output_size`); it takes the place of `output_padding`.

    Returns:
        A tensor of rank N+2 with `filters` channels, in the inputs' float
        dtype; integer and bool inputs are computed in the kernel's.
    """
    rank = len(kernel.shape) - 2
    settings = arguments.conv_transpose_settings(
        rank,
        strides,
        padding,
        output_padding,
        dilation_rate,
        keras.config.image_data_format() if data_format is None else data_format,
        groups,
        kernel.shape[-2],
    )
    if output_size is not None:
        settings["output_padding"] = arguments.output_padding_for_size(
            output_size, inputs.shape, tuple(kernel.shape[:rank]), settings
        )
    if keras.backend.is_keras_tensor(inputs) or keras.backend.is_keras_tensor(kernel):
        return ConvTranspose(settings=settings)(inputs, kernel)
    windows = _windows(kernel.shape, settings)
    output_shape(inputs.shape, kernel.shape, settings, windows)
    return _dispatch(inputs, kernel, settings, windows)
