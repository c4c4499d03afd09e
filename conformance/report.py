"""Turns the workers' files into the conformance matrix: passed/total per
check family (rows) and backend (columns), the built-in beside the plugin."""

import itertools
import json
import pathlib

import numpy as np

from keras_ct_plugin.conformance import matrix
from keras_ct_plugin.conformance.families import CROSS_FAMILIES
from keras_ct_plugin.conformance.families import MIGRATION
from keras_ct_plugin.conformance.families import ORDER
from keras_ct_plugin.conformance.tolerances import assert_close

SUBJECTS = ("plugin", "builtin")


def _cell(passed, failed):
    return {"passed": passed, "failed": failed}


def _forward_across(directory, backends, subject):
    dtypes = {c.id: c.dtype for c in matrix.load()}
    outputs = {b: dict(np.load(directory / b / f"outputs-{subject}.npz")) for b in backends}
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
        loads = json.loads((directory / backend / "loads.json").read_text())
        failed = [{"case": name, "error": error} for name, error in loads.items() if error]
        cells[backend] = _cell(len(loads) - len(failed), failed)
    return cells


def collect(directory, backends):
    """{family: {backend: {subject: {"passed": n, "failed": [...]}}}}"""
    directory = pathlib.Path(directory)
    per_backend = {b: json.loads((directory / b / "results.json").read_text()) for b in backends}
    table = {family: {b: {} for b in backends} for family in ORDER}
    for backend, results in per_backend.items():
        for subject, families in results.items():
            for family, cell in families.items():
                table[family][backend][subject] = cell
    for subject in SUBJECTS:
        for backend, cell in _forward_across(directory, backends, subject).items():
            table[CROSS_FAMILIES[0]][backend][subject] = cell
    for backend, cell in _keras_across(directory, backends).items():
        table[CROSS_FAMILIES[1]][backend]["plugin"] = cell
    return table


def plugin_failures(table):
    return [(family, backend, f) for family, row in table.items()
            for backend, cells in row.items()
            for f in cells.get("plugin", {}).get("failed", [])]


def cell_text(cell):
    if not cell:
        return "n/a"
    total = cell["passed"] + len(cell["failed"])
    return f"{cell['passed']}/{total}"


def columns(backends):
    return list(itertools.chain.from_iterable(
        ((b, "plugin"), (b, "builtin")) for b in backends))


def header(backend, subject):
    return backend if subject == "plugin" else f"{backend} built-in"


def markdown(table, backends, environment):
    cols = columns(backends)
    lines = [
        "# Conformance report",
        "",
        environment,
        "",
        "Cells are passed/total. The built-in column runs the same checks on "
        "`keras.layers.Conv{1,2,3}DTranspose`, for comparison; it never counts "
        "as a plugin failure. n/a: the check does not apply (no autodiff on the "
        "numpy backend; migration and the `.keras` matrix concern the plugin).",
        "",
        "| check | " + " | ".join(header(*c) for c in cols) + " |",
        "|---" * (len(cols) + 1) + "|",
    ]
    for family, row in table.items():
        lines.append(f"| {family} | " + " | ".join(
            cell_text(row[b].get(s)) for b, s in cols) + " |")
    failures = plugin_failures(table)
    lines += ["", f"## Plugin failures: {len(failures)}", ""]
    lines += [f"- {family}, {backend}, `{f['case']}`: {f['error']}" for family, backend, f in failures]
    lines += ["", "## Built-in failures, first 3 per check and backend", ""]
    for family, row in table.items():
        for backend in backends:
            cell = row[backend].get("builtin")
            for f in (cell or {}).get("failed", [])[:3]:
                lines.append(f"- {family}, {backend}, `{f['case']}`: {f['error']}")
    return "\n".join(lines) + "\n"
