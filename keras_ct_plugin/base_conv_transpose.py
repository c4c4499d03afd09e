"""The N-D transposed convolution layer that the public layers specialise."""

import warnings

import keras
from keras import activations
from keras import constraints
from keras import initializers
from keras import ops
from keras import regularizers

from keras_ct_plugin import arguments
from keras_ct_plugin import dispatch
from keras_ct_plugin import shapes
from keras_ct_plugin.lora import LowRankAdaptation
from keras_ct_plugin.quantization import WeightQuantization


class BaseConvTranspose(LowRankAdaptation, WeightQuantization, keras.layers.Layer):
    """Abstract N-D transposed convolution layer.

    Arguments, their order and the weights are those of
    `keras.layers.Conv2DTranspose`; `Conv1DTranspose`, `Conv2DTranspose` and
    `Conv3DTranspose` set the class attribute `rank`.
    """

    rank = None

    def __init__(
        self,
        filters,
        kernel_size,
        strides=1,
        padding="valid",
        output_padding=None,
        data_format=None,
        dilation_rate=1,
        activation=None,
        use_bias=True,
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        kernel_regularizer=None,
        bias_regularizer=None,
        activity_regularizer=None,
        kernel_constraint=None,
        bias_constraint=None,
        groups=1,
        implementation="auto",
        lora_rank=None,
        lora_alpha=None,
        quantization_config=None,
        **kwargs,
    ):
        rank = self.rank
        if rank is None:
            raise TypeError(
                "BaseConvTranspose is abstract: use Conv1DTranspose, "
                "Conv2DTranspose or Conv3DTranspose."
            )
        self.filters = arguments.positive_int(filters, "filters")
        self.kernel_size = arguments.int_tuple(
            kernel_size, rank, "kernel_size", minimum=1
        )
        settings = arguments.conv_transpose_settings(
            rank,
            strides,
            padding,
            output_padding,
            dilation_rate,
            keras.config.image_data_format() if data_format is None else data_format,
            groups,
            self.filters,
        )
        self.strides = settings["strides"]
        self.padding = settings["padding"]
        self.output_padding = settings["output_padding"]
        self.dilation_rate = settings["dilation_rate"]
        self.data_format = settings["data_format"]
        self.groups = settings["groups"]
        self._settings = settings
        self._windows = shapes.axis_windows(
            self.kernel_size,
            self.strides,
            self.dilation_rate,
            self.padding,
            self.output_padding,
        )
        self.implementation = arguments.choice(
            implementation, "implementation", dispatch.IMPLEMENTATIONS
        )
        reason = dispatch.why_not(self.implementation, self._windows, settings)
        if reason is not None:
            raise ValueError(
                f"Invalid value for argument `implementation`. "
                f"implementation={implementation!r} cannot serve this layer: "
                f"{reason}. Use implementation='auto' to let the layer choose."
            )
        # The settings are static: the path is chosen once.
        self._serving_path = dispatch.choose(self.implementation, self._windows, settings)
        self.activation = activations.get(activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializers.get(
            kernel_initializer or "glorot_uniform"
        )
        self.bias_initializer = initializers.get(bias_initializer or "zeros")
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        self._init_lora(lora_rank, lora_alpha)
        self.quantization_config = quantization_config

    def _input_channels(self, input_shape):
        expected = self._kernel.shape[-1] * self.groups if self.built else None
        return arguments.input_channels(
            input_shape, self.rank, self.data_format, expected, self.groups
        )

    def build(self, input_shape):
        in_channels = self._input_channels(input_shape)
        self._kernel_shape = self.kernel_size + (self.filters, in_channels // self.groups)
        if self.quantization_mode:
            self.quantized_build(self._kernel_shape, self.quantization_mode,
                                 self.quantization_config)
        else:
            self._kernel = self.add_weight(
                name="kernel",
                shape=self._kernel_shape,
                initializer=self.kernel_initializer,
                regularizer=self.kernel_regularizer,
                constraint=self.kernel_constraint,
            )
            dispatch.lay_out_kernel(self._kernel, self._serving_path, self._windows,
                                    self._settings)
        self.bias = None
        if self.use_bias:
            self.bias = self.add_weight(
                name="bias",
                shape=(self.filters,),
                initializer=self.bias_initializer,
                regularizer=self.bias_regularizer,
                constraint=self.bias_constraint,
            )
        self.built = True
        if self.lora_rank:
            self.enable_lora(self.lora_rank, lora_alpha=self.lora_alpha)

    def _for_output_size(self, input_shape, output_size):
        """(windows, settings, path) of a call: the layer's own, or with
        `output_size` those of the `output_padding` that gives it."""
        if output_size is None:
            return self._windows, self._settings, self._serving_path
        output_padding = arguments.output_padding_for_size(
            output_size, input_shape, self.kernel_size, self._settings
        )
        settings = {**self._settings, "output_padding": output_padding}
        windows = shapes.axis_windows(
            self.kernel_size, self.strides, self.dilation_rate, self.padding, output_padding
        )
        reason = dispatch.why_not(self.implementation, windows, settings)
        if reason is not None:
            raise ValueError(
                f"Invalid value for argument `output_size`. "
                f"implementation={self.implementation!r} cannot give "
                f"output_size={output_size!r}: {reason}."
            )
        return windows, settings, dispatch.choose(self.implementation, windows, settings)

    def call(self, inputs, output_size=None):
        """`output_size`: the spatial output sizes, one int per axis, among
        those that `output_padding` 0 to `max(stride, dilation) - 1` give
        (PyTorch's `output_size`); by default the layer's `output_padding`'s."""
        return self._convolve(inputs, output_size)

    def _convolve(self, inputs, output_size):
        self._input_channels(inputs.shape)
        windows, settings, path = self._for_output_size(inputs.shape, output_size)
        dtype = self.compute_dtype
        if dispatch.dtype_name(inputs.dtype) != dtype:
            arguments.real_dtype(inputs.dtype, "inputs")
        outputs = dispatch.conv_transpose(
            inputs,
            self._kernel_for(inputs),
            self.bias,
            implementation=path,
            windows=windows,
            dtype=dtype,
            **settings,
        )
        if self.activation is not None:
            outputs = self.activation(outputs)
        return outputs

    def compute_output_spec(self, inputs, output_size=None):
        arguments.real_dtype(inputs.dtype, "inputs")
        return keras.KerasTensor(
            self._output_shape(inputs.shape, output_size), dtype=self.compute_dtype
        )

    def compute_output_shape(self, input_shape):
        # Keras reads this signature: its arguments must be the call's
        # tensors, so `output_size` goes through compute_output_spec.
        return self._output_shape(input_shape, None)

    def _output_shape(self, input_shape, output_size):
        self._input_channels(input_shape)
        windows = self._for_output_size(input_shape, output_size)[0]
        return shapes.output_shape(input_shape, self.filters, windows, self.data_format)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "filters": self.filters,
                "kernel_size": self.kernel_size,
                "strides": self.strides,
                "padding": self.padding,
                "output_padding": self.output_padding,
                "data_format": self.data_format,
                "dilation_rate": self.dilation_rate,
                "activation": activations.serialize(self.activation),
                "use_bias": self.use_bias,
                "kernel_initializer": initializers.serialize(self.kernel_initializer),
                "bias_initializer": initializers.serialize(self.bias_initializer),
                "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
                "bias_regularizer": regularizers.serialize(self.bias_regularizer),
                "activity_regularizer": regularizers.serialize(
                    self.activity_regularizer
                ),
                "kernel_constraint": constraints.serialize(self.kernel_constraint),
                "bias_constraint": constraints.serialize(self.bias_constraint),
                "groups": self.groups,
                "implementation": self.implementation,
                **self._lora_config(),
                **self._quantization_config(),
            }
        )
        return config

    @classmethod
    def from_config(cls, config):
        """A model saved with a path the running backend lacks still loads,
        and runs with `implementation="auto"`. A config without the required
        arguments raises a ValueError (Keras would wrap a TypeError in a
        message about the whole model)."""
        missing = [key for key in ("filters", "kernel_size") if key not in config]
        if missing:
            raise ValueError(
                f"Invalid config for {cls.__name__} {config.get('name')!r}. "
                "Expected the keys 'filters' and 'kernel_size'. Received a "
                f"config without {' and '.join(map(repr, missing))}."
            )
        if config.get("quantization_config") is not None:
            config = {**config, "quantization_config": keras.saving.deserialize_keras_object(
                config["quantization_config"])}
        try:
            return cls(**config)
        except ValueError as error:
            if "`implementation`" not in str(error):
                raise
            warnings.warn(
                f"{error} Loading layer {config.get('name')!r} with "
                "implementation='auto' instead.",
                stacklevel=2,
            )
            return cls(**{**config, "implementation": "auto"})
