"""python -m keras_ct_plugin.conformance [--backends jax,torch] [--phases run,load,export] [--plugin-only] [--out DIR]

Runs the conformance matrix (conformance/cases.csv) under every installed
Keras backend, each in processes of its own (JAX in two), and meanwhile
exports the models of `export_models.py` in every format `model.export`
offers on each backend and runs each artifact in its runtime; then loads
every backend's `.keras` files under every other backend. Prints passed/total per
check family and backend, the built-in layers beside the plugin's (unless
--plugin-only: the built-in's cells never fail the run), writes
DIR/report.md and DIR/report.json, and exits 1 if any plugin check failed.
"""

import argparse
import importlib.metadata
import importlib.util
import json
import os
import pathlib
import platform
import subprocess
import sys
import tempfile
import threading
import time

from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from keras_ct_plugin.conformance import export_formats
from keras_ct_plugin.conformance import export_report
from keras_ct_plugin.conformance import report

BACKENDS = ("tensorflow", "jax", "torch", "numpy", "openvino")
# JAX compiles each new shape eagerly and takes about twice as long as the
# others; two processes share its cases.
SHARDS = {"jax": 2}
PHASES = ("run", "load", "export")


def installed(backends):
    return [b for b in backends if b == "numpy" or importlib.util.find_spec(b)]


def worker_jobs(backends, mode, subjects=report.SUBJECTS):
    """(backend, label, worker arguments) per process."""
    if mode == "export":
        backends = [b for b in backends if b in export_formats.FORMATS]
    if mode in ("load", "export"):
        return [(backend, f"{backend}: {mode}", [mode]) for backend in backends]
    jobs = []
    for backend in backends:
        count = SHARDS.get(backend, 1)
        jobs += [(backend, f"{backend}: run" + (f" {i + 1}/{count}" if count > 1 else ""),
                  [mode, f"{i}/{count}", ",".join(subjects)]) for i in range(count)]
    return jobs


def run_workers(progress, jobs, directory):
    """Worker processes for `jobs`, all at once; each reports progress.
    Returns {label: (backend, None, or the end of its log if it failed)}: a
    failed worker does not stop the others, and the report is written. Prints
    each worker's wall time."""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    running = []
    for backend, label, arguments in jobs:
        log = tempfile.TemporaryFile("w+")
        mode, *extra = arguments
        process = subprocess.Popen(
            [sys.executable, "-m", "keras_ct_plugin.conformance.worker", mode,
             str(directory), *extra],
            env={**env, "KERAS_BACKEND": backend}, stdout=subprocess.PIPE, stderr=log,
            text=True)
        task = progress.add_task(label, total=None)
        thread = threading.Thread(target=_follow, args=(progress, task, process.stdout,
                                                        label, time.monotonic()))
        thread.start()
        running.append((backend, label, process, log, thread))
    outcomes = {}
    for backend, label, process, log, thread in running:
        thread.join()
        failed = process.wait() != 0
        log.seek(0)
        outcomes[label] = (backend, log.read()[-3000:] if failed else None)
        log.close()
    return outcomes


def _follow(progress, task, stdout, label, start):
    for line in stdout:
        if line.startswith("progress "):
            done, total = map(int, line.split()[1:])
            progress.update(task, completed=done, total=total)
    progress.console.print(f"{label}: {time.monotonic() - start:.0f} s")


def _versions(backends):
    """From the installed distributions: this process imports no framework."""
    return ", ".join(f"{name} {importlib.metadata.version(name)}"
                     for name in ("keras", *backends) if name != "numpy")


def rich_table(table, backends, subjects):
    t = Table(title="conformance: passed/total" + (
        " (built-in for comparison)" if "builtin" in subjects else ""))
    t.add_column("check")
    for backend, subject in report.columns(backends, subjects):
        t.add_column(report.header(backend, subject), justify="right",
                     style=None if subject == "plugin" else "dim")
    for family, row in table.items():
        t.add_row(family, *(report.cell_text(row[b].get(s))
                            for b, s in report.columns(backends, subjects)))
    return t


def main(argv=None):
    parser = argparse.ArgumentParser(prog=f"python -m {__package__}",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--backends", default=",".join(BACKENDS))
    parser.add_argument("--phases", default=",".join(PHASES),
                        help="which of run, load and export to run (load needs run)")
    parser.add_argument("--plugin-only", action="store_true",
                        help="leave the built-in layers out of the matrix (not out of the "
                        "export matrix: a plugin cell fails there when the built-in's works)")
    parser.add_argument("--out", default="conformance-report")
    args = parser.parse_args(argv)
    backends = installed(args.backends.split(","))
    phases = args.phases.split(",")
    unknown = sorted(set(phases) - set(PHASES))
    if unknown:
        parser.error(f"--phases: expected some of {', '.join(PHASES)}; received "
                     f"{', '.join(unknown)}")
    if "load" in phases and "run" not in phases:
        parser.error("--phases: load reads the files that run writes; add run")
    subjects = ("plugin",) if args.plugin_only else report.SUBJECTS
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as work, Progress() as progress:
        # Exports need nothing from the run: they share its processors.
        first = [job for mode in ("run", "export") if mode in phases
                 for job in worker_jobs(backends, mode, subjects)]
        workers = run_workers(progress, first, work)
        if "load" in phases:
            workers.update(run_workers(progress, worker_jobs(backends, "load"), work))
        table = report.collect(work, backends, workers, subjects)
        torch_errors = report.torch_errors(work, backends)
        exports = export_report.load(work, backends)
    environment = (f"Measured with {_versions(backends)}, Python "
                   f"{platform.python_version()}, {platform.machine()} "
                   f"{platform.system()}, {os.cpu_count()} CPUs.")
    Console(width=200).print(rich_table(table, backends, subjects))
    (out / "report.md").write_text(
        report.markdown(table, backends, environment, torch_errors, exports, subjects))
    (out / "report.json").write_text(json.dumps(
        {"environment": environment, "backends": backends, "subjects": subjects,
         "table": table,
         "from_torch_max_abs_error": torch_errors, "exports": exports}, indent=1))
    failures = report.plugin_failures(table)
    for label, (_, log) in workers.items():
        if log is not None:
            print(f"the {label} worker failed:\n{log}", file=sys.stderr)
    print(f"wrote {out / 'report.md'} and {out / 'report.json'}; "
          f"{len(failures)} plugin failure(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
