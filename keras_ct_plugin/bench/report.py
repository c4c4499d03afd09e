"""The benchmark's tables and charts, from the workers' rows. Imports no
framework: the benchmark's own process only launches the workers.

Ratios are the other's time over the plugin's: above 1, the plugin is
faster. "Best peer" is the faster of the built-in and raw torch.
"""

import importlib.metadata
import os
import platform
import statistics

from rich.table import Table

PEER = "raw torch"
LORA = "auto + LoRA"
# A second built-in layer with the same weights, timed beside the first in
# the sweep: the built-in against itself shows how far the machine's noise
# alone moves a ratio.
CONTROL = "built-in again"
# On torch, the `auto` layer's own `call`, without Keras's `Layer.__call__`
# around it: what the layer adds to raw torch beyond Keras's per-call cost.
WITHOUT_CALL = "auto, layer.call"


def environment(backends):
    versions = ", ".join(f"{name} {importlib.metadata.version(name)}"
                         for name in ("keras", *backends))
    return (f"{versions}; Python {platform.python_version()}, {platform.machine()}, "
            f"{os.cpu_count()} CPUs")


def ratio(other, plugin):
    if other is None or plugin is None or plugin <= 0:
        return None
    return other / plugin


def _times(row, key):
    """The alternation of `key` ("forward" or "forward_backward"): the
    head-to-head one where it was timed, else the every-path one."""
    return row.get(key) or row[f"every_path_{key}"]


def versus(row, key, against="builtin", path=None):
    """The plugin's path (`auto`'s by default) against the built-in, raw
    torch or the best peer ("best peer"); with CONTROL, the slower of the
    built-in's two instances against the faster: they run the same program,
    so noise shows in either direction."""
    times = _times(row, key)
    if against == CONTROL:
        slower = ratio(times.get(CONTROL), times.get("builtin"))
        return None if slower is None else min(slower, 1 / slower)
    mine = times.get(path or row["path"])
    if against == "best peer":
        peers = [times[name] for name in ("builtin", PEER) if times.get(name)]
        return ratio(min(peers), mine) if peers else None
    return ratio(times.get(against), mine)


def _fmt(value):
    return "-" if value is None else f"{value:.2f}"


COLUMNS = ("backend", "workload", "auto path", "fwd", "fwd+bwd", "fwd vs best peer",
           "fwd+bwd vs best peer", "fwd+bwd ms: plugin, built-in, raw torch", "eager fwd",
           "eager fwd+bwd", "fwd / matmul", "memory", "LoRA fwd+bwd cost", "built-in",
           "every path: fwd, fwd+bwd")


def _ms(times, name):
    return "-" if times.get(name) is None else f"{times[name] * 1e3:.2f}"


def rows(results):
    """The table's rows, one per backend and workload, as strings."""
    for backend, measured in results.items():
        for row in measured:
            path = row["path"]
            others = "; ".join(
                f"{p} {_fmt(versus(row, 'every_path_forward', path=p))}, "
                f"{_fmt(versus(row, 'every_path_forward_backward', path=p))}"
                for p in row["every_path_forward_backward"]
                if p not in ("builtin", PEER, CONTROL, WITHOUT_CALL))
            matmul = row["forward"].get("matmul reference")
            times = row["forward_backward"]
            yield (backend, row["workload"]["name"], path,
                   _fmt(versus(row, "forward")), _fmt(versus(row, "forward_backward")),
                   _fmt(versus(row, "forward", "best peer")),
                   _fmt(versus(row, "forward_backward", "best peer")),
                   ", ".join(_ms(times, name) for name in (path, "builtin", PEER)),
                   _fmt(versus(row, "eager_forward")),
                   _fmt(versus(row, "eager_forward_backward")),
                   _fmt(ratio(row["forward"][path], matmul)),
                   _fmt(ratio(row.get("peak_bytes_builtin"), row.get("peak_bytes_plugin"))),
                   _fmt(lora_cost(row)),
                   "ok" if not row["builtin_error"] else row["builtin_error"][:20], others)


