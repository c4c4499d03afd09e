"""The worked examples of the docs run as written."""

import os
import pathlib
import re
import subprocess
import sys

import keras
import pytest

DOCS = pathlib.Path(__file__).parent.parent / "docs"


def _example(document, heading):
    text = (DOCS / document).read_text()
    section = text[text.index(heading):]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


def _run_example(tmp_path, document):
    """The stdout lines of the document's worked example, run as a script."""
    script = tmp_path / "example.py"
    script.write_text(_example(document, "## Worked example"))
    result = subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True,
                            text=True, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
                            timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout.strip().splitlines()


@pytest.mark.skipif(keras.backend.backend() != "jax", reason="the example trains on JAX")
def test_jax_to_onnx_example(tmp_path):
    pytest.importorskip("onnxruntime")
    pytest.importorskip("jax2onnx")
    shape, difference = _run_example(tmp_path, "deployment.md")[-1].rsplit(" ", 1)
    assert shape == "(5, 32, 32, 3)"
    assert float(difference) < 1e-5


# The example takes the backend it is given; on this machine torch runs it
# fastest.
@pytest.mark.skipif(keras.backend.backend() != "torch", reason="run once, on torch")
def test_lora_example(tmp_path):
    pytest.importorskip("sklearn")
    lines = _run_example(tmp_path, "lora.md")
    full, lora = (int(line.rsplit(" ", 1)[1]) for line in lines[:2])
    assert lora < full / 5
    before, after = (float(v) for v in re.findall(r"(\d\.\d+) (?:before|after)", lines[2]))
    assert after < before
    assert float(lines[3].rsplit(" ", 1)[1]) < 1e-5


@pytest.mark.skipif(keras.backend.backend() != "tensorflow", reason="LiteRT export: TensorFlow")
def test_quantization_example(tmp_path):
    pytest.importorskip("sklearn")
    pytest.importorskip("ai_edge_litert")
    if not hasattr(keras.quantizers, "QuantizationConfig"):
        pytest.skip("quantization needs Keras 3.13 or newer")
    lines = _run_example(tmp_path, "quantization.md")
    assert lines[0] == "quantized: ['conv2d_transpose', 'conv2d_transpose_1']"
    float_bytes, int8_bytes = (int(n) for n in re.findall(r"(\d+) (?:bytes in float|in int8)",
                                                          lines[1]))
    assert int8_bytes < float_bytes / 3.5
    float_mae, int8_mae = (float(line.rsplit(" ", 1)[1]) for line in lines[2:4])
    assert float_mae < 0.1 and abs(int8_mae - float_mae) < 0.005
    sizes = {line.split()[0]: int(line.split()[1]) for line in lines[5:9]}
    assert sizes["int8.keras"] < sizes["float.keras"]
    assert sizes["int8.tflite"] < sizes["float.tflite"]
    assert float(lines[8].rsplit(" ", 1)[1]) < 1e-5


def test_readme_opening_example_runs_on_this_backend():
    """The README's first example, on whichever backend runs the tests: each
    shape its comments give is the shape computed."""
    readme = (DOCS.parent / "README.md").read_text()
    code = re.search(r"```python\n(.*?)```", readme, re.S).group(1)
    namespace = {}
    exec(code, namespace)
    commented = re.findall(r"^(\S.*?)\s+# (\([\d, ]+\))$", code, re.M)
    assert len(commented) == 2
    for line, shape in commented:
        expression = line.split("=", 1)[0].strip() if " = " in line else line
        value = eval(expression, namespace)
        assert tuple(getattr(value, "shape", value)) == eval(shape), line


def test_porting_examples_run_as_written():
    """Every Python block of the porting guide, in order, in one namespace
    (the `output_size` example asserts its own shape)."""
    pytest.importorskip("torch")
    text = (DOCS / "porting-from-pytorch.md").read_text()
    namespace = {}
    for block in re.findall(r"```python\n(.*?)```", text, re.S):
        exec(block, namespace)
    assert namespace["y"].shape == (None, 33, 31, 32)


def test_checkerboard_example_runs_as_written():
    code = re.search(r"```python\n(.*?)```", (DOCS / "checkerboard.md").read_text(), re.S)
    namespace = {}
    exec(code.group(1), namespace)
    x = keras.ops.ones((1, 6, 6, 3))
    assert namespace["resize"](x).shape == (1, 12, 12, 3)
    assert namespace["up"](x).shape == (1, 12, 12, 64)
