"""TensorFlow path. channels_last inputs are computed in NHWC. channels_first
ones are handed to TF in NCHW, as the built-in does, where TF's kernels take
that layout (on CPU only through oneDNN); on CPU their gradients are then
computed in NHWC, between transposes (`_nchw_with_nhwc_gradients`).
Without oneDNN they are transposed to NHWC around the whole op.

`auto` takes `native` on every setting, the built-in's own algorithm: over
the named workloads (`docs/data/benchmark-log.md`) and the shapes of issue 14, the
alternatives won on some shapes and lost on others (the sub-pixel forward:
1.78x on one DCGAN layer, 0.79x to 0.86x at half its width; a plain
convolution for stride 1: 1.3x on one shape, 0.84x on another), on CPUs whose
oneDNN kernels differ. The other paths stay available by name.

It is `tf.nn.conv_transpose`. Where TF's "SAME"/"VALID" with an
explicit `output_shape` select exactly the Keras window, TF computes just that
window; elsewhere (e.g. "same" with `output_padding=0` and an even kernel) it
computes the full output, which is then cropped, as are explicit
(PyTorch-style) paddings and dilated kernels. TF has no grouped transposed
convolution: `native` runs one per group and concatenates.

`exported` is what a graph traced for an export format carries: the
transposed convolution alone, which tf2onnx, the TFLite converter and
OpenVINO turn into their own op. TFLite's TRANSPOSE_CONV has no dilation,
so a dilated layer exports to LiteRT as the generic path (zero insertion and
a dilated convolution); so it does to a SavedModel, which then runs on CPUs
whose TF kernels refuse dilation (`kernels_accept`).
"""

import functools

import tensorflow as tf
from keras import ops

from keras_ct_plugin import col2im
from keras_ct_plugin import generic
from keras_ct_plugin import tracing
from keras_ct_plugin import shapes
from keras_ct_plugin.window import crop_to_window


def why_not(path, windows, settings):
    if path == "native" and _refused_dilation(windows):
        return ("TensorFlow's kernels on this machine refuse dilation_rate above 1 in a "
                "transposed convolution (oneDNN is off: TF_ENABLE_ONEDNN_OPTS=0, or a CPU "
                "where TensorFlow leaves it off)")
    return None


def export_target(inputs):
    """The `model.export` format this call is traced for, or None."""
    return tracing.traced_format(not tf.executing_eagerly())


def export_format(inputs):
    return export_target(inputs)


def as_constant(compute):
    """Evaluated eagerly, outside the function being traced."""
    with tf.init_scope():
        value = compute()
    return tf.constant(value)


def straight_through(x, quantize):
    """No arithmetic forward: TensorFlow's graphs run each op on its own."""
    return tf.grad_pass_through(quantize)(x)


def preference(windows, settings):
    if _refused_dilation(windows):
        # Fitted on six dilated shapes with oneDNN off (docs/data/benchmark-log.md):
        # col2im's forward and backward are matmuls and slices, which every
        # TF kernel takes; it beat the generic path's space-to-batch
        # convolution on 5 of 6 forward+backwards.
        return ("col2im",)
    return ("native",)


DEVICE = "gpu" if tf.config.list_physical_devices("GPU") else "cpu"


def _refused_dilation(windows):
    return any(w.dilation > 1 for w in windows) and not kernels_accept(len(windows),
                                                                      dilated=True)


@functools.lru_cache(maxsize=None)
def kernels_accept(rank, dilated=False, channels_first=False, dtype="float32"):
    """Whether TF's kernels on this machine compute a `rank`-D transposed
    convolution (1-D runs as 2-D) in `dtype`, dilated or in NCHW, forward
    and gradients. TF's own CPU kernels refuse both ("Current CPU
    implementations do not yet support dilation rates larger than 1", "only
    supports NHWC"); oneDNN's take them, and oneDNN is on by default only
    on some x86 CPUs (TF_ENABLE_ONEDNN_OPTS). Which kernel runs also depends
    on the dtype: with oneDNN on, an AVX2 CPU left float16 and bfloat16 NCHW
    to TF's own kernel. A tiny op is run once per question, eagerly, to find
    out."""
    rank = max(rank, 2)
    spatial = [3] * rank
    shape = [1, 2, *spatial] if channels_first else [1, *spatial, 2]
    dilations = [2] * rank if dilated else [1] * rank
    full = [(n - 1) * 2 + (3 - 1) * d + 1 for n, d in zip(spatial, dilations)]
    output = [1, 2, *full] if channels_first else [1, *full, 2]
    try:
        with tf.init_scope():
            x = tf.ones(shape, dtype)
            kernel = tf.ones([3] * rank + [2, 2], dtype)
            with tf.GradientTape() as tape:
                tape.watch([x, kernel])
                y = tf.nn.conv_transpose(x, kernel, output, [2] * rank, padding="VALID",
                                         dilations=dilations,
                                         data_format=_NC_FORMATS[rank] if channels_first else None)
            tape.gradient(y, [x, kernel])
    except (tf.errors.InvalidArgumentError, tf.errors.UnimplementedError):
        return False
    return True


