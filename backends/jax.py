"""JAX paths that never run XLA's input-dilated convolution with a stride.

On CPU XLA runs an input-dilated convolution slowly (1.6 s for jax#31662's
3-D case, where torch takes 7 ms), and its kernel gradient, a dilated-window
convolution, slower still. With a stride above 1, `native` computes the
forward as the sub-pixel decomposition (`subpixel.py`) where every kernel is
a multiple of its stride, else as one matmul plus col2im (`col2im.py`), and
supplies its own VJP, the adjoint algorithm: the upstream gradient's im2col
columns times the kernel (input gradient) and times the input (kernel
gradient), two matmuls. At stride 1 it is a plain convolution, and JAX's own
gradient is fast. In 1-D and 2-D, where XLA's input-dilated forward is often
fast on CPU, a static rule picks the forward: bfloat16 layers without
groups take XLA's (fitted on sweep seed 1), the others ours. Opted in
(`jax_autotune.py`), one process instead times the two on this machine for
the call's shapes (a tie goes to XLA's, the built-in's). The backward is
the adjoint one either way.
"""

import itertools
import math
from functools import partial

import jax
import jax.numpy as jnp
from jax import lax

from keras_ct_plugin import col2im
from keras_ct_plugin import subpixel
from keras_ct_plugin import tracing
from keras_ct_plugin.backends import jax_autotune


def export_target(inputs):
    """The `model.export` format this call is traced for, or None."""
    return tracing.traced_format(isinstance(inputs, jax.core.Tracer))


def export_format(inputs):
    format = export_target(inputs)
    return None if format == "tf_saved_model" else format


def as_constant(compute):
    """Evaluated at trace time where the weights are concrete (jax2onnx
    closes over them); traced otherwise."""
    with jax.ensure_compile_time_eval():
        return compute()


def _device_type():
    return "gpu" if jax.default_backend() in ("gpu", "cuda", "rocm") else jax.default_backend()


DEVICE = _device_type()


def straight_through(x, quantize):
    """`quantize(x)` with the identity as its derivative: no arithmetic in
    the forward, which XLA otherwise keeps (it does not fold `x - x`)."""
    @jax.custom_jvp
    def quantized(x):
        return quantize(x)

    @quantized.defjvp
    def _(primals, tangents):
        return quantized(*primals), tangents[0]

    return quantized(x)


def preference(windows, settings):
    if DEVICE != "cpu":
        # Unmeasured there: the backend's own transposed convolution (below).
        return ("native",)
    return ("matmul", "native")


def _specs(rank, data_format):
    spatial = "DHW"[-rank:]
    lhs = f"N{spatial}C" if data_format == "channels_last" else f"NC{spatial}"
    return lhs, spatial


@partial(jax.custom_vjp, nondiff_argnums=(2, 3, 4, 5))
def _conv_transpose(x, kernel, windows, data_format, groups, forward):
    return _FORWARDS[forward](x, kernel, windows, data_format, groups)


def _subpixel(x, kernel, windows, data_format, groups):
    return subpixel.conv_transpose(x, kernel, windows=windows, data_format=data_format)


def _col2im(x, kernel, windows, data_format, groups):
    return col2im.conv_transpose(x, kernel, windows=windows, data_format=data_format,
                                 groups=groups)


def _own_forward(windows, groups):
    return "subpixel" if subpixel.applies(windows, groups) else "col2im"


def _static_forward(dtype, windows, groups):
    """Without measurement. Fitted on sweep seed 1: in bfloat16, 1-D and
    2-D, XLA's CPU input-dilated convolution (the built-in's forward) took
    0.54x to 0.69x of col2im's time; with groups, or in 3-D (jax#31662),
    col2im stays faster."""
    own = _own_forward(windows, groups)
    if own == "col2im" and jnp.dtype(dtype).itemsize < 4 and groups == 1 and len(windows) < 3:
        return "input_dilated"
    return own


def _measured_forward(inputs, kernel, windows, data_format, groups):
    """In 1-D and 2-D on CPU, the faster of our forward and XLA's
    input-dilated one for these shapes; in 3-D XLA's takes seconds
    (jax#31662), and for tiny layers, symbolic shapes (jax.export) and
    while exporting the static choice stands."""
    if (not jax_autotune.enabled() or len(windows) > 2 or export_target(inputs) is not None
            or not all(isinstance(n, int) for n in inputs.shape)):
        return _static_forward(inputs.dtype, windows, groups)
    flops = 2 * math.prod(inputs.shape) * math.prod(kernel.shape[:-1]) // groups
    if flops < jax_autotune.MIN_FLOPS:
        return _static_forward(inputs.dtype, windows, groups)
    own = _own_forward(windows, groups)
    key = (tuple(inputs.shape), str(inputs.dtype), tuple(kernel.shape), windows, data_format,
           groups)
    candidates = {name: partial(_FORWARDS[name], windows=windows, data_format=data_format,
                                groups=groups)
                  for name in (own, "input_dilated")}
    arguments = [(tuple(inputs.shape), inputs.dtype), (tuple(kernel.shape), inputs.dtype)]
    return jax_autotune.choose(key, candidates, arguments, preferred="input_dilated")


