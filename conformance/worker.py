"""One backend's share of the conformance run, in a process of its own
(Keras fixes the backend per process):

    python -m keras_ct_plugin.conformance.worker run DIR [I/N [SUBJECTS]]  # the matrix
    python -m keras_ct_plugin.conformance.worker load DIR       # other backends' .keras
    python -m keras_ct_plugin.conformance.worker export DIR     # the export matrix

`run` takes shard I of N of the matrix (every N-th case from the I-th; all by
default) for SUBJECTS ("plugin,builtin" by default; "plugin" leaves out the
built-in layers, which are there for comparison) and writes
DIR/<backend>/results-I.json and the forward outputs per subject
(outputs-plugin-I.npz, outputs-builtin-I.npz). The last shard also writes the
cross-backend models and, where torch is installed, from_torch's max abs error
per module (torch_modules.json). `load` writes DIR/<backend>/loads.json,
`export` DIR/<backend>/exports.json. Progress goes to stdout as
"progress DONE TOTAL" lines.
"""

import importlib.util
import json
import os
import pathlib
import sys
import time
import warnings

import keras
import numpy as np

import keras_ct_plugin as ct
from keras_ct_plugin.conformance import checks
from keras_ct_plugin.conformance import collector
from keras_ct_plugin.conformance import export_check
from keras_ct_plugin.conformance import matrix
from keras_ct_plugin.conformance import models
from keras_ct_plugin.conformance import torch_modules
from keras_ct_plugin.conformance.errors import describe
from keras_ct_plugin.conformance.families import FAMILIES
from keras_ct_plugin.conformance.families import FROM_TORCH
from keras_ct_plugin.conformance.families import MIGRATION
from keras_ct_plugin.conformance.families import MIGRATION_EVERY
from keras_ct_plugin.conformance.families import selected
from keras_ct_plugin.conformance.tolerances import assert_close

# Keras backends without autodiff.
INFERENCE_ONLY = ("numpy", "openvino")
SUBJECTS = {
    "plugin": {1: ct.Conv1DTranspose, 2: ct.Conv2DTranspose, 3: ct.Conv3DTranspose},
    "builtin": {1: keras.layers.Conv1DTranspose, 2: keras.layers.Conv2DTranspose,
                3: keras.layers.Conv3DTranspose},
}


def known_defect(family, case):
    """Why a check cannot pass on this backend whatever the layer, or None."""
    if (keras.backend.backend() == "openvino" and family == "mode: predict"
            and case.dtype == "bfloat16"):
        return ("Keras 3.15.1's openvino `predict` misreads bfloat16 weights "
                "(keras.layers.Dense's too)")
    return None


class Tally:
    def __init__(self):
        self.families = {}

    def record(self, family, case_id, error=None):
        entry = self.families.setdefault(family, {"passed": 0, "failed": []})
        if error is None:
            entry["passed"] += 1
        else:
            entry["failed"].append({"case": case_id, "error": describe(error)})

    def excuse(self, family, case_id, reason):
        entry = self.families.setdefault(family, {"passed": 0, "failed": []})
        entry.setdefault("excused", []).append({"case": case_id, "error": reason})

    def attempt(self, family, case_id, function, *args):
        start = time.perf_counter()
        try:
            function(*args)
        except Exception as error:  # noqa: BLE001 - every failure is reported
            self.record(family, case_id, error)
        else:
            self.record(family, case_id)
        entry = self.families[family]
        entry["seconds"] = entry.get("seconds", 0) + time.perf_counter() - start


def _applies(family, case, subject):
    backend = keras.backend.backend()
    every = family.get(f"every_{backend}", family["every"])
    return (selected(case, every)
            and (backend not in INFERENCE_ONLY or not family.get("autodiff"))
            and (hasattr(keras.quantizers, "QuantizationConfig")
                 or not family.get("needs_quantization"))
            and (subject == "plugin" or not family.get("plugin_only")))


def _run_case(tally, outputs, subject, case):
    try:
        prepared = checks.prepare(SUBJECTS[subject][case.rank], case)
        outputs[case.id] = prepared.output
    except Exception as error:  # noqa: BLE001 - the layer failed on this case
        for name, family in FAMILIES.items():
            if _applies(family, case, subject):
                tally.record(name, case.id, error)
        return
    for name, family in FAMILIES.items():
        if not _applies(family, case, subject):
            continue
        reason = known_defect(name, case)
        if reason:
            tally.excuse(name, case.id, reason)
        else:
            tally.attempt(name, case.id, getattr(checks, family["check"]), prepared)


