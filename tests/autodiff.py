"""Gradients and compilation with the running backend's own machinery."""

import keras
import numpy as np


def vjp(function, x, kernel, bias, upstream):
    """Gradients of `sum(function(x, kernel, bias) * upstream)`."""
    backend = keras.backend.backend()
    if backend == "jax":
        import jax

        _, pullback = jax.vjp(function, x, kernel, bias)
        return [np.asarray(g) for g in pullback(upstream)]
    if backend == "tensorflow":
        import tensorflow as tf

        tensors = [tf.constant(v) for v in (x, kernel, bias)]
        with tf.GradientTape() as tape:
            tape.watch(tensors)
            loss = tf.reduce_sum(function(*tensors) * upstream)
        return [g.numpy() for g in tape.gradient(loss, tensors)]
    if backend == "torch":
        import torch

        tensors = [torch.tensor(v, requires_grad=True) for v in (x, kernel, bias)]
        (function(*tensors) * torch.tensor(upstream)).sum().backward()
        return [t.grad.numpy() for t in tensors]
    raise NotImplementedError(f"no autodiff on the {backend} backend")


def compiled(function):
    backend = keras.backend.backend()
    if backend == "jax":
        import jax

        return jax.jit(function)
    if backend == "tensorflow":
        import tensorflow as tf

        return tf.function(function, jit_compile=True)
    if backend == "torch":
        import torch

        return torch.compile(function)
    raise NotImplementedError(f"no compiler on the {backend} backend")
