"""The public layers: `BaseConvTranspose` with the rank fixed."""

import keras

from keras_ct_plugin.base_conv_transpose import BaseConvTranspose

_ARGS = """
    Args:
        filters: int, the number of output channels.
        kernel_size: int or tuple of {rank} ints, the size of the window.
        strides: int or tuple of {rank} ints, the stride length.
        padding: `"valid"` or `"same"` (case-insensitive). `"valid"` keeps the
            whole transposed convolution; `"same"` gives `input * strides`
            positions when `output_padding` is `None`.
        output_padding: `None`, or int / tuple of {rank} ints, the extra size
            added at the end of each axis; each value must be strictly less
            than `max(strides, dilation_rate)` on its axis.
        data_format: `"channels_last"` or `"channels_first"`; defaults to
            `keras.config.image_data_format()`.
        dilation_rate: int or tuple of {rank} ints, spacing of kernel taps.
        activation: activation function; `None` applies none.
        use_bias: bool, whether a bias is added to the output.
        kernel_initializer: initializer for the kernel (default
            `"glorot_uniform"`, also used for `None`).
        bias_initializer: initializer for the bias (default `"zeros"`, also
            used for `None`).
        kernel_regularizer, bias_regularizer, activity_regularizer: optional
            regularizers.
        kernel_constraint, bias_constraint: optional constraints applied
            after each optimizer update.
        implementation: `"auto"` (default) picks the fastest path that serves
            the call on the running backend; `"generic"` (keras.ops only),
            `"matmul"` (kernel == strides, no overlap), `"subpixel"`
            (kernels that are multiples of their strides), `"col2im"` (one
            matmul plus col2im) or `"native"` (the backend's own ops) force
            one, and raise if it cannot serve.
        quantization_config: `None`, or the
            `keras.quantizers.QuantizationConfig` a quantized layer was
            quantized with (set by `quantize`; saved with the model).
        **kwargs: `name`, `dtype`, `trainable` and the other base-layer
            arguments.

    Weights:
        `kernel` of shape `kernel_size + (filters, in_channels)` and `bias` of
        shape `(filters,)`, as in `keras.layers.Conv{rank}DTranspose`, so
        `set_weights(builtin.get_weights())` moves a model over unchanged.

    Input shape:
        `(batch, {spatial}, channels)` for `"channels_last"`, or
        `(batch, channels, {spatial})` for `"channels_first"`.

    Output shape:
        `(batch, {new_spatial}, filters)` or `(batch, filters, {new_spatial})`.
"""


def _docstring(summary, rank, spatial, example):
    new_spatial = ", ".join(f"new_{s}" for s in spatial.split(", "))
    return (
        summary
        + _ARGS.format(rank=rank, spatial=spatial, new_spatial=new_spatial)
        + "\n    Example:\n\n"
        + example
    )


@keras.saving.register_keras_serializable(package="keras_ct_plugin")
class Conv1DTranspose(BaseConvTranspose):
    rank = 1


@keras.saving.register_keras_serializable(package="keras_ct_plugin")
class Conv2DTranspose(BaseConvTranspose):
    rank = 2


@keras.saving.register_keras_serializable(package="keras_ct_plugin")
class Conv3DTranspose(BaseConvTranspose):
    rank = 3


Conv1DTranspose.__doc__ = _docstring(
    "1-D transposed convolution (sometimes called deconvolution).\n",
    1,
    "steps",
    "    >>> x = keras.random.uniform((4, 10, 128))\n"
    "    >>> Conv1DTranspose(32, 2, strides=2)(x).shape\n"
    "    (4, 20, 32)\n",
)
Conv2DTranspose.__doc__ = _docstring(
    "2-D transposed convolution (sometimes called deconvolution).\n",
    2,
    "height, width",
    "    >>> x = keras.random.uniform((4, 10, 8, 128))\n"
    "    >>> Conv2DTranspose(32, 2, 2, activation='relu')(x).shape\n"
    "    (4, 20, 16, 32)\n",
)
Conv3DTranspose.__doc__ = _docstring(
    "3-D transposed convolution (sometimes called deconvolution).\n",
    3,
    "depth, height, width",
    "    >>> x = keras.random.uniform((4, 5, 10, 8, 16))\n"
    "    >>> Conv3DTranspose(8, 2, 2)(x).shape\n"
    "    (4, 10, 20, 16, 8)\n",
)


# The classes `quantize` serves; a subclass may override `call` (as Keras's
# Dense refuses its subclasses, unless type_check=False).
PUBLIC = (Conv1DTranspose, Conv2DTranspose, Conv3DTranspose)