def _rich_table(title, columns, rows):
    t = Table(title=title)
    for column in columns:
        t.add_column(column)
    for row in rows:
        t.add_row(*row)
    return t


def table(results):
    return _rich_table("plugin vs keras.layers.Conv*DTranspose and raw torch (ratio = their "
                       "time / plugin time, > 1: plugin faster; compiled as fit runs them)",
                       COLUMNS, rows(results))


def markdown(columns, rows):
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    return "\n".join(lines + ["| " + " | ".join(row) + " |" for row in rows]) + "\n"


def lora_cost(row):
    """Forward+backward of the `auto` layer with LoRA over the same without
    (1.0: free)."""
    times = row.get("forward_backward") or {}
    return ratio(times.get(LORA), times.get(row["path"]))


def summary(rows, key, against="builtin"):
    """{count, at least 0.95, below 0.9, min, median} of the ratios."""
    rows = [row for row in rows if "error" not in row]
    ratios = [r for r in (versus(row, key, against) for row in rows) if r is not None]
    if not ratios:
        return None
    return {"count": len(ratios), "at_least_0.95": sum(r >= 0.95 for r in ratios),
            "below_0.9": sum(r < 0.9 for r in ratios), "min": min(ratios),
            "median": statistics.median(ratios)}


def float32_rows(rows):
    return [row for row in rows if row["workload"]["dtype"] == "float32"]


SWEEP_COLUMNS = ("backend", "dtype", "pass", "shapes", ">= 0.95x", "< 0.9x", "min", "median",
                 "median vs best peer", "built-in vs itself: >= 0.95x, < 0.9x")


def sweep_rows(results):
    for backend, measured in results.items():
        for dtype in ("float32", "bfloat16"):
            subset = [row for row in measured if row["workload"]["dtype"] == dtype]
            for key, label in (("forward", "fwd"), ("forward_backward", "fwd+bwd")):
                s = summary(subset, key)
                peer = summary(subset, key, "best peer")
                control = summary(subset, key, CONTROL)
                if s is None:
                    continue
                yield (backend, dtype, label, str(s["count"]),
                       f"{s['at_least_0.95']}/{s['count']}", str(s["below_0.9"]),
                       _fmt(s["min"]), _fmt(s["median"]), _fmt(peer and peer["median"]),
                       "-" if control is None else
                       f"{control['at_least_0.95']}/{control['count']}, {control['below_0.9']}")


def sweep_table(results, seed):
    return _rich_table(f"sweep {seed}: auto path vs built-in (float32; bfloat16 apart)",
                       SWEEP_COLUMNS, sweep_rows(results))


def against_peer(rows, key, subject, min_seconds=1e-3):
    """{count, at least 0.9, median} of raw torch's time over `subject`'s
    (the `auto` path by default) on the float32 rows where raw torch takes
    `min_seconds` or more."""
    ratios = []
    for row in float32_rows(rows):
        times = row.get(key) or {}
        peer, mine = times.get(PEER), times.get(subject or row.get("path"))
        if "error" not in row and peer and mine and peer >= min_seconds:
            ratios.append(peer / mine)
    if not ratios:
        return None
    return {"count": len(ratios), "at_least_0.9": sum(r >= 0.9 for r in ratios),
            "median": statistics.median(ratios)}


PEER_COLUMNS = ("backend", "pass", "subject", "raw torch at least", "shapes", ">= 0.9x",
                "median")


