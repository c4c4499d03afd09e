"""Forward time and weight bytes of `quantize("int8")` and `"int4"` layers
against the float layer they came from, side by side in one process per
backend, on the named float32 workloads:

    python -m keras_ct_plugin.bench.quantized [--backends tensorflow,jax,torch]

Forward as `predict` runs it: a `tf.function` on TensorFlow, `jax.jit` of
`stateless_call` with the weights as arguments on JAX, eager under
`no_grad` on torch.
"""

import argparse
import json
import pathlib

MODES = ("int8", "int4")


def _forward(layer, x):
    import keras

    backend = keras.backend.backend()
    if backend == "jax":
        import jax

        trainable = [v.value for v in layer.trainable_variables]
        frozen = [v.value for v in layer.non_trainable_variables]
        call = jax.jit(lambda t, f, x: layer.stateless_call(t, f, x)[0])
        x = jax.numpy.asarray(x)
        return lambda: jax.block_until_ready(call(trainable, frozen, x))
    if backend == "tensorflow":
        import tensorflow as tf

        call, x = tf.function(layer), tf.constant(x)
        return lambda: call(x).numpy()
    import torch

    x = torch.tensor(x)

    def forward():
        with torch.no_grad():
            return layer(x)

    return forward


def _weight_bytes(layer):
    import keras

    return sum(keras.ops.convert_to_numpy(v.value).nbytes for v in layer.weights)


def measure(repeats, workloads=None, **timed):
    """{workload: {"float", "int8", "int4": {seconds, weight_bytes,
    relative_error}}} on `workloads` (the named float32 ones by default);
    `timed`: `alternate`'s keywords."""
    import keras
    import numpy as np

    import keras_ct_plugin as ct
    from keras_ct_plugin.bench.worker import alternate
    from keras_ct_plugin.bench.worker import inputs
    from keras_ct_plugin.bench.workloads import WORKLOADS

    results = {}
    for workload in workloads or [w for w in WORKLOADS if w.dtype == "float32"]:
        args, keywords = workload.layer_arguments
        cls = getattr(ct, f"Conv{workload.rank}DTranspose")
        x = inputs(workload)
        layers = {}
        for mode in ("float",) + MODES:
            keras.utils.set_random_seed(0)
            layers[mode] = cls(*args, **keywords)
            layers[mode].build(x.shape)
            if mode != "float":
                layers[mode].quantize(mode)
        reference = np.asarray(keras.ops.convert_to_numpy(layers["float"](x)))
        scale = np.max(np.abs(reference))
        functions = {mode: _forward(layer, x) for mode, layer in layers.items()}
        times = alternate(functions, repeats, **timed)
        results[workload.name] = {
            mode: {"seconds": times[mode], "weight_bytes": _weight_bytes(layer),
                   "relative_error": float(np.max(np.abs(
                       keras.ops.convert_to_numpy(layer(x)) - reference)) / scale)}
            for mode, layer in layers.items()}
    return results


COLUMNS = ["backend", "workload", "float ms", "int8 ms", "int8 / float", "int4 ms",
           "int4 / float", "weights float : int8 : int4", "max error int8, int4"]


def rows(results):
    table = []
    for backend, workloads in results.items():
        for name, modes in workloads.items():
            base = modes["float"]
            table.append([
                backend, name, f"{base['seconds'] * 1e3:.2f}",
                *[cell for mode in MODES for cell in (
                    f"{modes[mode]['seconds'] * 1e3:.2f}",
                    f"{modes[mode]['seconds'] / base['seconds']:.2f}")],
                " : ".join(f"{modes[m]['weight_bytes'] / base['weight_bytes']:.3f}"
                           for m in ("float",) + MODES),
                ", ".join(f"{modes[m]['relative_error']:.3f}" for m in MODES),
            ])
    return table


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m keras_ct_plugin.bench.quantized",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--backends", default="tensorflow,jax,torch")
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--out", default="bench-report")
    parser.add_argument("--worker", nargs=2, metavar=("REPEATS", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        pathlib.Path(args.worker[1]).write_text(json.dumps(measure(int(args.worker[0]))))
        return
    from rich.console import Console

    from keras_ct_plugin.bench import report
    from keras_ct_plugin.bench.__main__ import run_worker

    results = {backend: run_worker(backend, "--worker", str(args.repeats),
                                   module="keras_ct_plugin.bench.quantized")
               for backend in args.backends.split(",")}
    Console(width=200).print(report._rich_table(
        "quantized forward against float (ratio > 1: slower); weight bytes relative to float; "
        "max |quantized - float| over max |float|", COLUMNS, rows(results)))
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "quantized.json").write_text(json.dumps(
        {"environment": report.environment(list(results)), "results": results}, indent=1))
    (out / "quantized.md").write_text(report.markdown(COLUMNS, rows(results)))
    print(f"wrote {out}/quantized.json and .md")


if __name__ == "__main__":
    main()
