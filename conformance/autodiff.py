"""Gradients and compilation with the running backend's own machinery."""

import keras

from keras_ct_plugin.conformance.operands import in_dtype
from keras_ct_plugin.conformance.operands import to_float32


def vjp(function, *operands_and_upstream, dtype="float32", compile=False, with_output=False):
    """Gradients of `sum(function(*operands) * upstream)` with respect to each
    operand, as float32 NumPy arrays; operands are cast to `dtype` first. With
    `compile`, the gradient computation runs under the backend's compiler;
    with `with_output`, (output, gradients), the output from the same run."""
    *operands, upstream = operands_and_upstream
    backend = keras.backend.backend()
    operands = [keras.ops.convert_to_tensor(in_dtype(v, dtype)) for v in operands]
    upstream = keras.ops.convert_to_tensor(in_dtype(upstream, dtype))
    if backend == "jax":
        import jax

        def gradients(operands, upstream):
            output, pullback = jax.vjp(function, *operands)
            return output, pullback(upstream)

        output, grads = (jax.jit(gradients) if compile else gradients)(operands, upstream)
    elif backend == "tensorflow":
        import tensorflow as tf

        def gradients(operands, upstream):
            with tf.GradientTape() as tape:
                tape.watch(operands)
                output = function(*operands)
                loss = tf.reduce_sum(output * upstream)
            return output, tape.gradient(loss, operands)

        if compile:
            gradients = tf.function(gradients, jit_compile=True)
        output, grads = gradients(operands, upstream)
    elif backend == "torch":
        operands = [v.detach().requires_grad_(True) for v in operands]
        forward = compiled(function) if compile else function
        output = forward(*operands)
        (output * upstream).sum().backward()
        grads = [v.grad for v in operands]
    else:
        raise NotImplementedError(f"no autodiff on the {backend} backend")
    grads = [to_float32(g) for g in grads]
    return (to_float32(output), grads) if with_output else grads


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
