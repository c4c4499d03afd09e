"""The conformance matrix file: in step with its generator, and covering what
the suite promises."""

import keras
import pytest

import keras_ct_plugin as ct
from keras_ct_plugin.conformance import matrix

CASES = matrix.load()
# The runner starts worker processes of its own backend, here numpy's
# (seconds each): its tests run in the NumPy backend's pytest process only.
runner_test = pytest.mark.skipif(keras.backend.backend() != "numpy",
                                 reason="the runner's workers run on numpy whatever "
                                 "this process's backend")
LAYERS = {1: ct.Conv1DTranspose, 2: ct.Conv2DTranspose, 3: ct.Conv3DTranspose}


def test_csv_is_what_the_generator_writes(tmp_path):
    matrix.write(matrix.generate(), tmp_path / "cases.csv")
    assert (tmp_path / "cases.csv").read_text() == matrix.CSV_PATH.read_text()
    assert matrix.load(tmp_path / "cases.csv") == CASES


def test_ids_are_unique_and_match_the_settings():
    assert len({c.id for c in CASES}) == len(CASES)
    rows = matrix.CSV_PATH.read_text().splitlines()[1:]
    assert [row.split(",")[0] for row in rows] == [c.id for c in CASES]


def test_size_and_coverage():
    assert len(CASES) >= 500
    assert {c.rank for c in CASES} == {1, 2, 3}
    assert {c.padding for c in CASES if isinstance(c.padding, str)} == {"valid", "same"}
    explicit = [c for c in CASES if not isinstance(c.padding, str)]
    assert {c.rank for c in explicit} == {1, 2, 3}
    assert any(a != b for c in explicit for a, b in c.padding)
    assert {c.groups for c in CASES} == {1, 2, 4}
    assert any(c.groups > 1 and c.rank == 3 for c in CASES)
    assert any(max(c.strides) > 1 and max(c.dilation_rate) > 1 for c in CASES)
    assert {c.data_format for c in CASES} == {"channels_last", "channels_first"}
    assert {c.dtype for c in CASES} == {"float32", "float16", "bfloat16"}
    assert {c.activation for c in CASES} == {None, "relu", "tanh", "sigmoid"}
    assert {c.use_bias for c in CASES} == {True, False}
    assert {c.batch == 1 for c in CASES} == {True, False}
    assert {max(c.dilation_rate) for c in CASES} == {1, 2}
    relations = {(k > s) - (k < s) for c in CASES for k, s in zip(c.kernel_size, c.strides)}
    assert relations == {-1, 0, 1}
    sizes = {n for c in CASES for n in c.spatial}
    assert 1 in sizes and any(n % 2 for n in sizes - {1}) and any(n % 2 == 0 for n in sizes)
    for rank in (1, 2, 3):
        of_rank = [c for c in CASES if c.rank == rank]
        assert any(c.output_padding is None for c in of_rank)
        assert any(
            c.output_padding is not None
            and all(p == max(s, d) - 1 for p, s, d in
                    zip(c.output_padding, c.strides, c.dilation_rate))
            and max(c.strides) > 1
            for c in of_rank
        )


def test_every_case_is_a_valid_layer():
    for c in CASES:
        LAYERS[c.rank](c.filters, c.kernel_size, **c.settings, dtype=c.dtype,
                       use_bias=c.use_bias, activation=c.activation)


@runner_test
def test_a_failed_worker_is_recorded_and_the_others_go_on(tmp_path):
    """A worker that exits with an error (here: a mode it does not know)
    becomes a plugin failure in the report; a worker beside it still
    delivers its results."""
    from rich.progress import Progress

    from keras_ct_plugin.conformance import __main__ as runner
    from keras_ct_plugin.conformance import report

    with Progress(disable=True) as progress:
        outcomes = runner.run_workers(progress, [("numpy", "numpy: run", ["no-such-mode"])],
                                      tmp_path)
        outcomes.update(runner.run_workers(progress, runner.worker_jobs(["numpy"], "load"),
                                           tmp_path))
    assert (tmp_path / "numpy" / "loads.json").exists()
    cell = report._workers(["numpy"], outcomes)["numpy"]
    assert cell["passed"] == 1
    assert cell["failed"] == [{"case": "numpy: run", "error": "KeyError: 'no-such-mode'"}]
    assert report.plugin_failures({"workers": {"numpy": {"plugin": cell}}}) != []


def test_phases_are_named_and_load_needs_run(capsys):
    from keras_ct_plugin.conformance import __main__ as runner

    for phases, message in [
        ("run,compile", "--phases: expected some of run, load, export; received compile"),
        ("load,export", "--phases: load reads the files that run writes; add run"),
    ]:
        with pytest.raises(SystemExit):
            runner.main(["--phases", phases])
        assert message in capsys.readouterr().err


@runner_test
def test_plugin_only_leaves_the_builtin_out_of_the_matrix(tmp_path, monkeypatch):
    import json

    from keras_ct_plugin.conformance import __main__ as runner

    assert [job[2][-1] for job in runner.worker_jobs(["numpy"], "run")] == ["plugin,builtin"]
    monkeypatch.setenv("CONFORMANCE_LIMIT", "3")
    runner.main(["--backends", "numpy", "--phases", "run", "--plugin-only",
                 "--out", str(tmp_path)])
    saved = json.loads((tmp_path / "report.json").read_text())
    assert saved["subjects"] == ["plugin"]
    forward = saved["table"]["forward vs reference (eager)"]["numpy"]
    assert set(forward) == {"plugin"} and forward["plugin"]["passed"] == 3
    header = next(line for line in (tmp_path / "report.md").read_text().splitlines()
                  if line.startswith("| check |"))
    assert header == "| check | numpy |"
