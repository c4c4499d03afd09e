"""Training as keras.io's torch distributed guide does it, in a process of
its own:

    python tests/torch_ddp_step.py RANK WORLD INIT_METHOD OUT.npz

WORLD processes (gloo, CPU) each take their share of one batch, the Keras
model wrapped in `DistributedDataParallel`; between steps each calls the
model on one sample, as a sample or validation callback does (torch picks
another CPU kernel at batch 1). With WORLD 1 it is the single-process run
on the whole batch. OUT.npz gets the weights after the last step, and
"moved": 1 where a parameter's storage or strides differ from those DDP was
constructed with.
"""

import datetime
import os
import sys

RANK, WORLD, INIT_METHOD, OUT = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
os.environ["KERAS_BACKEND"] = "torch"

import keras  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.distributed as dist  # noqa: E402
from torch.nn.parallel import DistributedDataParallel  # noqa: E402

import keras_ct_plugin as ct  # noqa: E402

BATCH, STEPS = 16, 6


def build():
    keras.utils.set_random_seed(0)
    return keras.Sequential([
        keras.Input((3, 5, 5, 4)),
        ct.Conv3DTranspose(6, 3, strides=2, name="strided_3d"),
        keras.layers.Reshape((7 * 11, 11, 6)),
        ct.Conv2DTranspose(4, 3, padding="same", name="same_2d"),
        ct.Conv2DTranspose(2, 2, strides=2, groups=2, name="grouped_2d"),
    ])


def main():
    # A wait for another rank raises after this, naming what it waited for.
    dist.init_process_group("gloo", init_method=INIT_METHOD, rank=RANK,
                            world_size=WORLD, timeout=datetime.timedelta(seconds=120))
    model = build()
    wrapped = DistributedDataParallel(model)
    layouts = [(p.data_ptr(), p.stride()) for p in model.parameters()]
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    rng = np.random.default_rng(0)
    x = torch.tensor(rng.uniform(-1, 1, (BATCH, 3, 5, 5, 4)).astype("float32"))
    y = torch.tensor(rng.uniform(-1, 1, (BATCH, 154, 22, 2)).astype("float32"))
    share = BATCH // WORLD
    mine = slice(RANK * share, (RANK + 1) * share)
    for _ in range(STEPS):
        loss = torch.mean(torch.square(wrapped(x[mine]) - y[mine]))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        with torch.no_grad():
            model(x[:1])
    moved = layouts != [(p.data_ptr(), p.stride()) for p in model.parameters()]
    np.savez(OUT, moved=int(moved),
             **{w.path: keras.ops.convert_to_numpy(w) for w in model.weights})
    dist.barrier()
    del wrapped  # its reducer lets go of the group while every rank is still in it
    dist.barrier()
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
