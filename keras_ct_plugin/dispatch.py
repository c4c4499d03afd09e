"""Which implementation computes a call, chosen from its static settings.

- "generic": `keras.ops` only (`generic.py`); serves every call on every backend.
- "matmul": one matmul plus a reshape (`matmul.py`), on every backend, when
  every axis tiles the output (kernel == stride, output exactly n * stride).
- "subpixel": one stride-1 convolution plus depth-to-space (`subpixel.py`),
  on every backend, for dilation 1, one group, some stride above 1 and
  kernels that are multiples of their strides.
- "col2im": one matmul plus col2im (`col2im.py`), on every backend, for every
  setting.
- "native": the running backend's own transposed convolution
  (`backends/<backend>.py`): TensorFlow, JAX and PyTorch have one.
- "auto": the first path that serves the call in the running backend's
  `preference(windows, settings)` (measured with `python -m
  keras_ct_plugin.bench`, see docs/benchmark.md and
  docs/data/benchmark-log.md), "generic" last; on a backend without a
  module, "matmul" where it applies, else "generic".

Whatever the implementation, a call traced for an export format
(`tracing.py`) runs the backend's `exported` instead: the format's own
transposed-convolution op.

Only the running backend's module is imported, with this module: Keras has
imported that framework already, and an import inside a call would break a
torch.compile graph.
"""

import importlib
import types
import warnings

import keras
from keras import ops

from keras_ct_plugin import backend_interface
from keras_ct_plugin import col2im
from keras_ct_plugin import generic
from keras_ct_plugin import matmul
from keras_ct_plugin import shapes
from keras_ct_plugin import subpixel

IMPLEMENTATIONS = ("auto", "generic", "matmul", "subpixel", "col2im", "native")


def _import_backend_module():
    """The running backend's module (`backend_interface.MODULES`), with the
    optional functions it leaves out filled in; None where the backend has
    none, or where its module cannot be imported (the OpenVINO one reads
    Keras internals, ARCHITECTURE.md): every call then takes the portable
    paths, with a warning."""
    backend = keras.backend.backend()
    if backend not in backend_interface.MODULES:
        return None
    try:
        module = importlib.import_module(backend_interface.MODULES[backend])
    except ImportError as error:
        warnings.warn(f"keras_ct_plugin: no native path on {backend} ({error}); the "
                      "portable paths serve every call.", stacklevel=2)
        return None
    missing = [name for name in backend_interface.REQUIRED if not hasattr(module, name)]
    if missing:
        raise TypeError(f"{module.__name__} lacks {', '.join(missing)} "
                        "(keras_ct_plugin.backend_interface.Backend)")
    return types.SimpleNamespace(
        **{name: getattr(module, name) for name in backend_interface.REQUIRED},
        **{name: getattr(module, name, default)
           for name, default in backend_interface.OPTIONAL.items()})


_BACKEND_MODULE = _import_backend_module()


def _backend_module():
    return _BACKEND_MODULE


def why_not(implementation, windows, settings):
    """`None` if `implementation` can serve the call, else the reason."""
    if implementation in ("auto", "generic", "col2im"):
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


def lay_out_kernel(variable, path, windows, settings):
    """Lets the backend store a new kernel variable's values in the memory
    order its op reads them in (torch), behind the Keras shape."""
    module = _backend_module()
    if module is not None:
        module.lay_out_kernel(variable, path, windows, settings)


def add_bias(outputs, bias, data_format):
    module = _backend_module()
    if module is not None and module.add_bias is not None:
        return module.add_bias(outputs, bias, data_format)
    bias = ops.convert_to_tensor(bias, dtype=outputs.dtype)
    if data_format == "channels_first":
        bias = ops.reshape(bias, (-1,) + (1,) * (len(outputs.shape) - 2))
    # Not `ops.add`: on TensorFlow it turns bias-like operands into
    # `tf.nn.bias_add` and guesses NHWC when the last axis has `filters`
    # entries, adding a channels_first bias on the wrong axis.
    return outputs + bias


_PORTABLE_PATHS = {
    "col2im": col2im.conv_transpose,
    "generic": generic.conv_transpose,
    "matmul": matmul.conv_transpose,
    "subpixel": subpixel.conv_transpose,
}


def add_low_rank(kernel, a, b, scale):
    """`kernel + scale * a @ b` (LoRA's merged kernel), in one op where the
    backend has one (torch's addmm: each op costs torch's eager Keras
    layer a dispatch)."""
    module = _backend_module()
    if module is not None and module.add_low_rank is not None:
        return module.add_low_rank(kernel, a, b, scale)
    return ops.add(kernel, scale * ops.matmul(a, b))


