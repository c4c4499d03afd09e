"""OpenVINO path: the backend's own transposed convolution,
`ConvolutionBackpropData` (`GroupConvolutionBackpropData` for groups), the op
Keras's built-in layer uses there.

It is also the accurate one: on CPUs with bf16 units OpenVINO's compiled
models (what `predict` runs) compute `Convolution` and `MatMul` in bfloat16
by default, but this op in float32. The op crops `pads_begin` and `pads_end`
from the full output and then appends `output_padding` positions, so every
Keras window is one call. Keras exposes no public API for OpenVINO graph
nodes; `get_ov_output` and `OpenVINOKerasTensor` are its backend's own.
"""

import openvino.opset14 as opset
from keras import ops
from keras.src.backend.openvino.core import OpenVINOKerasTensor
from keras.src.backend.openvino.core import get_ov_output

from keras_ct_plugin import shapes


def preference(windows, settings):
    return ("native",)


def export_format(inputs):
    """`model.export` on this backend builds the graph `native` builds."""
    return None


def export_target(inputs):
    return None


def _weight(kernel, groups):
    """(*kernel, filters, in / groups) as OpenVINO's (in, filters, *kernel),
    or (groups, in / groups, filters / groups, *kernel)."""
    rank = len(kernel.shape) - 2
    *size, filters, per_group = kernel.shape
    weight = ops.transpose(kernel, [rank + 1, rank, *range(rank)])
    if groups == 1:
        return weight
    weight = ops.reshape(weight, [per_group, groups, filters // groups, *size])
    return ops.transpose(weight, [1, 0, 2, *range(3, rank + 3)])


def native(inputs, kernel, bias, *, windows, strides, dilation_rate, data_format, groups,
           **_):
    rank = len(windows)
    x = inputs
    if data_format == "channels_last":
        x = ops.transpose(x, shapes.to_channels_first(rank))
    op = (opset.convolution_backprop_data if groups == 1
          else opset.group_convolution_backprop_data)
    y = op(get_ov_output(x), get_ov_output(_weight(kernel, groups)),
           strides=list(strides),
           pads_begin=[w.crop_before for w in windows],
           pads_end=[max(w.crop_after, 0) for w in windows],
           dilations=list(dilation_rate),
           output_padding=[max(-w.crop_after, 0) for w in windows])
    y = OpenVINOKerasTensor(y.output(0))
    if bias is not None:
        y = y + ops.reshape(bias, (-1,) + (1,) * rank)
    if data_format == "channels_last":
        y = ops.transpose(y, shapes.to_channels_last(rank))
    return y


