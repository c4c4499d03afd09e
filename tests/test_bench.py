"""The benchmark's sweep, ratios and one worker row: what the numbers in
docs/benchmark.md are computed from."""

import keras
import numpy as np
import pytest

from keras_ct_plugin.bench import report
from keras_ct_plugin.bench import worker
from keras_ct_plugin.bench.workloads import FAMILIES
from keras_ct_plugin.bench.workloads import MAX_FLOPS
from keras_ct_plugin.bench.workloads import MIN_FLOPS
from keras_ct_plugin.bench.workloads import Workload
from keras_ct_plugin.bench.workloads import sweep


def test_sweep_is_reproducible_and_covers_its_ranges():
    drawn = sweep(7, 60)
    assert drawn == sweep(7, 60)
    assert drawn != sweep(8, 60)
    assert len(drawn) == 60
    assert {w.rank for w in drawn} == {1, 2, 3}
    assert {w.data_format for w in drawn} == {"channels_last", "channels_first"}
    assert {w.dtype for w in drawn} == {"float32", "bfloat16"}
    assert max(w.groups for w in drawn) > 1
    for w in drawn:
        assert MIN_FLOPS <= w.flops <= MAX_FLOPS
        assert (w.kernel, w.stride, w.padding, w.output_padding) in FAMILIES
        channels = w.input_nhwc[-1]
        assert channels % w.groups == 0 and w.filters % w.groups == 0


def test_ratios_are_the_others_time_over_the_plugins():
    row = {"path": "native",
           "forward": {"native": 2.0, "builtin": 3.0, "raw torch": 1.0},
           "forward_backward": {"native": 4.0, "builtin": 2.0, "auto + LoRA": 5.0}}
    assert report.versus(row, "forward") == 1.5
    assert report.versus(row, "forward", "best peer") == 0.5
    assert report.versus(row, "forward_backward", "best peer") == 0.5
    assert report.lora_cost(row) == 1.25
    controlled = {"path": "native", "forward": {"native": 2.0, "builtin": 4.0,
                                                report.CONTROL: 3.0}}
    assert report.versus(controlled, "forward", report.CONTROL) == 0.75
    reversed_control = {"path": "native", "forward": {"native": 2.0, "builtin": 3.0,
                                                      report.CONTROL: 4.0}}
    assert report.versus(reversed_control, "forward", report.CONTROL) == 0.75
    assert report.versus(row, "forward", report.CONTROL) is None
    rows = [{**row, "workload": {"dtype": "float32"}},
            {"path": "native", "forward": {"native": 1.0, "builtin": 0.8},
             "workload": {"dtype": "float32"}},
            {"error": "failed", "workload": {"dtype": "float32"}}]
    assert report.summary(rows, "forward") == {
        "count": 2, "at_least_0.95": 1, "below_0.9": 1, "min": 0.8, "median": 1.15}


def test_raw_torch_is_timed_apart_outside_the_torch_backend(monkeypatch):
    alternations = []

    def alternate(functions, repeats, **timed):
        alternations.append(sorted(functions))
        return {name: 1.0 for name in functions}

    monkeypatch.setattr(worker, "alternate", alternate)
    functions = {"native": None, "builtin": None, report.PEER: None}
    assert worker.alternate_apart(functions, 3) == {name: 1.0 for name in functions}
    if keras.backend.backend() == "torch":
        assert alternations == [sorted(functions)]
    else:
        assert alternations == [["builtin", "native"], [report.PEER]]


def test_against_raw_torch_counts_rows_where_it_takes_long_enough():
    def row(mine, direct, peer, dtype="float32"):
        return {"path": "native", "workload": {"dtype": dtype},
                "forward": {"native": mine, report.WITHOUT_CALL: direct, "raw torch": peer}}

    rows = [row(2e-3, 1.5e-3, 1.6e-3), row(4e-3, 3e-3, 6e-3), row(1e-3, 1e-3, 0.5e-3),
            row(1e-3, 1e-3, 9e-3, dtype="bfloat16"), {**row(1, 1, 1), "error": "failed"}]
    assert report.against_peer(rows, "forward", None) == {
        "count": 2, "at_least_0.9": 1, "median": pytest.approx((0.8 + 1.5) / 2)}
    assert report.against_peer(rows, "forward", report.WITHOUT_CALL, 5e-3) == {
        "count": 1, "at_least_0.9": 1, "median": 2.0}
    assert report.against_peer(rows, "forward_backward", None) is None
    lines = list(report.peer_rows({"torch": rows}))
    assert ("torch", "fwd", "layer.call(x)", "1 ms", "2", "2/2", "1.53") in lines


@pytest.mark.skipif(keras.backend.backend() == "numpy",
                    reason="the benchmark times TensorFlow, JAX and torch")
def test_a_worker_row_times_auto_the_builtin_lora_and_raw_torch():
    workload = Workload("tiny", (2, 4, 4, 8), 4, 3, 2, "same", 1)
    row = worker.measure(workload, repeats=1, eager=False, every_path=False,
                         min_seconds=0)
    assert row["workload"]["name"] == "tiny"
    assert row["builtin_error"] is None
    names = {row["path"], "builtin", "raw torch"}
    if keras.backend.backend() == "torch":
        names.add(report.WITHOUT_CALL)
    assert names | {"matmul reference"} == set(row["forward"])
    assert names | {"auto + LoRA"} == set(row["forward_backward"])
    assert all(seconds > 0 for seconds in row["forward_backward"].values())


@pytest.mark.skipif(keras.backend.backend() not in ("tensorflow", "jax", "torch")
                    or not hasattr(keras.quantizers, "QuantizationConfig"),
                    reason="the quantized benchmark: TensorFlow, JAX, torch; Keras 3.13+")
