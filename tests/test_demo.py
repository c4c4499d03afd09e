"""The README's main job runs end to end (one epoch) on this backend."""

import keras
import pytest

from keras_ct_plugin import demo


@pytest.mark.skipif(keras.backend.backend() == "numpy",
                    reason="Keras's numpy backend cannot train (Model.fit raises).")
def test_demo_trains_saves_and_reloads(capsys):
    assert demo.main(["--epochs", "1"]) == 0
    assert "predictions match after .keras reload" in capsys.readouterr().out
