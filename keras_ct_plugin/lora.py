"""LoRA (low-rank adaptation) for the transposed convolution layers, with the
API and save semantics of `keras.layers.Conv2D`'s (Keras 3.15.1,
`keras/src/layers/convolutional/base_conv.py`).

The layer's kernel has shape `kernel_size + (filters, in_channels //
groups)`. `lora_kernel_a` has shape `kernel.shape[:-1] + (rank,)` and
`lora_kernel_b` `(rank, kernel.shape[-1])`; the kernel the layer computes
with is `kernel + (lora_alpha / rank) * matmul(lora_kernel_a,
lora_kernel_b)`. With groups, the kernel's last axis is per group, so each
group's slice is adapted through the same product. The adapters are float32
under every dtype policy, and the base kernel is frozen. Saving stores the
merged kernel; loading into a layer with LoRA enabled zeroes the adapters.
"""

from keras import initializers
from keras import ops

from keras_ct_plugin import arguments
from keras_ct_plugin import dispatch


class LowRankAdaptation:
    """Mixed into `BaseConvTranspose`, whose `build` creates `_kernel`."""

    def _init_lora(self, lora_rank, lora_alpha):
        self.lora_rank = None if lora_rank is None else arguments.positive_int(
            lora_rank, "lora_rank")
        self.lora_alpha = lora_alpha if lora_alpha is not None else self.lora_rank
        self.lora_enabled = False

    @property
    def kernel(self):
        """The kernel the layer computes with: the variable (a quantized
        layer's dequantized), with LoRA enabled plus the scaled adapters'
        product."""
        if not self.built:
            raise AttributeError("You must build the layer before accessing `kernel`.")
        if not self.lora_enabled:
            return self._float_kernel()
        return self._merged(self._float_kernel(), self.lora_kernel_a, self.lora_kernel_b)

    def _merged(self, kernel, a, b):
        merged = dispatch.add_low_rank(kernel, a, b, self.lora_alpha / self.lora_rank)
        return ops.cast(merged, dtype=self.compute_dtype)

    def _kernel_for(self, inputs):
        """`kernel`; in a graph traced for `model.export`, the merged kernel
        as a constant, so that the artifact carries no LoRA ops. It is
        computed from the variables' own values (`_value`): inside a traced
        stateless call (JAX), `value` is a tracer."""
        if self.lora_enabled and dispatch.export_target(inputs) is not None:
            def merged():
                scale = self.kernel_scale._value if self._quantized else None
                return self._merged(self._float_kernel(self._kernel._value, scale),
                                    self.lora_kernel_a._value, self.lora_kernel_b._value)

            return dispatch.as_constant(merged)
        return self.kernel

    def enable_lora(self, rank, lora_alpha=None, a_initializer="he_uniform",
                    b_initializer="zeros"):
        if self.kernel_constraint:
            raise ValueError(
                "Lora is incompatible with kernel constraints. "
                "In order to enable lora on this layer, remove the "
                "`kernel_constraint` argument."
            )
        if not self.built:
            raise ValueError("Cannot enable lora on a layer that isn't yet built.")
        if self.lora_enabled:
            raise ValueError(
                "lora is already enabled. This can only be done once per layer."
            )
        rank = arguments.positive_int(rank, "rank")
        # Keras's Dense unlocks its tracker the same way; a Keras without one
        # tracks the new weights as it is.
        tracker = getattr(self, "_tracker", None)
        if tracker is not None:
            tracker.unlock()
        # float32, as Keras's: adapters in a low-precision policy would
        # underflow or overflow during fine-tuning.
        self.lora_kernel_a = self.add_weight(
            name="lora_kernel_a",
            shape=self._kernel_shape[:-1] + (rank,),
            initializer=initializers.get(a_initializer),
            dtype="float32",
            regularizer=self.kernel_regularizer,
        )
        self.lora_kernel_b = self.add_weight(
            name="lora_kernel_b",
            shape=(rank, self._kernel_shape[-1]),
            initializer=initializers.get(b_initializer),
            dtype="float32",
            regularizer=self.kernel_regularizer,
        )
        self._kernel.trainable = False
        if tracker is not None:
            tracker.lock()
        self.lora_enabled = True
        self.lora_rank = rank
        self.lora_alpha = lora_alpha if lora_alpha is not None else rank

    def save_own_variables(self, store):
        """The merged kernel and the bias, as a layer without LoRA has them;
        a quantized layer's kernel requantized, then its scale."""
        if not self.built:
            return
        kernel, scale = self._kernel, getattr(self, "kernel_scale", None)
        if self.lora_enabled:
            kernel = self.kernel
            if self._quantized:
                kernel, scale = self._requantized(kernel)
        for i, variable in enumerate(self._stored(kernel, scale)):
            store[str(i)] = variable

    def _stored(self, kernel, scale):
        """What a `.keras` file holds, in order: kernel, bias, kernel scale."""
        return ([kernel] + ([self.bias] if self.use_bias else [])
                + ([scale] if self._quantized else []))

    def load_own_variables(self, store):
        names = ["the kernel"] + (["the bias"] if self.use_bias else []) + (
            ["the kernel scale"] if self._quantized else [])
        if not self.lora_enabled and len(store.keys()) != len(names):
            raise ValueError(
                f"Layer '{self.name}' expected {len(names)} variables, but received "
                f"{len(store.keys())} variables during loading. Expected: "
                f"{', '.join(names[:-1]) + ' and ' if len(names) > 1 else ''}{names[-1]}.")
        if not self.built:
            return
        for i, variable in enumerate(self._stored(self._kernel, getattr(self, "kernel_scale", None))):
            variable.assign(store[str(i)])
        if self.lora_enabled:
            self.lora_kernel_a.assign(ops.zeros(self.lora_kernel_a.shape))
            self.lora_kernel_b.assign(ops.zeros(self.lora_kernel_b.shape))

    def _lora_config(self):
        if not self.lora_rank:
            return {}
        return {"lora_rank": self.lora_rank, "lora_alpha": self.lora_alpha}
