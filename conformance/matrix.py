"""The conformance case matrix, kept as data in `cases.csv`.

    python -m keras_ct_plugin.conformance.matrix   # rewrite cases.csv

`generate()` sweeps, per rank, every padding, stride/kernel relation
(stride < kernel, = kernel, > kernel, and stride 1), dilation 1 and 2, and
output_padding from none to its maximum, each at two input sizes with
dilation 1 and at one with dilation 2; data format, input size (odd, even,
size 1), batch, bias, activation and dtype rotate through their values with
coprime periods, so each appears with many of the others.

`torch_style()` adds what only this plugin (and PyTorch) has: explicit
padding, symmetric and per side, groups, and strides with dilation, each with
output_padding 0 and its maximum; settings whose crop would leave a
negative length are left out.
"""

import csv
import itertools
import pathlib

from keras_ct_plugin.conformance import reference
from keras_ct_plugin.conformance.case import Case

CSV_PATH = pathlib.Path(__file__).with_name("cases.csv")
COLUMNS = ("id", "kernel_size", "strides", "dilation_rate", "padding", "output_padding",
           "data_format", "spatial", "batch", "in_channels", "filters", "use_bias",
           "activation", "dtype", "groups")

# (kernel, stride) per relation; per axis, so rank-2/3 rows may mix them.
KERNEL_STRIDE = ((3, 2), (4, 2), (2, 2), (3, 3), (1, 2), (2, 3), (3, 1), (2, 1))
SIZES = {1: [(1,), (4,), (5,)],
         2: [(4, 5), (1, 1), (5, 4), (3, 3), (2, 1)],
         3: [(2, 3, 3), (1, 1, 1), (3, 2, 2)]}
ANISOTROPIC = {1: [], 2: [((3, 2), (2, 1)), ((1, 4), (2, 2))], 3: [((2, 3, 1), (2, 1, 3))]}


def _cycles():
    return dict(
        data_format=itertools.cycle(("channels_last", "channels_first")),
        batch=itertools.cycle((2, 1, 3)),
        use_bias=itertools.cycle((True, True, False, True, False)),
        activation=itertools.cycle((None, "relu", None, "tanh", "sigmoid", None, None)),
        dtype=itertools.cycle(("float32", "float16", "float32", "bfloat16")),
    )


def _output_paddings(strides, dilation):
    """None, then 0 up to the maximum (`max(stride, dilation) - 1` per axis)."""
    yield None
    limits = [max(s, d) for s, d in zip(strides, dilation)]
    for p in range(max(limits)):
        yield tuple(min(p, limit - 1) for limit in limits)


def generate():
    cases = []
    for rank in (1, 2, 3):
        cycles = _cycles()
        sizes = itertools.cycle(SIZES[rank])
        pairs = [((k,) * rank, (s,) * rank) for k, s in KERNEL_STRIDE]
        pairs += ANISOTROPIC[rank]
        if rank == 3:
            pairs = pairs[::2] + ANISOTROPIC[3]
        for (kernel, strides), dilation, padding in itertools.product(
            pairs, (1, 2), ("valid", "same")
        ):
            dilation = (dilation,) * rank
            for output_padding, _ in itertools.product(
                _output_paddings(strides, dilation), range(2 if max(dilation) == 1 else 1)
            ):
                cases.append(Case(
                    kernel, strides, dilation, padding, output_padding,
                    spatial=next(sizes), in_channels=3, filters=4,
                    **{name: next(values) for name, values in cycles.items()},
                ))
    cases += torch_style()
    return list({c.id: c for c in cases}.values())


# (groups, in_channels, filters)
GROUPINGS = ((2, 4, 6), (1, 3, 4), (4, 4, 8))
TORCH_PADDINGS = {1: [((1, 1),), ((2, 0),)],
                  2: [((1, 1), (1, 1)), ((1, 0), (0, 2))],
                  3: [((1, 1),) * 3, ((0, 1), (1, 0), (2, 2))]}


def _extremes(output_paddings):
    """0 and the maximum, of the output_paddings after None."""
    values = list(output_paddings)[1:]
    return list(dict.fromkeys([values[0], values[-1]]))


def torch_style():
    cases = []
    for rank in (1, 2, 3):
        cycles = _cycles()
        sizes = itertools.cycle(SIZES[rank])
        groupings = itertools.cycle(GROUPINGS)
        pairs = [((k,) * rank, (s,) * rank) for k, s in KERNEL_STRIDE[:6]]
        if rank == 3:
            pairs = pairs[::2]
        for (kernel, strides), dilation, padding in itertools.product(
            pairs, (1, 2), TORCH_PADDINGS[rank]
        ):
            dilation = (dilation,) * rank
            for output_padding in _extremes(_output_paddings(strides, dilation)):
                groups, in_channels, filters = next(groupings)
                spatial = next(sizes)
                settings = {name: next(values) for name, values in cycles.items()}
                if any(reference.output_length(*axis) < 0 for axis in zip(
                        spatial, kernel, strides, dilation, padding, output_padding)):
                    continue
                cases.append(Case(
                    kernel, strides, dilation, padding, output_padding, spatial=spatial,
                    in_channels=in_channels, filters=filters, groups=groups, **settings,
                ))
    return cases


def _axes(t):
    return "none" if t is None else "x".join(map(str, t))


def _tuple(text):
    return None if text == "none" else tuple(int(v) for v in text.split("x"))


def _padding(padding):
    if isinstance(padding, str):
        return padding
    return "x".join(f"{before}_{after}" for before, after in padding)


def _parse_padding(text):
    if text in ("valid", "same"):
        return text
    return tuple(tuple(int(v) for v in pair.split("_")) for pair in text.split("x"))


def write(cases, path=CSV_PATH):
    with open(path, "w", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(COLUMNS)
        for c in cases:
            writer.writerow([c.id, _axes(c.kernel_size), _axes(c.strides),
                             _axes(c.dilation_rate), _padding(c.padding),
                             _axes(c.output_padding),
                             c.data_format, _axes(c.spatial), c.batch, c.in_channels,
                             c.filters, int(c.use_bias), c.activation or "none", c.dtype,
                             c.groups])


def load(path=CSV_PATH):
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    return [Case(
        _tuple(r["kernel_size"]), _tuple(r["strides"]), _tuple(r["dilation_rate"]),
        _parse_padding(r["padding"]), _tuple(r["output_padding"]), r["data_format"],
        _tuple(r["spatial"]),
        batch=int(r["batch"]), in_channels=int(r["in_channels"]), filters=int(r["filters"]),
        use_bias=bool(int(r["use_bias"])),
        activation=None if r["activation"] == "none" else r["activation"], dtype=r["dtype"],
        groups=int(r["groups"]),
    ) for r in rows]


if __name__ == "__main__":
    write(generate())
    print(f"wrote {len(generate())} cases to {CSV_PATH}")
