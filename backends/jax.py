"""JAX paths: XLA's convolution forward, with a gradient that avoids it.

XLA on CPU computes the kernel gradient of an input-dilated convolution with a
dilated-window convolution, which is pathologically slow. With a stride above
1, `native` supplies its own VJP: the input gradient is a strided forward
convolution of the upstream gradient, the kernel gradient one matmul per
kernel tap over strided slices. Its forward is the sub-pixel decomposition
(`subpixel.py`) where that serves (every kernel a multiple of its stride);
elsewhere `lax.conv_general_dilated` with `lhs_dilation`. At
stride 1 it is a plain convolution, and JAX's own gradient is fast.
"""

import itertools
from functools import partial

import jax
import jax.numpy as jnp
from jax import lax

from keras_ct_plugin import tracing
from keras_ct_plugin import shapes
from keras_ct_plugin import subpixel


def why_not(path, windows, settings):
    return None


def export_format(inputs):
    format = tracing.traced_format(isinstance(inputs, jax.core.Tracer))
    return None if format == "tf_saved_model" else format


def preference(windows, settings):
    return ("matmul", "native")


def _specs(rank, data_format):
    spatial = "DHW"[-rank:]
    lhs = f"N{spatial}C" if data_format == "channels_last" else f"NC{spatial}"
    return lhs, spatial


@partial(jax.custom_vjp, nondiff_argnums=(2, 3, 4))
def _conv_transpose(x, kernel, windows, data_format, groups):
    return _forward(x, kernel, windows, data_format, groups)


def _forward(x, kernel, windows, data_format, groups):
    if subpixel.applies(windows, groups):
        return subpixel.conv_transpose(x, kernel, windows=windows, data_format=data_format)
    return _input_dilated(x, kernel, windows, data_format, groups)


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


def _forward_with_residuals(x, kernel, windows, data_format, groups):
    return _forward(x, kernel, windows, data_format, groups), (x, kernel)


def _split_channels(a, axis, groups):
    """Channel axis `axis` of length C as two axes (groups, C // groups)."""
    return a.reshape(a.shape[:axis] + (groups, a.shape[axis] // groups) + a.shape[axis + 1:])


def _backward(windows, data_format, groups, residuals, upstream):
    x, kernel = residuals
    rank = len(windows)
    lhs, spatial = _specs(rank, data_format)
    axes = shapes.spatial_axes(rank, data_format)
    sizes = [x.shape[a] for a in axes]
    # The upstream gradient placed in the full transposed convolution.
    config = [(0, 0, 0)] * upstream.ndim
    for axis, w in zip(axes, windows):
        config[axis] = (w.crop_before, w.crop_after, 0)
    full = lax.pad(upstream, jnp.zeros((), upstream.dtype), config)
    dilations = tuple(w.dilation for w in windows)
    strides = tuple(w.stride for w in windows)
    filters, per_group = kernel.shape[rank:]
    # (k, filters, C / groups) as (k, filters / groups, C): grouped "IO".
    kernel_io = jnp.swapaxes(_split_channels(kernel, rank, groups), rank, rank + 1)
    dx = lax.conv_general_dilated(
        full,
        kernel_io.reshape(kernel.shape[:rank] + (filters // groups, groups * per_group)),
        window_strides=strides,
        padding="VALID",
        rhs_dilation=dilations,
        dimension_numbers=(lhs, spatial + "IO", lhs),
        feature_group_count=groups,
    )
    channel = x.ndim - 1 if data_format == "channels_last" else 1
    x_split = _split_channels(x, channel, groups)
    summed = [a for a in range(x.ndim + 1) if a not in (channel, channel + 1)]
    taps = []
    for tap in itertools.product(*(range(k) for k in kernel.shape[:rank])):
        start = [0] * full.ndim
        limit = list(full.shape)
        step = [1] * full.ndim
        for axis, j, d, s, n in zip(axes, tap, dilations, strides, sizes):
            start[axis], limit[axis], step[axis] = j * d, j * d + (n - 1) * s + 1, s
        g_tap = _split_channels(lax.slice(full, start, limit, step), channel, groups)
        taps.append(
            lax.dot_general(g_tap, x_split, ((summed, summed), ((channel,), (channel,))))
        )
    dkernel = jnp.stack(taps).reshape(kernel.shape)
    return dx.astype(x.dtype), dkernel.astype(kernel.dtype)


_conv_transpose.defvjp(_forward_with_residuals, _backward)


@partial(jax.jit, static_argnums=(3, 4, 5))
def _native(inputs, kernel, bias, windows, data_format, groups):
    if all(w.stride == 1 for w in windows):
        y = _input_dilated(inputs, kernel, windows, data_format, groups)
    else:
        y = _conv_transpose(inputs, kernel, windows, data_format, groups)
    return _add_bias(y, bias, data_format)


def _add_bias(y, bias, data_format):
    if bias is None:
        return y
    if data_format == "channels_first":
        bias = bias.reshape((-1,) + (1,) * (y.ndim - 2))
    return y + bias


def native(inputs, kernel, bias, *, windows, data_format, groups, **_):
    return _native(inputs, kernel, bias, windows, data_format, groups)


def exported(inputs, kernel, bias, *, format, windows, data_format, groups, **_):
    return _add_bias(_input_dilated(inputs, kernel, windows, data_format, groups), bias,
                     data_format)
