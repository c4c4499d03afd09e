"""Transposed convolution as one matmul plus a reshape, with keras.ops.

Applies when every axis `is_tiling` (kernel == stride, no dilation, output
exactly `n * stride`) and there is one group: each input position then owns
its own `kernel_size` block of the output, so `y = x @ kernel` reshaped. Its
gradients are matmuls too.
"""

from keras import ops


def applies(windows, groups):
    return groups == 1 and all(w.is_tiling for w in windows)


def interleave_order(rank, channels_last):
    """The axes of blocks `(batch, n_1..n_r, k_1..k_r, filters)` in the order
    that, once reshaped, is the output: each `n_i` followed by its `k_i`, and
    filters last (channels_last) or second (channels_first)."""
    interleaved = []
    for i in range(rank):
        interleaved += [1 + i, 1 + rank + i]
    filters_axis = 1 + 2 * rank
    if channels_last:
        return [0, *interleaved, filters_axis]
    return [0, filters_axis, *interleaved]


def interleave(blocks, data_format):
    """`(batch, n_1..n_r, k_1..k_r, filters)` as `(batch, n_1 * k_1, ...,
    filters)`, or `(batch, filters, n_1 * k_1, ...)` for channels_first."""
    rank = (len(blocks.shape) - 2) // 2
    channels_last = data_format == "channels_last"
    shape = ops.shape(blocks)
    spatial = [shape[1 + i] * shape[1 + rank + i] for i in range(rank)]
    filters = blocks.shape[-1]
    blocks = ops.transpose(blocks, interleave_order(rank, channels_last))
    if channels_last:
        return ops.reshape(blocks, [shape[0], *spatial, filters])
    return ops.reshape(blocks, [shape[0], filters, *spatial])


def conv_transpose(inputs, kernel, *, data_format, **_):
    channels_axis = -1 if data_format == "channels_last" else 1
    blocks = ops.tensordot(inputs, kernel, axes=[[channels_axis], [-1]])
    return interleave(blocks, data_format)