def _takes_nchw(rank, dtype):
    return kernels_accept(rank, channels_first=True, dtype=dtype)


def _tensor(value, dtype):
    """`value` as a `tf.Tensor`. A Keras variable is read here: TF's eager
    fast path rejects it and reruns the op through a much slower Python
    fallback (about 0.1 ms an op on the seed example)."""
    return tf.convert_to_tensor(ops.convert_to_tensor(value, dtype=dtype))


def add_bias(outputs, bias, data_format):
    """`tf.nn.bias_add`, whose gradient is TF's fused BiasAddGrad."""
    bias = _tensor(bias, outputs.dtype)
    return tf.nn.bias_add(outputs, bias,
                          data_format="N...C" if data_format == "channels_last" else "NC...")


def _tf_selects_window(window, padding, rank):
    """TF accepts an `output_shape` when the forward convolution with that
    padding maps it back to the input size."""
    if not isinstance(padding, str) or window.dilation > 1:
        return False
    k, s, tail = window.effective_kernel, window.stride, window.tail
    if padding == "valid":
        return window.crop_before == 0 and k <= tail < k + s
    if rank == 3 and tail > k:
        # TF 2.21's input gradient of a 3-D "SAME" transposed convolution is
        # wrong when stride - kernel >= 2 on an axis (the conformance suite
        # caught kernel 1, stride 3); computing the full output is right.
        return False
    return 1 <= tail <= s


def _static_shape(x, filters, lengths, channels_first):
    """The output shape as far as the input's static shape tells it."""
    spatial = x.shape[2:] if channels_first else x.shape[1:-1]
    sizes = [None if n is None else length(n) for n, length in zip(spatial, lengths)]
    return [x.shape[0], filters, *sizes] if channels_first else [x.shape[0], *sizes, filters]


def _output_shape(x, filters, lengths, channels_first):
    """A constant where the input's shape is known, so that no shape op runs
    eagerly (a Python list would send the op down TF's slow eager fallback),
    else a tensor computed from the input's dynamic shape."""
    if None not in x.shape:
        return tf.constant(_static_shape(x, filters, lengths, channels_first), dtype=tf.int32)
    dynamic = tf.shape(x)
    first = 2 if channels_first else 1
    sizes = []
    for i, length in enumerate(lengths):
        n = x.shape[first + i]
        sizes.append(length(dynamic[first + i] if n is None else n))
    batch = dynamic[0] if x.shape[0] is None else x.shape[0]
    return tf.stack([batch, filters, *sizes] if channels_first else [batch, *sizes, filters])


_NC_FORMATS = {2: "NCHW", 3: "NCDHW"}
_FILTER_GRADIENT = {2: tf.raw_ops.Conv2DBackpropFilter, 3: tf.raw_ops.Conv3DBackpropFilterV2}
_CONVOLUTION = {2: tf.raw_ops.Conv2D, 3: tf.raw_ops.Conv3D}


def _nchw_with_nhwc_gradients(x, kernel, shape, strides, padding, dilations):
    """`tf.nn.conv_transpose` on NCHW `x`, the built-in's forward, whose
    gradients are the ops TF's own gradient of it runs, in NHWC between
    transposes: on CPU (oneDNN) the NCHW forward measured faster than NHWC
    between transposes, and the NHWC gradients faster than the NCHW ones
    (sweep seed 6, `docs/data/benchmark-log.md`)."""
    rank = len(strides)
    to_last, to_first = shapes.to_channels_last(rank), shapes.to_channels_first(rank)
    attributes = dict(strides=[1, *strides, 1], padding=padding, dilations=[1, *dilations, 1])

    @tf.custom_gradient
    def transposed(x, kernel):
        y = tf.nn.conv_transpose(x, kernel, shape, strides, padding=padding,
                                 data_format=_NC_FORMATS[rank], dilations=dilations)

        def gradients(dy):
            dy = tf.transpose(dy, to_last)
            dx = _CONVOLUTION[rank](input=dy, filter=kernel, **attributes)
            dkernel = _FILTER_GRADIENT[rank](input=dy, filter_sizes=tf.shape(kernel),
                                             out_backprop=tf.transpose(x, to_last),
                                             **attributes)
            return tf.transpose(dx, to_first), dkernel

        return y, gradients

    return transposed(x, kernel)


