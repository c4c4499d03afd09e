"""One training step on one device and on several, in a fresh process.

    python tests/distributed_step.py jax|tensorflow OUT.json

Devices must be set up before the framework starts, hence a process of its
own: JAX gets four simulated CPU devices and `keras.distribution.DataParallel`,
TensorFlow two logical CPUs and `tf.distribute.MirroredStrategy`. The model
forces each implementation path in turn; OUT.json gets, per layer, the largest
difference between the weights after the single-device step and after the
distributed one, and how far the step moved them.
"""

import json
import os
import sys

BACKEND, OUT = sys.argv[1], sys.argv[2]
os.environ["KERAS_BACKEND"] = BACKEND
if BACKEND == "jax":
    os.environ["XLA_FLAGS"] = "--xla_force_host_platform_device_count=4"

import keras  # noqa: E402
import numpy as np  # noqa: E402

import keras_ct_plugin as ct  # noqa: E402

if BACKEND == "tensorflow":
    import tensorflow as tf

    tf.config.set_logical_device_configuration(
        tf.config.list_physical_devices("CPU")[0],
        [tf.config.LogicalDeviceConfiguration()] * 2,
    )


def build():
    keras.utils.set_random_seed(0)
    model = keras.Sequential([
        keras.Input((5, 5, 4)),
        ct.Conv2DTranspose(6, 3, strides=2, padding="same", groups=2,
                           implementation="native", name="native"),
        ct.Conv2DTranspose(4, 2, strides=2, implementation="matmul", name="matmul"),
        ct.Conv2DTranspose(2, 3, dilation_rate=2, padding=((1, 2), (2, 1)),
                           implementation="generic", name="generic"),
    ])
    model.compile(optimizer=keras.optimizers.SGD(0.5), loss="mse")
    return model


def train_one_step(model, x, y):
    initial = [w.copy() for w in model.get_weights()]
    model.fit(x, y, batch_size=len(x), epochs=1, shuffle=False, verbose=0)
    return initial, model.get_weights()


def main():
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, (8, 5, 5, 4)).astype("float32")
    y = rng.uniform(-1, 1, build()(x).shape).astype("float32")
    initial, single = train_one_step(build(), x, y)
    if BACKEND == "jax":
        devices = keras.distribution.list_devices("cpu")
        keras.distribution.set_distribution(keras.distribution.DataParallel(devices=devices))
        _, distributed = train_one_step(build(), x, y)
    else:
        devices = [d.name for d in tf.config.list_logical_devices("CPU")]
        with tf.distribute.MirroredStrategy(devices).scope():
            model = build()
        _, distributed = train_one_step(model, x, y)
    names = [w.path.split("/", 1)[1] for w in build().weights]
    result = dict(
        devices=len(devices),
        weights={
            name: dict(moved=float(np.max(np.abs(s - i))), difference=float(np.max(np.abs(s - d))))
            for name, i, s, d in zip(names, initial, single, distributed)
        },
    )
    with open(OUT, "w") as f:
        json.dump(result, f, indent=1)


if __name__ == "__main__":
    main()
