"""One `keras.distribution.DataParallel` training run over the processes of
a `jax.distributed` job on CPU, in a process of its own:

    python tests/jax_distributed_step.py RANK WORLD PORT OUT.npz

Each of WORLD processes feeds its share of every batch; with WORLD 1 it is
one process on the whole batch. The measured forward choice is asked for
(KERAS_CT_PLUGIN_AUTOTUNE=1) and must not be taken in a job of several
processes. OUT.npz gets the weights after training and "measured", how many
forward choices this process measured.
"""

import os
import sys

RANK, WORLD, PORT, OUT = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
os.environ["KERAS_BACKEND"] = "jax"
os.environ["KERAS_CT_PLUGIN_AUTOTUNE"] = "1"

import jax  # noqa: E402

jax.config.update("jax_platforms", "cpu")
if WORLD > 1:
    jax.distributed.initialize(coordinator_address=f"127.0.0.1:{PORT}", num_processes=WORLD,
                               process_id=RANK)

import keras  # noqa: E402
import numpy as np  # noqa: E402

import keras_ct_plugin as ct  # noqa: E402
from keras_ct_plugin.backends import jax_autotune  # noqa: E402

BATCH = 8


def main():
    devices = keras.distribution.list_devices("cpu")
    distribution = keras.distribution.DataParallel(devices=devices)
    distribution.auto_shard_dataset = False  # each process feeds its own share
    keras.distribution.set_distribution(distribution)
    keras.utils.set_random_seed(0)
    model = keras.Sequential([
        keras.Input((6, 6, 16)),
        ct.Conv2DTranspose(32, 3, strides=2, padding="same"),
        ct.Conv2DTranspose(16, 5, strides=2, dilation_rate=1, name="odd_kernel"),
        ct.Conv2DTranspose(8, 4, strides=2, padding="same", groups=2),
    ])
    model.compile(optimizer=keras.optimizers.SGD(0.05), loss="mse")
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, (4 * BATCH, 6, 6, 16)).astype("float32")
    y = rng.uniform(-1, 1, (4 * BATCH, *model.output_shape[1:])).astype("float32")
    share = BATCH // WORLD
    mine = np.concatenate([np.arange(b * BATCH + RANK * share, b * BATCH + (RANK + 1) * share)
                           for b in range(4)])
    model.fit(x[mine], y[mine], batch_size=share, epochs=2, shuffle=False, verbose=0)
    np.savez(OUT, measured=len(jax_autotune.choices()),
             **{w.path: keras.ops.convert_to_numpy(w) for w in model.weights})


if __name__ == "__main__":
    main()
