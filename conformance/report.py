"""Turns the workers' files into the conformance matrix: passed/total per
check family (rows) and backend (columns), the built-in beside the plugin."""

import itertools
import json
import pathlib

import numpy as np

from keras_ct_plugin.conformance import export_report
from keras_ct_plugin.conformance import matrix
from keras_ct_plugin.conformance.families import CROSS_FAMILIES
from keras_ct_plugin.conformance.families import EXPORT
from keras_ct_plugin.conformance.families import MIGRATION
from keras_ct_plugin.conformance.families import ORDER
from keras_ct_plugin.conformance.families import WORKERS
from keras_ct_plugin.conformance.tolerances import assert_close

SUBJECTS = ("plugin", "builtin")


def _cell(passed, failed):
    return {"passed": passed, "failed": failed}


def _ran(directory, backends):
    """The cases some backend ran, for either subject: the whole matrix,
    unless CONFORMANCE_LIMIT cut it."""
    return {case_id for b in backends for path in (directory / b).glob("outputs-*.npz")
            for case_id in np.load(path).files}


def _forward_across(directory, backends, subject, dtypes):
    """`dtypes`: {case id: dtype} of the cases that ran."""
    outputs = {b: {case_id: output
                   for path in sorted((directory / b).glob(f"outputs-{subject}-*.npz"))
                   for case_id, output in np.load(path).items()}
               for b in backends}
    cells = {}
    for backend in backends:
        passed, failed = 0, []
        for case_id, dtype in dtypes.items():
            mine = outputs[backend].get(case_id)
            if mine is None:
                failed.append({"case": case_id, "error": "no output on this backend"})
                continue
            try:
                for other in backends:
                    theirs = outputs[other].get(case_id)
                    if other != backend and theirs is not None:
                        assert_close(mine, theirs, dtype, f"{backend} vs {other}")
                passed += 1
            except AssertionError as error:
                failed.append({"case": case_id, "error": str(error).strip().splitlines()[0]})
        cells[backend] = _cell(passed, failed)
    return cells


def _keras_across(directory, backends):
    cells = {}
    for backend in backends:
        path = directory / backend / "loads.json"
        if not path.exists():  # its load worker failed (WORKERS)
            continue
        loads = json.loads(path.read_text())
        failed = [{"case": name, "error": error} for name, error in loads.items() if error]
        cells[backend] = _cell(len(loads) - len(failed), failed)
    return cells


def _merge(cell, shard_cell):
    """One backend's cell from its shards' cells."""
    if not cell:
        return dict(shard_cell)
    return {"passed": cell["passed"] + shard_cell["passed"],
            "failed": cell["failed"] + shard_cell["failed"],
            "excused": cell.get("excused", []) + shard_cell.get("excused", []),
            "seconds": cell.get("seconds", 0) + shard_cell.get("seconds", 0)}


def _workers(backends, workers):
    """One cell per backend: its worker processes that exited normally, and
    a failure, with the last line of its log, for each that did not."""
    cells = {b: _cell(0, []) for b in backends}
    for label, (backend, log) in workers.items():
        if log is None:
            cells[backend]["passed"] += 1
        else:
            lines = log.strip().splitlines() or ["(no output)"]
            cells[backend]["failed"].append({"case": label, "error": lines[-1]})
    return cells


def collect(directory, backends, workers=None, subjects=SUBJECTS):
    """{family: {backend: {subject: {"passed": n, "failed": [...]}}}}.
    `workers`: {label: (backend, None or the log of a worker that failed)};
    `subjects`: those the matrix ran."""
    directory = pathlib.Path(directory)
    table = {family: {b: {} for b in backends} for family in ORDER}
    if workers is not None:
        for backend, cell in _workers(backends, workers).items():
            table[WORKERS][backend]["plugin"] = cell
    for backend in backends:
        for path in sorted((directory / backend).glob("results-*.json")):
            for subject, families in json.loads(path.read_text()).items():
                for family, cell in families.items():
                    row = table[family][backend]
                    row[subject] = _merge(row.get(subject), cell)
    ran = _ran(directory, backends)
    dtypes = {c.id: c.dtype for c in matrix.load() if c.id in ran}
    for subject in subjects:
        for backend, cell in _forward_across(directory, backends, subject, dtypes).items():
            table[CROSS_FAMILIES[0]][backend][subject] = cell
    for backend, cell in _keras_across(directory, backends).items():
        table[CROSS_FAMILIES[1]][backend]["plugin"] = cell
    for backend, cells in export_report.summary(export_report.load(directory, backends)).items():
        table[EXPORT][backend] = cells
    return table


