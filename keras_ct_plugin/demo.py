"""Train a small convolutional autoencoder on scikit-learn's 8x8 digits.

    python -m keras_ct_plugin.demo [--epochs N]

The decoder is built from this plugin's layers inside `keras.Sequential`; the
model is trained with Keras's own progress bar, saved as `.keras`, reloaded
with nothing but `import keras_ct_plugin`, and its predictions compared.
"""

import argparse
import pathlib
import sys
import tempfile

import keras
import numpy as np

import keras_ct_plugin as ct


def load_digits():
    from sklearn.datasets import load_digits

    images = load_digits().images.astype("float32") / 16.0
    return images[..., None]  # (1797, 8, 8, 1), values in [0, 1]


def autoencoder():
    return keras.Sequential(
        [
            keras.Input((8, 8, 1)),
            keras.layers.Conv2D(16, 3, strides=2, padding="same", activation="relu"),
            keras.layers.Conv2D(32, 3, strides=2, padding="same", activation="relu"),
            ct.Conv2DTranspose(16, 3, strides=2, padding="same", activation="relu"),
            ct.Conv2DTranspose(1, 3, strides=2, padding="same", activation="sigmoid"),
        ],
        name="digits_autoencoder",
    )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=10)
    args = parser.parse_args(argv)
    keras.utils.set_random_seed(0)

    images = load_digits()
    train, test = images[:1500], images[1500:]
    model = autoencoder()
    model.compile(optimizer=keras.optimizers.Adam(3e-3), loss="binary_crossentropy",
                  metrics=["mae"])
    print(f"backend: {keras.backend.backend()}; training on {len(train)} digits")
    model.fit(train, train, epochs=args.epochs, batch_size=64,
              validation_data=(test, test))

    with tempfile.TemporaryDirectory() as tmp:
        path = pathlib.Path(tmp) / "digits_autoencoder.keras"
        model.save(path)
        reloaded = keras.saving.load_model(path)
    before = model.predict(test, verbose=0)
    after = reloaded.predict(test, verbose=0)
    difference = float(np.max(np.abs(before - after)))
    mae = float(np.mean(np.abs(after - test)))
    print(f"reconstruction MAE on {len(test)} held-out digits: {mae:.4f}")
    if difference > 1e-6:
        print(f"predictions differ after reload: max abs difference {difference:.3g}")
        return 1
    print(f"predictions match after .keras reload (max abs difference {difference:.3g})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
