"""Which export format, if any, the current call is being traced for.

An exported graph carries the format's own transposed-convolution op (ONNX
`ConvTranspose`, TFLite `TRANSPOSE_CONV`, OpenVINO
`ConvolutionBackpropData`), which runtimes, quantizers and delegates know,
rather than the paths that make training fast inside Keras. Each backend
module's `export_format(inputs)` asks `traced_format` and decides what its
own tracing means; `dispatch` then calls the backend's `exported`.

A call is traced for a format when
- it runs inside `exporting(format)`, for exports by other tools
  (`tf.lite.TFLiteConverter.from_keras_model`, `jax2onnx.to_onnx`, ...); or
- it is traced (not eager) while Keras's `model.export(..., format=...)` is
  on the call stack.
"""

import contextlib
import contextvars
import sys

FORMATS = ("tf_saved_model", "onnx", "openvino", "litert", "torch")

_EXPLICIT = contextvars.ContextVar("keras_ct_plugin_export_format", default=None)

# Keras's exporters, by module. Every format traces through the SavedModel
# machinery (`keras.src.export.saved_model*`, `keras.src.backend.*.export`),
# so the outermost exporter on the stack names the format.
_KERAS_EXPORTERS = {
    "keras.src.export.onnx": "onnx",
    "keras.src.export.tf2onnx_lib": "onnx",
    "keras.src.export.openvino": "openvino",
    "keras.src.export.litert": "litert",
    "keras.src.export.torch": "torch",
}


@contextlib.contextmanager
def exporting(format):
    """Trace the plugin's layers as `model.export(format=format)` does:
    with the format's own transposed-convolution op.

    For exports that do not go through `model.export`, e.g.

        with keras_ct_plugin.exporting("litert"):
            tflite = tf.lite.TFLiteConverter.from_keras_model(model).convert()
    """
    if format not in FORMATS:
        raise ValueError(
            "Invalid value for argument `format`. Expected one of "
            f"{', '.join(map(repr, FORMATS))}. Received format={format!r}."
        )
    token = _EXPLICIT.set(format)
    try:
        yield
    finally:
        _EXPLICIT.reset(token)


def _keras_export_on_stack():
    found = None
    frame = sys._getframe(2)
    while frame is not None:
        module = frame.f_globals.get("__name__", "")
        if module.startswith("keras.src.export.") or (
            module.startswith("keras.src.backend.") and module.endswith(".export")
        ):
            found = _KERAS_EXPORTERS.get(module, "tf_saved_model")
        frame = frame.f_back
    return found


def traced_format(traced):
    """The format this call is traced for, or None. `traced`: whether the
    call is being traced into a graph rather than run eagerly; the stack is
    only read then, once per trace."""
    explicit = _EXPLICIT.get()
    if explicit is not None:
        return explicit
    return _keras_export_on_stack() if traced else None