def test_a_quantized_row_times_float_int8_and_int4_and_weighs_them():
    from keras_ct_plugin.bench import quantized

    workload = Workload("tiny", (2, 4, 4, 8), 16, 3, 2, "same", 1)
    row = quantized.measure(1, [workload], min_seconds=0)["tiny"]
    assert set(row) == {"float", "int8", "int4"}
    assert all(row[mode]["seconds"] > 0 for mode in row)
    kernel_bytes = 3 * 3 * 16 * 8 * 4
    # The bias (16 floats) stays; int8 adds one float scale per filter.
    assert row["float"]["weight_bytes"] == kernel_bytes + 16 * 4
    assert row["int8"]["weight_bytes"] == kernel_bytes // 4 + 2 * 16 * 4
    assert row["int4"]["weight_bytes"] == kernel_bytes // 8 + 2 * 16 * 4
    assert row["float"]["relative_error"] == 0
    assert 0 < row["int8"]["relative_error"] < 0.03 and row["int4"]["relative_error"] < 0.3
    cells = quantized.rows({"jax": {"tiny": row}})[0]
    assert cells[:2] == ["jax", "tiny"] and len(cells) == len(quantized.COLUMNS)


@pytest.mark.skipif(keras.backend.backend() == "numpy",
                    reason="the benchmark times TensorFlow, JAX and torch")
def test_a_sweep_row_times_the_builtin_against_itself():
    workload = Workload("tiny", (2, 4, 4, 8), 4, 2, 2, "valid")
    row = worker.measure(workload, repeats=1, eager=False, lora=False, every_path=False,
                         min_seconds=0, control=True)
    assert report.CONTROL in row["forward"] and report.CONTROL in row["forward_backward"]
    assert report.versus(row, "forward_backward", report.CONTROL) > 0
    (line,) = [r for r in report.sweep_rows({"b": [row]}) if r[2] == "fwd"]
    control = report.summary([row], "forward", report.CONTROL)
    assert line[-1] == f"{control['at_least_0.95']}/1, {control['below_0.9']}"


def test_a_shape_measured_in_trials_keeps_each_subjects_median_time():
    rows = [{"workload": {"name": "w"}, "path": "native",
             "forward": {"native": n, "builtin": b}, "forward_backward": {"native": 2 * n}}
            for n, b in ((1.0, 5.0), (3.0, 4.0), (2.0, 9.0))]
    row = worker.over_trials(rows)
    assert row["forward"] == {"native": 2.0, "builtin": 5.0}
    assert row["forward_backward"] == {"native": 4.0}
    assert row["trials"] == [{k: r[k] for k in ("forward", "forward_backward")} for r in rows]
    assert row["workload"] == {"name": "w"} and row["path"] == "native"
    assert worker.over_trials(rows[:1]) is rows[0]


def test_a_sweep_measures_each_shape_once_per_trial(monkeypatch):
    """`measure` builds its layers and inputs afresh on every call."""
    calls = []
    monkeypatch.setattr(worker, "measure", lambda workload, *a, **k: calls.append(
        workload.name) or {"path": "native", "forward": {"native": float(len(calls))}})
    (row,) = worker.sweep_times(3, 1, 1, "auto", trials=3)
    assert calls == [sweep(3, 1)[0].name] * 3
    assert row["forward"] == {"native": 2.0} and len(row["trials"]) == 3


@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
@pytest.mark.parametrize("family", [(3, 2, "same", 1), (4, 2, "same", None),
                                    (3, 2, "valid", None)])
def test_the_raw_torch_peer_computes_the_layers_maths(family, data_format):
    pytest.importorskip("torch")
    workload = Workload("peer", (2, 5, 3, 4), 6, *family, data_format=data_format)
    x = worker.inputs(workload)
    layer = worker.layer(workload, "generic")
    layer.build(x.shape)
    bias = np.random.default_rng(1).standard_normal(workload.filters).astype("float32")
    layer.bias.assign(bias)
    expected = keras.ops.convert_to_numpy(layer(x))
    kernel = keras.ops.convert_to_numpy(layer.kernel)
    forward, _ = worker.peer.callables(workload, x, weight=kernel.transpose(3, 2, 0, 1),
                                       bias=bias)
    actual = forward().numpy()
    if data_format == "channels_last":
        actual = actual.transpose(0, 2, 3, 1)
    np.testing.assert_allclose(actual, expected, rtol=1e-5, atol=1e-5)


def test_markdown_table_has_a_row_per_workload():
    row = {"path": "native", "workload": {"name": "w", "dtype": "float32"},
           "builtin_error": None,
           "forward": {"native": 1.0, "builtin": 2.0, "matmul reference": 0.5},
           "forward_backward": {"native": 2.0, "builtin": 3.0},
           "every_path_forward": {"native": 1.0, "builtin": 2.0},
           "every_path_forward_backward": {"native": 2.0, "builtin": 3.0},
           "eager_forward": {"native": 1.0, "builtin": 1.0},
           "eager_forward_backward": {"native": 1.0, "builtin": 1.0}}
    lines = report.markdown(report.COLUMNS, report.rows({"jax": [row, row]})).splitlines()
    assert len(lines) == 4
    cells = dict(zip(report.COLUMNS, (c.strip() for c in lines[2].strip("|").split("|"))))
    assert cells["backend"] == "jax"
    assert (cells["fwd"], cells["fwd+bwd"], cells["fwd / matmul"]) == ("2.00", "1.50", "2.00")
    assert cells["fwd+bwd ms: plugin, built-in, raw torch"] == "2000.00, 3000.00, -"
    assert cells["every path: fwd, fwd+bwd"] == "native 2.00, 1.50"
