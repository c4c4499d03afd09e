"""Runs in a process of its own, one backend (KERAS_BACKEND) per process.

    python -m keras_ct_plugin.bench.worker times REPEATS OUT.json
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
from keras_ct_plugin.bench.harness import callables
from keras_ct_plugin.bench.harness import matmul_callable
from keras_ct_plugin.bench.harness import xla_peak_bytes
from keras_ct_plugin.bench.workloads import WORKLOADS


def inputs(workload):
    return np.random.default_rng(0).uniform(-1, 1, workload.input_shape).astype("float32")


def layer(workload, implementation):
    """The built-in layer, or the plugin's forced to `implementation`."""
    args = (workload.filters, workload.kernel, workload.stride, workload.padding)
    if implementation == "builtin":
        return keras.layers.Conv2DTranspose(*args, data_format=workload.data_format)
    return ct.Conv2DTranspose(*args, data_format=workload.data_format,
                              implementation=implementation)


def seconds(function):
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


def alternate(functions, repeats, min_seconds=2.0, max_rounds=200):
    """Median time of each function, run in turns so noise hits all alike:
    at least `repeats` rounds, more (up to `max_rounds`) until the rounds
    take `min_seconds`, so sub-millisecond calls get enough samples. Each
    round runs them in a new random order, so that no function always
    follows the same one."""
    for f in functions.values():
        f()  # compile and warm up
    samples = {name: [] for name in functions}
    order = list(functions)
    shuffle = random.Random(0).shuffle
    rounds, start = 0, time.perf_counter()
    while rounds < repeats or (
            rounds < max_rounds and time.perf_counter() - start < min_seconds):
        shuffle(order)
        for name in order:
            samples[name].append(seconds(functions[name]))
        rounds += 1
    return {name: statistics.median(s) for name, s in samples.items()}


def times(repeats):
    """Per workload: the path `auto` picks against the built-in, alternating
    just the two (the generic path's large temporaries slowed whichever call
    came after them, by up to 30% on the JAX U-Net forward); then every path
    that serves the workload, alternating all of them, to check the `auto`
    rules; then both layers eagerly."""
    results = []
    for workload in WORKLOADS:
        print(f"  {keras.backend.backend()}: {workload.name}", flush=True)
        x = inputs(workload)
        builtin = layer(workload, "builtin")
        builtin.build(x.shape)
        probe = layer(workload, "auto")
        forward, backward = {}, {}
        for path in dispatch.serving_paths(probe._windows, probe._settings):
            plugin = layer(workload, path)
            plugin.build(x.shape)
            plugin.set_weights(builtin.get_weights())
            forward[path], backward[path] = callables(plugin, x)
        builtin_error = None
        try:
            builtin_f, builtin_fb = callables(builtin, x)
            builtin_f()
            forward["builtin"], backward["builtin"] = builtin_f, builtin_fb
        except Exception as error:  # noqa: BLE001 - the built-in's own failures
            builtin_error = f"{type(error).__name__}: {str(error).splitlines()[0][:120]}"
        path = dispatch.choose("auto", probe._windows, probe._settings)
        head_to_head = [name for name in (path, "builtin") if name in forward]
        row = dict(
            workload=workload.name, path=path, builtin_error=builtin_error,
            forward=alternate({**{name: forward[name] for name in head_to_head},
                               "matmul reference": matmul_callable(*workload.matmul_shape)},
                              repeats),
            forward_backward=alternate({name: backward[name] for name in head_to_head}, repeats),
            every_path_forward=alternate(forward, repeats),
            every_path_forward_backward=alternate(backward, repeats),
        )
        row["eager_forward"], row["eager_forward_backward"] = eager_times(
            x, row, probe, None if builtin_error else builtin, repeats)
        results.append(row)
    return results


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
    measured.build(x.shape)
    try:
        if keras.backend.backend() == "jax":
            return xla_peak_bytes(measured, x)
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
    result = times(int(args[0])) if mode == "times" else peak_memory(*args)
    with open(out, "w") as f:
        json.dump(result, f)


if __name__ == "__main__":
    main(sys.argv[1:])
