"""Every implementation path against the NumPy reference: outputs, gradients
with respect to input, kernel and bias, and under the backend's compiler."""

import re
from dataclasses import replace

import keras
import numpy as np
import pytest

import keras_ct_plugin as ct
from cases import COVERING
from cases import Case
from helpers import LAYERS
from helpers import assert_matches_reference
from helpers import path_params
from helpers import serves
from helpers import windows
from keras_ct_plugin import dispatch
from keras_ct_plugin.conformance import reference
from keras_ct_plugin.conformance.autodiff import compiled
from keras_ct_plugin.conformance.autodiff import vjp
from keras_ct_plugin.conformance.covering import GEOMETRY
from keras_ct_plugin.conformance.covering import covering
from keras_ct_plugin.conformance.operands import reference_output
from keras_ct_plugin.conformance.operands import to_float32
from keras_ct_plugin.conformance.operands import uniform

BACKEND = keras.backend.backend()
needs_autodiff = pytest.mark.skipif(
    BACKEND == "numpy", reason="Keras's numpy backend has no autodiff."
)

TILING_CASES = [
    Case((2, 2), (2, 2), (1, 1), "valid", None, "channels_last", (3, 4)),
    Case((2, 3), (2, 3), (1, 1), "same", None, "channels_first", (3, 2)),
    Case((3,), (3,), (1,), "valid", (0,), "channels_last", (4,)),
    Case((2, 2, 2), (2, 2, 2), (1, 1, 1), "same", None, "channels_first", (2, 1, 3)),
    Case((2, 1, 3), (2, 1, 3), (1, 1, 1), "valid", None, "channels_last", (2, 3, 1)),
]
# Kernels that are multiples of their strides: the sub-pixel forward of the
# TensorFlow and JAX native paths.
PHASE_CASES = [
    Case((4, 4), (2, 2), (1, 1), "same", None, "channels_first", (3, 4)),
    Case((4,), (2,), (1,), "valid", (1,), "channels_last", (5,)),
    Case((6, 2, 4), (3, 2, 2), (1, 1, 1), "same", None, "channels_last", (2, 2, 3)),
]
# Kernel 1, stride 3, "same" in 3-D: TF's own gradient is wrong there.
REGRESSIONS = [Case((1, 1, 1), (1, 1, 3), (1, 1, 1), "same", None, "channels_last", (2, 3, 3))]
# In float32: what a path computes, whatever the dtype (the conformance
# suite and test_reference_parity.py run the cases in theirs).
SLICE = [replace(case, dtype="float32") for case in COVERING]
WRITTEN_OUT = TILING_CASES + PHASE_CASES + REGRESSIONS
PATH_CASES = SLICE + WRITTEN_OUT


def _path_params():
    """(case, path): per path, a pairwise cover of the geometry of the
    slice's cases it serves, and each case written out above it serves."""
    params = []
    for path in dispatch.IMPLEMENTATIONS[1:]:
        served = [case for case in SLICE if serves(path, case)]
        chosen = covering(served, GEOMETRY) + [c for c in WRITTEN_OUT if serves(path, c)]
        params += path_params(chosen, paths=(path,))
    return params


PATH_PARAMS = _path_params()
def _function(case, path):
    layer = LAYERS[case.rank](case.filters, case.kernel_size, **case.settings,
                              implementation=path)
    case_windows = windows(case)

    def function(x, kernel, bias):
        return dispatch.conv_transpose(x, kernel, bias, implementation=path,
                                       windows=case_windows, dtype=case.dtype,
                                       **case.settings)

    return layer, function


def _operands(case):
    return (uniform(case.input_shape, 20), uniform(case.kernel_shape, 21),
            uniform((case.filters,), 22))


# JAX runs an eager call op by op, compiling every op for every new shape;
# there the path tests run under jax.jit, one compilation per test, and the
# gradient test checks the forward of the same program. The primitives are
# the same either way; eager calls are covered by test_reference_parity.py
# and the conformance suite.
COMPILE_ON_JAX = BACKEND == "jax"


@pytest.mark.skipif(COMPILE_ON_JAX, reason="on JAX test_path_gradients checks the output of "
                    "the same compiled program")
