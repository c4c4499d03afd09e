"""The per-case check families, run in one backend's process.

Every check takes a `Prepared` case (a layer under test, plugin's or
built-in, with its operands and the NumPy reference's answer) and raises
`AssertionError` on a mismatch; any other exception is a failure too.
"""

import functools
import os
import tempfile
from dataclasses import dataclass

import keras
import numpy as np

from keras_ct_plugin.base_conv_transpose import BaseConvTranspose
from keras_ct_plugin.conformance import quantized_reference
from keras_ct_plugin.conformance import reference
from keras_ct_plugin.conformance.autodiff import compiled
from keras_ct_plugin.conformance.autodiff import vjp
from keras_ct_plugin.conformance.operands import in_dtype
from keras_ct_plugin.conformance.operands import reference_output
from keras_ct_plugin.conformance.operands import to_float32
from keras_ct_plugin.conformance.operands import uniform
from keras_ct_plugin.conformance.tolerances import assert_close

# Activation and its derivative, both from the pre-activation, in NumPy.
ACTIVATIONS = {
    None: (lambda p: p, np.ones_like),
    "relu": (lambda p: np.maximum(p, 0), lambda p: (p > 0).astype(p.dtype)),
    "tanh": (np.tanh, lambda p: 1 - np.tanh(p) ** 2),
    "sigmoid": (lambda p: 1 / (1 + np.exp(-p)),
                lambda p: np.exp(-p) / (1 + np.exp(-p)) ** 2),
}


@dataclass
class Prepared:
    case: object
    layer: keras.layers.Layer
    x: object  # backend tensor in the case's dtype
    operands: list  # float32 NumPy copies of x, kernel[, bias], as the layer holds them
    pre_activation: np.ndarray  # float64 reference, bias included

    @property
    def expected(self):
        return ACTIVATIONS[self.case.activation][0](self.pre_activation)

    @functools.cached_property
    def output(self):
        """The layer's eager output as float32, computed once."""
        return to_float32(self.layer(self.x))


def prepare(layer_class, case):
    plugin = issubclass(layer_class, BaseConvTranspose)
    settings = case.settings if plugin else case.builtin_settings
    # Zeros: the weights are assigned below, and a random initializer would
    # cost JAX a compilation per weight shape.
    layer = layer_class(case.filters, case.kernel_size, **settings,
                        use_bias=case.use_bias, activation=case.activation, dtype=case.dtype,
                        kernel_initializer="zeros")
    layer.build(case.input_shape)
    x = in_dtype(uniform(case.input_shape, 0), case.dtype)
    layer.kernel.assign(in_dtype(uniform(case.kernel_shape, 1), case.dtype))
    if case.use_bias:
        layer.bias.assign(in_dtype(uniform((case.filters,), 2), case.dtype))
    operands = [to_float32(x)] + [to_float32(w) for w in layer.trainable_weights]
    pre = reference_output(case, *operands)
    return Prepared(case, layer, x, operands, pre)


def _channel_axis(case):
    return -1 if case.data_format == "channels_last" else 1


def shapes(p):
    case = p.case
    symbolic = p.layer(keras.Input(shape=case.input_shape[1:], dtype=case.dtype)).shape
    found = {
        "call": p.output.shape,
        "compute_output_shape": tuple(p.layer.compute_output_shape(case.input_shape)),
        "symbolic (keras.Input)": (case.batch,) + tuple(symbolic[1:]),
    }
    for where, shape in found.items():
        if shape != p.expected.shape:
            raise AssertionError(f"{where} gives {shape}, the reference {p.expected.shape}")


def forward(p):
    assert_close(p.output, p.expected, p.case.dtype, "forward")


def _stateless(layer):
    def function(x, *weights):
        return layer.stateless_call(list(weights), [], x)[0]

    return function


def _derivative(p):
    """The activation's derivative at the reference's pre-activation; for
    relu, where the layer's output is positive, so that a pre-activation
    that rounds across 0 in float16 does not count as a gradient error."""
    if p.case.activation == "relu":
        return (p.output > 0).astype("float64")
    return ACTIVATIONS[p.case.activation][1](p.pre_activation)


