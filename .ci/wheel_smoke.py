"""Run against the installed wheel, from outside the repository: the seed
example, a `.keras` round trip, and the conformance matrix's data file."""

import os
import pathlib
import tempfile

import keras
import numpy as np

import keras_ct_plugin as ct
from keras_ct_plugin.conformance import matrix

location = pathlib.Path(ct.__file__).resolve()
assert "site-packages" in location.parts, f"keras_ct_plugin imported from {location}"

x = keras.random.uniform((4, 10, 8, 128))
assert tuple(ct.Conv2DTranspose(32, 2, 2, activation="relu")(x).shape) == (4, 20, 16, 32)

model = keras.Sequential([keras.Input((10, 8, 128)),
                          ct.Conv2DTranspose(32, 3, strides=2, padding="same", groups=4)])
with tempfile.TemporaryDirectory() as directory:
    path = os.path.join(directory, "model.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), atol=1e-6)

assert len(matrix.load()) > 500
print(f"wheel smoke test: passed ({ct.__version__}, {keras.backend.backend()})")