def _transposed(x, kernel, windows, strides, padding, groups, channels_first=False):
    rank = len(windows)
    channel_axis = 1 if channels_first else -1
    if rank == 1:
        # As a 2-D one of height 1, with a 2-D output shape: TF's own 1-D op
        # slices and re-concatenates the output shape, more nodes to export.
        unit = shapes.AxisWindow(1, 1, 1, 0, 1)
        height = 2 if channels_first else 1
        y = _transposed(tf.expand_dims(x, height), tf.expand_dims(kernel, 0), (unit, *windows),
                        (1, *strides), padding, groups, channels_first)
        return tf.squeeze(y, height)
    dilations = [w.dilation for w in windows]
    if all(_tf_selects_window(w, padding, rank) for w in windows):
        lengths = [w.length for w in windows]
        tf_padding, crop = padding.upper(), False
    else:
        lengths = [w.full_length for w in windows]
        tf_padding, crop = "VALID", True

    def transposed(x, kernel):
        shape = _output_shape(x, kernel.shape[-2], lengths, channels_first)
        if channels_first and DEVICE == "cpu":
            return _nchw_with_nhwc_gradients(x, kernel, shape, list(strides), tf_padding,
                                             dilations)
        return tf.nn.conv_transpose(x, kernel, shape, list(strides), padding=tf_padding,
                                    dilations=dilations,
                                    data_format=_NC_FORMATS[rank] if channels_first else None)

    if groups == 1:
        y = transposed(x, kernel)
    else:
        y = tf.concat([transposed(x_g, kernel_g) for x_g, kernel_g in zip(
            tf.split(x, groups, axis=channel_axis), tf.split(kernel, groups, axis=-2))],
            axis=channel_axis)
    # Not `tf.ensure_shape`: TFLite runs it only with the Flex delegate.
    y.set_shape(_static_shape(x, kernel.shape[-2], lengths, channels_first))
    if not crop:
        return y
    return crop_to_window(y, windows, "channels_first" if channels_first else "channels_last")


def _in_nhwc(compute, inputs, kernel, bias, data_format):
    """`compute(x, kernel)` on NHWC `x`, plus the bias, in `data_format`."""
    rank = inputs.shape.rank - 2
    x = inputs
    kernel = _tensor(kernel, inputs.dtype)
    if data_format == "channels_first":
        x = tf.transpose(x, shapes.to_channels_last(rank))
    y = compute(x, kernel)
    if bias is not None:
        y = add_bias(y, bias, "channels_last")
    if data_format == "channels_first":
        y = tf.transpose(y, shapes.to_channels_first(rank))
    return y


def native(inputs, kernel, bias, *, windows, strides, padding, data_format, groups, **_):
    dtype = inputs.dtype.name
    if any(w.dilation > 1 for w in windows) and not kernels_accept(len(windows), dilated=True,
                                                                   dtype=dtype):
        # The path was chosen for float32 (`preference`); this dtype's kernels
        # refuse dilation.
        y = col2im.conv_transpose(inputs, kernel, windows=windows, data_format=data_format,
                                  groups=groups)
        return y if bias is None else add_bias(y, bias, data_format)
    if data_format == "channels_first" and _takes_nchw(len(windows), dtype):
        y = _transposed(inputs, _tensor(kernel, inputs.dtype), windows, strides, padding,
                        groups, channels_first=True)
        return y if bias is None else add_bias(y, bias, data_format)

    def compute(x, kernel):
        return _transposed(x, kernel, windows, strides, padding, groups)

    return _in_nhwc(compute, inputs, kernel, bias, data_format)


def exported(inputs, kernel, bias, *, format, windows, strides, padding, data_format, groups,
             **settings):
    if format in ("litert", "tf_saved_model") and any(w.dilation > 1 for w in windows):
        def compute(x, kernel):
            return generic.conv_transpose(x, kernel, windows=windows, strides=strides,
                                          data_format="channels_last", **settings)
    else:
        def compute(x, kernel):
            return _transposed(x, kernel, windows, strides, padding, groups)

    return _in_nhwc(compute, inputs, kernel, bias, data_format)
