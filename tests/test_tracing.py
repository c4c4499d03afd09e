"""Which export format a call is traced for (`keras_ct_plugin/tracing.py`)."""

import re

import keras
import numpy as np
import pytest

import keras_ct_plugin as ct
from keras_ct_plugin import tracing


def test_no_format_outside_an_export():
    assert tracing.traced_format(traced=True) is None
    assert tracing.traced_format(traced=False) is None


@pytest.mark.skipif(keras.backend.backend() == "numpy", reason="Keras's numpy backend "
                    "does not export")
def test_keras_export_on_the_real_stack_names_the_format(tmp_path, monkeypatch):
    """`model.export(format="onnx")` as Keras runs it: every traced call of
    the layer sees "onnx" (TF's ONNX export traces through the SavedModel
    machinery, whose module is on the stack too), and the file holds ONNX's
    own ConvTranspose. A rename of Keras's exporter modules fails here."""
    onnx = pytest.importorskip("onnx")
    seen = []
    original = tracing.traced_format

    def recorded(traced):
        seen.append((traced, original(traced)))
        return seen[-1][1]

    monkeypatch.setattr(tracing, "traced_format", recorded)
    model = keras.Sequential([keras.Input((5, 5, 3)), ct.Conv2DTranspose(2, 3, strides=2)])
    model(np.zeros((1, 5, 5, 3), "float32"))
    path = str(tmp_path / "model.onnx")
    model.export(path, format="onnx", verbose=False)
    assert {format for traced, format in seen if traced} == {"onnx"}
    assert "ConvTranspose" in {node.op_type for node in onnx.load(path).graph.node}


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
