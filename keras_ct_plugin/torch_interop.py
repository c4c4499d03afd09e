"""`from_torch`: a PyTorch `ConvTranspose1d/2d/3d` as this plugin's layer."""

import numpy as np

from keras_ct_plugin.layers import Conv1DTranspose
from keras_ct_plugin.layers import Conv2DTranspose
from keras_ct_plugin.layers import Conv3DTranspose

_LAYERS = {1: Conv1DTranspose, 2: Conv2DTranspose, 3: Conv3DTranspose}


def _rank(module):
    import torch

    for rank, torch_class in (
        (1, torch.nn.ConvTranspose1d),
        (2, torch.nn.ConvTranspose2d),
        (3, torch.nn.ConvTranspose3d),
    ):
        if isinstance(module, torch_class):
            return rank
    raise TypeError(
        "Invalid type for argument `module`. Expected a torch.nn.ConvTranspose1d, "
        "ConvTranspose2d or ConvTranspose3d. Received module of type "
        f"{type(module).__name__}."
    )


def keras_kernel(weight, groups):
    """torch's `(in, filters / groups, *kernel)` weight in this plugin's layout,
    `(*kernel, filters, in / groups)`."""
    in_channels, per_group_filters, *size = weight.shape
    rank = len(size)
    split = weight.reshape(groups, in_channels // groups, per_group_filters, *size)
    kernel = split.transpose(*range(3, 3 + rank), 0, 2, 1)
    return kernel.reshape(*size, groups * per_group_filters, in_channels // groups)


def from_torch(module, data_format="channels_first"):
    """The plugin layer that computes what `module` computes, weights loaded.

    Args:
        module: a `torch.nn.ConvTranspose1d`, `ConvTranspose2d` or
            `ConvTranspose3d` with `padding_mode="zeros"`. Its `stride`,
            `padding`, `output_padding`, `dilation`, `groups` and bias carry
            over, and its weight dtype becomes the layer's dtype.
        data_format: the layout the Keras layer will take. The default,
            `"channels_first"`, is torch's own `(batch, channels, *spatial)`;
            with `"channels_last"` the layer computes the same on
            `(batch, *spatial, channels)` inputs.

    Returns:
        A built `Conv1DTranspose`, `Conv2DTranspose` or `Conv3DTranspose`.
    """
    rank = _rank(module)
    if module.padding_mode != "zeros":
        raise ValueError(
            "Invalid value for argument `module`. Expected a module with "
            "padding_mode='zeros', the only padding a transposed convolution "
            f"has. Received padding_mode={module.padding_mode!r}."
        )
    weight = module.weight.detach().cpu()
    dtype = str(weight.dtype).removeprefix("torch.")
    layer = _LAYERS[rank](
        module.out_channels,
        module.kernel_size,
        strides=module.stride,
        padding=module.padding,
        output_padding=module.output_padding,
        data_format=data_format,
        dilation_rate=module.dilation,
        use_bias=module.bias is not None,
        groups=module.groups,
        dtype=dtype,
    )
    spatial = (None,) * rank
    channels = (module.in_channels,)
    layer.build(
        (None, *channels, *spatial) if data_format == "channels_first"
        else (None, *spatial, *channels)
    )
    weights = [keras_kernel(_to_numpy(weight), module.groups)]
    if module.bias is not None:
        weights.append(_to_numpy(module.bias.detach().cpu()))
    layer.set_weights(weights)
    return layer


def _to_numpy(tensor):
    """NumPy has no bfloat16: such weights travel as float32."""
    if str(tensor.dtype) == "torch.bfloat16":
        tensor = tensor.float()
    return np.asarray(tensor.numpy())
