"""Every path under the running backend's compilers and exporters, on inputs
whose batch and spatial sizes change between calls, against the NumPy
reference: torch.compile with dynamic shapes, torch.export with dynamic
dims, jax.export with symbolic dims, tf.function with None dims, XLA, and
`jit_compile=True` training."""

import contextlib

import keras
import numpy as np
import pytest

from cases import Case
from helpers import assert_matches_reference
from helpers import built_layer_for
from helpers import path_params
from keras_ct_plugin.conformance.operands import reference_output
from keras_ct_plugin.conformance.operands import uniform

BACKEND = keras.backend.backend()

CASES = [
    Case((2, 2), (2, 2), (1, 1), "valid", None, "channels_last", (3, 4)),
    Case((3, 3), (2, 2), (1, 1), "same", (1, 1), "channels_last", (3, 4)),
    Case((4, 4), (2, 2), (1, 1), "same", None, "channels_first", (3, 4)),
    Case((3, 3), (1, 1), (1, 1), "same", None, "channels_last", (3, 4)),
    Case((3,), (2,), (2,), ((1, 0),), (1,), "channels_last", (5,), groups=2, in_channels=4),
    Case((3, 2, 2), (2, 1, 2), (1, 1, 1), "same", None, "channels_last", (2, 3, 2)),
]
# (batch, spatial scale): each call after the first changes both.
SIZES = [(2, 1), (3, 2), (1, 3)]
PARAMS = path_params(CASES)


def _inputs(case, batch, scale):
    spatial = tuple(n * scale for n in case.spatial)
    shape = (batch, *spatial, case.in_channels) if case.data_format == "channels_last" else (
        batch, case.in_channels, *spatial)
    return uniform(shape, batch + scale)


def _layer(case, path):
    return built_layer_for(case, seed=5, implementation=path)


def _expected(case, layer, x):
    return reference_output(case, x, *(keras.ops.convert_to_numpy(w) for w in layer.weights))


def _dynamic_input_shape(case):
    """The input shape with the batch and every spatial size unknown."""
    if case.data_format == "channels_last":
        return (None,) * (case.rank + 1) + (case.in_channels,)
    return (None, case.in_channels) + (None,) * case.rank


needs = {b: pytest.mark.skipif(BACKEND != b, reason=f"{b}'s compilers")
         for b in ("tensorflow", "jax", "torch")}


def _check_sizes(case, layer, function):
    for batch, scale in SIZES:
        x = _inputs(case, batch, scale)
        assert_matches_reference(function(x), _expected(case, layer, x))


@needs["torch"]
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_torch_compile_dynamic(case):
    """Every implementation compiles to the same graph: inside torch.compile
    the layer hands inductor torch's own transposed convolution."""
    import torch

    layer = _layer(case, "auto")
    compiled = torch.compile(layer, dynamic=True)
    _check_sizes(case, layer, lambda x: compiled(torch.from_numpy(x)).detach())


@needs["torch"]
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_torch_export_dynamic_dims(case):
    import torch

    layer = _layer(case, "auto")
    x = torch.from_numpy(_inputs(case, *SIZES[1]))
    dims = {axis: torch.export.Dim(f"axis_{axis}", min=2)
            for axis, n in enumerate(_dynamic_input_shape(case)) if n is None}
    program = torch.export.export(layer, (x,), dynamic_shapes=((dims,),), strict=False)
    module = program.module()
    for batch, scale in SIZES[1:]:
        x = _inputs(case, batch * 2, scale)
        assert_matches_reference(module(torch.from_numpy(x)).detach(), _expected(case, layer, x))


@needs["jax"]
@pytest.mark.parametrize("case, path", PARAMS)
def test_jax_export_symbolic_dims(case, path):
    import jax

    layer = _layer(case, path)
    weights = [w.value for w in layer.weights]

    def forward(weights, x):
        return layer.stateless_call(weights, [], x)[0]

    names = iter("bhwd")
    spec = ", ".join(next(names) if n is None else str(n) for n in _dynamic_input_shape(case))
    symbolic = jax.ShapeDtypeStruct(jax.export.symbolic_shape(spec), "float32")
    exported = jax.export.export(jax.jit(forward))(
        [jax.ShapeDtypeStruct(w.shape, w.dtype) for w in weights], symbolic)
    _check_sizes(case, layer, lambda x: exported.call(weights, x))


@needs["tensorflow"]
@pytest.mark.parametrize("jit_compile", [False, True], ids=["graph", "xla"])
@pytest.mark.parametrize("case, path", PARAMS)
def test_tf_function_with_unknown_dims(case, path, jit_compile):
    import tensorflow as tf

    layer = _layer(case, path)
    signature = [tf.TensorSpec(_dynamic_input_shape(case), tf.float32)]
    compiled = tf.function(layer, input_signature=signature, jit_compile=jit_compile)
    _check_sizes(case, layer, compiled)


def _downsampling_chain(jit_compile):
    """Transposed convolutions after a strided convolution and a pooling,
    whose sizes (odd ones among them) are unknown when compiled."""
    import keras_ct_plugin as ct

    keras.utils.set_random_seed(3)
    model = keras.Sequential([
        keras.Input((None, None, 6)),
        keras.layers.Conv2D(8, 3, strides=2, padding="same"),
        ct.Conv2DTranspose(8, 3, strides=2, padding="same", output_padding=1),
        keras.layers.MaxPooling2D(),
        ct.Conv2DTranspose(4, 2, strides=2),
        keras.layers.Conv2D(3, 3, padding="same"),
    ])
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse", jit_compile=jit_compile)
    return model


def _dynamic_from_the_first_call():
    """On torch, sizes symbolic from the first compilation, as
    `torch.compile(dynamic=True)` makes them (Keras compiles with the
    default, static first): one compilation fewer, each minutes long on an
    AVX-512 CPU, where inductor simplifies every vectorized index."""
    if BACKEND != "torch":
        return contextlib.nullcontext()
    import torch

    return torch._dynamo.config.patch(assume_static_by_default=False)


@pytest.mark.skipif(BACKEND == "numpy", reason="the numpy backend does not train")
def test_jit_compiled_chain_trains_as_eager_on_two_sizes():
    """torch.compile with dynamic shapes (XLA on TF and JAX) on a chain of
    layers, fit on two input sizes in turn, odd sizes reaching our layers in
    the second: the weights follow eager training's. Keras's torch train step
    turns the batch and the target's sizes into tensors (its loss reduction
    and loss tracker), which specializes them: each size is a compilation of
    its own, over a minute on a 2-core CPU."""
    compiled, eager = _downsampling_chain(True), _downsampling_chain(False)
    with _dynamic_from_the_first_call():
        for seed, shape in enumerate([(4, 16, 12, 6), (2, 13, 9, 6)]):
            x = uniform(shape, seed)
            y = uniform(eager.compute_output_shape(shape), seed + 10)
            for model in (compiled, eager):
                model.fit(x, y, batch_size=shape[0], epochs=1, verbose=0, shuffle=False)
    for ours, theirs in zip(compiled.get_weights(), eager.get_weights()):
        np.testing.assert_allclose(ours, theirs, rtol=1e-4, atol=1e-5)