def peer_rows(results):
    """Against raw torch, float32, on the rows where it takes 1 ms or more
    and 5 ms or more: the layer as Keras calls it, and its `call` alone."""
    for backend, measured in results.items():
        for key, label in (("forward", "fwd"), ("forward_backward", "fwd+bwd")):
            for subject, name in ((None, "layer(x)"), (WITHOUT_CALL, "layer.call(x)")):
                for floor in (1e-3, 5e-3):
                    s = against_peer(measured, key, subject, floor)
                    if s is not None:
                        yield (backend, label, name, f"{floor * 1e3:g} ms", str(s["count"]),
                               f"{s['at_least_0.9']}/{s['count']}", _fmt(s["median"]))


def peer_table(results):
    return _rich_table("against raw torch, float32 (ratio = raw torch's time / the layer's)",
                       PEER_COLUMNS, peer_rows(results))


def _plain_log_axis(ax):
    """A log axis with plain tick labels (0.5, 1, 2, ...) and the 1.0 line."""
    from matplotlib.ticker import FixedLocator
    from matplotlib.ticker import NullFormatter
    from matplotlib.ticker import NullLocator

    ax.set_yscale("log")
    low, high = ax.get_ylim()
    ticks = [t for t in (0.25, 0.5, 0.75, 1, 1.5, 2, 3, 5, 10, 20, 50, 100, 200, 500)
             if low <= t <= high]
    ax.yaxis.set_major_locator(FixedLocator(ticks))
    ax.yaxis.set_major_formatter(lambda value, _: f"{value:g}")
    ax.yaxis.set_minor_locator(NullLocator())
    ax.yaxis.set_minor_formatter(NullFormatter())
    ax.axhline(1, color="black", linewidth=1)
    ax.grid(axis="y", alpha=0.3)


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot(results, path):
    plt = _pyplot()
    fig, axes = plt.subplots(len(results), 1, figsize=(12, 3.8 * len(results)), squeeze=False)
    for ax, (backend, rows) in zip(axes[:, 0], results.items()):
        names = [r["workload"]["name"] for r in rows]
        bars = (("forward", "built-in"), ("forward_backward", "built-in"),
                ("forward", "best peer"), ("forward_backward", "best peer"))
        for offset, (key, against) in zip((-0.3, -0.1, 0.1, 0.3), bars):
            values = [versus(r, key, "builtin" if against == "built-in" else against) or 0
                      for r in rows]
            label = f"{'fwd' if key == 'forward' else 'fwd+bwd'} vs {against}"
            ax.bar([i + offset for i in range(len(rows))], values, width=0.2, label=label)
        ax.set_xticks(range(len(rows)), names, rotation=25, ha="right")
        _plain_log_axis(ax)
        ax.set_title(f"{backend}: other's time / plugin's time (above 1: plugin faster)")
        ax.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1, 1))
    fig.tight_layout()
    fig.savefig(path, dpi=100)


def plot_sweep(results, seed, path):
    """Per backend, each shape's ratio against the built-in (fwd, fwd+bwd)
    and against the best peer, sorted: the distribution at a glance."""
    plt = _pyplot()
    fig, axes = plt.subplots(1, len(results), figsize=(5.5 * len(results), 4.2), squeeze=False)
    for ax, (backend, rows) in zip(axes[0], results.items()):
        rows = [row for row in float32_rows(rows) if "error" not in row]
        for key, against, style in (("forward", "builtin", "-"),
                                    ("forward_backward", "builtin", "-"),
                                    ("forward_backward", "best peer", ":"),
                                    ("forward_backward", CONTROL, "--")):
            values = sorted(r for r in (versus(row, key, against) for row in rows) if r)
            if not values:
                continue
            label = f"{'fwd' if key == 'forward' else 'fwd+bwd'} vs {against}"
            if against == CONTROL:
                label = "fwd+bwd: built-in vs itself (noise)"
            ax.plot(range(1, len(values) + 1), values, style, marker=".", label=label)
        _plain_log_axis(ax)
        ax.set_xlabel("shapes, sorted by ratio")
        ax.set_title(f"{backend}, sweep {seed}, float32")
        ax.legend(fontsize="small")
    axes[0][0].set_ylabel("other's time / plugin's time")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
