"""Transposed convolution as one stride-1 convolution plus depth-to-space,
with keras.ops (the sub-pixel, or phase, decomposition).

Along an axis with stride `s`, output position `q * s + r` of the full
transposed convolution only sees kernel taps `r, r + s, r + 2s, ...`: phase
`r` is a stride-1 convolution of the input with that sub-kernel. All
`s ** rank` phases are computed at once as the output channels of one
convolution with `kernel / s` taps per axis, then interleaved into the
spatial axes and cropped to the window. Neither a zero-inserted input nor a
dilated-window gradient is involved.

Serves dilation 1, one group, a stride above 1 on some axis (at stride 1 it
is the generic path) and kernels that are multiples of their strides. Other
kernels would need zero taps in some phases, which measured slower on every
backend and turn an infinite input into NaN where the definition gives
infinity (0 * inf). Computed channels_last, as TensorFlow's CPU convolution
requires.
"""

import math

from keras import ops

from keras_ct_plugin import matmul
from keras_ct_plugin.window import flip
from keras_ct_plugin.window import pad_or_crop


def applies(windows, groups):
    return (
        groups == 1
        and all(w.dilation == 1 and w.kernel_size % w.stride == 0 for w in windows)
        and any(w.stride > 1 for w in windows)
    )


def _phase_taps(window):
    return window.kernel_size // window.stride


def _phase_range(window):
    """Input padding (before, after) so that the convolution's outputs are
    exactly the phase rows q that the window touches: its first output is
    row `crop_before // stride`, its last `ceil((crop_before + length) /
    stride) - 1`."""
    taps = _phase_taps(window)
    first = window.crop_before // window.stride
    return taps - 1 - first, -(-(window.crop_before + window.tail) // window.stride) - 1


def _phase_kernel(kernel, windows):
    """(k..., filters, in) as (k / s..., in, prod(s) * filters), the
    output channels ordered (phase_1, ..., phase_rank, filter)."""
    rank = len(windows)
    filters, channels = kernel.shape[-2:]
    split = []
    for w in windows:
        split += [_phase_taps(w), w.stride]
    kernel = ops.reshape(kernel, split + [filters, channels])
    taps_axes = list(range(0, 2 * rank, 2))
    if any(_phase_taps(w) > 1 for w in windows):
        kernel = flip(kernel, taps_axes)
    phase_axes = list(range(1, 2 * rank, 2))
    kernel = ops.transpose(kernel, taps_axes + [2 * rank + 1] + phase_axes + [2 * rank])
    phases = math.prod(w.stride for w in windows)
    return ops.reshape(kernel, [_phase_taps(w) for w in windows] + [channels, phases * filters])


def _depth_to_space(y, windows):
    """(N, J..., prod(s) * F) as (N, J_1 * s_1, ..., F), channels ordered
    (phase_1, ..., phase_rank, filter)."""
    strides = [w.stride for w in windows]
    shape = ops.shape(y)
    filters = y.shape[-1] // math.prod(strides)
    y = ops.reshape(y, [shape[0], *shape[1:-1], *strides, filters])
    return matmul.interleave(y, "channels_last")


def conv_transpose(inputs, kernel, *, windows, data_format, **_):
    rank = len(windows)
    x = inputs
    if data_format == "channels_first":
        x = ops.moveaxis(x, 1, -1)
    axes = range(1, rank + 1)
    ranges = [_phase_range(w) for w in windows]
    x = pad_or_crop(x, axes, ranges)
    y = ops.conv(x, _phase_kernel(kernel, windows), strides=1, padding="valid")
    y = _depth_to_space(y, windows)
    widths = [
        (-(w.crop_before % w.stride), w.crop_before + w.tail - (after + 1) * w.stride)
        for w, (_, after) in zip(windows, ranges)
    ]
    y = pad_or_crop(y, axes, widths)
    if data_format == "channels_first":
        y = ops.moveaxis(y, -1, 1)
    return y
