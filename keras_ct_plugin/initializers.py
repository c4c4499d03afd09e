"""Kernel initializers that keep a transposed convolution free of
checkerboard artifacts (Odena et al. 2016, "Deconvolution and Checkerboard
Artifacts"), for kernels of shape `kernel_size + (filters, channels // groups)`."""

import math

import keras
import numpy as np
from keras import ops

from keras_ct_plugin import arguments

PACKAGE = "keras_ct_plugin"


def _spatial(shape, name):
    if len(shape) not in (3, 4, 5):
        raise ValueError(
            f"Invalid value for argument `shape`. {name} initializes the kernel of a "
            "1-D, 2-D or 3-D transposed convolution: kernel_size + (filters, channels "
            f"// groups), 3 to 5 axes. Received shape={tuple(shape)}."
        )
    return tuple(shape[:-2])


@keras.saving.register_keras_serializable(package=PACKAGE)
class BilinearUpsampling(keras.initializers.Initializer):
    """The kernel of bilinear upsampling by `factor` on each axis, the filler
    of FCN (Long et al. 2015) and Caffe's "bilinear".

    For a layer with `strides=factor`, `padding="same"` and `kernel_size =
    2 * factor - factor % 2` (1, 4, 5, 8, 9, ... for the factors 1, 2, 3, 4,
    5, ...), away from the borders the layer computes what
    `keras.layers.UpSampling2D(factor, interpolation="bilinear")` computes
    (half-pixel centres), channel by channel. Each output channel reads one
    input channel: with `filters` equal to the input channels and `groups=1`
    the kernel is diagonal; with one input channel per group, every filter
    gets the taps.
    """

    def __call__(self, shape, dtype=None):
        taps = 1.0
        for axis, k in enumerate(_spatial(shape, "BilinearUpsampling")):
            factor = math.ceil(k / 2)
            if k != 2 * factor - factor % 2:
                raise ValueError(
                    "Invalid value for argument `shape`. BilinearUpsampling needs each "
                    "kernel size to be 2 * factor - factor % 2 for an upsampling factor "
                    "(1, 4, 5, 8, 9, ...). Received kernel size "
                    f"{k} on spatial axis {axis} of shape={tuple(shape)}."
                )
            centre = (2 * factor - 1 - factor % 2) / (2 * factor)
            line = 1 - np.abs(np.arange(k) / factor - centre)
            taps = np.multiply.outer(taps, line)
        filters, per_group = shape[-2], shape[-1]
        kernel = np.zeros(tuple(shape))
        if per_group == 1:
            kernel[..., :, 0] = taps[..., None]
        elif filters == per_group:
            for channel in range(filters):
                kernel[..., channel, channel] = taps
        else:
            raise ValueError(
                "Invalid value for argument `shape`. BilinearUpsampling needs each output "
                "channel to read one input channel: filters equal to the input channels "
                "(groups=1), or one input channel per group. Received filters="
                f"{filters} and {per_group} input channels per group (shape={tuple(shape)})."
            )
        return ops.convert_to_tensor(kernel, dtype=dtype or keras.config.floatx())


@keras.saving.register_keras_serializable(package=PACKAGE)
class ICNR(keras.initializers.Initializer):
    """Draws from `initializer` a kernel `scale - 1` shorter on each axis and
    convolves it with a box of `scale` ones (ICNR, Aitken et al. 2017, "Checkerboard
    artifact free sub-pixel convolution", for a transposed convolution): every
    output phase then sums the same taps, so a constant input gives a constant
    output away from the borders, and the layer computes nearest-neighbour
    upsampling by `scale` followed by a convolution with the drawn kernel.

    Args:
        initializer: what the shorter kernel is drawn from (any Keras
            initializer or its name); "glorot_uniform" by default.
        scale: the layer's `strides`: an int, or one per spatial axis. Each
            kernel size must be at least its scale, with `dilation_rate` 1.
    """

    def __init__(self, initializer="glorot_uniform", scale=2):
        self.initializer = keras.initializers.get(initializer)
        if arguments.is_int(scale):
            arguments.positive_int(scale, "scale")
        elif not (isinstance(scale, (tuple, list)) and scale
                  and all(arguments.is_int(s) and s >= 1 for s in scale)):
            raise TypeError(
                "Invalid type for argument `scale`. Expected a positive int or a tuple "
                f"of positive ints, one per spatial axis. Received scale={scale!r} of "
                f"type {type(scale).__name__}."
            )
        self.scale = scale if arguments.is_int(scale) else tuple(scale)

    def __call__(self, shape, dtype=None):
        kernel_size = _spatial(shape, "ICNR")
        scale = arguments.int_tuple(self.scale, len(kernel_size), "scale", minimum=1)
        if any(k < s for k, s in zip(kernel_size, scale)):
            raise ValueError(
                "Invalid value for argument `scale`. ICNR needs each kernel size to be "
                f"at least its scale. Received scale={self.scale!r} for kernel size "
                f"{kernel_size} (shape={tuple(shape)})."
            )
        drawn = tuple(k - s + 1 for k, s in zip(kernel_size, scale)) + tuple(shape[-2:])
        kernel = self.initializer(drawn, dtype=dtype)
        for axis, s in enumerate(scale):
            widths = [(0, 0)] * len(shape)
            shifted = []
            for offset in range(s):
                widths[axis] = (offset, s - 1 - offset)
                shifted.append(ops.pad(kernel, widths))
            kernel = sum(shifted[1:], shifted[0])
        return kernel

    def get_config(self):
        return {"initializer": keras.initializers.serialize(self.initializer),
                "scale": self.scale}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        if "initializer" in config:
            config["initializer"] = keras.initializers.deserialize(config["initializer"])
        return cls(**config)
