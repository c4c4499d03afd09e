"""An independent NumPy reference for the transposed convolution, in float64.

Written from the definition, sharing no code with the package: every input
position `i` times kernel tap `j` is scattered to `i * stride + j * dilation`
of the full output, which is then cut to the output length.

The output length follows TensorFlow's `deconv_output_length`
(`(n - 1) * s + k_eff - 2 * pad + output_padding`, `pad = k_eff // 2` for
"same"; without `output_padding`, `n * s` for "same" and
`n * s + max(k_eff - s, 0)` for "valid"). Which part of the full output is
kept follows the forward convolution that this one is the adjoint of: the
excess is cut as "same" padding would add it, `floor(excess / 2)` at the start,
the rest at the end; a shortfall is zeros at the end.
"""

import itertools

import numpy as np


def output_length(n, k, s, d, padding, output_padding):
    k_eff = (k - 1) * d + 1
    if output_padding is None:
        if padding == "same":
            return n * s
        return n * s + max(k_eff - s, 0)
    pad = k_eff // 2 if padding == "same" else 0
    return (n - 1) * s + k_eff - 2 * pad + output_padding


def conv_transpose(
    x,
    kernel,
    strides,
    padding="valid",
    output_padding=None,
    dilation_rate=1,
    data_format="channels_last",
):
    """`x`: (batch, *spatial, c_in) or (batch, c_in, *spatial);
    `kernel`: (*kernel_size, c_out, c_in). Returns float64."""
    x = np.asarray(x, dtype=np.float64)
    kernel = np.asarray(kernel, dtype=np.float64)
    rank = kernel.ndim - 2
    strides = _per_axis(strides, rank)
    dilation = _per_axis(dilation_rate, rank)
    output_padding = (
        (None,) * rank if output_padding is None else _per_axis(output_padding, rank)
    )
    padding = padding.lower()
    if data_format == "channels_first":
        x = np.moveaxis(x, 1, -1)
    batch, sizes, c_out = x.shape[0], x.shape[1:-1], kernel.shape[-2]

    full_sizes = [
        (n - 1) * s + (k - 1) * d + 1
        for n, k, s, d in zip(sizes, kernel.shape[:rank], strides, dilation)
    ]
    full = np.zeros((batch, *full_sizes, c_out))
    for tap in itertools.product(*(range(k) for k in kernel.shape[:rank])):
        contribution = x @ kernel[tap].T  # (batch, *sizes, c_out)
        target = tuple(
            slice(j * d, j * d + (n - 1) * s + 1, s)
            for j, d, n, s in zip(tap, dilation, sizes, strides)
        )
        full[(slice(None), *target)] += contribution

    out = full
    for axis, (n, k, s, d, op) in enumerate(
        zip(sizes, kernel.shape[:rank], strides, dilation, output_padding), start=1
    ):
        out = _cut(out, axis, output_length(n, k, s, d, padding, op))
    if data_format == "channels_first":
        out = np.moveaxis(out, -1, 1)
    return out


def conv_transpose_vjp(
    x,
    kernel,
    upstream,
    strides,
    padding="valid",
    output_padding=None,
    dilation_rate=1,
    data_format="channels_last",
):
    """Gradients of `sum(conv_transpose(x, kernel) * upstream)` with respect to
    `x` and `kernel`: each output position reads back what was scattered to
    it (the gather that is the scatter's adjoint)."""
    x = np.asarray(x, dtype=np.float64)
    kernel = np.asarray(kernel, dtype=np.float64)
    g = np.asarray(upstream, dtype=np.float64)
    rank = kernel.ndim - 2
    strides = _per_axis(strides, rank)
    dilation = _per_axis(dilation_rate, rank)
    if data_format == "channels_first":
        x, g = np.moveaxis(x, 1, -1), np.moveaxis(g, 1, -1)
    sizes = x.shape[1:-1]
    # Embed the upstream gradient in the full output: undo `_cut` axis by axis.
    full_sizes = [
        (n - 1) * s + (k - 1) * d + 1
        for n, k, s, d in zip(sizes, kernel.shape[:rank], strides, dilation)
    ]
    for axis, full_size in enumerate(full_sizes, start=1):
        g = _uncut(g, axis, full_size)
    dx = np.zeros_like(x)
    dkernel = np.zeros_like(kernel)
    for tap in itertools.product(*(range(k) for k in kernel.shape[:rank])):
        source = tuple(
            slice(j * d, j * d + (n - 1) * s + 1, s)
            for j, d, n, s in zip(tap, dilation, sizes, strides)
        )
        g_tap = g[(slice(None), *source)]  # (batch, *sizes, c_out)
        dx += g_tap @ kernel[tap]
        summed = list(range(x.ndim - 1))  # batch and spatial axes
        dkernel[tap] = np.tensordot(g_tap, x, axes=(summed, summed))
    if data_format == "channels_first":
        dx = np.moveaxis(dx, -1, 1)
    return dx, dkernel


def _uncut(g, axis, full_size):
    """Place a cut axis back at its position in the full output, zero elsewhere."""
    length = g.shape[axis]
    excess = full_size - length
    start = excess // 2 if excess > 0 else 0
    widths = [(0, 0)] * g.ndim
    widths[axis] = (start, max(full_size - start - length, 0))
    g = np.pad(g, widths)
    return np.take(g, np.arange(full_size), axis=axis)


def _cut(a, axis, length):
    excess = a.shape[axis] - length
    if excess < 0:
        widths = [(0, 0)] * a.ndim
        widths[axis] = (0, -excess)
        return np.pad(a, widths)
    start = excess // 2 if excess else 0
    return np.take(a, np.arange(start, start + length), axis=axis)


def _per_axis(value, rank):
    return tuple(value) if isinstance(value, (tuple, list)) else (value,) * rank