@pytest.mark.parametrize("case, path", PATH_PARAMS)
def test_path_forward(case, path):
    _, function = _function(case, path)
    x, kernel, bias = _operands(case)
    assert_matches_reference(function(x, kernel, bias), reference_output(case, x, kernel, bias))
    assert_matches_reference(function(x, kernel, None), reference_output(case, x, kernel))


def _assert_gradients_match_reference(case, path, compile, format=None):
    _, function = _function(case, path)
    if format is not None:
        function = _exported(function, format)
    x, kernel, bias = _operands(case)
    y_shape = reference_output(case, x, kernel).shape
    if 0 in y_shape:
        pytest.skip("empty output: nothing to differentiate")
    upstream = uniform(y_shape, 23)
    y, (dx, dkernel, dbias) = vjp(function, x, kernel, bias, upstream, compile=compile,
                                  with_output=True)
    assert_matches_reference(y, reference_output(case, x, kernel, bias))
    ref_dx, ref_dkernel = reference.conv_transpose_vjp(x, kernel, upstream, **case.settings)
    channel_axis = -1 if case.data_format == "channels_last" else 1
    ref_dbias = np.moveaxis(upstream, channel_axis, -1).reshape(-1, case.filters).sum(0)
    assert_matches_reference(dx, ref_dx)
    assert_matches_reference(dkernel, ref_dkernel)
    assert_matches_reference(dbias, ref_dbias)


@needs_autodiff
@pytest.mark.parametrize("case, path", PATH_PARAMS)
def test_path_gradients(case, path):
    _assert_gradients_match_reference(case, path, compile=COMPILE_ON_JAX)


COMPILED_CASES = PATH_CASES[::4] + TILING_CASES[:1] + PHASE_CASES[:1]
COMPILED_PARAMS = [p for p in PATH_PARAMS if p.values[0] in COMPILED_CASES]
if BACKEND == "torch":
    # Inside torch.compile every path traces to torch's own op (`exported`):
    # one path per case.
    COMPILED_PARAMS = list({p.values[0]: p for p in COMPILED_PARAMS}.values())


@needs_autodiff
@pytest.mark.parametrize("case, path", COMPILED_PARAMS)
def test_path_compiled(case, path):
    _, function = _function(case, path)
    x, kernel, bias = _operands(case)
    if BACKEND == "torch":
        import torch

        x, kernel, bias = (torch.tensor(v) for v in (x, kernel, bias))
    y = compiled(function)(x, kernel, bias)
    assert_matches_reference(y, reference_output(case, *(to_float32(v) for v in (x, kernel, bias))))


@needs_autodiff
@pytest.mark.skipif(COMPILE_ON_JAX, reason="test_path_gradients compiles on JAX")
@pytest.mark.parametrize("case, path", COMPILED_PARAMS)
def test_path_compiled_gradients(case, path):
    _assert_gradients_match_reference(case, path, compile=True)


CHANNELS_FIRST_CASES = [case for case in PATH_CASES if case.data_format == "channels_first"
                        and dispatch.why_not("native", windows(case), case.settings) is None]
# TensorFlow's channels_first layouts other than the one this machine takes:
# NCHW with TF's own gradients (GPU) and NHWC between transposes (CPU kernels
# without oneDNN, which reject NCHW).
TF_LAYOUTS = {"nchw": dict(DEVICE="gpu"), "nhwc": dict(_takes_nchw=lambda rank, dtype: False)}


@pytest.mark.skipif(BACKEND != "tensorflow", reason="TensorFlow's data layouts")
@pytest.mark.parametrize("layout", sorted(TF_LAYOUTS))
@pytest.mark.parametrize("case", CHANNELS_FIRST_CASES, ids=lambda c: c.id)
def test_tensorflow_channels_first_layouts(case, layout, monkeypatch):
    from keras_ct_plugin.backends import tensorflow as tf_backend

    if layout == "nchw" and not tf_backend.kernels_accept(case.rank, channels_first=True):
        pytest.skip("TF's kernels here refuse NCHW (oneDNN off); the oneDNN lane runs it")
    for name, value in TF_LAYOUTS[layout].items():
        monkeypatch.setattr(tf_backend, name, value)
    _, function = _function(case, "native")
    x, kernel, bias = _operands(case)
    assert_matches_reference(function(x, kernel, bias), reference_output(case, x, kernel, bias))
    _assert_gradients_match_reference(case, "native", compile=True)


