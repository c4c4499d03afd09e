"""A small slice of the case matrix in which every pair of setting values
that the matrix holds appears at least once (a pairwise covering array,
picked greedily), for the test suite on each backend; the conformance suite
runs the whole matrix.

The settings are described by what they change in the computation: the
kernel against the stride, the padding's kind, output_padding none, zero or
the largest, input sizes of 1, odd or even, and so on."""

import itertools


def _relation(kernel, stride):
    if stride == 1:
        return "stride 1"
    return "kernel < stride" if kernel < stride else (
        "kernel = stride" if kernel == stride else "kernel > stride")


def _padding_kind(padding):
    if isinstance(padding, str):
        return padding
    return "explicit equal" if all(a == b for a, b in padding) else "explicit unequal"


def _output_padding_kind(case):
    if case.output_padding is None:
        return "none"
    largest = [max(s, d) - 1 for s, d in zip(case.strides, case.dilation_rate)]
    if not any(case.output_padding):
        return "zero"
    return "largest" if list(case.output_padding) == largest else "between"


def _size_kind(n):
    return "1" if n == 1 else ("odd" if n % 2 else "even")


def features(case):
    """What the slice must cover, per case: {feature: value}."""
    return dict(
        rank=case.rank,
        relation=sorted({_relation(k, s) for k, s in zip(case.kernel_size, case.strides)}),
        kernel=max(case.kernel_size),
        stride=max(case.strides),
        anisotropic=len(set(case.kernel_size)) > 1 or len(set(case.strides)) > 1,
        dilated=max(case.dilation_rate) > 1,
        padding=_padding_kind(case.padding),
        output_padding=_output_padding_kind(case),
        data_format=case.data_format,
        sizes=sorted({_size_kind(n) for n in case.spatial}),
        batch=case.batch,
        use_bias=case.use_bias,
        activation=case.activation,
        dtype=case.dtype,
        grouped=case.groups > 1,
    )


# What a case's arithmetic depends on, for a slice per implementation path:
# the operands' dtype, batch, bias and activation are the layer's business.
GEOMETRY = ("rank", "kernel", "stride", "relation", "anisotropic", "dilated", "padding",
            "output_padding", "data_format", "sizes", "grouped")


def _pairs(case, names):
    items = sorted((name, str(value)) for name, value in features(case).items()
                   if names is None or name in names)
    return set(itertools.combinations(items, 2))


def covering(cases, names=None):
    """The cases, in their order, of a greedy pairwise cover of `cases`, over
    the features `names` (all by default)."""
    pairs = [_pairs(case, names) for case in cases]
    uncovered = set().union(*pairs)
    chosen = []
    while uncovered:
        best = max(range(len(cases)), key=lambda i: len(pairs[i] & uncovered))
        chosen.append(best)
        uncovered -= pairs[best]
    return [cases[i] for i in sorted(chosen)]
