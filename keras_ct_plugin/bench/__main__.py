"""python -m keras_ct_plugin.bench [--backends tensorflow,jax,torch] [--repeats N] [--out DIR]

Times the plugin's Conv2DTranspose against keras.layers.Conv2DTranspose on
each installed backend, each backend in its own process, and writes
DIR/bench.json and DIR/bench.png (default DIR: bench-report/ in the current
directory). Ratios above 1 mean the plugin is faster (or, for memory, uses
less).
"""

import argparse
import importlib.util
import json
import os
import pathlib
import subprocess
import sys
import tempfile

from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from keras_ct_plugin.bench.workloads import WORKLOADS

BACKENDS = ("tensorflow", "jax", "torch")


# glibc's malloc keeps freed memory for reuse, so after a warm-up call the
# resident set would not grow at all. With a fixed mmap threshold every buffer
# from 64 KiB up is mapped on allocation and unmapped on release, and the
# resident set's peak follows the live tensors.
MEMORY_PROBE_ENV = {"MALLOC_MMAP_THRESHOLD_": "65536", "MALLOC_TRIM_THRESHOLD_": "0"}


def run_worker(backend, *args):
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        env = {**os.environ, "KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "3"}
        if args[0] == "memory":
            env.update(MEMORY_PROBE_ENV)
        command = [sys.executable, "-m", "keras_ct_plugin.bench.worker", *args, out.name]
        done = subprocess.run(command, env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, text=True)
        if done.returncode != 0:
            raise RuntimeError(
                f"The {backend} worker failed ({' '.join(args)}):\n"
                + "\n".join(done.stderr.splitlines()[-20:]))
        return json.loads(pathlib.Path(out.name).read_text())


def ratio(builtin, plugin):
    if builtin is None or plugin is None or plugin <= 0:
        return None
    return builtin / plugin


def measure(backends, repeats):
    results = {}
    with Progress() as progress:
        task = progress.add_task("benchmark", total=len(backends) * (1 + 2 * len(WORKLOADS)))
        for backend in backends:
            progress.update(task, description=f"{backend}: timing")
            rows = run_worker(backend, "times", f"{repeats}")
            progress.advance(task)
            for row in rows:
                for name, implementation in (("plugin", row["path"]), ("builtin", "builtin")):
                    progress.update(task, description=f"{backend}: memory, {row['workload']}")
                    row[f"peak_bytes_{name}"] = run_worker(
                        backend, "memory", row["workload"], implementation)
                    progress.advance(task)
            results[backend] = rows
    return results


def _fmt(value):
    return "-" if value is None else f"{value:.2f}"


def _ratios(row, path, mode=""):
    f, fb = row[f"{mode}forward"], row[f"{mode}forward_backward"]
    return ratio(f.get("builtin"), f[path]), ratio(fb.get("builtin"), fb[path])


def table(results):
    t = Table(title="plugin vs keras.layers.Conv2DTranspose (CPU, float32; "
                    "ratio = built-in time / plugin time, > 1: plugin faster)")
    for column in ("backend", "workload", "auto path", "fwd", "fwd+bwd", "eager fwd",
                   "eager fwd+bwd", "fwd / matmul", "memory", "built-in",
                   "every path: fwd, fwd+bwd"):
        t.add_column(column)
    for backend, rows in results.items():
        for row in rows:
            path = row["path"]
            forward, backward = _ratios(row, path)
            others = "; ".join(
                f"{p} {_fmt(_ratios(row, p, 'every_path_')[0])}, "
                f"{_fmt(_ratios(row, p, 'every_path_')[1])}"
                for p in row["every_path_forward_backward"] if p != "builtin")
            eager_forward, eager_backward = _ratios(row, path, "eager_")
            t.add_row(backend, row["workload"], path, _fmt(forward), _fmt(backward),
                      _fmt(eager_forward), _fmt(eager_backward),
                      _fmt(row["forward"][path] / row["forward"]["matmul reference"]),
                      _fmt(ratio(row["peak_bytes_builtin"], row["peak_bytes_plugin"])),
                      "raises" if row["builtin_error"] else "ok", others)
    return t


def plot(results, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(results), figsize=(7.5 * len(results), 4), squeeze=False)
    for ax, (backend, rows) in zip(axes[0], results.items()):
        names = [r["workload"] for r in rows]
        keys = ("forward", "forward_backward", "eager_forward", "eager_forward_backward")
        for offset, key in zip((-0.3, -0.1, 0.1, 0.3), keys):
            values = [ratio(r[key].get("builtin"), r[key][r["path"]]) or 0 for r in rows]
            ax.bar([i + offset for i in range(len(rows))], values, width=0.2, label=key)
        ax.axhline(1, color="black", linewidth=0.8)
        ax.set_xticks(range(len(rows)), names, rotation=30, ha="right")
        ax.set_yscale("log")
        ax.set_title(f"{backend}: built-in time / plugin time")
        ax.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1, 1))
    fig.tight_layout()
    fig.savefig(path, dpi=100)


def main(argv=None):
    parser = argparse.ArgumentParser(prog=f"python -m {__package__}",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--backends", default=",".join(BACKENDS))
    parser.add_argument("--repeats", type=int, default=7,
                        help="rounds at least; small workloads get more, up to 2 s")
    parser.add_argument("--out", default="bench-report",
                        help="folder for bench.json and bench.png")
    args = parser.parse_args(argv)
    backends = [b for b in args.backends.split(",") if importlib.util.find_spec(b)]
    results = measure(backends, args.repeats)
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "bench.json").write_text(json.dumps(results, indent=2))
    Console(width=160).print(table(results))
    plot(results, out / "bench.png")
    print(f"wrote {out / 'bench.json'} and {out / 'bench.png'}")


if __name__ == "__main__":
    main()
