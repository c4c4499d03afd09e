"""The transposed convolution written with `keras.ops` only.

It runs on every Keras backend (numpy included) and is the fallback that every
fast path is measured against. Method: insert `stride - 1` zeros between input
positions, pad (or crop) so that a stride-1 convolution with the flipped kernel
yields exactly the output window of `shapes.axis_window`, then convolve.
"""

from keras import ops

from keras_ct_plugin import shapes
from keras_ct_plugin.window import flip
from keras_ct_plugin.window import pad_or_crop


def conv_transpose(inputs, kernel, *, windows, strides, dilation_rate, data_format, **_):
    rank = len(windows)
    x = inputs
    if data_format == "channels_first":
        x = ops.moveaxis(x, 1, -1)
    x = _insert_zeros(x, strides)
    x = _pad_for_window(x, windows)
    flipped = flip(kernel, range(rank))
    y = ops.conv(
        x,
        ops.swapaxes(flipped, -1, -2),
        strides=1,
        padding="valid",
        dilation_rate=dilation_rate,
        data_format="channels_last",
    )
    if data_format == "channels_first":
        y = ops.moveaxis(y, -1, 1)
    return y


def _insert_zeros(x, strides):
    """Each spatial position followed by `stride - 1` zeros (length n * stride).

    One axis at a time: TensorFlow's `Pad` takes at most rank 6.
    """
    for axis, stride in enumerate(strides, start=1):
        if stride == 1:
            continue
        shape = list(ops.shape(x))
        x = ops.expand_dims(x, axis + 1)
        widths = [(0, 0)] * len(x.shape)
        widths[axis + 1] = (0, stride - 1)
        x = ops.pad(x, widths)
        shape[axis] = shape[axis] * stride
        x = ops.reshape(x, shape)
    return x


def _pad_for_window(x, windows):
    """Pad or crop a zero-inserted input of length `n * stride` per axis.

    A stride-1 "valid" convolution then starts `crop_before` positions into the
    full transposed convolution and is `(n - 1) * stride + tail` long.
    """
    widths = [(w.effective_kernel - 1 - w.crop_before, w.tail - w.stride + w.crop_before)
              for w in windows]
    return pad_or_crop(x, shapes.spatial_axes(len(windows), "channels_last"), widths)
