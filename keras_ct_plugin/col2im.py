"""Transposed convolution as one matmul plus col2im, with keras.ops (GEMM +
col2im: Caffe's DeconvolutionLayer, PyTorch's `slow_conv_transpose2d`).

The matmul gives every input position times every kernel tap at once,
`blocks[n, j] = x[n] . kernel[j]`, each product computed once, as the
definition scatters them. col2im then adds each tap's block into the output
at its strided, dilated place, phase by phase: along an axis with stride `s`,
tap `j` lands at `i * s + j * d`, in phase `(j * d) % s`, shifted by
`(j * d) // s` rows; each phase is a sum of shifted blocks, and the phases
interleave into the output (depth-to-space) before the crop to the window.
No zero-inserted input, no zero taps (so an infinite input gives what the
definition gives), no input-dilated convolution.

Its gradient is JAX's, TensorFlow's or torch's own of a matmul, pads and a
reshape: im2col (slices) and two matmuls, the adjoint algorithm.
Serves every setting (groups through one einsum).
"""

import itertools
import math

from keras import ops

from keras_ct_plugin import matmul
from keras_ct_plugin.window import pad_or_crop


def _blocks(x, kernel, groups):
    """channels_last `x` (N, n..., C) and `kernel` (k..., F, C / groups) as
    (N, n..., k..., F)."""
    rank = len(kernel.shape) - 2
    if groups == 1:
        return ops.tensordot(x, kernel, axes=[[rank + 1], [rank + 1]])
    *size, filters, per_group = kernel.shape
    x = ops.reshape(x, [*ops.shape(x)[:-1], groups, per_group])
    kernel = ops.reshape(kernel, [*size, groups, filters // groups, per_group])
    spatial = "uvw"[:rank]
    taps = "ijk"[:rank]
    blocks = ops.einsum(f"n{spatial}gc,{taps}gfc->n{spatial}{taps}gf", x, kernel)
    return ops.reshape(blocks, [*ops.shape(blocks)[:-2], filters])


def _tap_places(window):
    """Per tap: (phase, shift), where tap j lands at `shift * stride + phase`
    relative to its input row."""
    return [divmod(j * window.dilation, window.stride)[::-1]
            for j in range(window.kernel_size)]


def conv_transpose(inputs, kernel, *, windows, data_format, groups, **_):
    rank = len(windows)
    x = inputs if data_format == "channels_last" else ops.moveaxis(inputs, 1, -1)
    blocks = _blocks(x, kernel, groups)
    shape = ops.shape(blocks)
    # One axis of taps, unstacked: the gradient then stacks the taps' slices
    # (im2col) in one concatenation, where indexing each tap would pad each
    # tap's gradient back to the whole of `blocks`.
    taps = math.prod(w.kernel_size for w in windows)
    blocks = ops.unstack(ops.reshape(blocks, [*shape[:rank + 1], taps, shape[-1]]),
                         axis=rank + 1)
    places = [_tap_places(w) for w in windows]
    longest = [max(shift for _, shift in p) for p in places]
    spatial = range(1, rank + 1)
    phases = {}
    taps_in_order = itertools.product(*(range(w.kernel_size) for w in windows))
    for block, taps in zip(blocks, taps_in_order):
        phase = tuple(places[a][j][0] for a, j in enumerate(taps))
        shifted = pad_or_crop(block, spatial, [
            (places[a][j][1], longest[a] - places[a][j][1]) for a, j in enumerate(taps)])
        phases[phase] = shifted if phase not in phases else phases[phase] + shifted
    zeros = None
    stacked = []
    for phase in itertools.product(*(range(w.stride) for w in windows)):
        if phase not in phases and zeros is None:
            zeros = ops.zeros_like(next(iter(phases.values())))
        stacked.append(phases.get(phase, zeros))
    # (N, q..., phases, F) -> (N, q..., s..., F) -> interleaved.
    y = ops.stack(stacked, axis=rank + 1)
    shape = ops.shape(y)
    y = ops.reshape(y, [*shape[:rank + 1], *(w.stride for w in windows), shape[-1]])
    # Each axis is now `(n + longest) * stride` long; the window is
    # `(n - 1) * stride + tail` from `crop_before`, whatever n.
    y = matmul.interleave(y, "channels_last")
    y = pad_or_crop(y, spatial, [
        (-w.crop_before, w.crop_before + w.tail - (1 + extra) * w.stride)
        for w, extra in zip(windows, longest)])
    return y if data_format == "channels_last" else ops.moveaxis(y, -1, 1)
