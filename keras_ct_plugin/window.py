"""Pad or crop spatial axes, and cut the full transposed convolution to the
output window, with keras.ops."""

from keras import ops

from keras_ct_plugin import shapes


def pad_or_crop(x, axes, widths):
    """Per axis in `axes`, `(before, after)`: positive pads zeros, negative
    crops that many positions."""
    index = [slice(None)] * len(x.shape)
    pads = [(0, 0)] * len(x.shape)
    for axis, (before, after) in zip(axes, widths):
        index[axis] = slice(max(-before, 0) or None, min(after, 0) or None)
        pads[axis] = (max(before, 0), max(after, 0))
    if any(i != slice(None) for i in index):
        x = x[tuple(index)]
    if any(p != (0, 0) for p in pads):
        x = ops.pad(x, pads)
    return x


def flip(x, axes):
    """`x` reversed along each of `axes`, one axis at a time: Keras 3.8's
    TensorFlow `ops.flip` takes a single axis."""
    for axis in axes:
        x = ops.flip(x, axis=axis)
    return x


def crop_to_window(full, windows, data_format):
    """`full`: the full transposed convolution, every spatial axis
    `(n - 1) * stride + effective_kernel` long."""
    axes = shapes.spatial_axes(len(windows), data_format)
    return pad_or_crop(full, axes, [(-w.crop_before, -w.crop_after) for w in windows])
