"""PyTorch path: `torch.nn.functional.conv_transpose{1,2,3}d`.

Torch is called with `padding=0` and cropped afterwards: torch crops the same
amount from both ends, Keras's "same" does not. channels_last inputs are
handed to torch as permuted views (channels_last memory format), so no copy is
made on the way in or out.
"""

import torch.nn.functional as F

from keras_ct_plugin.window import crop_to_window

_CONV_TRANSPOSE = {1: F.conv_transpose1d, 2: F.conv_transpose2d, 3: F.conv_transpose3d}


def why_not(path, windows, settings):
    return None


def native(inputs, kernel, *, windows, strides, dilation_rate, data_format, **_):
    rank = len(windows)
    channels_last = data_format == "channels_last"
    x = inputs.movedim(-1, 1) if channels_last else inputs
    weight = kernel.permute(rank + 1, rank, *range(rank))  # (in, out, *kernel)
    full = _CONV_TRANSPOSE[rank](x, weight, stride=strides, dilation=dilation_rate)
    if channels_last:
        full = full.movedim(1, -1)
    return crop_to_window(full, windows, data_format)
