"""Chooses between forwards of the same transposed convolution by timing
them on this machine, once per static signature (shapes, dtype, settings),
as cuDNN's and XLA's autotuners choose among their algorithms
(`../shared/ALGORITHMS.md`). A tie goes to `preferred`, the built-in's
algorithm. `KERAS_CT_PLUGIN_AUTOTUNE=0` turns it off (then the static rule
stands): each new signature costs two extra compilations and a few runs.
"""

import os
import statistics
import time

import jax
import numpy as np

ENABLED = os.environ.get("KERAS_CT_PLUGIN_AUTOTUNE", "1") != "0"
MARGIN = 0.95
# Below this a forward takes microseconds, and measuring (two compilations,
# about 0.1 s) would cost more than it could save.
MIN_FLOPS = 1e6

_CHOICES = {}


def choose(key, candidates, arguments, preferred):
    """The name in `candidates` ({name: function}) to run on `arguments`
    ((shape, dtype) pairs), measured once per `key`: the fastest by median,
    unless it is within `MARGIN` of `preferred`'s time."""
    if key not in _CHOICES:
        times = _medians(candidates, arguments)
        fastest = min(times, key=times.get)
        _CHOICES[key] = fastest if times[fastest] < MARGIN * times[preferred] else preferred
    return _CHOICES[key]


def choices():
    """{key: chosen name} so far in this process."""
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
