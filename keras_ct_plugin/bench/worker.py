"""Runs in a process of its own, one backend (KERAS_BACKEND) per process.

    python -m keras_ct_plugin.bench.worker times REPEATS OUT.json
    python -m keras_ct_plugin.bench.worker sweep SEED COUNT REPEATS every|auto TRIALS OUT.json
    python -m keras_ct_plugin.bench.worker memory WORKLOAD IMPL OUT.json

IMPL is "builtin" or one of the plugin's implementations.
"""

import json
import random
import re
import statistics
import sys
import time

import keras
import numpy as np

import keras_ct_plugin as ct
from keras_ct_plugin import dispatch
from keras_ct_plugin.bench import peer
from keras_ct_plugin.bench.report import CONTROL
from keras_ct_plugin.bench.report import LORA
from keras_ct_plugin.bench.report import PEER
from keras_ct_plugin.bench.report import WITHOUT_CALL
from keras_ct_plugin.bench.harness import callables
from keras_ct_plugin.bench.harness import matmul_callable
from keras_ct_plugin.bench.harness import xla_peak_bytes
from keras_ct_plugin.bench.workloads import WORKLOADS
from keras_ct_plugin.bench.workloads import sweep

LORA_RANK = 4


def inputs(workload):
    return np.random.default_rng(0).uniform(-1, 1, workload.input_shape).astype("float32")


def layer(workload, implementation):
    """The built-in layer (None where it has no such setting), or the
    plugin's forced to `implementation`."""
    args, keywords = workload.layer_arguments
    name = f"Conv{workload.rank}DTranspose"
    if implementation == "builtin":
        if workload.groups > 1:
            return None
        return getattr(keras.layers, name)(*args, **keywords)
    return getattr(ct, name)(*args, **keywords, implementation=implementation)


def seconds(function):
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


def alternate(functions, repeats, min_seconds=2.0, max_rounds=200, max_seconds=30.0):
    """Median time of each function, run in turns so noise hits all alike:
    at least `repeats` rounds (3 once they took `max_seconds`: some
    pathological calls take seconds), more (up to `max_rounds`) until the
    rounds take `min_seconds`, so sub-millisecond calls get enough samples.
    Each round runs them in a new random order, so that no function always
    follows the same one."""
    for f in functions.values():
        f()  # compile and warm up
    samples = {name: [] for name in functions}
    order = list(functions)
    shuffle = random.Random(0).shuffle
    rounds, start = 0, time.perf_counter()
    while (rounds < repeats and not (rounds >= 3 and time.perf_counter() - start > max_seconds)
           or rounds < max_rounds and time.perf_counter() - start < min_seconds):
        shuffle(order)
        for name in order:
            samples[name].append(seconds(functions[name]))
        rounds += 1
    return {name: statistics.median(s) for name, s in samples.items()}


def alternate_apart(functions, repeats, **timed):
    """`alternate`, except that outside the torch backend raw torch runs in
    an alternation of its own: after each call torch's CPU threads spin on,
    and took the cores from the other framework's next call (TensorFlow's
    built-in ran 1.2x to 1.4x slower beside raw torch, and its ratio to a
    second built-in spread from 0.87 to 1.10, against 0.96 to 1.05 apart)."""
    if PEER not in functions or keras.backend.backend() == "torch":
        return alternate(functions, repeats, **timed)
    together = {name: f for name, f in functions.items() if name != PEER}
    return {**alternate(together, repeats, **timed),
            **alternate({PEER: functions[PEER]}, repeats, **timed)}


