"""int8 and int4 weight quantization for the transposed convolution layers,
with the API and semantics of Keras's `Dense` (Keras 3.15.1,
`keras/src/layers/core/dense.py`): `layer.quantize(mode, config=None)` and
`model.quantize(mode)`, the `QuantizedDTypePolicy` ("int8_from_float32"),
the `quantization_config` argument, LoRA on a quantized layer, and `.keras`
files that hold the integer kernel and its scales.

The kernel has shape `kernel_size + (filters, in_channels // groups)`. Output
channel `f` sums exactly the weights at index `f` of the filters axis (with
groups too: `f` lies in one group, and its weights are that group's slice),
so one symmetric scale per output channel, `max_value / max|w|` over those
weights, comes out of its sum. Inputs are quantized as Dense quantizes them
by default: int8 per position, over the channels (one scale per row of the
GEMM that a transposed convolution is before its col2im); int4 leaves them in
float. A quantized layer computes with the dequantized operands, which are
the integer operands over their scales: every path serves it.
"""

import keras
import numpy as np
from keras import ops

from keras_ct_plugin import dispatch

MODES = ("int8", "int4")
RANGES = {"int8": (-127, 127), "int4": (-8, 7)}


def config_class():
    """keras.quantizers.QuantizationConfig, or None on a Keras without it."""
    return getattr(keras.quantizers, "QuantizationConfig", None)


def _default_block_size():
    """Keras's default int4 block size (Dense quantizes blocks of its inputs
    by default); these layers quantize int4 per output channel."""
    return keras.quantizers.Int4QuantizationConfig().block_size


def _is_plain_abs_max(quantizer):
    """Whether `quantizer` is Keras's own AbsMaxQuantizer into int8 with a
    symmetric range, or one wider below."""
    low, top = quantizer.value_range
    return (type(quantizer) is keras.quantizers.AbsMaxQuantizer
            and quantizer.output_dtype == "int8" and -128 <= low <= -top and top <= 127)


def _abs_max_dequantized(x, axis, value_range, epsilon):
    """`keras.quantizers.abs_max_quantize`'s values over its scale, to the
    bit, in fewer ops: no round trip through int8, and no clip in float32,
    where `|x| * (top / (max|x| + epsilon))` stays within a few ulps of `top`
    and so rounds to at most `top`. (In 16 bits the product can round up
    past `top + 0.5`: there it clips.)"""
    fast = dispatch.in_backend_ops("abs_max_dequantized", x, axis, value_range, epsilon)
    if fast is not None:
        return fast
    low, top = value_range
    scale = ops.divide(top, ops.add(ops.max(ops.abs(x), axis=axis, keepdims=True), epsilon))
    scale = ops.cast(scale, x.dtype)
    values = ops.round(ops.multiply(x, scale))
    if dispatch.dtype_name(x.dtype) != "float32":
        values = ops.clip(values, low, top)
    return _dequantized(values, scale, x.dtype)


def _dequantized(values, scale, dtype):
    if dispatch.dtype_name(dtype) == "float32" and dispatch.dtype_name(values.dtype) == "float32":
        return ops.divide(values, scale)
    dequantized = ops.divide(ops.cast(values, "float32"), ops.cast(scale, "float32"))
    return ops.cast(dequantized, dtype)


