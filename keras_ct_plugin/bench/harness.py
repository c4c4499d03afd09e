"""Forward and forward+backward callables for one layer on the running backend:
compiled as Keras's trainer would run them (jax.jit, tf.function, torch
eager), or eager, as a custom loop or a direct layer call runs them, where the
layer's own Python runs at every call."""

import keras
import numpy as np


def _jax_functions(layer, compiled=True):
    import jax
    import jax.numpy as jnp

    frozen = [v.value for v in layer.non_trainable_variables]

    def forward(weights, x):
        return layer.stateless_call(weights, frozen, x)[0]

    def loss(weights, x):
        return jnp.sum(jnp.square(forward(weights, x).astype("float32")))

    gradient = jax.grad(loss, argnums=(0, 1))
    if not compiled:
        return forward, gradient
    return jax.jit(forward), jax.jit(gradient)


def xla_peak_bytes(layer, x):
    """The bytes XLA's buffer assignment gives forward+backward beyond its
    arguments (temporaries and outputs), from the compiled program itself."""
    weights = [v.value for v in layer.trainable_variables]
    _, grad_jit = _jax_functions(layer)
    analysis = grad_jit.lower(weights, x).compile().memory_analysis()
    return analysis.temp_size_in_bytes + analysis.output_size_in_bytes


def callables(layer, x, compiled=True, direct=False):
    """`x`: a float32 NumPy array, given to the layer in its compute dtype.
    `direct` (torch): `layer.call`, without Keras's `Layer.__call__`."""
    backend = keras.backend.backend()
    dtype = layer.compute_dtype
    if backend == "jax":
        import jax
        import jax.numpy as jnp

        weights = [v.value for v in layer.trainable_variables]
        forward, gradient = _jax_functions(layer, compiled)
        x = jnp.asarray(x, dtype)
        return (lambda: jax.block_until_ready(forward(weights, x)),
                lambda: jax.block_until_ready(gradient(weights, x)))
    if backend == "tensorflow":
        import tensorflow as tf

        x = tf.constant(x, dtype)

        def forward():
            return layer(x)

        def forward_backward():
            with tf.GradientTape() as tape:
                tape.watch(x)
                loss = tf.reduce_sum(tf.square(tf.cast(layer(x), "float32")))
            return tape.gradient(loss, [x] + layer.trainable_variables)

        if compiled:
            forward, forward_backward = tf.function(forward), tf.function(forward_backward)

        return (lambda: forward().numpy(),
                lambda: [g.numpy() for g in forward_backward()])
    if backend == "torch":
        import torch

        x = torch.tensor(x).to(keras.ops.convert_to_tensor(0, dtype).dtype)

        call = layer.call if direct else layer

        def forward():
            with torch.no_grad():
                return call(x)

        # Cleared as raw torch's are (`bench/peer.py`): `Module.zero_grad`
        # walks Keras's tracked layers on every call.
        parameters = [v.value for v in layer.trainable_variables]

        def forward_backward():
            x.grad = None
            x.requires_grad_(True)
            for parameter in parameters:
                parameter.grad = None
            torch.square(call(x).float()).sum().backward()

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