def _input_dilated(x, kernel, windows, data_format, groups):
    """The kernel goes in as HWIO, a layout jax2onnx converts."""
    rank = len(windows)
    lhs, spatial = _specs(rank, data_format)
    return lax.conv_general_dilated(
        x,
        jnp.swapaxes(jnp.flip(kernel, axis=tuple(range(rank))), -1, -2),
        window_strides=(1,) * rank,
        padding=[(w.effective_kernel - 1 - w.crop_before, w.tail - 1 + w.crop_before)
                 for w in windows],
        lhs_dilation=tuple(w.stride for w in windows),
        rhs_dilation=tuple(w.dilation for w in windows),
        dimension_numbers=(lhs, spatial + "IO", lhs),
        feature_group_count=groups,
    )


_FORWARDS = {"subpixel": _subpixel, "col2im": _col2im, "input_dilated": _input_dilated}


def _forward_with_residuals(x, kernel, windows, data_format, groups, forward):
    return _FORWARDS[forward](x, kernel, windows, data_format, groups), (x, kernel)


def _im2col(full, windows, sizes):
    """channels_last `full` (N, full..., F) as (N, n..., taps, F): each
    kernel tap's strided slice, the rows each input position reached."""
    slices = []
    for tap in itertools.product(*(range(w.kernel_size) for w in windows)):
        start, limit, step = [0] * full.ndim, list(full.shape), [1] * full.ndim
        for axis, (j, w, n) in enumerate(zip(tap, windows, sizes), start=1):
            start[axis] = j * w.dilation
            limit[axis] = start[axis] + (n - 1) * w.stride + 1
            step[axis] = w.stride
        slices.append(lax.slice(full, start, limit, step))
    return jnp.stack(slices, axis=len(windows) + 1)


def _backward(windows, data_format, groups, forward, residuals, upstream):
    """The adjoint algorithm (GEMM + im2col): the upstream gradient placed in
    the full transposed convolution, its taps' slices as columns, and two
    matmuls, one for the input gradient, one for the kernel's."""
    x, kernel = residuals
    rank = len(windows)
    if data_format == "channels_first":
        x, upstream = jnp.moveaxis(x, 1, -1), jnp.moveaxis(upstream, 1, -1)
    config = [(0, 0, 0)] + [(w.crop_before, w.crop_after, 0) for w in windows] + [(0, 0, 0)]
    full = lax.pad(upstream, jnp.zeros((), upstream.dtype), config)
    cols = _im2col(full, windows, x.shape[1:-1])
    *size, filters, per_group = kernel.shape
    taps = cols.shape[rank + 1]
    rows = cols.reshape(-1, taps, groups, filters // groups)
    columns = kernel.reshape(taps, groups, filters // groups, per_group)
    x_rows = x.reshape(-1, groups, per_group)
    if groups == 1:
        rows, columns = rows.reshape(rows.shape[0], -1), columns.reshape(-1, per_group)
        dx = rows @ columns
        dkernel = rows.T @ x_rows.reshape(-1, per_group)
    else:
        dx = jnp.einsum("mtgf,tgfc->mgc", rows, columns)
        dkernel = jnp.einsum("mtgf,mgc->tgfc", rows, x_rows)
    dx = dx.reshape(x.shape)
    if data_format == "channels_first":
        dx = jnp.moveaxis(dx, -1, 1)
    return dx.astype(x.dtype), dkernel.reshape(kernel.shape).astype(kernel.dtype)


_conv_transpose.defvjp(_forward_with_residuals, _backward)


@partial(jax.jit, static_argnums=(3, 4, 5, 6))
def _native(inputs, kernel, bias, windows, data_format, groups, forward):
    if DEVICE != "cpu" or all(w.stride == 1 for w in windows):
        # On a GPU, XLA maps an input-dilated convolution whose kernel is an
        # HLO reverse (`jnp.flip`) and whose window stride is 1 to cuDNN's
        # backward-data, and its gradients to cuDNN too (conv_rewriter.cc).
        y = _input_dilated(inputs, kernel, windows, data_format, groups)
    else:
        y = _conv_transpose(inputs, kernel, windows, data_format, groups, forward)
    return _add_bias(y, bias, data_format)


def _add_bias(y, bias, data_format):
    if bias is None:
        return y
    if data_format == "channels_first":
        bias = bias.reshape((-1,) + (1,) * (y.ndim - 2))
    return y + bias


def native(inputs, kernel, bias, *, windows, data_format, groups, **_):
    forward = None
    if DEVICE == "cpu" and any(w.stride > 1 for w in windows):
        forward = _measured_forward(inputs, kernel, windows, data_format, groups)
    return _native(inputs, kernel, bias, windows, data_format, groups, forward)


def exported(inputs, kernel, bias, *, format, windows, data_format, groups, **_):
    return _add_bias(_input_dilated(inputs, kernel, windows, data_format, groups), bias,
                     data_format)
