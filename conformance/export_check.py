"""The export matrix on the running backend: every model of `export_models`
in every format `model.export` offers here, from the plugin's layers and
from the built-in ones, each artifact run in its own runtime on inputs
whose batch (and unknown sizes) differ from the traced ones."""

import contextlib
import io
import pathlib
import tempfile

import keras
import numpy as np

from keras_ct_plugin.conformance import export_formats
from keras_ct_plugin.conformance.errors import describe
from keras_ct_plugin.conformance.export_models import MODELS

def _relative_error(actual, expected):
    actual = np.asarray(actual, dtype=np.float64)
    if actual.shape != expected.shape:
        raise AssertionError(f"shape {actual.shape}, expected {expected.shape}")
    return float(np.max(np.abs(actual - expected)) / max(np.max(np.abs(expected)), 1e-12))


def cell(spec, subject, format, backend, directory):
    """One model in one format, as {"status", "error", "max_rel_error",
    "nodes", "transposed"}; None where the subject lacks the model."""
    model = spec.build(subject)
    if model is None:
        return None
    missing = export_formats.missing_packages(format, backend)
    if missing:
        return {"status": "not installed", "error": f"needs {', '.join(missing)}"}
    dynamic = export_formats.keeps_dynamic_shapes(format, backend)
    shapes = spec.input_shapes(dynamic)
    inputs = [np.random.default_rng(seed).uniform(-1, 1, shape).astype("float32")
              for seed, shape in enumerate(shapes)]
    # What the Keras model predicts; Keras exports only models that ran.
    try:
        expected = [np.asarray(keras.ops.convert_to_numpy(model(x)), dtype=np.float64)
                    for x in inputs]
    except Exception as error:  # noqa: BLE001 - e.g. the built-in where TF refuses dilation
        return {"status": "model fails", "error": describe(error)}
    path = str(pathlib.Path(directory) / f"{subject}{export_formats.SUFFIX[format]}")
    kwargs = export_formats.export_kwargs(format, backend, spec, shapes[0])
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            model.export(path, format=format, verbose=False, **kwargs)
    except Exception as error:  # noqa: BLE001 - reported per cell
        return {"status": "export fails", "error": describe(error)}
    try:
        errors = [_relative_error(export_formats.run(format, path, x), y)
                  for x, y in zip(inputs, expected)]
        ops = export_formats.ops(format, path)
        every_op = export_formats.ops(format, path, data_path=False)
    except Exception as error:  # noqa: BLE001 - reported per cell
        return {"status": "runtime fails", "error": describe(error)}
    transposed = sum(op in export_formats.TRANSPOSED_OPS[format] for op in ops)
    return {"status": "ok" if max(errors) <= spec.tolerance else "wrong",
            "error": None, "max_rel_error": max(errors), "nodes": len(ops),
            "transposed": transposed, "all_ops": len(every_op),
            "shapes": [list(s) for s in shapes]}


def run(progress):
    """{model: {format: {subject: cell}}} for the running backend;
    `progress(done, total)` after each model and format."""
    backend = keras.backend.backend()
    formats = export_formats.FORMATS[backend]
    results = {}
    total = len(MODELS) * len(formats)
    for spec in MODELS:
        results[spec.name] = {}
        for format in formats:
            results[spec.name][format] = {}
            for subject in ("plugin", "builtin"):
                with tempfile.TemporaryDirectory() as directory:
                    results[spec.name][format][subject] = cell(
                        spec, subject, format, backend, directory)
            progress(sum(map(len, results.values())), total)
    return results
