"""JAX's measured forward (backends/jax_autotune.py): whichever forward it
picks matches the reference with the adjoint gradients, and it measures
once per static signature, in 1-D and 2-D only."""

import keras
import numpy as np
import pytest

from cases import COVERING
from helpers import LAYERS
from helpers import assert_matches_reference
from helpers import windows
from keras_ct_plugin.conformance import reference
from keras_ct_plugin.conformance.autodiff import vjp
from keras_ct_plugin.conformance.operands import reference_output
from keras_ct_plugin.conformance.operands import uniform

from keras_ct_plugin import dispatch

pytestmark = pytest.mark.skipif(keras.backend.backend() != "jax", reason="JAX's CPU forward")

STRIDED = [c for c in COVERING
           if c.rank < 3 and max(c.settings["strides"]) > 1
           and all(w.tail > 0 for w in windows(c))][::2]


@pytest.fixture
def autotune(monkeypatch):
    from keras_ct_plugin.backends import jax as jax_backend
    from keras_ct_plugin.backends import jax_autotune

    monkeypatch.setattr(jax_autotune, "ENABLED", True)
    monkeypatch.setattr(jax_autotune, "_CHOICES", __import__("collections").OrderedDict())
    monkeypatch.setattr(jax_autotune, "MIN_FLOPS", 0)
    return jax_backend, jax_autotune


def test_the_cases_cover_groups_dilation_and_both_formats():
    settings = [c.settings for c in STRIDED]
    assert any(s.get("groups", 1) > 1 for s in settings)
    assert any(max(s["dilation_rate"]) > 1 for s in settings)
    assert {s["data_format"] for s in settings} == {"channels_first", "channels_last"}


@pytest.mark.parametrize("forward", ["own", "input_dilated"])
@pytest.mark.parametrize("case", STRIDED, ids=lambda c: c.id)
def test_either_forward_matches_the_reference(case, forward, autotune, monkeypatch):
    import jax

    jax_backend, jax_autotune = autotune
    chosen = []

    def choose(key, candidates, arguments, preferred):
        name = next(n for n in candidates if n != "input_dilated") if forward == "own" else (
            "input_dilated")
        chosen.append(name)
        return name

    monkeypatch.setattr(jax_autotune, "choose", choose)

    def function(x, kernel, bias):
        return dispatch.conv_transpose(x, kernel, bias, implementation="native",
                                       windows=windows(case), dtype="float32",
                                       **case.settings)

    x, kernel, bias = (uniform(case.input_shape, 30), uniform(case.kernel_shape, 31),
                       uniform((case.filters,), 32))
    assert_matches_reference(jax.jit(function)(x, kernel, bias),
                             reference_output(case, x, kernel, bias))
    upstream = uniform(reference_output(case, x, kernel).shape, 33)
    dx, dkernel, _ = vjp(function, x, kernel, bias, upstream, compile=True)
    ref_dx, ref_dkernel = reference.conv_transpose_vjp(x, kernel, upstream, **case.settings)
    assert_matches_reference(dx, ref_dx)
    assert_matches_reference(dkernel, ref_dkernel)
    assert chosen and set(chosen) <= {"subpixel", "col2im", "input_dilated"}


def test_measures_once_per_signature_and_not_in_3d(autotune):
    _, jax_autotune = autotune
    layer = LAYERS[2](8, 3, strides=2, padding="same", output_padding=1)
    for batch in (2, 2, 3):
        layer(np.ones((batch, 5, 6, 4), "float32"))
    chosen = jax_autotune.choices()
    assert len(chosen) == 2
    assert set(chosen.values()) <= {"col2im", "input_dilated"}
    LAYERS[3](4, 3, strides=2)(np.ones((1, 3, 3, 3, 2), "float32"))
    assert len(jax_autotune.choices()) == 2


def test_tiny_layers_are_not_measured(autotune, monkeypatch):
    _, jax_autotune = autotune
    monkeypatch.setattr(jax_autotune, "MIN_FLOPS", 1e6)
    LAYERS[2](8, 3, strides=2)(np.ones((1, 8, 8, 8), "float32"))  # 0.07 MFLOP
    assert jax_autotune.choices() == {}
    LAYERS[2](64, 3, strides=2)(np.ones((1, 8, 8, 64), "float32"))  # 4.7 MFLOP
    assert len(jax_autotune.choices()) == 1


def test_a_tie_goes_to_the_preferred(autotune, monkeypatch):
    _, jax_autotune = autotune
    times = {"col2im": 0.97, "input_dilated": 1.0}
    monkeypatch.setattr(jax_autotune, "_medians", lambda candidates, arguments: times)
    assert jax_autotune.choose("a", times, [], preferred="input_dilated") == "input_dilated"
    times = {"col2im": 0.9, "input_dilated": 1.0}
    assert jax_autotune.choose("b", times, [], preferred="input_dilated") == "col2im"
    assert jax_autotune.choose("a", times, [], preferred="input_dilated") == "input_dilated"


def test_without_measurement_the_static_rule_stands(autotune, monkeypatch):
    jax_backend, jax_autotune = autotune
    monkeypatch.setattr(jax_autotune, "ENABLED", False)
    layer = LAYERS[2](8, 3, strides=2, padding="valid")
    layer(np.ones((1, 4, 4, 4), "float32"))
    assert jax_autotune.choices() == {}
    (window,) = set(layer._windows)
    assert jax_backend._static_forward("bfloat16", (window, window), 1) == "input_dilated"
    assert jax_backend._static_forward("float32", (window, window), 1) == "col2im"



def test_measurement_is_opt_in():
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k != "KERAS_CT_PLUGIN_AUTOTUNE"}
    code = "from keras_ct_plugin.backends import jax_autotune as a; print(a.ENABLED)"
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.stdout.split() == ["False"], done.stderr[-2000:]


def test_a_job_of_several_processes_takes_the_static_rule(autotune, monkeypatch):
    """Every process of a jax.distributed job compiles the same program."""
    import jax

    _, jax_autotune = autotune
    monkeypatch.setattr(jax, "process_count", lambda: 2)
    LAYERS[2](64, 3, strides=2)(np.ones((1, 8, 8, 64), "float32"))
    assert jax_autotune.choices() == {}


def test_the_remembered_choices_are_bounded_least_recent_first(autotune, monkeypatch):
    _, jax_autotune = autotune
    monkeypatch.setattr(jax_autotune, "MAX_CHOICES", 2)
    times = {"col2im": 0.5, "input_dilated": 1.0}
    monkeypatch.setattr(jax_autotune, "_medians", lambda candidates, arguments: times)
    for key in ("a", "b", "a", "c"):
        jax_autotune.choose(key, times, [], preferred="input_dilated")
    assert sorted(jax_autotune.choices()) == ["a", "c"]


def test_threads_asking_at_once_measure_once(autotune, monkeypatch):
    import threading
    import time

    _, jax_autotune = autotune
    calls = []

    def medians(candidates, arguments):
        calls.append(1)
        time.sleep(0.05)
        return {"col2im": 0.5, "input_dilated": 1.0}

    monkeypatch.setattr(jax_autotune, "_medians", medians)
    results = []
    threads = [threading.Thread(target=lambda: results.append(
        jax_autotune.choose("k", {}, [], preferred="input_dilated"))) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert (len(calls), results) == (1, ["col2im"] * 8)
