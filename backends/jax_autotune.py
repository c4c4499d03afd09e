"""Chooses between forwards of the same transposed convolution by timing
them on this machine, once per static signature (shapes, dtype, settings),
as cuDNN's and XLA's autotuners choose among their algorithms
(ARCHITECTURE.md). A tie goes to `preferred`, the built-in's
algorithm. Opt-in, with `KERAS_CT_PLUGIN_AUTOTUNE=1`: a measurement differs
from run to run and from host to host, so two processes of one job would
compile different programs; without it, and in any job of several JAX
processes, the static rule stands. Each new signature costs two extra
compilations and a few runs.
"""

import collections
import os
import statistics
import threading
import time

import jax
import numpy as np

ENABLED = os.environ.get("KERAS_CT_PLUGIN_AUTOTUNE", "0") == "1"
MARGIN = 0.95
# Below this a forward takes microseconds, and measuring (two compilations,
# about 0.1 s) would cost more than it could save.
MIN_FLOPS = 1e6
# Signatures remembered; the least recently used goes first.
MAX_CHOICES = 1024

_CHOICES = collections.OrderedDict()
_LOCK = threading.Lock()


def enabled():
    """Opted in, and this is the only JAX process of its job."""
    return ENABLED and jax.process_count() == 1


def choose(key, candidates, arguments, preferred):
    """The name in `candidates` ({name: function}) to run on `arguments`
    ((shape, dtype) pairs), measured once per `key`: the fastest by median,
    unless it is within `MARGIN` of `preferred`'s time. Threads that ask for
    a new key at once measure it once, one after another."""
    with _LOCK:
        if key in _CHOICES:
            _CHOICES.move_to_end(key)
            return _CHOICES[key]
        times = _medians(candidates, arguments)
        fastest = min(times, key=times.get)
        _CHOICES[key] = fastest if times[fastest] < MARGIN * times[preferred] else preferred
        if len(_CHOICES) > MAX_CHOICES:
            _CHOICES.popitem(last=False)
        return _CHOICES[key]


def choices():
    """{key: chosen name} so far in this process."""
    with _LOCK:
        return dict(_CHOICES)


def _medians(candidates, arguments, min_rounds=3, max_rounds=15, min_seconds=0.2):
    """Medians over alternated rounds, on random operands, outside any trace
    the caller is in (the operands are concrete, the programs compiled
    ahead of time)."""
    with jax.ensure_compile_time_eval():
        rng = np.random.default_rng(0)
        operands = [jax.numpy.asarray(rng.standard_normal(shape, dtype="float32"), dtype)
                    for shape, dtype in arguments]
        compiled = {name: jax.jit(f).lower(*operands).compile()
                    for name, f in candidates.items()}
        for program in compiled.values():
            jax.block_until_ready(program(*operands))
        samples = {name: [] for name in compiled}
        start, rounds = time.perf_counter(), 0
        while rounds < min_rounds or (rounds < max_rounds
                                      and time.perf_counter() - start < min_seconds):
            for name in list(compiled)[::1 if rounds % 2 else -1]:
                program, begin = compiled[name], time.perf_counter()
                jax.block_until_ready(program(*operands))
                samples[name].append(time.perf_counter() - begin)
            rounds += 1
    return {name: statistics.median(s) for name, s in samples.items()}
