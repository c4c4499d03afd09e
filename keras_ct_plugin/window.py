"""Cut the full transposed convolution to the output window, with keras.ops."""

from keras import ops

from keras_ct_plugin import shapes


def crop_to_window(full, windows, data_format):
    """`full`: the full transposed convolution, every spatial axis
    `(n - 1) * stride + effective_kernel` long."""
    axes = shapes.spatial_axes(len(windows), data_format)
    index = [slice(None)] * len(full.shape)
    widths = [(0, 0)] * len(full.shape)
    for axis, w in zip(axes, windows):
        index[axis] = slice(w.crop_before or None, -w.crop_after if w.crop_after > 0 else None)
        widths[axis] = (0, max(-w.crop_after, 0))
    if any(i != slice(None) for i in index):
        full = full[tuple(index)]
    if any(p != (0, 0) for p in widths):
        full = ops.pad(full, widths)
    return full
