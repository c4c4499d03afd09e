"""(rtol, atol) per dtype, for inputs and weights in [-1, 1], against the
float64 NumPy reference and between backends; `atol` is scaled by the largest
magnitude of the expected values when that exceeds 1."""

import numpy as np

TOLERANCES = {
    "float32": (1e-4, 1e-4),
    "float16": (2e-2, 2e-2),
    "bfloat16": (6e-2, 6e-2),
}


def assert_close(actual, expected, dtype="float32", what="values"):
    rtol, atol = TOLERANCES[dtype]
    actual = np.asarray(actual, dtype=np.float64)
    expected = np.asarray(expected, dtype=np.float64)
    if actual.shape != expected.shape:
        raise AssertionError(f"{what}: shape {actual.shape}, expected {expected.shape}")
    scale = max(1.0, float(np.max(np.abs(expected), initial=0.0)))
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=atol * scale,
                               err_msg=what)
