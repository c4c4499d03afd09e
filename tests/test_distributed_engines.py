"""The layers under the distributed engines as users run them, each
process a real one: torch's DistributedDataParallel and a jax.distributed
job, both over gloo on CPU. Every
process of a job must compute what one process computes on the whole
batch."""

import os
import pathlib
import signal
import socket
import subprocess
import sys
import time

import keras
import numpy as np
import pytest

HERE = pathlib.Path(__file__).parent


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return str(s.getsockname()[1])


def _file_rendezvous(out_dir, world):
    """torch's FileStore: no port, which a rank still retrying its connection
    can take as its own source port and so connect to itself (a TCP
    self-connect), waiting forever: a DDP test hung so under load."""
    return f"file://{out_dir / f'rendezvous-{world}'}"


def _run(script, world, out_dir, rendezvous=None, timeout=300):
    """`script` in `world` processes at once, meeting at `rendezvous` (a free
    port by default); the paths of their outputs and what they wrote to
    stderr. A process still running after `timeout` seconds gets SIGABRT,
    on which `-X faulthandler` prints every thread's Python stack."""
    rendezvous = rendezvous or _free_port()
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "OMP_NUM_THREADS": "1"}
    outs = [out_dir / f"{world}-{rank}.npz" for rank in range(world)]
    processes = [subprocess.Popen([sys.executable, "-X", "faulthandler", str(HERE / script),
                                   str(rank), str(world), rendezvous, str(out)],
                                  env=env, stderr=subprocess.PIPE, text=True)
                 for rank, out in enumerate(outs)]
    deadline = time.monotonic() + timeout
    logs, hung = [], []
    for rank, process in enumerate(processes):
        try:
            _, stderr = process.communicate(timeout=max(deadline - time.monotonic(), 1))
        except subprocess.TimeoutExpired:
            process.send_signal(signal.SIGABRT)
            _, stderr = process.communicate()
            hung.append(f"rank {rank} of {world} still ran after {timeout} s, its output "
                        f"{'written' if outs[rank].exists() else 'not written'}:\n{stderr[-3000:]}")
            continue
        assert process.returncode == 0, stderr[-3000:]
        logs.append(stderr)
    assert not hung, "\n".join(hung)
    return outs, "".join(logs)


@pytest.mark.skipif(keras.backend.backend() != "torch", reason="torch's DDP")
def test_torch_ddp_with_batch_one_calls_between_steps_equals_one_process(tmp_path):
    """Torch picks another CPU kernel at batch 1; no call may change a
    parameter's storage or strides, which DDP's gradient buckets hold
    (it warns "the param's strides changed since DDP was constructed")."""
    (single,), _ = _run("torch_ddp_step.py", 1, tmp_path, _file_rendezvous(tmp_path, 1))
    ranks, logs = _run("torch_ddp_step.py", 2, tmp_path, _file_rendezvous(tmp_path, 2))
    assert "Grad strides do not match bucket view strides" not in logs
    expected = np.load(single)
    for out in ranks:
        weights = np.load(out)
        assert sorted(weights.files) == sorted(expected.files)
        assert int(weights["moved"]) == 0
        for name in expected.files:
            np.testing.assert_allclose(weights[name], expected[name], rtol=0, atol=1e-6,
                                       err_msg=name)


@pytest.mark.skipif(keras.backend.backend() != "jax", reason="jax.distributed")
def test_jax_distributed_data_parallel_equals_one_process(tmp_path):
    """Two processes of one jax.distributed job (CPU, gloo), each feeding
    half of every batch to `DataParallel`, train to one process's weights
    on the whole batches. Asked to measure its forwards, a process of the
    job takes the static rule instead, so both compile the same program."""
    (single,), _ = _run("jax_distributed_step.py", 1, tmp_path)
    ranks, _ = _run("jax_distributed_step.py", 2, tmp_path)
    expected = np.load(single)
    assert int(expected["measured"]) > 0
    for out in ranks:
        weights = np.load(out)
        assert int(weights["measured"]) == 0
        for name in expected.files:
            if name != "measured":
                np.testing.assert_allclose(weights[name], expected[name], rtol=0, atol=1e-6,
                                           err_msg=name)
