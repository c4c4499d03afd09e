"""PyTorch `ConvTranspose` modules that `from_torch` must reproduce, and the
check that it does: the plugin layer's output against the module's own."""

import numpy as np

from keras_ct_plugin.conformance.operands import to_float32
from keras_ct_plugin.conformance.operands import uniform

TOLERANCE = 1e-4  # float32, inputs and weights in [-1, 1]

# name -> (module arguments, spatial input size)
MODULES = {
    "1d k3 s2 p1 op1": (dict(dims=1, in_channels=8, out_channels=4, kernel_size=3,
                             stride=2, padding=1, output_padding=1), (7,)),
    "1d k5 s1 p4 (crop to 2)": (dict(dims=1, in_channels=4, out_channels=4, kernel_size=5,
                                     padding=4), (6,)),
    "2d DCGAN k4 s2 p1": (dict(dims=2, in_channels=16, out_channels=8, kernel_size=4,
                               stride=2, padding=1), (5, 4)),
    "2d k3 s2 p1 op1 groups 4": (dict(dims=2, in_channels=8, out_channels=8, kernel_size=3,
                                      stride=2, padding=1, output_padding=1, groups=4),
                                 (4, 5)),
    "2d k(3,5) s(2,1) p(1,2) d(2,1) no bias": (
        dict(dims=2, in_channels=6, out_channels=4, kernel_size=(3, 5), stride=(2, 1),
             padding=(1, 2), dilation=(2, 1), bias=False), (4, 6)),
    "2d k3 s3 d2 p2 op2": (dict(dims=2, in_channels=4, out_channels=6, kernel_size=3,
                                stride=3, padding=2, output_padding=2, dilation=2), (3, 3)),
    "2d depthwise k2 s2 groups 8": (dict(dims=2, in_channels=8, out_channels=8, kernel_size=2,
                                         stride=2, groups=8), (3, 4)),
    "2d k1 s1": (dict(dims=2, in_channels=3, out_channels=3, kernel_size=1), (2, 3)),
    "3d k3 s2 p1 op(1,0,1) groups 2": (
        dict(dims=3, in_channels=4, out_channels=2, kernel_size=3, stride=2, padding=1,
             output_padding=(1, 0, 1), groups=2), (2, 3, 2)),
    "3d k(2,3,3) s(1,2,2) d(2,1,1)": (
        dict(dims=3, in_channels=2, out_channels=3, kernel_size=(2, 3, 3), stride=(1, 2, 2),
             dilation=(2, 1, 1)), (3, 2, 2)),
}


def build(name, seed=0):
    """The module `name`, with weights drawn from `seed`; and an input."""
    import torch

    arguments, spatial = MODULES[name]
    arguments = dict(arguments)
    torch_class = getattr(torch.nn, f"ConvTranspose{arguments.pop('dims')}d")
    torch.manual_seed(seed)
    module = torch_class(**arguments)
    with torch.no_grad():
        if module.bias is not None:
            module.bias.uniform_(-1, 1)
    return module, uniform((2, module.in_channels, *spatial), seed)


def reproduce(name, data_format):
    """Max abs difference between `from_torch(module)` on the running backend
    and the module itself, on the same input."""
    import torch

    from keras_ct_plugin.torch_interop import from_torch

    module, x = build(name)
    with torch.no_grad():
        expected = module(torch.from_numpy(x)).numpy()
    layer = from_torch(module, data_format=data_format)
    if data_format == "channels_last":
        actual = np.moveaxis(to_float32(layer(np.moveaxis(x, 1, -1))), -1, 1)
    else:
        actual = to_float32(layer(x))
    if actual.shape != expected.shape:
        raise AssertionError(f"{name}: shape {actual.shape}, torch's {expected.shape}")
    return float(np.max(np.abs(actual - expected)))