_WITHOUT_ONEDNN = """
import numpy as np, tensorflow as tf, keras_ct_plugin as ct
from keras_ct_plugin.backends import tensorflow as tf_backend
from keras_ct_plugin.conformance import reference
assert not tf_backend.kernels_accept(2, channels_first=True)
assert not tf_backend.kernels_accept(2, dilated=True)
x = np.random.default_rng(0).uniform(-1, 1, (2, 4, 5, 5)).astype("float32")
errors = []
for dilation in (1, 2):
    layer = ct.Conv2DTranspose(3, 3, strides=2, padding="same", dilation_rate=dilation,
                               data_format="channels_first")
    with tf.GradientTape() as tape:
        y = layer(x)
    tape.gradient(y, layer.trainable_variables)
    kernel, bias = (v.numpy().astype("float64") for v in layer.weights)
    expected = reference.conv_transpose(x, kernel, (2, 2), "same", dilation_rate=(dilation,) * 2,
                                        data_format="channels_first")
    errors.append(np.abs(y.numpy() - expected - bias[:, None, None]).max())
try:
    ct.Conv2DTranspose(3, 3, dilation_rate=2, implementation="native")
except ValueError as error:
    print(error)
print(max(errors))
"""


@pytest.mark.skipif(BACKEND != "tensorflow", reason="TensorFlow's oneDNN switch")
def test_tensorflow_channels_first_without_onednn():
    import os
    import subprocess
    import sys

    env = {**os.environ, "TF_ENABLE_ONEDNN_OPTS": "0", "TF_CPP_MIN_LOG_LEVEL": "3"}
    done = subprocess.run([sys.executable, "-c", _WITHOUT_ONEDNN], env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    *message, error = done.stdout.strip().splitlines()
    assert message == [
        "Invalid value for argument `implementation`. implementation='native' cannot serve "
        "this layer: TensorFlow's kernels on this machine refuse dilation_rate above 1 in a "
        "transposed convolution (oneDNN is off: TF_ENABLE_ONEDNN_OPTS=0, or a CPU where "
        "TensorFlow leaves it off). Use implementation='auto' to let the layer choose."]
    assert float(error) < 1e-5


# The graph each backend traces for an export format (`tracing.py`); on
# torch the "torch" form is also what torch.compile trains.
EXPORT_FORMATS = {"tensorflow": ["onnx", "litert"], "jax": ["onnx"],
                  "torch": ["torch", "litert"], "numpy": []}



def _runs_in_backend(case, format):
    """Whether the graph traced for `format` runs in the backend itself. An
    ONNX graph of a dilated layer holds TF's dilated transposed convolution,
    which TF's kernels without oneDNN refuse; the conformance suite runs
    that artifact in onnxruntime, where it is meant to run."""
    if BACKEND != "tensorflow" or format != "onnx":
        return True
    return dispatch.why_not("native", windows(case), case.settings) is None


EXPORT_PARAMS = [pytest.param(case, format, id=f"{format}-{case.id}")
                 for case in PATH_CASES for format in EXPORT_FORMATS[BACKEND]
                 if _runs_in_backend(case, format)]


def _exported(function, format):
    def traced(*operands):
        with ct.exporting(format):
            return function(*operands)

    return traced


@pytest.mark.parametrize("case, format", EXPORT_PARAMS)
def test_exported_forward(case, format):
    _, function = _function(case, "auto")
    function = _exported(function, format)
    x, kernel, bias = _operands(case)
    assert_matches_reference(function(x, kernel, bias), reference_output(case, x, kernel, bias))
    assert_matches_reference(function(x, kernel, None), reference_output(case, x, kernel))


@pytest.mark.skipif(BACKEND != "torch", reason="torch.compile trains the exported form")
@pytest.mark.parametrize("case", PATH_CASES, ids=lambda c: c.id)
def test_exported_gradients(case):
    _assert_gradients_match_reference(case, "auto", compile=False, format="torch")


def test_reference_gradient_is_the_adjoint():
    case = COVERING[10]
    x, kernel, _ = _operands(case)
    upstream = uniform(reference_output(case, x, kernel).shape, 24)
    dx, dkernel = reference.conv_transpose_vjp(x, kernel, upstream, **case.settings)
    y = reference.conv_transpose(x, kernel, **case.settings)
    np.testing.assert_allclose(np.vdot(y, upstream), np.vdot(dkernel, kernel), rtol=1e-10)
    np.testing.assert_allclose(np.vdot(y, upstream), np.vdot(dx, x), rtol=1e-10)


@pytest.mark.parametrize("case", PATH_CASES, ids=lambda c: c.id)
def test_auto_takes_a_path_that_serves(case):
    """`auto` picks, once per setting, one of the paths that serve it (each
    checked against the reference above); which one is a speed rule,
    measured by the benchmark, not restated here."""
    chosen = dispatch.choose("auto", windows(case), case.settings)
    assert chosen in dispatch.serving_paths(windows(case), case.settings)
    assert dispatch.choose("auto", windows(case), case.settings) == chosen


def test_forced_matmul_that_cannot_serve_raises():
    message = (
        "Invalid value for argument `implementation`. implementation='matmul' "
        "cannot serve this layer: it needs kernel_size == strides, dilation_rate 1, "
        "groups 1 and an output of exactly input * strides on every axis. Use "
        "implementation='auto' to let the layer choose."
    )
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        ct.Conv2DTranspose(4, 3, strides=2, implementation="matmul")


@pytest.mark.skipif(BACKEND != "numpy", reason="the numpy backend lacks a native path")
def test_forced_native_without_native_path_raises():
    with pytest.raises(ValueError, match=re.escape(
            "implementation='native' cannot serve this layer: the numpy backend "
            "has no native path.")):
        ct.Conv2DTranspose(4, 3, implementation="native")


def test_unknown_implementation_is_rejected():
    with pytest.raises(ValueError, match=re.escape(
            "Invalid value for argument `implementation`. Expected 'auto' or "
            "'generic' or 'matmul' or 'subpixel' or 'col2im' or 'native'. Received "
            "implementation='fast'.")):
        ct.Conv2DTranspose(4, 3, implementation="fast")


def test_config_with_unservable_path_loads_with_auto():
    layer = ct.Conv2DTranspose(4, 3, dilation_rate=2)
    config = {**layer.get_config(), "implementation": "matmul"}
    with pytest.warns(UserWarning, match="implementation='auto' instead"):
        clone = ct.Conv2DTranspose.from_config(config)
    assert clone.implementation == "auto"
    assert layer.get_config()["implementation"] == "auto"


@pytest.mark.skipif(BACKEND != "tensorflow", reason="TensorFlow's kernels per dtype")
@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
@pytest.mark.parametrize("refuse_dilation", [False, True])
def test_tensorflow_low_precision_where_its_kernels_refuse(dtype, refuse_dilation, monkeypatch):
    """With oneDNN on, an AVX2 CPU leaves float16 and bfloat16 NCHW to TF's
    own kernel, which refuses it, while float32 goes to oneDNN: the answer
    depends on the dtype. A dtype whose kernels refuse dilation where
    float32's take it is computed by col2im (simulated here)."""
    from keras_ct_plugin.backends import tensorflow as tf_backend

    col2im_calls = []
    if refuse_dilation:
        accept, col2im = tf_backend.kernels_accept, tf_backend.col2im.conv_transpose
        monkeypatch.setattr(tf_backend, "kernels_accept", lambda rank, dilated=False, **kw: (
            not (dilated and kw.get("dtype") == dtype) and accept(rank, dilated, **kw)))
        monkeypatch.setattr(tf_backend.col2im, "conv_transpose",
                            lambda *a, **kw: col2im_calls.append(1) or col2im(*a, **kw))
    dilation = 2 if refuse_dilation else 1
    layer = ct.Conv2DTranspose(3, 3, strides=2, dilation_rate=dilation, padding="same",
                               data_format="channels_first", dtype=dtype)
    x = uniform((2, 4, 5, 5), 3)
    y = layer(x)
    kernel, bias = (to_float32(w) for w in layer.weights)
    expected = reference.conv_transpose(to_float32(keras.ops.cast(x, dtype)), kernel, 2, "same",
                                        dilation_rate=dilation, data_format="channels_first")
    assert_matches_reference(y, expected + bias[:, None, None], dtype)
    # Where float32's kernels refuse dilation too, `auto` took col2im at
    # construction, and `native` never runs.
    native_serves = tf_backend.kernels_accept(2, dilated=True)
    assert len(col2im_calls) == int(refuse_dilation and native_serves)
