"""Which export format a call is traced for (`keras_ct_plugin/tracing.py`)."""

import re

import pytest

import keras_ct_plugin as ct
from keras_ct_plugin import tracing


def _called_from(module_name, function):
    """`function()` called from a frame whose module is `module_name`, as
    when Keras's exporter of that module traces the model."""
    namespace = {"__name__": module_name, "function": function}
    exec("def call():\n    return function()\n", namespace)
    return namespace["call"]()


def test_no_format_outside_an_export():
    assert tracing.traced_format(traced=True) is None
    assert tracing.traced_format(traced=False) is None


@pytest.mark.parametrize("module, format", [
    ("keras.src.export.onnx", "onnx"),
    ("keras.src.export.openvino", "openvino"),
    ("keras.src.export.litert", "litert"),
    ("keras.src.export.torch", "torch"),
    ("keras.src.export.saved_model", "tf_saved_model"),
    ("keras.src.backend.jax.export", "tf_saved_model"),
])
def test_keras_exporter_on_the_stack_names_the_format(module, format):
    assert _called_from(module, lambda: tracing.traced_format(traced=True)) == format
    assert _called_from(module, lambda: tracing.traced_format(traced=False)) is None


def test_outermost_exporter_wins():
    """ONNX export on TensorFlow traces through the SavedModel archive."""
    def inner():
        return _called_from("keras.src.export.saved_model",
                            lambda: tracing.traced_format(traced=True))

    assert _called_from("keras.src.export.onnx", inner) == "onnx"


def test_explicit_format_applies_eagerly_too():
    with ct.exporting("litert"):
        assert tracing.traced_format(traced=False) == "litert"
    assert tracing.traced_format(traced=False) is None


def test_unknown_format_is_rejected():
    message = ("Invalid value for argument `format`. Expected one of 'tf_saved_model', "
               "'onnx', 'openvino', 'litert', 'torch'. Received format='tflite'.")
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        with ct.exporting("tflite"):
            pass
