"""What a backend module (`backends/<name>.py`) provides, and which backends
have one. `dispatch` imports the running backend's module, checks it against
`Backend` once, fills in the optional functions it leaves out, and calls
nothing else. Adding a backend is one module plus one entry in `MODULES`;
ARCHITECTURE.md shows a call's way through.

`windows` is a tuple of `shapes.AxisWindow`, one per spatial axis; `settings`
is the layer's strides, padding, output_padding, dilation_rate, data_format
and groups, as `BaseConvTranspose` validated them."""

from typing import Protocol

SETTINGS = ("strides", "padding", "output_padding", "dilation_rate", "data_format", "groups")

# Keras backend name: the module serving it.
MODULES = {
    "tensorflow": "keras_ct_plugin.backends.tensorflow",
    "jax": "keras_ct_plugin.backends.jax",
    "torch": "keras_ct_plugin.backends.torch",
    "openvino": "keras_ct_plugin.backends.openvino",
}


class Backend(Protocol):
    def preference(self, windows, settings):
        """The paths to try for `implementation="auto"`, fastest first."""

    def native(self, inputs, kernel, bias, *, windows, **settings):
        """The backend's own transposed convolution, plus `bias` if given.
        Takes by name the settings it reads, and `**_` for the others."""

    def export_target(self, inputs):
        """The `model.export` format this call is traced for, or None."""

    def export_format(self, inputs):
        """The format whose own op `exported` should trace, or None where the
        call runs its path (e.g. JAX keeps its fast paths for SavedModel)."""

    def exported(self, inputs, kernel, bias, *, format, windows, **settings):
        """The call as the format's own transposed-convolution op."""


REQUIRED = ("preference", "native", "export_target", "export_format")
# Optional functions, and what stands in where a module has none.
OPTIONAL = {
    # Needed where `export_format` names a format.
    "exported": None,
    # "native" cannot serve: the reason, else None.
    "why_not": lambda path, windows, settings: None,
    # Stores a new kernel variable in the memory order the op reads.
    "lay_out_kernel": lambda variable, path, windows, settings: None,
    # `compute()`, evaluated outside the graph being traced where it can be.
    "as_constant": lambda compute: compute(),
    # The bias added to a portable path's output; None: dispatch's own.
    "add_bias": None,
    # `kernel + scale * a @ b` in one op; None: keras.ops'.
    "add_low_rank": None,
    # `quantize(x)` forward, the gradient of `x` backward (a straight-through
    # estimator); None: `(x - stop_gradient(x)) + stop_gradient(quantize(x))`.
    "straight_through": None,
    # A quantized layer's kernel times the reciprocal of its scales, and its
    # inputs as Keras's AbsMaxQuantizer leaves them (to the bit), in the
    # backend's own ops; None, or a None returned: quantization.py's keras.ops.
    "dequantized_kernel": None,
    "abs_max_dequantized": None,
}