def _subjects(workload, x, every_path=True, control=False):
    """{name: (forward, forward+backward)} for every path that serves the
    workload (only `auto`'s without `every_path`), the built-in where it
    runs it, raw torch, and on torch `auto`'s `call` alone; plus the path
    `auto` picks, the built-in's error and the probe layer."""
    probe = layer(workload, "auto")
    subjects = {}
    builtin = layer(workload, "builtin")
    builtin_error = None if builtin is not None else "no such setting (groups)"
    if builtin is not None:
        try:
            builtin.build(x.shape)
            forward, backward = callables(builtin, x)
            forward()
            subjects["builtin"] = (forward, backward)
            if control:
                again = layer(workload, "builtin")
                again.build(x.shape)
                again.set_weights(builtin.get_weights())
                subjects[CONTROL] = callables(again, x)
        except Exception as error:  # noqa: BLE001 - the built-in's own failures
            builtin_error = f"{type(error).__name__}: {str(error).splitlines()[0][:120]}"
            builtin = None
    paths = dispatch.serving_paths(probe._windows, probe._settings)
    for path in paths if every_path else [probe._serving_path]:
        plugin = layer(workload, path)
        plugin.build(x.shape)
        if builtin is not None:
            plugin.set_weights(builtin.get_weights())
        subjects[path] = callables(plugin, x)
        if path == probe._serving_path and keras.backend.backend() == "torch":
            subjects[WITHOUT_CALL] = callables(plugin, x, direct=True)
    if peer.available():
        try:
            subjects[PEER] = peer.callables(workload, x)
        except Exception as error:  # noqa: BLE001 - torch's own limits, reported
            print(f"  raw torch cannot run {workload.name}: {error}", flush=True)
    return subjects, probe, builtin, builtin_error


def lora_callables(workload, x):
    """The `auto` layer with LoRA (rank 4) enabled: gradients reach the
    adapters and the bias, not the frozen kernel."""
    adapted = layer(workload, "auto")
    adapted.build(x.shape)
    adapted.enable_lora(LORA_RANK)
    return callables(adapted, x)


def measure(workload, repeats, head_to_head=True, eager=True, lora=True, every_path=True,
            min_seconds=2.0, control=False):
    """One workload's row: every subject's compiled forward and
    forward+backward seconds, alternated; with `head_to_head`, the path
    `auto` picks, the built-in and raw torch alternated on their own too
    (raw torch apart outside the torch backend: `alternate_apart`; in
    one alternation with the generic path, whatever call came after its
    large temporaries ran slower), with `lora` the `auto` layer with LoRA
    beside them, with `control` a second built-in (report.CONTROL); with
    `eager`, both layers called eagerly."""
    x = inputs(workload)
    subjects, probe, builtin, builtin_error = _subjects(workload, x, every_path, control)
    path = probe._serving_path
    timed = dict(min_seconds=min_seconds)
    row = dict(workload=workload.to_dict(), path=path, builtin_error=builtin_error)
    if every_path:
        row["every_path_forward"] = alternate_apart(
            {k: f for k, (f, _) in subjects.items()}, repeats, **timed)
        row["every_path_forward_backward"] = alternate_apart(
            {k: b for k, (_, b) in subjects.items()}, repeats, **timed)
    if head_to_head:
        names = [name for name in (path, "builtin", PEER, CONTROL, WITHOUT_CALL)
                 if name in subjects]
        row["forward"] = alternate_apart(
            {**{name: subjects[name][0] for name in names},
             "matmul reference": matmul_callable(*workload.matmul_shape)}, repeats, **timed)
        adapted = {LORA: lora_callables(workload, x)[1]} if lora else {}
        row["forward_backward"] = alternate_apart(
            {**{name: subjects[name][1] for name in names}, **adapted}, repeats, **timed)
    if eager:
        row["eager_forward"], row["eager_forward_backward"] = eager_times(
            x, row, probe, builtin, repeats)
    return row


def eager_times(x, row, plugin, builtin, repeats):
    """Built-in and the `auto` layer `plugin`, each call running the layers'
    Python. Torch's timings in `row` are already eager."""
    names = [row["path"]] + ([] if builtin is None else ["builtin"])
    if keras.backend.backend() == "torch":
        return ({name: row[key][name] for name in names}
                for key in ("forward", "forward_backward"))
    plugin.build(x.shape)
    measured = dict(zip(names, [plugin, builtin]))
    forward, backward = {}, {}
    for name, measured_layer in measured.items():
        forward[name], backward[name] = callables(measured_layer, x, compiled=False)
    return alternate(forward, repeats), alternate(backward, repeats)