def straight_through(x, quantize):
    """`quantize(x)` forward, the gradient of `x` backward."""
    module = _backend_module()
    if module is not None and module.straight_through is not None:
        return module.straight_through(x, quantize)
    # `x - x` is exactly zero: the forward value is `quantize(x)`'s, to the bit.
    return (x - ops.stop_gradient(x)) + ops.stop_gradient(quantize(x))


def in_backend_ops(name, *args, **kwargs):
    """The backend module's optional function `name` of the arguments, or
    None where it has none or returns None."""
    module = _backend_module()
    function = None if module is None else getattr(module, name)
    return None if function is None else function(*args, **kwargs)


def export_format(inputs):
    """The export format this call is traced for, or None (`tracing.py`)."""
    module = _backend_module()
    return module.export_format(inputs) if module else None


def export_target(inputs):
    """The `model.export` format this call is traced for, or None, whichever
    path serves it (JAX keeps its fast paths for tf_saved_model)."""
    module = _backend_module()
    return module.export_target(inputs) if module else None


def as_constant(compute):
    """`compute()` evaluated outside the graph being traced, as a constant of
    it, where the backend can (TensorFlow, JAX with concrete weights); else
    `compute()` itself."""
    module = _backend_module()
    return compute() if module is None else module.as_constant(compute)


def _is_empty(output_shape):
    """Whether some axis, the batch included, has length 0; False while a
    length is unknown or symbolic (traced), so that tracing never branches on
    it. (TensorFlow's oneDNN convolutions return a wrongly shaped tensor for
    an empty batch.)"""
    return any(isinstance(n, int) and n == 0 for n in output_shape)


def _empty(inputs, kernel, bias, output_shape):
    """Keras gives e.g. size 1, "same", output_padding=0 and an even kernel a
    zero-length output; so do we, without a backend convolution, as for an
    empty batch. Zero times
    the operands keeps the result on the autodiff tape, so the gradients are
    zeros rather than missing. (Adding the bias to the empty tensor instead
    crashes OpenVINO.)"""
    operands = ops.sum(inputs) + ops.sum(kernel)
    if bias is not None:
        operands = operands + ops.sum(bias)
    connected = ops.cast(0, inputs.dtype) * operands
    return ops.zeros((ops.shape(inputs)[0],) + output_shape[1:], inputs.dtype) + connected


_DTYPE_NAMES = {}


def dtype_name(dtype):
    """`keras.backend.standardize_dtype(dtype)`, remembered per dtype object:
    it reads a torch dtype from its string, and an eager torch layer asks
    at every call."""
    try:
        return _DTYPE_NAMES[dtype]
    except KeyError:
        name = _DTYPE_NAMES[dtype] = keras.backend.standardize_dtype(dtype)
        return name
    except TypeError:  # an unhashable dtype object
        return keras.backend.standardize_dtype(dtype)


def _in_dtype(x, dtype):
    """`x` as a tensor of `dtype`, converted only where it is not one: an
    eager torch layer pays for each conversion on every call."""
    if isinstance(x, keras.Variable):
        x = x.value
    if ops.is_tensor(x) and dtype_name(x.dtype) == dtype:
        return x
    return ops.convert_to_tensor(x, dtype=dtype)


def conv_transpose(inputs, kernel, bias=None, *, implementation, windows, dtype, **settings):
    """The transposed convolution, plus `bias` (one per filter) if given,
    computed in `dtype`. A backend's `native` and `exported` add the bias
    themselves, where they can fuse it."""
    inputs = _in_dtype(inputs, dtype)
    kernel = _in_dtype(kernel, dtype)
    if bias is not None:
        bias = _in_dtype(bias, dtype)
    if inputs.shape[0] == 0 or any(w.tail <= 0 for w in windows):
        # An empty output, or (with a negative `tail`) a crop too large.
        output_shape = shapes.output_shape(
            inputs.shape, kernel.shape[-2], windows, settings["data_format"])
        if _is_empty(output_shape):
            return _empty(inputs, kernel, bias, output_shape)
    module = _backend_module()
    format = export_format(inputs)
    if format is not None:
        return module.exported(inputs, kernel, bias, format=format, windows=windows,
                               **settings)
    path = choose(implementation, windows, settings)
    if path == "native":
        return module.native(inputs, kernel, bias, windows=windows, **settings)
    outputs = _PORTABLE_PATHS[path](inputs, kernel, windows=windows, **settings)
    return outputs if bias is None else add_bias(outputs, bias, settings["data_format"])
