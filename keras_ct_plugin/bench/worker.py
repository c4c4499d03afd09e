"""Runs in a process of its own, one backend (KERAS_BACKEND) per process.

    python -m keras_ct_plugin.bench.worker times OUT.json [--repeats N]
    python -m keras_ct_plugin.bench.worker memory WORKLOAD IMPL OUT.json
"""

import json
import resource
import statistics
import sys
import time

import keras
import numpy as np

import keras_ct_plugin as ct
from keras_ct_plugin import dispatch
from keras_ct_plugin.bench.harness import callables
from keras_ct_plugin.bench.harness import matmul_callable
from keras_ct_plugin.bench.workloads import WORKLOADS


def inputs(workload):
    return np.random.default_rng(0).uniform(-1, 1, workload.input_shape).astype("float32")


def layer(workload, implementation):
    cls = ct.Conv2DTranspose if implementation == "plugin" else keras.layers.Conv2DTranspose
    return cls(workload.filters, workload.kernel, workload.stride, workload.padding,
               data_format=workload.data_format)


def layers(workload):
    plugin, builtin, x = layer(workload, "plugin"), layer(workload, "builtin"), inputs(workload)
    plugin.build(x.shape)
    builtin.build(x.shape)
    plugin.set_weights(builtin.get_weights())
    return plugin, builtin, x


def seconds(function):
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


def alternate(functions, repeats):
    """Median time of each function, run in turns so noise hits all alike."""
    for f in functions.values():
        if f is not None:
            f()  # compile and warm up
    samples = {name: [] for name, f in functions.items() if f is not None}
    for _ in range(repeats):
        for name in samples:
            samples[name].append(seconds(functions[name]))
    return {name: statistics.median(s) for name, s in samples.items()}


def times(repeats):
    results = []
    for workload in WORKLOADS:
        print(f"  {keras.backend.backend()}: {workload.name}", flush=True)
        plugin, builtin, x = layers(workload)
        plugin_f, plugin_fb = callables(plugin, x)
        try:
            builtin_f, builtin_fb = callables(builtin, x)
            builtin_f()
            builtin_error = None
        except Exception as error:  # noqa: BLE001 - the built-in's own failures
            builtin_f = builtin_fb = None
            builtin_error = f"{type(error).__name__}: {str(error).splitlines()[0][:120]}"
        forward = alternate({"plugin": plugin_f, "builtin": builtin_f,
                             "matmul": matmul_callable(*workload.matmul_shape)}, repeats)
        backward = alternate({"plugin": plugin_fb, "builtin": builtin_fb}, repeats)
        results.append(dict(
            workload=workload.name,
            path=dispatch.choose("auto", plugin._windows, plugin._settings),
            forward=forward,
            forward_backward=backward,
            builtin_error=builtin_error,
        ))
    return results


def peak_memory(workload_name, implementation):
    """Growth of the process's peak RSS while one implementation runs
    forward+backward, from a baseline taken after imports and inputs."""
    workload = next(w for w in WORKLOADS if w.name == workload_name)
    x = inputs(workload)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    measured = layer(workload, implementation)
    measured.build(x.shape)
    try:
        _, forward_backward = callables(measured, x)
        for _ in range(3):
            forward_backward()
    except Exception:  # noqa: BLE001 - the built-in's own failures
        return None
    return (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) * 1024


def main(argv):
    if argv[0] == "times":
        repeats = int(argv[3]) if len(argv) > 3 else 5
        result = times(repeats)
    else:
        result = peak_memory(argv[1], argv[2])
    with open(argv[-1] if argv[0] == "memory" else argv[1], "w") as f:
        json.dump(result, f)


if __name__ == "__main__":
    main(sys.argv[1:])
