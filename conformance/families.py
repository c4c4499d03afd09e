"""Check families: what each runs, and on which cases.

The slower families run on a fixed share of the matrix: a case takes part
when the CRC-32 of its id is divisible by the family's `every`, so the share
does not alias with the periods the matrix rotates its settings by."""

import zlib

# "check": the function of checks.py that runs it (by name: the conformance
# runner reads this table without importing Keras).
FAMILIES = {
    "shapes": dict(check="shapes", every=1),
    "forward vs reference (eager)": dict(check="forward", every=1),
    # JAX compiles each case's programs (about a second each on CPU): its
    # slower families run on a smaller share; its pytest run covers them too.
    "gradients vs reference": dict(check="gradients", every=4, every_jax=16, autodiff=True),
    "serialization (config, JSON, .keras)": dict(check="serialization", every=6,
                                                 every_openvino=12),
    # torch.compile takes seconds per case on CPU.
    "mode: compiled": dict(check="compiled_call", every=30, every_torch=560,
                           autodiff=True),
    "mode: predict": dict(check="predict", every=30),
    "mode: fit one step": dict(check="fit_one_step", every=30, autodiff=True),
    # Forward everywhere, gradients where the backend has autodiff.
    "LoRA vs reference (forward, gradients)": dict(check="lora", every=8, every_jax=48,
                                                   plugin_only=True),
    # Keras 3.13 or newer (keras.quantizers.QuantizationConfig).
    "quantize int8, int4 vs reference": dict(check="quantized", every=8, every_jax=48,
                                             plugin_only=True, needs_quantization=True),
}
MIGRATION = "migration from the built-in"
MIGRATION_EVERY = 6
# torch.nn.ConvTranspose{1,2,3}d modules (torch_modules.py), both data formats.
FROM_TORCH = "from_torch: PyTorch modules"
# Families computed across processes, by __main__ from the workers' files.
CROSS_FAMILIES = ("forward across backends", ".keras across backends")
# The export matrix (export_check.py), one cell per model and format.
EXPORT = "export: model.export, artifact in its runtime"
# A worker process that exits with an error (a crash outside any check)
# fails here; the families it did not finish lack its cases.
WORKERS = "worker processes exited normally"
ORDER = [WORKERS, *FAMILIES, CROSS_FAMILIES[0], MIGRATION, CROSS_FAMILIES[1], FROM_TORCH,
         EXPORT]


def selected(case, every):
    return zlib.crc32(case.id.encode()) % every == 0