def torch_errors(directory, backends):
    """{module, data format: {backend: max abs error}} where torch ran."""
    errors = {}
    for backend in backends:
        path = pathlib.Path(directory) / backend / "torch_modules.json"
        if path.exists():
            for key, error in json.loads(path.read_text()).items():
                errors.setdefault(key, {})[backend] = error
    return errors


def plugin_failures(table):
    return [(family, backend, f) for family, row in table.items()
            for backend, cells in row.items()
            for f in cells.get("plugin", {}).get("failed", [])]


def cell_text(cell):
    """passed/total; cells excused because the built-in fails there too count
    in the total."""
    if not cell:
        return "n/a"
    total = cell["passed"] + len(cell["failed"]) + len(cell.get("excused", ()))
    return f"{cell['passed']}/{total}"


def columns(backends, subjects=SUBJECTS):
    return list(itertools.chain.from_iterable(
        ((b, subject) for subject in subjects) for b in backends))


def header(backend, subject):
    return backend if subject == "plugin" else f"{backend} built-in"


def markdown(table, backends, environment, torch_errors, exports, subjects=SUBJECTS):
    cols = columns(backends, subjects)
    lines = [
        "# Conformance report",
        "",
        environment,
        "",
        "Cells are passed/total. " + (
            "The built-in column runs the same checks on "
            "`keras.layers.Conv{1,2,3}DTranspose`, for comparison; it never counts "
            "as a plugin failure. " if "builtin" in subjects else
            "The built-in layers were left out of the matrix (`--plugin-only`), "
            "not out of the export matrix. ") +
        "n/a: the check does not apply (no autodiff on the "
        "numpy and openvino backends; migration and the `.keras` matrix concern the plugin).",
        "",
        "| check | " + " | ".join(header(*c) for c in cols) + " |",
        "|---" * (len(cols) + 1) + "|",
    ]
    for family, row in table.items():
        lines.append(f"| {family} | " + " | ".join(
            cell_text(row[b].get(s)) for b, s in cols) + " |")
    if torch_errors:
        lines += ["", "## PyTorch modules reproduced by `from_torch`: max abs error", "",
                  "| module, data format | " + " | ".join(backends) + " |",
                  "|---" * (len(backends) + 1) + "|"]
        lines += [f"| {key} | " + " | ".join(
            f"{row[b]:.1e}" if b in row else "n/a" for b in backends) + " |"
            for key, row in torch_errors.items()]
    if exports:
        lines += ["", "## Export matrix", "", export_report.markdown(exports)]
    failures = plugin_failures(table)
    lines += ["", f"## Plugin failures: {len(failures)}", ""]
    lines += [f"- {family}, {backend}, `{f['case']}`: {f['error']}" for family, backend, f in failures]
    excused = [(family, backend, f) for family, row in table.items()
               for backend, cells in row.items()
               for f in cells.get("plugin", {}).get("excused", [])]
    lines += ["", f"## Excused: {len(excused)}", "",
              "Cells where the built-in fails too, or where a known defect of Keras "
              "or a converter fails every layer (`worker.known_defect`, "
              "`export_report.verdict`); they count in the totals but not as "
              "plugin failures.", ""]
    lines += [f"- {family}, {backend}, `{f['case']}`: {f['error']}" for family, backend, f in excused]
    lines += ["", "## Built-in failures, first 3 per check and backend", ""]
    for family, row in table.items():
        for backend in backends:
            cell = row[backend].get("builtin")
            for f in (cell or {}).get("failed", [])[:3]:
                lines.append(f"- {family}, {backend}, `{f['case']}`: {f['error']}")
    return "\n".join(lines) + "\n"
