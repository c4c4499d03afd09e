"""Transposed convolution as one matmul plus a reshape, with keras.ops.

Applies when every axis `is_tiling` (kernel == stride, no dilation, output
exactly `n * stride`) and there is one group: each input position then owns
its own `kernel_size` block of the output, so `y = x @ kernel` reshaped. Its
gradients are matmuls too.
"""

from keras import ops


def applies(windows, groups):
    return groups == 1 and all(w.is_tiling for w in windows)


def conv_transpose(inputs, kernel, *, data_format, **_):
    rank = len(kernel.shape) - 2
    channels_last = data_format == "channels_last"
    blocks = ops.tensordot(inputs, kernel, axes=[[-1 if channels_last else 1], [-1]])
    # blocks: (batch, n_1..n_r, k_1..k_r, filters); interleave n_i with k_i.
    interleaved = [0]
    for i in range(rank):
        interleaved += [1 + i, 1 + rank + i]
    filters_axis = 1 + 2 * rank
    order = interleaved + [filters_axis] if channels_last else [0, filters_axis] + interleaved[1:]
    blocks = ops.transpose(blocks, order)
    shape = ops.shape(inputs)
    sizes = shape[1:-1] if channels_last else shape[2:]
    spatial = [n * k for n, k in zip(sizes, kernel.shape[:rank])]
    filters = kernel.shape[-2]
    new_shape = [shape[0]] + spatial + [filters] if channels_last else [shape[0], filters] + spatial
    return ops.reshape(blocks, new_shape)
