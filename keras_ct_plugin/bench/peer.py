"""The best peer: raw `torch.nn.functional.conv_transpose{1,2,3}d` and its
autograd on the same maths, timed in whichever backend's process runs the
benchmark (torch on CPU or, where torch sees one, the GPU).

"The same maths": the Keras window of the workload, with torch's own
`padding` and `output_padding` where they give it, else `padding=0` and the
same crop, as a torch user would write it, with a bias inside torch's op, as
`torch.nn.ConvTranspose{1,2,3}d` adds it (the layer has one). channels_first
input, torch's weight layout, both contiguous: the module's own case.
"""

import keras_ct_plugin.shapes as shapes


def available():
    try:
        import torch  # noqa: F401
    except ImportError:
        return False
    return True


def _window_arguments(windows):
    """(padding, output_padding, crop) for torch: crop is None where torch's
    own arguments give the window."""
    padding, output_padding = [], []
    for w in windows:
        extra = w.crop_before - w.crop_after
        if extra == 0 or (w.dilation == 1 and 0 < extra < w.stride):
            padding.append(w.crop_before)
            output_padding.append(extra)
        else:
            return 0, 0, True
    return padding, output_padding, False


def callables(workload, x, weight=None, bias=None):
    """(forward, forward+backward) of raw torch for `workload` on the NumPy
    input `x`, laid out as the workload's data format says; `weight` in
    torch's layout and `bias`, random by default. The forward returns its
    output; the backward gives gradients for the input, weight and bias."""
    import torch
    import torch.nn.functional as F

    rank = workload.rank
    dtype = getattr(torch, workload.dtype)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    windows = shapes.axis_windows((workload.kernel,) * rank, (workload.stride,) * rank,
                                  (1,) * rank, workload.padding,
                                  None if workload.output_padding is None
                                  else (workload.output_padding,) * rank)
    inputs = torch.tensor(x)
    if workload.data_format == "channels_last":
        inputs = inputs.movedim(-1, 1)
    inputs = inputs.contiguous().to(device, dtype)
    channels = inputs.shape[1]
    if weight is None:
        weight = torch.randn(channels, workload.filters // workload.groups,
                             *(workload.kernel,) * rank)
    weight = torch.as_tensor(weight).to(device, dtype)
    bias = torch.as_tensor(torch.randn(workload.filters) if bias is None else bias)
    bias = bias.to(device, dtype)
    padding, output_padding, crop = _window_arguments(windows)
    convolution = getattr(F, f"conv_transpose{rank}d")

    def run(x, w, b):
        y = convolution(x, w, b, stride=workload.stride, padding=padding,
                        output_padding=output_padding, groups=workload.groups)
        if crop:
            index = [slice(None), slice(None)]
            for axis, window in enumerate(windows):
                length = window.length(x.shape[2 + axis])
                index.append(slice(window.crop_before, window.crop_before + length))
            y = y[tuple(index)]
        return y

    def synchronize():
        if device == "cuda":
            torch.cuda.synchronize()

    def forward():
        with torch.no_grad():
            y = run(inputs, weight, bias)
        synchronize()
        return y

    x_grad = inputs.clone().requires_grad_(True)
    w_grad = weight.clone().requires_grad_(True)
    b_grad = bias.clone().requires_grad_(True)

    def forward_backward():
        x_grad.grad = w_grad.grad = b_grad.grad = None
        torch.square(run(x_grad, w_grad, b_grad)).sum().backward()
        synchronize()

    return forward, forward_backward
