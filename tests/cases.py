"""Test cases as data: transposed-convolution settings with readable ids."""

import itertools
from dataclasses import replace

from keras_ct_plugin.conformance.case import Case


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
