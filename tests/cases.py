"""Test cases as data: transposed-convolution settings with readable ids."""

import itertools
from dataclasses import dataclass
from dataclasses import replace


@dataclass(frozen=True)
class Case:
    kernel_size: tuple
    strides: tuple
    dilation_rate: tuple
    padding: str
    output_padding: tuple | None
    data_format: str
    spatial: tuple
    batch: int = 2
    in_channels: int = 3
    filters: int = 4

    @property
    def rank(self):
        return len(self.kernel_size)

    @property
    def input_shape(self):
        if self.data_format == "channels_last":
            return (self.batch, *self.spatial, self.in_channels)
        return (self.batch, self.in_channels, *self.spatial)

    @property
    def kernel_shape(self):
        return (*self.kernel_size, self.filters, self.in_channels)

    @property
    def settings(self):
        return dict(
            strides=self.strides,
            padding=self.padding,
            output_padding=self.output_padding,
            dilation_rate=self.dilation_rate,
            data_format=self.data_format,
        )

    @property
    def keras_builtin_accepts(self):
        """Keras rejects strides > 1 with dilation > 1, and output_padding
        >= strides (this plugin follows torch: < max(strides, dilation))."""
        if max(self.strides) > 1 and max(self.dilation_rate) > 1:
            return False
        op = self.output_padding or (0,) * self.rank
        return all(p < s for p, s in zip(op, self.strides))

    @property
    def id(self):
        def axes(t):
            return "x".join(map(str, t))

        op = "none" if self.output_padding is None else axes(self.output_padding)
        fmt = "cl" if self.data_format == "channels_last" else "cf"
        return (
            f"{self.rank}d-k{axes(self.kernel_size)}-s{axes(self.strides)}"
            f"-d{axes(self.dilation_rate)}-{self.padding}-op{op}-{fmt}"
            f"-n{axes(self.spatial)}"
        )


def _output_paddings(strides, dilation):
    limits = [max(s, d) for s, d in zip(strides, dilation)]
    yield None
    yield from itertools.product(*(range(limit) for limit in limits))


def _sweep(rank, kernels, strides, dilations, sizes):
    """Every kernel/stride/dilation/padding/output_padding combination; the
    data format and input size rotate through their values."""
    formats = itertools.cycle(("channels_last", "channels_first"))
    sizes = itertools.cycle(sizes)
    for k, s, d, padding in itertools.product(
        kernels, strides, dilations, ("valid", "same")
    ):
        for op in _output_paddings(s, d):
            yield Case(k, s, d, padding, op, next(formats), next(sizes))


def _per_axis(values, rank):
    return [(v,) * rank for v in values]


def reference_cases():
    cases = []
    for fmt_size in itertools.product(("channels_last", "channels_first"), (1, 4, 5)):
        for case in _sweep(
            1, _per_axis((1, 2, 3, 4), 1), _per_axis((1, 2, 3), 1),
            _per_axis((1, 2), 1), [(1,)],
        ):
            cases.append(replace(case, data_format=fmt_size[0], spatial=(fmt_size[1],)))
    cases += _sweep(
        2,
        _per_axis((1, 2, 3, 4), 2) + [(3, 2)],
        _per_axis((1, 2, 3), 2) + [(2, 1)],
        _per_axis((1, 2), 2) + [(1, 3)],
        [(1, 1), (4, 5), (5, 4), (3, 3)],
    )
    cases += _sweep(
        3,
        _per_axis((1, 2, 3), 3) + [(3, 2, 1)],
        _per_axis((1, 2), 3) + [(1, 2, 3)],
        _per_axis((1,), 3) + [(2, 1, 1)],
        [(3, 2, 4), (1, 1, 1), (2, 3, 3)],
    )
    return cases


REFERENCE_CASES = reference_cases()
