"""The export matrix from the workers' `exports.json`: which cells are plugin
failures, the summary row of the conformance table, and the markdown.

A plugin cell fails when
- its artifact runs and predicts something else than the Keras model
  ("wrong"), always;
- the built-in's model of the same cell works and the plugin's does not;
- a plugin-only model (groups, explicit padding, dilation with strides)
  does not work where the plain 2-D model (`export_models.BASELINE`) does;
- a plain model's artifact has another number of transposed-convolution
  ops than the built-in's (or, for a plugin-only model, than it has
  layers), in a format with such an op;
- the LoRA model's artifact has more ops than the baseline's (the adapters
  not merged).
A cell that fails for the built-in too is excused, and the docs say so.
"""

import json
import pathlib

from keras_ct_plugin.conformance.export_formats import FORMATS
from keras_ct_plugin.conformance.export_models import BASELINE
from keras_ct_plugin.conformance.export_models import LORA
from keras_ct_plugin.conformance.export_models import MODELS


def load(directory, backends):
    """{backend: {model: {format: {subject: cell}}}} for the backends that ran
    the export check."""
    found = {}
    for backend in backends:
        path = pathlib.Path(directory) / backend / "exports.json"
        if path.exists():
            found[backend] = json.loads(path.read_text())
    return found


def _has_op_level_graph(format, backend):
    """A SavedModel from JAX is one XLA program (XlaCallModule)."""
    return not (backend == "jax" and format == "tf_saved_model")


def verdict(backend, spec, format, cells, baseline):
    """None if the plugin's cell passes or is excused, else why it fails."""
    ours, builtin = cells["plugin"], cells.get("builtin")
    if ours["status"] == "not installed":
        return None
    if ours["status"] == "wrong":
        return f"predicts other numbers (max relative error {ours['max_rel_error']:.1e})"
    if ours["status"] == "model fails":
        return f"the Keras model itself fails: {ours['error']}"
    builtin_ok = builtin is not None and builtin["status"] == "ok"
    if ours["status"] != "ok":
        if builtin_ok:
            return f"the built-in's model works; ours: {ours['error']}"
        if spec.plugin_only and baseline["status"] == "ok":
            return f"the plain 2-D model exports; this one: {ours['error']}"
        return None
    if spec.plain and _has_op_level_graph(format, backend):
        expected = builtin["transposed"] if builtin_ok else len(spec.layers)
        if ours["transposed"] != expected:
            return (f"{ours['transposed']} transposed-convolution ops, expected "
                    f"{expected}")
    if spec.name == LORA and baseline["status"] == "ok" and (
            ours["all_ops"] > baseline["all_ops"]):
        return (f"LoRA ops in the artifact: {ours['all_ops']} ops, the model without "
                f"LoRA {baseline['all_ops']}")
    return None


def summary(exports):
    """{backend: {subject: cell}} for the conformance table's export row."""
    row = {}
    for backend, results in exports.items():
        plugin = {"passed": 0, "failed": [], "excused": []}
        builtin = {"passed": 0, "failed": []}
        for spec in MODELS:
            for format, cells in results[spec.name].items():
                case = f"{spec.name} / {format}"
                why = verdict(backend, spec, format, cells, results[BASELINE][format]["plugin"])
                if why is not None:
                    plugin["failed"].append({"case": case, "error": why})
                elif cells["plugin"]["status"] == "ok":
                    plugin["passed"] += 1
                else:
                    plugin["excused"].append({"case": case, "error": cells["plugin"]["error"]})
                if cells.get("builtin") is not None:
                    if cells["builtin"]["status"] == "ok":
                        builtin["passed"] += 1
                    else:
                        builtin["failed"].append({"case": case,
                                                  "error": cells["builtin"]["error"]})
        row[backend] = {"plugin": plugin, "builtin": builtin}
    return row


def _cell_text(cell, notes):
    if cell is None:
        return "—"
    if cell["status"] == "ok":
        return f"{cell['max_rel_error']:.0e} · {cell['nodes']} ({cell['transposed']})"
    if cell["status"] == "wrong":
        return f"**wrong** {cell['max_rel_error']:.0e}"
    if cell["error"] not in notes:
        notes.append(cell["error"])
    return f"{cell['status']} [{notes.index(cell['error']) + 1}]"


def markdown(exports):
    lines = [
        "Each cell: the artifact's max relative error against the Keras model "
        "(max |artifact - Keras| / max |Keras|, on a batch other than the traced "
        "one and, for the fully convolutional model, other sizes too), then its "
        "op count and, in brackets, how many of those ops are the format's "
        "transposed convolution. — : the built-in has no such layer. Numbers in "
        "square brackets refer to the errors listed under each table.",
    ]
    for backend, results in exports.items():
        formats = FORMATS[backend]
        notes = []
        lines += ["", f"### {backend}", "",
                  "| model | " + " | ".join(f"{f} ours | {f} built-in" for f in formats) + " |",
                  "|---" * (2 * len(formats) + 1) + "|"]
        for spec in MODELS:
            cells = results[spec.name]
            lines.append(f"| {spec.name} | " + " | ".join(
                f"{_cell_text(cells[f]['plugin'], notes)} | "
                f"{_cell_text(cells[f].get('builtin'), notes)}" for f in formats) + " |")
        lines += [""] + [f"{i}. {note}" for i, note in enumerate(notes, 1)]
    return "\n".join(lines) + "\n"
