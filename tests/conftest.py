"""One Keras backend per test process, chosen by KERAS_BACKEND.

A requested backend that is not installed fails the run (importing keras
raises); it is never skipped.
"""

import os

import pytest

# JAX's measured CPU forward (backends/jax_autotune.py) is opt-in; the tests
# run the static rule, as users get it, and test_jax_autotune.py the
# measurement.
os.environ.setdefault("KERAS_CT_PLUGIN_AUTOTUNE", "0")

BACKENDS = ("tensorflow", "jax", "torch", "numpy")


def pytest_configure(config):
    requested = os.environ.get("KERAS_BACKEND")
    if requested not in BACKENDS:
        raise pytest.UsageError(
            f"Set KERAS_BACKEND to one of {BACKENDS}; the tests run one "
            f"backend per process. Received KERAS_BACKEND={requested!r}."
        )
    import keras

    if keras.backend.backend() != requested:
        raise pytest.UsageError(
            f"KERAS_BACKEND={requested!r} but keras runs on "
            f"{keras.backend.backend()!r}."
        )


def pytest_report_header(config):
    import keras

    return f"keras {keras.__version__}, backend {keras.backend.backend()}"


@pytest.fixture(autouse=True, scope="session")
def _imports_frozen():
    from keras_ct_plugin.conformance import collector

    collector.freeze_imports("keras")


@pytest.fixture(autouse=True)
def _reset_keras_state():
    import keras

    yield
    keras.config.set_dtype_policy("float32")
