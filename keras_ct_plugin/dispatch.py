"""Which implementation computes a call, chosen from its static settings.

- "generic": `keras.ops` only (`generic.py`); serves every call on every backend.
- "matmul": one matmul plus a reshape (`matmul.py`), on every backend, when
  every axis tiles the output (kernel == stride, output exactly n * stride).
- "subpixel": one stride-1 convolution plus depth-to-space (`subpixel.py`),
  on every backend, for dilation 1, one group, some stride above 1 and
  kernels that are multiples of their strides.
- "native": the running backend's own transposed convolution
  (`backends/<backend>.py`): TensorFlow, JAX and PyTorch have one.
- "auto": the first path that serves the call in the running backend's
  `preference(windows, settings)` (measured with `python -m
  keras_ct_plugin.bench`, see docs/benchmark.md), "generic" last; on a
  backend without a module, "matmul" where it applies, else "generic".

A backend module is imported on first use, and only the running backend's.
"""

import importlib

import keras
from keras import ops

from keras_ct_plugin import generic
from keras_ct_plugin import matmul
from keras_ct_plugin import shapes
from keras_ct_plugin import subpixel

IMPLEMENTATIONS = ("auto", "generic", "matmul", "subpixel", "native")
_NATIVE_BACKENDS = ("tensorflow", "jax", "torch")


def _backend_module():
    backend = keras.backend.backend()
    if backend not in _NATIVE_BACKENDS:
        return None
    return importlib.import_module(f"keras_ct_plugin.backends.{backend}")


def why_not(implementation, windows, settings):
    """`None` if `implementation` can serve the call, else the reason."""
    if implementation in ("auto", "generic"):
        return None
    if implementation == "matmul":
        if matmul.applies(windows, settings["groups"]):
            return None
        return (
            "it needs kernel_size == strides, dilation_rate 1, groups 1 and an "
            "output of exactly input * strides on every axis"
        )
    if implementation == "subpixel":
        if subpixel.applies(windows, settings["groups"]):
            return None
        return ("it needs dilation_rate 1, groups 1, strides above 1 on some axis "
                "and each kernel_size a multiple of its stride")
    module = _backend_module()
    if module is None:
        return f"the {keras.backend.backend()} backend has no native path"
    return module.why_not(implementation, windows, settings)


def serving_paths(windows, settings):
    """The paths a layer could be forced to for this call."""
    return [p for p in IMPLEMENTATIONS if p != "auto" and why_not(p, windows, settings) is None]


def choose(implementation, windows, settings):
    if implementation != "auto":
        return implementation
    module = _backend_module()
    order = module.preference(windows, settings) if module else ("matmul",)
    return next(
        (p for p in order if why_not(p, windows, settings) is None), "generic"
    )


def add_bias(outputs, bias, data_format):
    module = _backend_module()
    if module is not None and hasattr(module, "add_bias"):
        return module.add_bias(outputs, bias, data_format)
    bias = ops.convert_to_tensor(bias, dtype=outputs.dtype)
    if data_format == "channels_first":
        bias = ops.reshape(bias, (-1,) + (1,) * (len(outputs.shape) - 2))
    # Not `ops.add`: on TensorFlow it turns bias-like operands into
    # `tf.nn.bias_add` and guesses NHWC when the last axis has `filters`
    # entries, adding a channels_first bias on the wrong axis.
    return outputs + bias


_PORTABLE_PATHS = {
    "generic": generic.conv_transpose,
    "matmul": matmul.conv_transpose,
    "subpixel": subpixel.conv_transpose,
}


def _empty(inputs, kernel, output_shape):
    """Keras gives e.g. size 1, "same", output_padding=0 and an even kernel a
    zero-length output; so do we, without a backend convolution. Zero times
    the operands keeps the result on the autodiff tape, so the gradients are
    zeros rather than missing."""
    connected = ops.cast(0, inputs.dtype) * (ops.sum(inputs) + ops.sum(kernel))
    return ops.zeros((ops.shape(inputs)[0],) + output_shape[1:], inputs.dtype) + connected


def conv_transpose(inputs, kernel, bias=None, *, implementation, windows, **settings):
    """The transposed convolution, plus `bias` (one per filter) if given. A
    backend's `native` adds the bias itself, where it can fuse it."""
    output_shape = shapes.output_shape(
        inputs.shape, kernel.shape[-2], windows, settings["data_format"]
    )
    path = choose(implementation, windows, settings)
    if 0 in output_shape[1:]:
        outputs = _empty(inputs, kernel, output_shape)
    elif path == "native":
        inputs = ops.convert_to_tensor(inputs)
        kernel = ops.convert_to_tensor(kernel, dtype=inputs.dtype)
        if bias is not None:
            bias = ops.convert_to_tensor(bias, dtype=inputs.dtype)
        return _backend_module().native(inputs, kernel, bias, windows=windows, **settings)
    else:
        outputs = _PORTABLE_PATHS[path](inputs, kernel, windows=windows, **settings)
    return outputs if bias is None else add_bias(outputs, bias, settings["data_format"])