# JAX's eager autodiff compiles every op on its own for every new shape; under
# jax.jit, as `fit` runs a layer, it compiles the gradient once.
JIT_GRADIENTS = keras.backend.backend() == "jax"


def gradients(p):
    case = p.case
    upstream = uniform(p.expected.shape, 3)
    upstream_pre = upstream * _derivative(p)
    expected = list(reference.conv_transpose_vjp(
        *p.operands[:2], upstream_pre, **case.settings))
    if case.use_bias:
        axes = tuple(a for a in range(upstream.ndim) if a != _channel_axis(case) % upstream.ndim)
        expected.append(upstream_pre.sum(axis=axes))
    actual = vjp(_stateless(p.layer), *p.operands, upstream, dtype=case.dtype,
                 compile=JIT_GRADIENTS)
    for name, a, e in zip(("input", "kernel", "bias"), actual, expected):
        assert_close(a, e, case.dtype, f"gradient with respect to {name}")


def sequential(p):
    return keras.Sequential([keras.Input(shape=p.case.input_shape[1:], dtype=p.case.dtype),
                             p.layer])


def serialization(p):
    """get_config/from_config, model JSON and a `.keras` file, each giving
    a layer that computes the same."""
    expected = p.output
    clone = type(p.layer).from_config(p.layer.get_config())
    clone.build(p.case.input_shape)
    clone.set_weights(p.layer.get_weights())
    assert_close(to_float32(clone(p.x)), expected, p.case.dtype, "from_config")
    model = sequential(p)
    from_json = keras.models.model_from_json(model.to_json())
    from_json.set_weights(model.get_weights())
    assert_close(to_float32(from_json(p.x)), expected, p.case.dtype, "model JSON")
    with tempfile.TemporaryDirectory() as directory:
        path = os.path.join(directory, "model.keras")
        model.save(path)
        loaded = keras.saving.load_model(path)
    assert_close(to_float32(loaded(p.x)), expected, p.case.dtype, ".keras")


def compiled_call(p):
    function = compiled(_stateless(p.layer))
    y = function(p.x, *(keras.ops.convert_to_tensor(w) for w in p.layer.trainable_weights))
    assert_close(to_float32(y), p.expected, p.case.dtype, "compiled")


def predict(p):
    y = sequential(p).predict(p.x, batch_size=p.case.batch, verbose=0)
    assert_close(to_float32(y), p.expected, p.case.dtype, "predict")


def fit_one_step(p):
    """One SGD step on mean(y ** 2) moves the weights by -lr * the reference
    gradient."""
    case, learning_rate = p.case, 0.1
    upstream = 2 * p.expected / p.expected.size
    upstream_pre = upstream * _derivative(p)
    model = sequential(p)
    model.compile(optimizer=keras.optimizers.SGD(learning_rate), loss="mse")
    target = keras.ops.zeros(p.expected.shape, case.dtype)
    model.fit(p.x, target, batch_size=case.batch, epochs=1, shuffle=False, verbose=0)
    _, dkernel = reference.conv_transpose_vjp(*p.operands[:2], upstream_pre, **case.settings)
    assert_close(to_float32(p.layer.kernel), p.operands[1] - learning_rate * dkernel,
                 case.dtype, "kernel after one fit step")


def migration(p_builtin, plugin_layer_type):
    """A `.keras` model saved with the built-in layer, rebuilt with
    `replace_builtin_layers`, computes the reference (and, where the built-in
    runs, what the built-in computes)."""
    from keras_ct_plugin import replace_builtin_layers

    model = sequential(p_builtin)
    with tempfile.TemporaryDirectory() as directory:
        path = os.path.join(directory, "builtin.keras")
        model.save(path)
        migrated = replace_builtin_layers(keras.saving.load_model(path))
    kinds = [type(layer).__name__ for layer in migrated.layers]
    if not isinstance(migrated.layers[-1], plugin_layer_type):
        raise AssertionError(f"migrated model has layers {kinds}")
    y = to_float32(migrated(p_builtin.x))
    assert_close(y, p_builtin.expected, p_builtin.case.dtype, "migrated vs reference")


LORA_RANK, LORA_ALPHA = 2, 3.0


