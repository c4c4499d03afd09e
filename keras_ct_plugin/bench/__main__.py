"""python -m keras_ct_plugin.bench [--backends jax,torch] [--repeats N] [--out DIR]
                                  [--sweep SEED [--count N] [--paths every|auto]
                                   [--trials N]]

Times the plugin's layers against Keras's built-in ones and raw torch on each
installed backend, each backend in its own process, and writes
DIR/bench.json, its table as DIR/bench.md and a chart DIR/bench.png (default
DIR: bench-report/ in the current directory). With --sweep SEED it times a
seeded sweep of shapes instead and writes DIR/bench-sweep-SEED.{json,md,png},
each shape measured --trials times (3 by default) with fresh layers and the
median kept. Ratios above 1 mean the plugin is faster (or, for memory, uses
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

from keras_ct_plugin.bench import report
from keras_ct_plugin.bench.workloads import WORKLOADS

BACKENDS = ("tensorflow", "jax", "torch")


# glibc's malloc keeps freed memory for reuse, so after a warm-up call the
# resident set would not grow at all. With a fixed mmap threshold every buffer
# from 64 KiB up is mapped on allocation and unmapped on release, and the
# resident set's peak follows the live tensors.
MEMORY_PROBE_ENV = {"MALLOC_MMAP_THRESHOLD_": "65536", "MALLOC_TRIM_THRESHOLD_": "0"}


def run_worker(backend, *args, module="keras_ct_plugin.bench.worker"):
    """`python -m module *args OUT.json` under `backend`; what it wrote to OUT."""
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        env = {**os.environ, "KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "3"}
        if args[0] == "memory":
            env.update(MEMORY_PROBE_ENV)
        command = [sys.executable, "-m", module, *args, out.name]
        done = subprocess.run(command, env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, text=True)
        if done.returncode != 0:
            raise RuntimeError(
                f"The {backend} worker failed ({' '.join(args)}):\n"
                + "\n".join(done.stderr.splitlines()[-20:]))
        return json.loads(pathlib.Path(out.name).read_text())


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
                    progress.update(task, description=f"{backend}: memory, "
                                                      f"{row['workload']['name']}")
                    row[f"peak_bytes_{name}"] = run_worker(
                        backend, "memory", row["workload"]["name"], implementation)
                    progress.advance(task)
            results[backend] = rows
    return results


def measure_sweep(backends, seed, count, repeats, paths, trials):
    results = {}
    with Progress() as progress:
        task = progress.add_task("sweep", total=len(backends))
        for backend in backends:
            progress.update(task, description=f"{backend}: sweep {seed}, {count} shapes")
            results[backend] = run_worker(backend, "sweep", f"{seed}", f"{count}",
                                          f"{repeats}", paths, f"{trials}")
            progress.advance(task)
    return results


def main(argv=None):
    parser = argparse.ArgumentParser(prog=f"python -m {__package__}",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--backends", default=",".join(BACKENDS))
    parser.add_argument("--repeats", type=int, default=7,
                        help="rounds at least; small workloads get more, up to 2 s")
    parser.add_argument("--out", default="bench-report",
                        help="folder for the JSON and PNG files")
    parser.add_argument("--sweep", type=int, metavar="SEED",
                        help="time a seeded sweep of shapes instead of the named workloads")
    parser.add_argument("--count", type=int, default=60, help="shapes in the sweep")
    parser.add_argument("--paths", choices=("every", "auto"), default="every",
                        help="in the sweep, time every serving path, or auto's alone")
    parser.add_argument("--trials", type=int, default=3,
                        help="in the sweep, times each shape is measured, with fresh layers "
                             "(the median is reported)")
    args = parser.parse_args(argv)
    backends = [b for b in args.backends.split(",") if importlib.util.find_spec(b)]
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    console = Console(width=200)
    if args.sweep is None:
        results = measure(backends, args.repeats)
        stem = "bench"
        console.print(report.table(results))
        markdown = report.markdown(report.COLUMNS, report.rows(results))
        report.plot(results, out / f"{stem}.png")
    else:
        results = measure_sweep(backends, args.sweep, args.count, args.repeats, args.paths,
                                args.trials)
        stem = f"bench-sweep-{args.sweep}"
        console.print(report.sweep_table(results, args.sweep))
        console.print(report.peer_table(results))
        markdown = (report.markdown(report.SWEEP_COLUMNS, report.sweep_rows(results)) + "\n"
                    + report.markdown(report.PEER_COLUMNS, report.peer_rows(results)))
        report.plot_sweep(results, args.sweep, out / f"{stem}.png")
    (out / f"{stem}.json").write_text(json.dumps({"environment": report.environment(backends),
                                                  "results": results}, indent=1))
    (out / f"{stem}.md").write_text(markdown)
    print(f"wrote {out / stem}.json, .md and .png")


if __name__ == "__main__":
    main()
