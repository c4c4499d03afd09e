"""Test cases as data: transposed-convolution settings with readable ids."""

import itertools
from dataclasses import replace

from keras_ct_plugin.conformance import reference
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


def torch_style_cases():
    """Explicit (PyTorch) padding, groups, and strides with dilation, as
    `torch.nn.ConvTranspose{1,2,3}d` takes them; settings whose crop would
    leave a negative length are left out."""
    cases = []
    groups_channels = itertools.cycle([(1, 3, 4), (2, 4, 6), (4, 4, 8), (2, 2, 2)])
    formats = itertools.cycle(("channels_first", "channels_last", "channels_last"))
    sizes = {1: itertools.cycle([(5,), (1,), (4,)]),
             2: itertools.cycle([(3, 4), (1, 2), (5, 3)]),
             3: itertools.cycle([(2, 3, 2), (1, 2, 3)])}
    paddings = {1: [0, 1, ((2, 0),), ((0, 3),)],
                2: [0, 1, (2, 0), ((1, 0), (0, 2))],
                3: [1, ((0, 1), (1, 0), (2, 2))]}
    for rank in (1, 2, 3):
        for k, s, d, padding in itertools.product(
            (2, 3), (1, 2, 3) if rank < 3 else (2,), (1, 2), paddings[rank]
        ):
            base = Case((k,) * rank, (s,) * rank, (d,) * rank, "valid", None,
                         "channels_last", (1,) * rank)
            for op in range(max(s, d)):
                groups, in_channels, filters = next(groups_channels)
                spatial = next(sizes[rank])
                explicit = reference.per_axis_padding(padding, rank)
                if any(reference.output_length(n, k, s, d, pair, op) < 0
                       for n, pair in zip(spatial, explicit)):
                    continue
                cases.append(replace(
                    base, padding=explicit, output_padding=(op,) * rank,
                    data_format=next(formats), spatial=spatial, groups=groups,
                    in_channels=in_channels, filters=filters))
    return cases


TORCH_STYLE_CASES = torch_style_cases()