def lora(p):
    """The plugin's layer with LoRA enabled (rank 2, alpha 3, random
    adapters) computes with `kernel + alpha / rank * a @ b`: forward, and
    where the backend has autodiff, gradients with respect to the input, the
    adapters and the bias, against the reference on that kernel."""
    case = p.case
    layer = type(p.layer).from_config(
        {**p.layer.get_config(), "lora_rank": LORA_RANK, "lora_alpha": LORA_ALPHA})
    layer.build(case.input_shape)
    # From the operands: an earlier check (fit one step) may have moved
    # `p.layer`'s weights.
    layer._kernel.assign(in_dtype(p.operands[1], case.dtype))
    if case.use_bias:
        layer.bias.assign(in_dtype(p.operands[2], case.dtype))
    layer.lora_kernel_a.assign(uniform(layer.lora_kernel_a.shape, 4) / 2)
    layer.lora_kernel_b.assign(uniform(layer.lora_kernel_b.shape, 5) / 2)
    a, b = (to_float32(v).astype("float64") for v in (layer.lora_kernel_a, layer.lora_kernel_b))
    scale = LORA_ALPHA / LORA_RANK
    effective = p.operands[1].astype("float64") + scale * (a @ b)
    pre = reference_output(case, p.operands[0], effective, *p.operands[2:])
    assert_close(to_float32(layer(p.x)), ACTIVATIONS[case.activation][0](pre), case.dtype,
                 "forward with LoRA")
    if keras.backend.backend() in ("numpy", "openvino"):
        return
    upstream = uniform(pre.shape, 3)
    upstream_pre = upstream * ACTIVATIONS[case.activation][1](pre)
    frozen = [v.value for v in layer.non_trainable_variables]

    def function(x, *weights):
        return layer.stateless_call(list(weights), frozen, x)[0]

    trainable = layer.trainable_variables
    names = ["input"] + [v.path.split("/")[-1] for v in trainable]
    actual = dict(zip(names, vjp(function, p.operands[0], *[to_float32(v) for v in trainable],
                                 upstream, dtype=case.dtype, compile=JIT_GRADIENTS)))
    dx, dkernel = reference.conv_transpose_vjp(p.operands[0], effective, upstream_pre,
                                               **case.settings)
    expected = {"input": dx, "lora_kernel_a": scale * dkernel @ b.T,
                "lora_kernel_b": scale * a.reshape(-1, LORA_RANK).T
                @ dkernel.reshape(-1, dkernel.shape[-1])}
    if case.use_bias:
        axes = tuple(a for a in range(upstream.ndim) if a != _channel_axis(case) % upstream.ndim)
        expected["bias"] = upstream_pre.sum(axis=axes)
    for name, value in expected.items():
        assert_close(actual[name], value, case.dtype, f"gradient with respect to {name}")


def quantized(p):
    """`quantize("int8")` and `"int4"`: the plugin's layer, quantized, against
    the NumPy reference of the quantized arithmetic, and within
    `FLOAT_TOLERANCE` (relative to the output's largest value) of the float
    reference. In float32: Keras refuses int8 with a float16 compute dtype."""
    case = p.case
    x, kernel, *bias = p.operands
    exact = reference_output(case, x, kernel, *bias)
    for mode in quantized_reference.RANGES:
        layer = type(p.layer).from_config({**p.layer.get_config(), "dtype": "float32"})
        layer.build(case.input_shape)
        layer._kernel.assign(kernel)
        if bias:
            layer.bias.assign(bias[0])
        layer.quantize(mode)
        output = to_float32(layer(x))
        pre = reference_output(case, x, kernel, *bias, y=quantized_reference.conv_transpose(
            x, kernel, mode, case.settings))
        activation = ACTIVATIONS[case.activation][0]
        assert_close(output, activation(pre), "float32", f"{mode} forward")
        error = np.max(np.abs(output - activation(exact)), initial=0)
        largest = np.max(np.abs(activation(exact)), initial=0)
        if error > quantized_reference.FLOAT_TOLERANCE[mode] * max(largest, 1e-6):
            raise AssertionError(f"{mode}: {error:.3g} from the float output, whose "
                                 f"largest value is {largest:.3g}")