class WeightQuantization:
    """Mixed into `BaseConvTranspose`, whose `build` calls `quantized_build`
    where the layer's dtype policy is a quantized one (a loaded model)."""

    def _unserved(self, mode):
        return NotImplementedError(
            f"Layer {type(self).__name__} does not serve quantization mode {mode!r}. "
            f"Expected one of {', '.join(map(repr, MODES))}. Received: mode={mode!r}"
        )

    @property
    def _quantized(self):
        return getattr(self, "_is_quantized", False)

    def quantize(self, mode=None, type_check=True, config=None):
        from keras_ct_plugin import layers

        if type_check and type(self) not in layers.PUBLIC:
            raise self._not_implemented_error(self.quantize)
        if config_class() is None:
            raise NotImplementedError(
                f"Quantizing {type(self).__name__} needs keras.quantizers."
                f"QuantizationConfig (Keras 3.13 or newer). This is Keras "
                f"{keras.__version__}."
            )
        self._check(mode, config)
        quantized, scale = self._quantized_values(self._kernel, mode, config)
        self.quantization_config = config
        del self._kernel
        self.quantized_build(self._kernel_shape, mode, config)
        self._kernel.assign(quantized)
        self.kernel_scale.assign(scale)
        if self.dtype_policy.quantization_mode is None:
            self.dtype_policy = keras.dtype_policies.get(
                f"{mode}_from_{self.dtype_policy.name}")

    def _check(self, mode, config):
        if mode not in MODES:
            raise self._unserved(mode)
        block_size = getattr(config, "block_size", None)
        if block_size not in (None, -1) and block_size != _default_block_size():
            raise ValueError(
                "Invalid value for argument `config`. Expected int4 per output "
                f"channel (block_size None, -1 or Keras's default "
                f"{_default_block_size()}). Received: block_size={block_size!r}")

    def quantized_build(self, kernel_shape, mode, config=None):
        self._check(mode, config)
        stored = list(kernel_shape)
        if mode == "int4":
            stored[self.rank] = (stored[self.rank] + 1) // 2
        self._kernel = self.add_weight(name="kernel", shape=tuple(stored),
                                       initializer="zeros", dtype="int8", trainable=False)
        self.kernel_scale = self.add_weight(name="kernel_scale", shape=(self.filters,),
                                            initializer="ones", trainable=False)
        default = keras.quantizers.AbsMaxQuantizer() if mode == "int8" else None
        self.inputs_quantizer = config_class().activation_quantizer_or_default(
            config, default)
        self._is_quantized = True

    def _weight_quantizer(self, mode, config):
        axes = tuple(i for i in range(self.rank + 2) if i != self.rank)
        low, high = RANGES[mode]
        default = keras.quantizers.AbsMaxQuantizer(
            axis=axes, value_range=(low, high), output_dtype="int8")
        return config_class().weight_quantizer_or_default(config, default)

    def _quantized_values(self, kernel, mode, config):
        """(the stored kernel: int8, int4 packed on the filters axis; its
        scale per output channel) of a float kernel."""
        values, scale = self._weight_quantizer(mode, config)(kernel, to_numpy=True)
        scale = np.asarray(ops.convert_to_numpy(scale))
        if scale.size != self.filters or (
                scale.ndim == self.rank + 2 and scale.shape[self.rank] != self.filters):
            raise ValueError(
                "Invalid weight quantizer in `config`. Expected a scale per output "
                f"channel: {self.filters} values along the kernel's filters axis "
                f"(axis {self.rank} of {tuple(kernel.shape)}). Received a scale of "
                f"shape {scale.shape}.")
        if mode == "int4":
            values = keras.quantizers.pack_int4(values, axis=self.rank)[0]
        return values, scale.reshape(-1)

    def _float_kernel(self, kernel=None, scale=None):
        """The kernel in the compute dtype: the variable, or a quantized
        layer's integer kernel over its scales. `kernel` and `scale`: values
        to use instead of the variables."""
        kernel = self._kernel if kernel is None else kernel
        if not self._quantized:
            return kernel
        scale = self.kernel_scale if scale is None else scale
        packed = self.quantization_mode == "int4"
        fast = dispatch.in_backend_ops("dequantized_kernel", kernel, scale, filters=self.filters,
                                       axis=self.rank, packed=packed, dtype=self.compute_dtype)
        if fast is not None:
            return fast
        if packed:
            kernel = keras.quantizers.unpack_int4(kernel, self.filters, axis=self.rank)
        # Times the reciprocal, not over the scale: OpenVINO keeps an int8
        # constant, converted then multiplied, in int8 (its compressed
        # weights); a division it folds into a float constant.
        scale = ops.reshape(ops.cast(scale, "float32"), (1,) * self.rank + (self.filters, 1))
        return ops.cast(ops.multiply(ops.cast(kernel, "float32"), ops.divide(1.0, scale)),
                        self.compute_dtype)

    def _quantized_inputs(self, inputs):
        """The inputs as the activation quantizer leaves them: their dequantized
        values forward, their own gradient backward (straight through)."""
        inputs = ops.cast(inputs, self.compute_dtype)
        quantizer = self.inputs_quantizer
        if quantizer is None:
            return inputs
        axis = -1 if self.data_format == "channels_last" else 1
        if _is_plain_abs_max(quantizer):
            def quantize(x):
                return _abs_max_dequantized(x, axis, quantizer.value_range,
                                            quantizer.epsilon)
        else:
            def quantize(x):
                values, scale = quantizer(x, axis=axis)
                return _dequantized(values, scale, x.dtype)
        return dispatch.straight_through(inputs, quantize)

    def _int8_call(self, inputs, output_size=None):
        return self._convolve(self._quantized_inputs(inputs), output_size)

    _int4_call = _int8_call

    def _requantized(self, float_kernel):
        """(stored kernel, scale) of a quantized layer's merged kernel (LoRA),
        quantized as `quantize` quantizes."""
        return self._quantized_values(float_kernel, self.quantization_mode,
                                      self.quantization_config)

    def _quantization_config(self):
        if self.quantization_config is None:
            return {}
        return {"quantization_config":
                keras.saving.serialize_keras_object(self.quantization_config)}
