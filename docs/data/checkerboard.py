"""docs/checkerboard.png: a transposed convolution (kernel 4, stride 2) with the
default, ICNR and bilinear initializers, on a smooth image and after a few
training steps of a digits autoencoder like the demo's.

    KERAS_BACKEND=jax python docs/data/checkerboard.py

Prints each panel's phase spread: over the interior, how far apart the means
of the four output phases (even/odd row x even/odd column) are, relative to
the output's mean absolute value; 0 means no checkerboard.
"""

import pathlib

import keras
import matplotlib
import numpy as np

import keras_ct_plugin as ct
from keras_ct_plugin.demo import load_digits
from keras_ct_plugin.initializers import ICNR
from keras_ct_plugin.initializers import BilinearUpsampling

matplotlib.use("Agg")
from matplotlib import pyplot  # noqa: E402

OUT = pathlib.Path(__file__).parent.parent / "checkerboard.png"
INITIALIZERS = {
    "default (glorot_uniform)": lambda: "glorot_uniform",
    "ICNR(scale=2)": lambda: ICNR(keras.initializers.GlorotUniform(seed=1), scale=2),
    "BilinearUpsampling()": BilinearUpsampling,
}


def smooth_image(size=24):
    y, x = np.mgrid[0:size, 0:size] / size
    return (0.5 + 0.5 * np.sin(3 * x + 2 * y) * np.cos(2 * x - y))[None, :, :, None]


def phase_spread(image):
    interior = image[4:-4, 4:-4]
    phases = [interior[i::2, j::2].mean() for i in (0, 1) for j in (0, 1)]
    return float(np.ptp(phases) / np.abs(interior).mean())


def upsampled(initializer):
    keras.utils.set_random_seed(1)
    layer = ct.Conv2DTranspose(1, 4, strides=2, padding="same", use_bias=False,
                               kernel_initializer=initializer)
    return keras.ops.convert_to_numpy(layer(smooth_image().astype("float32")))[0, :, :, 0]


def autoencoder(initializer):
    """The demo's autoencoder, its decoder upsampling channel by channel
    (groups) with kernel 4 so that every initializer applies."""
    return keras.Sequential([
        keras.Input((8, 8, 1)),
        keras.layers.Conv2D(16, 3, strides=2, padding="same", activation="relu"),
        keras.layers.Conv2D(32, 3, strides=2, padding="same", activation="relu"),
        ct.Conv2DTranspose(32, 4, strides=2, padding="same", groups=32,
                           kernel_initializer=initializer()),
        keras.layers.Conv2D(16, 3, padding="same", activation="relu"),
        ct.Conv2DTranspose(16, 4, strides=2, padding="same", groups=16,
                           kernel_initializer=initializer()),
        keras.layers.Conv2D(1, 3, padding="same", activation="sigmoid"),
    ])


def trained(initializer, steps=40):
    keras.utils.set_random_seed(0)
    digits = load_digits()
    model = autoencoder(initializer)
    model.compile(optimizer=keras.optimizers.Adam(3e-3), loss="binary_crossentropy")
    model.fit(digits[:64 * steps], digits[:64 * steps], batch_size=64, epochs=1, verbose=0)
    return model.predict(digits[1500:1501], verbose=0)[0, :, :, 0]


def main():
    figure, axes = pyplot.subplots(2, 4, figsize=(12, 7.2))
    axes[0, 0].imshow(smooth_image()[0, :, :, 0], cmap="gray")
    axes[0, 0].set_title("smooth input (24x24)")
    axes[1, 0].imshow(load_digits()[1500, :, :, 0], cmap="gray")
    axes[1, 0].set_title("held-out digit (8x8)")
    for column, (name, initializer) in enumerate(INITIALIZERS.items(), start=1):
        for row, image in enumerate((upsampled(initializer()), trained(initializer))):
            spread = phase_spread(image) if row == 0 else None
            axes[row, column].imshow(image, cmap="gray")
            when = "at initialization" if row == 0 else "after 40 training steps"
            title = f"{name}\n{when}"
            if spread is not None:
                title += f", phase spread {spread:.3f}"
                print(f"{name}: phase spread at initialization {spread:.3f}")
            axes[row, column].set_title(title, fontsize=9)
    for axis in axes.flat:
        axis.set_xticks([])
        axis.set_yticks([])
    figure.tight_layout()
    figure.savefig(OUT, dpi=90)
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