def _migrate(tally, case):
    if not selected(case, MIGRATION_EVERY):
        return
    try:
        builtin = checks.prepare(SUBJECTS["builtin"][case.rank], case)
        checks.sequential(builtin)
    except Exception:  # noqa: BLE001 - the built-in cannot even build this model
        return
    tally.attempt(MIGRATION, case.id, checks.migration, builtin, SUBJECTS["plugin"][case.rank])


def _from_torch(tally):
    """{module, data format: max abs error} for each module in torch_modules."""
    errors = {}

    def check(name, data_format, key):
        errors[key] = torch_modules.reproduce(name, data_format)
        if not errors[key] < torch_modules.TOLERANCE:
            raise AssertionError(f"max abs error {errors[key]:.2e}")

    for name in torch_modules.MODULES:
        for data_format in ("channels_first", "channels_last"):
            key = f"{name}, {data_format}"
            tally.attempt(FROM_TORCH, key, check, name, data_format, key)
    return errors


def run(directory, shard="0/1", subjects="plugin,builtin"):
    index_, count = map(int, shard.split("/"))
    last = index_ == count - 1
    out = pathlib.Path(directory) / keras.backend.backend()
    out.mkdir(parents=True, exist_ok=True)
    cases = matrix.load()[:int(os.environ.get("CONFORMANCE_LIMIT", "100000"))]
    cases = cases[index_::count]
    subjects = subjects.split(",")
    tallies = {subject: Tally() for subject in subjects}
    outputs = {subject: {} for subject in subjects}
    for index, case in enumerate(cases):
        for subject in subjects:
            _run_case(tallies[subject], outputs[subject], subject, case)
        _migrate(tallies["plugin"], case)
        print(f"progress {index + 1} {len(cases) + 1}", flush=True)
    if last:
        models.save_all(out / "models")
    if last and importlib.util.find_spec("torch"):
        errors = _from_torch(tallies["plugin"])
        (out / "torch_modules.json").write_text(json.dumps(errors, indent=1))
    print(f"progress {len(cases) + 1} {len(cases) + 1}", flush=True)
    for subject in subjects:
        np.savez(out / f"outputs-{subject}-{index_}.npz", **outputs[subject])
    results = {subject: tally.families for subject, tally in tallies.items()}
    (out / f"results-{index_}.json").write_text(json.dumps(results, indent=1))


def load(directory):
    """Every backend's saved models, loaded here with only
    `import keras_ct_plugin` and compared with what they predicted there."""
    here = keras.backend.backend()
    results = {}
    paths = sorted(pathlib.Path(directory).glob("*/models/*.keras"))
    for done, path in enumerate(paths, 1):
        saved_under = path.parent.parent.name
        try:
            predicted, expected = models.load_and_predict(path)
            assert_close(predicted, expected, "float32", path.stem)
            error = None
        except Exception as exception:  # noqa: BLE001 - reported per model
            error = describe(exception)
        results[f"{saved_under}/{path.stem}"] = error
        print(f"progress {done} {len(paths)}", flush=True)
    out = pathlib.Path(directory) / here
    out.mkdir(parents=True, exist_ok=True)
    (out / "loads.json").write_text(json.dumps(results, indent=1))


def export(directory):
    def progress(done, total):
        print(f"progress {done} {total}", flush=True)

    results = export_check.run(progress)
    out = pathlib.Path(directory) / keras.backend.backend()
    out.mkdir(parents=True, exist_ok=True)
    (out / "exports.json").write_text(json.dumps(results, indent=1))


def main(argv):
    warnings.filterwarnings("ignore")
    # Keras's serialization imports TensorFlow wherever it is installed, on
    # any backend: import it first, so that it is frozen too.
    collector.freeze_imports("keras", "tensorflow")
    mode, *arguments = argv
    {"run": run, "load": load, "export": export}[mode](*arguments)


if __name__ == "__main__":
    main(sys.argv[1:])
