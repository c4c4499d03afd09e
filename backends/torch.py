"""PyTorch path: `torch.nn.functional.conv_transpose{1,2,3}d`, or, for
channels_last where every kernel tiles the output (kernel == stride), the
`matmul` path's one matmul plus a reshape written in torch: keras.ops
dispatch costs tens of microseconds per op in eager torch, most of a small
layer's time. (For channels_first the transposed convolution measured
faster.)

Torch crops `padding` positions from both ends and then extends the end by
`output_padding`; where the Keras window is of that form torch computes it
directly, elsewhere (Keras's "same" can crop one more position at the end
than at the start) torch is called with `padding=0` and the result cropped.
channels_last inputs are handed to torch as permuted views (channels_last
memory format), so no copy is made on the way in or out. The bias is added
inside torch's op (its `bias` argument, or `addmm`), not in a pass of its own.
"""

import math

import torch
import torch.nn.functional as F

from keras_ct_plugin import matmul
from keras_ct_plugin import shapes
from keras_ct_plugin.window import crop_to_window

_CONV_TRANSPOSE = {1: F.conv_transpose1d, 2: F.conv_transpose2d, 3: F.conv_transpose3d}


def why_not(path, windows, settings):
    return None


def preference(windows, settings):
    return ("native",)


def _torch_padding(window):
    """(padding, output_padding) giving the window, or None if torch cannot."""
    padding = window.crop_before
    output_padding = window.crop_before - window.crop_after
    if output_padding == 0 or (window.dilation == 1 and 0 < output_padding < window.stride):
        return padding, output_padding
    # torch 2.13's CPU kernel gradient is wrong for output_padding with
    # dilation (tests/test_paths.py caught it); the crop path avoids both.
    return None


def _torch_weight(kernel, groups):
    """(*kernel, filters, in / groups) as torch's (in, filters / groups, *kernel)."""
    rank = kernel.ndim - 2
    if groups == 1:
        return kernel.permute(rank + 1, rank, *range(rank))
    *size, filters, per_group = kernel.shape
    split = kernel.reshape(*size, groups, filters // groups, per_group)
    weight = split.permute(rank, rank + 2, rank + 1, *range(rank))
    return weight.reshape(groups * per_group, filters // groups, *size)


def _tiled(inputs, kernel, bias, windows):
    """channels_last inputs only. The bias is added inside the matmul (addmm),
    which saves a pass over the output."""
    *size, filters, channels = kernel.shape
    rows, columns = inputs.reshape(-1, channels), kernel.reshape(-1, channels).T
    if bias is None:
        blocks = torch.mm(rows, columns)
    else:
        blocks = torch.addmm(bias.repeat(math.prod(size)), rows, columns)
    blocks = blocks.reshape(*inputs.shape[:-1], *size, filters)
    blocks = blocks.permute(matmul.interleave_order(len(windows), channels_last=True))
    return blocks.reshape(shapes.output_shape(inputs.shape, filters, windows, "channels_last"))


def native(inputs, kernel, bias, *, windows, strides, dilation_rate, data_format, groups,
           **_):
    if data_format == "channels_last" and matmul.applies(windows, groups):
        return _tiled(inputs, kernel, bias, windows)
    rank = len(windows)
    channels_last = data_format == "channels_last"
    x = inputs.movedim(-1, 1) if channels_last else inputs
    weight = _torch_weight(kernel, groups)
    paddings = [_torch_padding(w) for w in windows]
    direct = None not in paddings
    y = _CONV_TRANSPOSE[rank](
        x,
        weight,
        bias if direct else None,
        stride=strides,
        padding=[p for p, _ in paddings] if direct else 0,
        output_padding=[op for _, op in paddings] if direct else 0,
        dilation=dilation_rate,
        groups=groups,
    )
    if not direct:
        # The crop can also pad with zeros, which get the bias too.
        y = crop_to_window(y, windows, "channels_first")
        if bias is not None:
            y = y + bias.reshape(-1, *[1] * rank)
    return y.movedim(1, -1) if channels_last else y
