"""The layers train unchanged when the engine the user already has shards the
batch: `keras.distribution.DataParallel` over four simulated CPU devices on
JAX, `tf.distribute.MirroredStrategy` over two logical CPUs on TensorFlow. One
step gives the single-device weights, on every implementation path."""

import json
import pathlib
import subprocess
import sys

import keras
import pytest

SCRIPT = pathlib.Path(__file__).with_name("distributed_step.py")
ENGINES = {"jax": 4, "tensorflow": 2}


@pytest.mark.skipif(keras.backend.backend() not in ENGINES,
                    reason="data parallelism is tested on the JAX and TensorFlow backends")
def test_one_distributed_step_equals_one_single_device_step(tmp_path):
    out = tmp_path / "result.json"
    subprocess.run([sys.executable, str(SCRIPT), keras.backend.backend(), str(out)],
                   check=True, capture_output=True)
    result = json.loads(out.read_text())
    assert result["devices"] == ENGINES[keras.backend.backend()]
    assert sorted(result["weights"]) == sorted(
        f"{path}/{weight}" for path in ("native", "matmul", "generic")
        for weight in ("kernel", "bias"))
    for name, weight in result["weights"].items():
        assert weight["moved"] > 1e-4, name
        assert weight["difference"] < 1e-6, name
