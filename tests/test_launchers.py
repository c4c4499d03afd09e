"""`python -m keras_ct_plugin.conformance` and `python -m keras_ct_plugin.bench`
start one process per backend; their own process imports no framework, so
no framework start-up log comes before their progress bars."""

import subprocess
import sys

import pytest

FRAMEWORKS = ("keras", "tensorflow", "jax", "torch", "openvino")


@pytest.mark.parametrize("tool", ["keras_ct_plugin.conformance", "keras_ct_plugin.bench"])
def test_launcher_imports_no_framework(tool, tmp_path):
    done = subprocess.run([sys.executable, "-X", "importtime", "-m", tool, "--help"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.startswith(f"usage: python -m {tool}")
    imported = {line.rsplit("|", 1)[-1].strip().split(".")[0]
                for line in done.stderr.splitlines() if line.startswith("import time:")}
    assert imported.isdisjoint(FRAMEWORKS), sorted(imported & set(FRAMEWORKS))
    assert not [line for line in done.stderr.splitlines()
                if not line.startswith("import time:")]
    assert list(tmp_path.iterdir()) == []
