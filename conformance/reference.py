"""An independent NumPy reference for the transposed convolution, in float64.

Written from the definition, sharing no code with the package: every input
position `i` times kernel tap `j` is scattered to `i * stride + j * dilation`
of the full output, which is then cut to the output length.

For "valid" and "same" the output length follows TensorFlow's
`deconv_output_length` (`(n - 1) * s + k_eff - 2 * pad + output_padding`,
`pad = k_eff // 2` for "same"; without `output_padding`, `n * s` for "same"
and `n * s + max(k_eff - s, 0)` for "valid"). Which part of the full output is
kept follows the forward convolution that this one is the adjoint of: the
excess is cut as "same" padding would add it, `floor(excess / 2)` at the start,
the rest at the end; a shortfall is zeros at the end.

Explicit `padding`, a (before, after) pair per axis, follows PyTorch's
`ConvTranspose` documentation: the output is `(n - 1) * s - before - after +
d * (k - 1) + output_padding + 1` long and starts `before` positions into the
full output; positions past its end are zeros.

With `groups`, input channel group `g` and kernel output group `g` make output
channel group `g`, each computed on its own.
"""

import itertools

import numpy as np


def output_length(n, k, s, d, padding, output_padding):
    """The output length along one axis; `padding` is "valid", "same" or a
    (before, after) pair."""
    k_eff = (k - 1) * d + 1
    if not isinstance(padding, str):
        before, after = padding
        return (n - 1) * s - before - after + d * (k - 1) + (output_padding or 0) + 1
    if output_padding is None:
        if padding == "same":
            return n * s
        return n * s + max(k_eff - s, 0)
    pad = k_eff // 2 if padding == "same" else 0
    return (n - 1) * s + k_eff - 2 * pad + output_padding


def _window(n, k, s, d, padding, output_padding):
    """(start in the full output, length) along one axis."""
    full = (n - 1) * s + (k - 1) * d + 1
    length = output_length(n, k, s, d, padding, output_padding)
    if not isinstance(padding, str):
        return padding[0], length
    excess = full - length
    return (excess // 2 if excess > 0 else 0), length


def per_axis_padding(padding, rank):
    """`padding` as given to the layer, per axis: "valid"/"same" or a
    (before, after) pair."""
    if isinstance(padding, str):
        return (padding.lower(),) * rank
    if isinstance(padding, int):
        return ((padding, padding),) * rank
    return tuple((p, p) if isinstance(p, int) else tuple(p) for p in padding)


def _split_groups(x, kernel, groups, data_format):
    """Per group: its input channels and its kernel's output channels."""
    channel = -1 if data_format == "channels_last" else 1
    return zip(np.split(x, groups, axis=channel), np.split(kernel, groups, axis=-2))


def _windows(sizes, kernel_size, strides, dilation, padding, output_padding):
    rank = len(kernel_size)
    output_padding = (None,) * rank if output_padding is None else _per_axis(output_padding, rank)
    return [
        _window(n, k, s, d, p, op)
        for n, k, s, d, p, op in zip(sizes, kernel_size, strides, dilation,
                                      per_axis_padding(padding, rank), output_padding)
    ]


def _tap_slices(tap, dilation, sizes, strides):
    """Where input positions land in the full output for one kernel tap."""
    return tuple(
        slice(j * d, j * d + (n - 1) * s + 1, s)
        for j, d, n, s in zip(tap, dilation, sizes, strides)
    )


def conv_transpose(
    x,
    kernel,
    strides,
    padding="valid",
    output_padding=None,
    dilation_rate=1,
    data_format="channels_last",
    groups=1,
):
    """`x`: (batch, *spatial, c_in) or (batch, c_in, *spatial);
    `kernel`: (*kernel_size, c_out, c_in / groups). Returns float64."""
    x = np.asarray(x, dtype=np.float64)
    kernel = np.asarray(kernel, dtype=np.float64)
    if groups > 1:
        return np.concatenate(
            [conv_transpose(xg, kg, strides, padding, output_padding, dilation_rate,
                            data_format)
             for xg, kg in _split_groups(x, kernel, groups, data_format)],
            axis=-1 if data_format == "channels_last" else 1,
        )
    rank = kernel.ndim - 2
    strides = _per_axis(strides, rank)
    dilation = _per_axis(dilation_rate, rank)
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
        full[(slice(None), *_tap_slices(tap, dilation, sizes, strides))] += contribution

    out = full
    windows = _windows(sizes, kernel.shape[:rank], strides, dilation, padding, output_padding)
    for axis, (start, length) in enumerate(windows, start=1):
        out = _cut(out, axis, start, length)
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
    groups=1,
):
    """Gradients of `sum(conv_transpose(x, kernel) * upstream)` with respect to
    `x` and `kernel`: each output position reads back what was scattered to
    it (the gather that is the scatter's adjoint)."""
    x = np.asarray(x, dtype=np.float64)
    kernel = np.asarray(kernel, dtype=np.float64)
    g = np.asarray(upstream, dtype=np.float64)
    if groups > 1:
        channel = -1 if data_format == "channels_last" else 1
        per_group = [
            conv_transpose_vjp(xg, kg, gg, strides, padding, output_padding,
                               dilation_rate, data_format)
            for (xg, kg), gg in zip(_split_groups(x, kernel, groups, data_format),
                                    np.split(g, groups, axis=channel))
        ]
        return (np.concatenate([dx for dx, _ in per_group], axis=channel),
                np.concatenate([dk for _, dk in per_group], axis=-2))
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
    windows = _windows(sizes, kernel.shape[:rank], strides, dilation, padding, output_padding)
    for axis, (full_size, (start, _)) in enumerate(zip(full_sizes, windows), start=1):
        g = _uncut(g, axis, start, full_size)
    dx = np.zeros_like(x)
    dkernel = np.zeros_like(kernel)
    for tap in itertools.product(*(range(k) for k in kernel.shape[:rank])):
        g_tap = g[(slice(None), *_tap_slices(tap, dilation, sizes, strides))]
        dx += g_tap @ kernel[tap]
        summed = list(range(x.ndim - 1))  # batch and spatial axes
        dkernel[tap] = np.tensordot(g_tap, x, axes=(summed, summed))
    if data_format == "channels_first":
        dx = np.moveaxis(dx, -1, 1)
    return dx, dkernel


def _uncut(g, axis, start, full_size):
    """Place a cut axis back at `start` in the full output, zero elsewhere."""
    length = g.shape[axis]
    widths = [(0, 0)] * g.ndim
    widths[axis] = (start, max(full_size - start - length, 0))
    g = np.pad(g, widths)
    return np.take(g, np.arange(full_size), axis=axis)


def _cut(a, axis, start, length):
    """Positions start .. start + length - 1 of an axis, zeros past its end."""
    widths = [(0, 0)] * a.ndim
    widths[axis] = (0, max(start + length - a.shape[axis], 0))
    return np.take(np.pad(a, widths), np.arange(start, start + length), axis=axis)


def _per_axis(value, rank):
    return tuple(value) if isinstance(value, (tuple, list)) else (value,) * rank
