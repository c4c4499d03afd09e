"""Forward and forward+backward callables for one layer on the running backend,
compiled as Keras's trainer would run them (jax.jit, tf.function, torch eager)."""

import keras
import numpy as np


def _jax_functions(layer):
    import jax
    import jax.numpy as jnp

    def forward(weights, x):
        return layer.stateless_call(weights, [], x)[0]

    def loss(weights, x):
        return jnp.sum(jnp.square(forward(weights, x)))

    return jax.jit(forward), jax.jit(jax.grad(loss, argnums=(0, 1)))


def xla_peak_bytes(layer, x):
    """The bytes XLA's buffer assignment gives forward+backward beyond its
    arguments (temporaries and outputs), from the compiled program itself."""
    weights = [v.value for v in layer.trainable_variables]
    _, grad_jit = _jax_functions(layer)
    analysis = grad_jit.lower(weights, x).compile().memory_analysis()
    return analysis.temp_size_in_bytes + analysis.output_size_in_bytes


def callables(layer, x):
    backend = keras.backend.backend()
    if backend == "jax":
        import jax
        import jax.numpy as jnp

        weights = [v.value for v in layer.trainable_variables]
        forward_jit, grad_jit = _jax_functions(layer)
        x = jnp.asarray(x)
        return (lambda: jax.block_until_ready(forward_jit(weights, x)),
                lambda: jax.block_until_ready(grad_jit(weights, x)))
    if backend == "tensorflow":
        import tensorflow as tf

        x = tf.constant(x)
        forward = tf.function(lambda: layer(x))

        @tf.function
        def forward_backward():
            with tf.GradientTape() as tape:
                tape.watch(x)
                loss = tf.reduce_sum(tf.square(layer(x)))
            return tape.gradient(loss, [x] + layer.trainable_variables)

        return (lambda: forward().numpy(),
                lambda: [g.numpy() for g in forward_backward()])
    if backend == "torch":
        import torch

        x = torch.tensor(x)

        def forward():
            with torch.no_grad():
                return layer(x)

        def forward_backward():
            x.grad = None
            x.requires_grad_(True)
            layer.zero_grad()
            torch.square(layer(x)).sum().backward()

        return forward, forward_backward
    raise NotImplementedError(backend)


def matmul_callable(m, k, n):
    backend = keras.backend.backend()
    a = np.random.default_rng(0).standard_normal((m, k)).astype("float32")
    b = np.random.default_rng(1).standard_normal((k, n)).astype("float32")
    if backend == "jax":
        import jax

        a, b = jax.numpy.asarray(a), jax.numpy.asarray(b)
        f = jax.jit(jax.numpy.matmul)
        return lambda: jax.block_until_ready(f(a, b))
    if backend == "tensorflow":
        import tensorflow as tf

        a, b = tf.constant(a), tf.constant(b)
        f = tf.function(tf.matmul)
        return lambda: f(a, b).numpy()
    import torch

    a, b = torch.tensor(a), torch.tensor(b)
    return lambda: torch.matmul(a, b)