def times(repeats):
    results = []
    for workload in WORKLOADS:
        print(f"  {keras.backend.backend()}: {workload.name}", flush=True)
        results.append(measure(workload, repeats))
    return results


def sweep_times(seed, count, repeats, paths, trials=1):
    """The sweep: every path (`paths` "every") or `auto`'s alone ("auto"),
    the built-in, its second instance and raw torch per shape, then the
    head-to-head of `auto`; no eager calls. A shorter minimum per
    alternation (1 s) keeps a sweep of 60 shapes to minutes. Each shape is
    measured `trials` times, with layers and inputs built afresh
    (`over_trials`)."""
    results = []
    for workload in sweep(int(seed), int(count)):
        print(f"  {keras.backend.backend()}: {workload.name}", flush=True)
        try:
            results.append(over_trials([
                measure(workload, int(repeats), eager=False, lora=False,
                        every_path=paths == "every", min_seconds=1.0, control=True)
                for _ in range(int(trials))]))
        except Exception as error:  # noqa: BLE001 - one shape's failure is reported
            results.append({"workload": workload.to_dict(), "error": f"{error}"[:300]})
    return results


TIMED = ("forward", "forward_backward", "every_path_forward", "every_path_forward_backward")


def over_trials(rows):
    """One row from `measure`'s rows of the same workload: each subject's
    median time over them, and each trial's times under "trials". Two
    instances of the built-in, timed in one alternation, once ran 15% apart
    (seed 12's 12/13, TensorFlow, 16 ms): noise that stays with the layers
    built or the second it hits, which one alternation cannot average out."""
    if len(rows) == 1:
        return rows[0]
    combined = dict(rows[0])
    for key in TIMED:
        if key in combined:
            combined[key] = {name: statistics.median(row[key][name] for row in rows)
                             for name in rows[0][key]}
    combined["trials"] = [{key: row[key] for key in TIMED if key in row} for row in rows]
    return combined


def _kib(field):
    status = open("/proc/self/status").read()
    return int(re.search(rf"{field}:\s+(\d+) kB", status).group(1))


def peak_memory(workload_name, implementation):
    """Peak bytes of forward+backward of one layer, beyond what exists before
    it. On JAX, XLA's own buffer assignment for the compiled program
    (`xla_peak_bytes`), which needs no run. Elsewhere, how far the process's
    resident set grows at its peak over three passes: the peak is reset
    (Linux clear_refs) once imports, inputs, weights and a warm-up pass are
    done, and the parent runs this with a fixed malloc mmap threshold, so
    freed tensors leave the resident set instead of staying cached."""
    workload = next(w for w in WORKLOADS if w.name == workload_name)
    x = inputs(workload)
    measured = layer(workload, implementation)
    if measured is None:
        return None
    measured.build(x.shape)
    try:
        if keras.backend.backend() == "jax":
            import jax.numpy as jnp

            return xla_peak_bytes(measured, jnp.asarray(x, measured.compute_dtype))
        _, forward_backward = callables(measured, x)
        forward_backward()  # compile and warm up
    except Exception:  # noqa: BLE001 - the built-in's own failures
        return None
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")
    baseline = _kib("VmRSS")
    for _ in range(3):
        forward_backward()
    return (_kib("VmHWM") - baseline) * 1024


def main(argv):
    mode, *args, out = argv
    if mode == "times":
        result = times(int(args[0]))
    elif mode == "sweep":
        result = sweep_times(*args)
    else:
        result = peak_memory(*args)
    with open(out, "w") as f:
        json.dump(result, f)


if __name__ == "__main__":
    main(sys.argv[1:])
