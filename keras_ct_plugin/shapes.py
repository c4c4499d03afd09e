"""Output-shape and padding arithmetic for transposed convolution.

Framework-free: the layer, the public op and every backend path use this module,
so a shape rule lives in exactly one place. The tests' NumPy reference does not.

Every implementation computes the same thing along each spatial axis:

1. the *full* transposed convolution, where input position `i` and kernel tap
   `j` land at `i * stride + j * dilation` (Relationship 13 of
   arXiv:1603.07285, with dilation); its length is
   `(size - 1) * stride + effective_kernel`, where
   `effective_kernel = (kernel - 1) * dilation + 1`;
2. a window of it: `crop_before` positions dropped at the start, `length`
   positions kept. Positions past the end of the full output read as zeros.

`length` is always `(size - 1) * stride + tail`, with a `tail` that does not
depend on the input size, so the window is known before the input size is.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class AxisWindow:
    """Which part of one axis of the full transposed convolution is output."""

    kernel_size: int
    stride: int
    dilation: int
    crop_before: int
    tail: int

    @property
    def effective_kernel(self):
        return effective_kernel_size(self.kernel_size, self.dilation)

    def length(self, size):
        if size is None:
            return None
        return _strided(size, self.stride, self.tail)

    def full_length(self, size):
        """Length of the full transposed convolution, before the window."""
        return _strided(size, self.stride, self.effective_kernel)

    @property
    def crop_after(self):
        """Positions dropped at the end of the full output, the same for every
        input size; negative means zeros are appended."""
        return self.effective_kernel - self.crop_before - self.tail

    @property
    def is_tiling(self):
        """Kernel windows tile the output exactly: one matmul and a reshape."""
        return (
            self.kernel_size == self.stride
            and self.dilation == 1
            and self.crop_before == 0
            and self.tail == self.stride
        )


def _strided(size, stride, tail):
    """`(size - 1) * stride + tail`, written with as few operations as
    possible: `size` may be a tensor, and every operation is a node of an
    exported graph."""
    scaled = size if stride == 1 else size * stride
    return scaled + (tail - stride) if tail != stride else scaled


def effective_kernel_size(kernel_size, dilation_rate):
    return (kernel_size - 1) * dilation_rate + 1


def axis_window(kernel_size, stride, dilation_rate, padding, output_padding):
    """The output window along one axis.

    `padding="valid"` keeps the full output, extended with `output_padding`
    zeros at the end (by default up to `stride` when the kernel is shorter).
    `padding="same"` gives `size * stride` positions, or
    `(size - 1) * stride + effective_kernel % 2 + output_padding` when
    `output_padding` is given, cropping `floor(excess / 2)` at the start.
    These are Keras 3's rules.

    `padding=(before, after)` is PyTorch's: `before` positions are cropped at
    the start, `after` at the end, and then `output_padding` positions are
    given back at the end, so `(size - 1) * stride + effective_kernel - before
    - after + output_padding` remain.
    """
    k = effective_kernel_size(kernel_size, dilation_rate)
    if isinstance(padding, tuple):
        before, after = padding
        tail = k - before - after + (output_padding or 0)
        return AxisWindow(kernel_size, stride, dilation_rate, before, tail)
    if padding == "valid":
        if output_padding is None:
            output_padding = max(k, stride) - k
        return AxisWindow(kernel_size, stride, dilation_rate, 0, k + output_padding)
    if padding == "same":
        if output_padding is None:
            tail = stride
        else:
            tail = k % 2 + output_padding
        crop_before = max((k - tail) // 2, 0)
        return AxisWindow(kernel_size, stride, dilation_rate, crop_before, tail)
    raise ValueError(
        "Invalid value for argument `padding`. Expected 'valid' or 'same'. "
        f"Received padding={padding!r}."
    )


def axis_windows(kernel_size, strides, dilation_rate, padding, output_padding):
    """One `AxisWindow` per spatial axis; tuples in, tuple out."""
    rank = len(kernel_size)
    if output_padding is None:
        output_padding = (None,) * rank
    if isinstance(padding, str):
        padding = (padding,) * rank
    return tuple(
        axis_window(*per_axis)
        for per_axis in zip(kernel_size, strides, dilation_rate, padding, output_padding)
    )


def output_padding_for(output_size, sizes, kernel_size, strides, dilation_rate, padding):
    """The `output_padding` that gives `output_size` (spatial, one int per
    axis) for the spatial input `sizes`: PyTorch's `output_size` at call
    time. Each axis reaches the lengths that `output_padding` 0 to
    `max(stride, dilation) - 1` give."""
    if isinstance(padding, str):
        padding = (padding,) * len(kernel_size)
    if any(n is None for n in sizes):
        raise ValueError(
            "Invalid value for argument `output_size`. Expected inputs whose "
            f"spatial sizes are known. Received output_size={output_size} for "
            f"spatial input sizes {tuple(sizes)}."
        )
    paddings, ranges = [], []
    for target, n, k, s, d, p in zip(
        output_size, sizes, kernel_size, strides, dilation_rate, padding
    ):
        shortest = axis_window(k, s, d, p, 0).length(n)
        paddings.append(target - shortest)
        ranges.append((shortest, shortest + max(s, d) - 1))
    if any(not low <= target <= high for target, (low, high) in zip(output_size, ranges)):
        reachable = ", ".join(f"{low} to {high}" for low, high in ranges)
        raise ValueError(
            "Invalid value for argument `output_size`. Expected on each spatial "
            f"axis a size this input reaches ({reachable}). Received "
            f"output_size={tuple(output_size)} for spatial input sizes {tuple(sizes)}."
        )
    return tuple(paddings)


def to_channels_last(rank):
    """The axis order that moves a channels_first tensor's channels last,
    every axis explicit and non-negative."""
    return (0, *range(2, rank + 2), 1)


def to_channels_first(rank):
    """The axis order that moves a channels_last tensor's channels first."""
    return (0, rank + 1, *range(1, rank + 1))


def spatial_axes(rank, data_format):
    if data_format == "channels_last":
        return tuple(range(1, rank + 1))
    return tuple(range(2, rank + 2))


def output_shape(input_shape, filters, windows, data_format):
    """The output shape for `input_shape`; `None` sizes stay `None`.

    An explicit `padding` that crops more than the whole output raises.
    """
    rank = len(windows)
    sizes = tuple(input_shape[a] for a in spatial_axes(rank, data_format))
    spatial = tuple(w.length(n) for w, n in zip(windows, sizes))
    if any(n is not None and n < 0 for n in spatial):
        raise ValueError(
            "Invalid value for argument `padding`. Expected a crop no larger "
            "than the full transposed convolution on each axis. Received a "
            f"crop that leaves output lengths {spatial} for spatial input "
            f"sizes {sizes}."
        )
    if data_format == "channels_last":
        return (input_shape[0],) + spatial + (filters,)
    return (input_shape[0], filters) + spatial
