"""TensorFlow path: `tf.nn.conv_transpose` in NHWC, the layout TF's CPU
kernels support; channels_first inputs are transposed around it.

TF's CPU kernels reject dilation in transposed convolutions, so `native` only
serves `dilation_rate == 1`; the generic path covers the rest.
"""

import tensorflow as tf

from keras_ct_plugin.window import crop_to_window


def why_not(path, windows, settings):
    if max(settings["dilation_rate"]) > 1:
        return (
            "TensorFlow's CPU transposed convolution does not support "
            f"dilation_rate > 1 (received dilation_rate={settings['dilation_rate']})"
        )
    return None


def native(inputs, kernel, *, windows, strides, data_format, **_):
    rank = len(windows)
    x = inputs
    if data_format == "channels_first":
        x = tf.transpose(x, [0, *range(2, rank + 2), 1])
    shape = tf.shape(x)
    full_sizes = [
        (shape[1 + i] - 1) * w.stride + w.effective_kernel for i, w in enumerate(windows)
    ]
    output_shape = tf.stack([shape[0], *full_sizes, kernel.shape[-2]])
    full = tf.nn.conv_transpose(x, kernel, output_shape, list(strides), padding="VALID")
    full = tf.ensure_shape(full, [x.shape[0], *(
        None if n is None else (n - 1) * w.stride + w.effective_kernel
        for n, w in zip(x.shape[1:-1], windows)
    ), kernel.shape[-2]])
    if data_format == "channels_first":
        full = tf.transpose(full, [0, rank + 1, *range(1, rank + 1)])
    return crop_to_window(full, windows, data_format)
