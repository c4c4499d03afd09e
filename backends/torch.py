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
memory format), so no copy is made on the way in or out; on CPU, where
oneDNN computes that format fastest, some channels_first inputs are copied
into it (`_channels_last_memory`), and 1-D calls run as 2-D ones of height
1. The bias is added inside torch's op (its `bias` argument, or `addmm`),
not in a pass of its own, where torch's CPU op is not slower with one
(`_bias_inside`). The kernel variable holds its values, from build on, in
the memory order torch's op reads its weight in (`lay_out_kernel`), so that
no call copies it; where torch's choice of CPU kernel (by the batch) reads
another order, that call copies the weight (`_weight`). What a call's
settings fix is worked out once per setting (`_plan`) and torch's choice is remembered per input
shape: in eager torch a call's Python is a measurable part of a 1 ms layer.

`exported` serves every traced call: `model.export` in any format,
`torch.export`, `torch.jit.trace` and `torch.compile` (graph compilers do
their own fusion, and take the one op they know, as the built-in gives it).
LiteRT's TRANSPOSE_CONV has no dilation and pads only "VALID" or "SAME", and
litert-torch converts a dilated transposed convolution only at stride 1: for
LiteRT a strided, dilated one inserts the zeros first, and other paddings are
cropped from the full output.
"""

import functools
import math

import torch
import torch.nn.functional as F

from keras_ct_plugin import tracing
from keras_ct_plugin import matmul
from keras_ct_plugin import shapes
from keras_ct_plugin.window import crop_to_window

_CONV_TRANSPOSE = {1: F.conv_transpose1d, 2: F.conv_transpose2d, 3: F.conv_transpose3d}


def _false():
    return False


# Public, but newer than some torch releases pyproject.toml admits.
_is_exporting = getattr(torch.compiler, "is_exporting", _false)
_is_compiling = getattr(torch.compiler, "is_compiling", _false)


def export_target(inputs):
    """The `model.export` format this call is traced for, or None."""
    exporting = _is_exporting()
    if _is_compiling() and not exporting:
        return None
    return tracing.traced_format(exporting or torch.jit.is_tracing())


def export_format(inputs):
    """The export format, or "graph" for any other trace (torch.compile).
    Inside torch.compile the call stack is not read: dynamo would break the
    graph there, and inductor then fails on 3-D dynamic shapes."""
    traced = _is_compiling() or _is_exporting() or torch.jit.is_tracing()
    if not traced:
        return tracing.traced_format(False)
    return export_target(inputs) or "graph"


def as_constant(compute):
    """`compute()` on the real weights, outside the trace (torch.export's
    fake tensors and proxies, torch.jit.trace's recording), so that the
    trace takes its result as a constant. Torch has no public API for
    this (ARCHITECTURE.md, "Private APIs"); without one, `compute()`
    is traced, and the artifact computes the merged LoRA kernel itself."""
    try:
        from torch._subclasses.fake_tensor import unset_fake_temporarily
        from torch.fx.experimental.proxy_tensor import disable_proxy_modes_tracing

        get_state, set_state = torch._C._get_tracing_state, torch._C._set_tracing_state
    except (ImportError, AttributeError):
        return compute()
    state = get_state()
    set_state(None)
    try:
        with unset_fake_temporarily(), disable_proxy_modes_tracing():
            return compute().detach()
    finally:
        set_state(state)


def preference(windows, settings):
    return ("native",)


def _tensor(value):
    """A Keras variable's tensor, or the value itself."""
    return value.value if hasattr(value, "value") else value


def add_low_rank(kernel, a, b, scale):
    kernel, a, b = (torch.as_tensor(_tensor(v)) for v in (kernel, a, b))
    merged = torch.addmm(kernel.reshape(-1, kernel.shape[-1]).to(a.dtype),
                         a.reshape(-1, a.shape[-1]), b, alpha=scale)
    return merged.reshape(kernel.shape)


def _eager():
    return not (_is_compiling() or _is_exporting() or torch.jit.is_tracing())


def abs_max_dequantized(x, axis, value_range, epsilon):
    """As `quantization._abs_max_dequantized`, to the bit, in raw torch ops
    where nothing traces the call (each Keras op costs an eager call a
    dispatch); None where something does."""
    if not _eager():
        return None
    low, top = value_range
    # torch.divide, not `top / tensor`: torch computes that as a reciprocal
    # times `top`, an ulp off Keras's quotient.
    largest = x.abs().amax(dim=axis, keepdim=True)
    scale = torch.divide(top, largest + epsilon)
    values = torch.mul(x, scale).round_()
    if x.dtype == torch.float32:
        return values.div_(scale)
    values = values.clamp_(low, top)
    return (values.float() / scale.float()).to(x.dtype)


def _unpacked_int4(kernel, axis, filters):
    """`keras.quantizers.unpack_int4` (the low nibble first): by shifts
    eagerly; under tracing by arithmetic alone, as the exporters to ONNX,
    OpenVINO and LiteRT convert no bitwise op from torch. The high nibble of
    a signed byte `b` is `floor(b / 16)`, the low one `b - 16 * high`, from 0
    to 15, less 16 from 8 up."""
    if _eager():
        low, high = (kernel << 4) >> 4, kernel >> 4
    else:
        kernel = kernel.to(torch.float32)
        high = torch.floor(kernel / 16)
        low = kernel - 16 * high
        low = low - 16 * (low >= 8).to(torch.float32)
    kernel = torch.stack([low, high], axis + 1)
    return kernel.flatten(axis, axis + 1).narrow(axis, 0, filters)


def dequantized_kernel(kernel, scale, *, filters, axis, packed, dtype):
    """The integer kernel (int4 packed along `axis`) times the reciprocal of
    its scale per filter, in `dtype`, in raw torch ops (each Keras op costs
    an eager call a dispatch)."""
    kernel, scale = _tensor(kernel), _tensor(scale)
    if packed:
        kernel = _unpacked_int4(kernel, axis, filters)
    shape = [1] * kernel.ndim
    shape[axis] = filters
    dequantized = kernel.to(torch.float32) * torch.reciprocal(scale.to(torch.float32)).view(shape)
    return dequantized.to(getattr(torch, dtype))


def straight_through(x, quantize):
    """Only where autograd records a gradient of `x`: each op costs an eager
    call. An export's trace records none, and torch.jit.trace (OpenVINO's
    exporter) traces twice, once without autograd, and fails where the two
    graphs differ."""
    if _is_exporting() or torch.jit.is_tracing():
        return quantize(x)
    if torch.is_grad_enabled() and x.requires_grad:
        return (x - x.detach()) + quantize(x).detach()
    return quantize(x)


def _torch_padding(window):
    """(padding, output_padding) giving the window, or None if torch cannot."""
    padding = window.crop_before
    output_padding = window.crop_before - window.crop_after
    if output_padding == 0 or (window.dilation == 1 and 0 < output_padding < window.stride):
        return padding, output_padding
    # torch 2.13's CPU kernel gradient is wrong for output_padding with
    # dilation (tests/test_paths.py caught it); the crop path avoids both.
    return None


def lay_out_kernel(variable, path, windows, settings):
    """Stores the kernel variable's values in the memory order torch's op
    reads its weight in, behind the Keras shape (*kernel, filters, in), on
    the native path that calls torch's transposed convolution:
    (in, filters, *kernel) contiguous, or (in, *kernel, filters) where the
    input is in channels_last memory format, as torch then copies the weight
    to (forward and backward, and once more to give the gradient the
    variable's strides). `_torch_weight` is then a free view, where the
    copies took 3.3 ms of a 8.5 ms forward on CPU (3x3x3 kernel, 128 -> 256
    channels) and half a millisecond of a 1.2 ms forward+backward (3x3
    kernel, 128 -> 128 channels, 4x4 pixels). With groups torch's weight is
    a copy in any case (`_torch_weight`), which this order makes a copy of
    contiguous runs (2x to 7x faster: 47 us where it took 339 us, 5x5
    kernel, 256 -> 256 channels, 4 groups). Torch keeps the strides through
    `assign` (an in-place copy), the optimizers' in-place updates and
    autograd, which gives gradients the variable's own strides."""
    groups, data_format = settings["groups"], settings["data_format"]
    value = variable.value
    on_cpu = value.device.type == "cpu"
    if path != "native" or _tiles(windows, data_format, groups, on_cpu):
        return
    channels = value.shape[-1] * groups
    _lay_out(value, _in_channels_last_memory(windows, groups, channels, data_format, on_cpu))


def _lay_out(value, channels_last_memory):
    """Stores the Keras kernel `value`'s values in torch's weight order, or
    with `channels_last_memory` in (in, *kernel, filters)."""
    rank = value.ndim - 2
    order = (rank + 1, *range(rank), rank) if channels_last_memory else _torch_order(rank)
    inverse = [order.index(axis) for axis in range(value.ndim)]
    value.data = value.detach().permute(order).contiguous().permute(inverse)


def _tiles(windows, data_format, groups, on_cpu):
    """Whether `native` takes `_tiled`, the matmul in Keras's kernel order."""
    return on_cpu and data_format == "channels_last" and matmul.applies(windows, groups)


def _torch_order(rank):
    """The axes of a Keras kernel (*kernel, filters, in) in torch's order."""
    return (rank + 1, rank, *range(rank))


def _torch_weight(kernel, groups, channels_last_memory=False):
    """(*kernel, filters, in / groups) as torch's (in, filters / groups, *kernel).
    With groups this is a copy, made with `channels_last_memory` in that
    format's order (in, *kernel, filters / groups): torch would otherwise
    copy it again into that order in the forward, the backward and for the
    gradient. The copy is taken from the kernel viewed in its memory order
    where `lay_out_kernel` set one: copied in runs, and the backward gives
    the gradient the variable's strides (else autograd copies it once more)."""
    rank = kernel.ndim - 2
    if groups == 1:
        return kernel.permute(_torch_order(rank))
    *size, filters, per_group = kernel.shape
    if not channels_last_memory:
        stored = kernel.permute(_torch_order(rank))  # (in / groups, filters, *kernel)
        split = stored.reshape(per_group, groups, filters // groups, *size)
        weight = split.transpose(0, 1)
        return weight.reshape(groups * per_group, filters // groups, *size)
    stored = kernel.permute(rank + 1, *range(rank), rank)  # (in / groups, *kernel, filters)
    split = stored.reshape(per_group, *size, groups, filters // groups)
    ordered = split.permute(rank + 1, 0, *range(1, rank + 1), rank + 2)
    ordered = ordered.reshape(groups * per_group, *size, filters // groups)
    return ordered.permute(0, rank + 1, *range(1, rank + 1))


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


# Explicit, non-negative axes: the TorchScript ONNX exporter writes
# `movedim(-1, 1)` as a Transpose with perm (0, -1, 1, ...), which onnxruntime
# rejects.
def _channels_first(x):
    return x.permute(shapes.to_channels_first(x.ndim - 2))


def _channels_last(y):
    return y.permute(shapes.to_channels_last(y.ndim - 2))


def _tflite_pads(window):
    """Whether TFLite's TRANSPOSE_CONV, which pads "VALID" (the full output)
    or "SAME" (`n * stride` positions, the smaller half cropped first), gives
    this window: litert-torch converts no other padding."""
    if window.crop_before == window.crop_after == 0:
        return True
    k, s = window.effective_kernel, window.stride
    return window.tail == s and k >= s and window.crop_before == (k - s) // 2


_CHANNELS_LAST_MEMORY = {2: torch.channels_last, 3: torch.channels_last_3d}


def _conv_arguments(windows, strides, dilation_rate, groups, pads=None):
    """(torch's keyword arguments, direct): direct where torch's own padding
    gives every window (`pads(window)`, if given, must also allow it), else
    the arguments give the full output, to be cropped."""
    rank = len(windows)
    paddings = [_torch_padding(w) if pads is None or pads(w) else None for w in windows]
    direct = None not in paddings
    arguments = dict(
        stride=list(strides),
        padding=[p for p, _ in paddings] if direct else [0] * rank,
        output_padding=[op for _, op in paddings] if direct else [0] * rank,
        dilation=list(dilation_rate),
        groups=groups,
    )
    return arguments, direct


def _transposed(x, weight, bias, windows, strides, dilation_rate, groups, pads=None):
    """channels_first, for an exported graph: one op, the bias inside it."""
    arguments, direct = _conv_arguments(windows, strides, dilation_rate, groups, pads)
    y = _CONV_TRANSPOSE[len(windows)](x, weight, bias if direct else None, **arguments)
    if direct:
        return y
    # The crop can also pad with zeros, which get the bias too.
    y = crop_to_window(y, windows, "channels_first")
    return y if bias is None else y + bias.reshape(-1, *[1] * len(windows))


class _Plan:
    """What a native call's settings fix, worked out once per setting
    (`_plan`): each call is then a few dictionary reads on top of torch's op.
    (The Python of a call, in grad mode and with cold caches after the
    previous op, had cost 0.1 to 0.15 ms, a tenth of a 1 ms layer.)"""

    def __init__(self, windows, strides, dilation_rate, data_format, groups, per_group, on_cpu):
        self.on_cpu = on_cpu
        self.tiles = _tiles(windows, data_format, groups, on_cpu)
        self.channels_first = data_format == "channels_first"
        self.channels_last_memory = _in_channels_last_memory(
            windows, groups, per_group * groups, data_format, on_cpu)
        self.lifted = on_cpu and len(windows) == 1
        if self.lifted:
            self.height = 2 if self.channels_first else 1
            windows, strides, dilation_rate = _as_2d(windows, strides, dilation_rate)
        rank = len(windows)
        self.windows = windows
        self.groups = groups
        self.arguments, self.direct = _conv_arguments(windows, strides, dilation_rate, groups)
        self.crops_only = all(w.crop_after >= 0 for w in windows)
        self.convolution = _CONV_TRANSPOSE[rank]
        self.memory_format = _CHANNELS_LAST_MEMORY.get(rank)
        self.torch_order = _torch_order(rank)
        self.bias_shape = (-1, *[1] * rank)
        self.bias_may_go_inside = self.direct and (
            not on_cpu or (groups == 1 and all(w.tail % w.stride == 0 for w in windows)))


@functools.lru_cache(maxsize=1024)
def _plan(windows, strides, dilation_rate, data_format, groups, per_group, on_cpu):
    return _Plan(windows, strides, dilation_rate, data_format, groups, per_group, on_cpu)


def _bias_inside(x, bias, plan):
    """Whether the bias goes in torch's op. On CPU, torch 2.13's transposed
    convolution with a bias measured about 10% faster than without one plus
    an add for one group, channels_last memory and output lengths that are
    multiples of their strides; elsewhere it ran up to 2.5x slower (e.g.
    kernel 3, stride 2, "valid"), and with groups up to 16x. Its backward
    in channels_last memory computes the bias gradient slowly (5.3 ms of 6.6
    ms on a 16x64x32x64 output, where autograd's sum of the add's gradient
    takes a fraction of that), so a bias that gets a gradient is added
    after."""
    if not plan.bias_may_go_inside:
        return False
    if not plan.on_cpu:
        return True
    if bias.requires_grad and torch.is_grad_enabled():
        return False
    return x.is_contiguous(memory_format=plan.memory_format)


_TORCH_OWN_KERNELS = {getattr(getattr(torch._C, "_ConvBackend", None), name, None)
                      for name in ("SlowTranspose2d", "SlowTranspose3d")} - {None}


def _runs_torch_own_kernel(x, weight, arguments):
    """Whether torch runs its own CPU kernel rather than oneDNN's (it does
    for some small calls, e.g. batch 1 and one group), which computes in
    contiguous memory only: its backward raises "grad_weight needs to be
    contiguous" for a weight laid out for channels_last memory. Torch's own
    choice is read, as it depends on the batch, the dtype and the CPU (not
    on the weight's strides or the input's memory format: checked on 2,592
    and 576 settings); where torch does not tell, it is assumed."""
    select = getattr(torch._C, "_select_conv_backend", None)
    if select is None or not _TORCH_OWN_KERNELS:
        return True
    a = arguments
    return select(x, weight, None, a["stride"], a["padding"], a["dilation"], True,
                  a["output_padding"], a["groups"]) in _TORCH_OWN_KERNELS


_OWN_KERNEL_CHOICES = {}


def _runs_own_kernel_for(x, kernel, plan):
    """`_runs_torch_own_kernel` for `x` and the Keras `kernel` (lifted),
    remembered by what torch's choice reads: the input's shape, dtype and
    device, the settings, whether oneDNN is enabled, and the number of
    threads (one thread picks torch's own kernel for some calls that two
    give oneDNN, e.g. kernel 1, stride 1, batch 2; 36 of 576 settings; the
    filters, deterministic mode and 2 to 4 threads changed none)."""
    key = (plan, x.shape, x.dtype, x.device, torch.backends.mkldnn.enabled,
           torch.get_num_threads())
    own = _OWN_KERNEL_CHOICES.get(key)
    if own is None:
        if len(_OWN_KERNEL_CHOICES) >= 4096:
            _OWN_KERNEL_CHOICES.clear()
        own = _runs_torch_own_kernel(x, _weight_shaped(kernel, plan.groups), plan.arguments)
        _OWN_KERNEL_CHOICES[key] = own
    return own


def _cropped(y, windows, view):
    """channels_first `y` cut to the windows. With `view` (no gradient is
    taken and the windows only crop), a view, as a torch user slices it (a
    copy took 0.24 ms of a 2.5 ms forward, 3-D). Else one `F.pad` (negative
    widths crop), a new tensor whose gradient is one pad: slicing axis by
    axis made a full-size zero tensor per axis in the backward (3-D: 3x the
    op's own backward)."""
    if view:
        for axis, w in enumerate(windows, start=2):
            y = y.narrow(axis, w.crop_before, y.shape[axis] - w.crop_before - w.crop_after)
        return y
    widths = []
    for w in reversed(windows):
        widths += [-w.crop_before, -w.crop_after]
    return F.pad(y, widths)


def _zeros_inserted(x, strides):
    """channels_first `x` with `stride - 1` zeros between positions on each
    spatial axis (length `(n - 1) * stride + 1`), by pad and reshape."""
    for axis, stride in enumerate(strides, start=2):
        if stride > 1:
            shape = list(x.shape)
            x = F.pad(x.unsqueeze(axis + 1), [0, 0] * (x.ndim - axis - 1) + [0, stride - 1])
            shape[axis] = shape[axis] * stride
            x = x.reshape(shape).narrow(axis, 0, shape[axis] - stride + 1)
    return x


def _in_channels_first(compute, inputs, data_format, contiguous=False):
    """`compute` on channels_first inputs, a view of channels_last ones, or
    with `contiguous` a copy: inductor's layout code fails on the view's
    strides once sizes are dynamic ("cannot determine truth value of
    Relational"), as Keras's own torch convolutions found."""
    if data_format == "channels_first":
        return compute(inputs)
    x = _channels_first(inputs)
    return _channels_last(compute(x.contiguous() if contiguous else x))


def _channels_last_memory(windows, groups, channels):
    """Whether torch's CPU kernel gets the input in channels_last memory
    format (NHWC strides), which oneDNN computes without reordering.

    Fitted on sweep seed 1 (`docs/data/benchmark-log.md`): for channels_last inputs
    (a free view) it won on nearly every shape; for channels_first ones,
    after the copy, it won where some stride is above 1 and there are at
    most 64 input channels per group, and lost at stride 1 or with many
    channels, where the built-in's contiguous NCHW stays."""
    return max(w.stride for w in windows) > 1 and channels // groups <= 64


def _in_channels_last_memory(windows, groups, channels, data_format, on_cpu):
    """Whether `native` hands torch's op its input in channels_last memory
    format: channels_last inputs are in it (a permuted view), and on CPU so
    are 1-D inputs (`_as_2d`) and the channels_first ones that
    `_channels_last_memory` copies into it."""
    if not on_cpu:
        return data_format == "channels_last" and len(windows) > 1
    return (data_format == "channels_last" or len(windows) == 1
            or _channels_last_memory(windows, groups, channels))


def _as_2d(windows, strides, dilation_rate):
    """A 1-D call's settings as a 2-D one's of height 1: torch's CPU
    conv_transpose1d has no channels_last memory format, and measured 1.2x
    to 3x slower than conv_transpose2d given one."""
    unit = shapes.AxisWindow(1, 1, 1, 0, 1)
    return (unit, *windows), (1, *strides), (1, *dilation_rate)


def _weight_shaped(kernel, groups):
    """A tensor of the shape and dtype of torch's weight for `kernel`, with
    no data of its own."""
    *size, filters, per_group = kernel.shape
    return kernel.new_empty(()).expand(groups * per_group, filters // groups, *size)


def _weight(lifted_kernel, plan, own_kernel):
    """Torch's weight for the Keras kernel (the lifted one of a 1-D call):
    contiguous where torch runs its own CPU kernel (`own_kernel`), else in
    the order that the input's memory format reads. A grouped weight is a
    copy in any case, made straight in that order. For one group it is a
    view of the kernel where the kernel's memory order (set at build,
    `lay_out_kernel`) fits, else a copy: torch picks its kernel by the
    batch, which is unknown at build. A call never lays the variable out
    again: a distributed engine (DDP's gradient buckets, FSDP's shards)
    holds views of its storage and strides."""
    wanted = plan.channels_last_memory and not own_kernel
    if plan.groups > 1:
        weight = _torch_weight(lifted_kernel, plan.groups, wanted)
        return weight.contiguous() if own_kernel else weight
    weight = lifted_kernel.permute(plan.torch_order)
    memory_format = plan.memory_format if wanted else torch.contiguous_format
    return weight.contiguous(memory_format=memory_format)


def native(inputs, kernel, bias, *, windows, strides, dilation_rate, data_format, groups,
           **_):
    """Where torch runs its own CPU kernel (`_runs_torch_own_kernel`), which
    computes in contiguous memory only, the input is copied to it once
    (torch's kernel copied a channels_last input three times: the forward
    and both gradients);
    elsewhere, with the plan's `channels_last_memory`, the input is copied
    into that memory format if it is not in it."""
    plan = _plan(tuple(windows), tuple(strides), tuple(dilation_rate), data_format, groups,
                 kernel.shape[-1], inputs.device.type == "cpu")
    if plan.tiles:
        return _tiled(inputs, kernel, bias, windows)
    x, lifted_kernel = inputs, kernel
    if plan.lifted:
        x, lifted_kernel = inputs.unsqueeze(plan.height), kernel.unsqueeze(0)
    if not plan.channels_first:
        x = _channels_first(x)
    own_kernel = _runs_own_kernel_for(x, lifted_kernel, plan)
    weight = _weight(lifted_kernel, plan, own_kernel)
    if own_kernel:
        x = x.contiguous()
    elif plan.channels_last_memory:
        x = x.contiguous(memory_format=plan.memory_format)
    inside = bias is not None and _bias_inside(x, bias, plan)
    y = plan.convolution(x, weight, bias if inside else None, **plan.arguments)
    added = bias is None or inside
    view = not plan.direct and plan.crops_only and not y.requires_grad
    if not added and (plan.direct or view):
        # In place on a fresh tensor that no backward keeps: a new tensor
        # the output's size measured up to 1.6x slower on CPU (3-D). Before
        # a crop to a view: on the view it took 8x as long (3-D).
        y, added = y.add_(bias.reshape(plan.bias_shape)), True
    if not plan.direct:
        y = _cropped(y, plan.windows, view)
    if not added:
        # The crop padded zeros too, which get the bias.
        y = y.add_(bias.reshape(plan.bias_shape))
    if not plan.channels_first:
        y = _channels_last(y)
    return y.squeeze(plan.height) if plan.lifted else y


def exported(inputs, kernel, bias, *, format, windows, strides, dilation_rate, data_format,
             groups, **_):
    weight = _torch_weight(kernel, groups)
    pads = _tflite_pads if format == "litert" else None
    if format == "litert" and max(strides) > 1 and max(dilation_rate) > 1:
        unit = [shapes.AxisWindow(w.kernel_size, 1, w.dilation, w.crop_before, w.tail)
                for w in windows]

        def compute(x):
            return _transposed(_zeros_inserted(x, strides), weight, bias, unit,
                               [1] * len(windows), dilation_rate, groups, pads)
    else:
        def compute(x):
            return _transposed(x, weight, bias, windows, strides, dilation_rate, groups, pads)

    return _in_channels_first(compute, inputs, data_format, contiguous=True)
