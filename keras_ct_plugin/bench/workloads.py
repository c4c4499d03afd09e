"""The benchmark's workloads: the named ones, and seeded sweeps of shapes.

A workload is one transposed-convolution layer and its input; shapes are
given channels_last, `(batch, spatial..., channels)`, whatever the layer's
data format.
"""

import math
import random
from dataclasses import asdict
from dataclasses import dataclass


@dataclass(frozen=True)
class Workload:
    name: str
    input_nhwc: tuple
    filters: int
    kernel: int
    stride: int
    padding: str
    output_padding: int | None = None
    data_format: str = "channels_last"
    dtype: str = "float32"
    groups: int = 1

    @property
    def rank(self):
        return len(self.input_nhwc) - 2

    @property
    def input_shape(self):
        if self.data_format == "channels_last":
            return self.input_nhwc
        n, *spatial, c = self.input_nhwc
        return (n, c, *spatial)

    @property
    def layer_arguments(self):
        """Positional and keyword arguments of `Conv{rank}DTranspose`."""
        keywords = dict(output_padding=self.output_padding, data_format=self.data_format,
                        dtype=self.dtype)
        if self.groups > 1:
            keywords["groups"] = self.groups
        return (self.filters, self.kernel, self.stride, self.padding), keywords

    @property
    def flops(self):
        n, *spatial, c = self.input_nhwc
        return (2 * n * math.prod(spatial) * c * self.filters * self.kernel**self.rank
                // self.groups)

    @property
    def matmul_shape(self):
        """(M, K, N) with 2*M*K*N equal to the layer's FLOPs."""
        n, *spatial, c = self.input_nhwc
        return n * math.prod(spatial), c // self.groups, self.filters * self.kernel**self.rank

    def to_dict(self):
        return asdict(self)


def _jax_31662(dtype):
    return Workload(f"jax#31662 3-D ({dtype})", (1, 32, 32, 16, 64), 1, 3, 2, "same", 1,
                    dtype=dtype)


# The six workloads the `auto` rules were first measured on, then the cases of
# jax-ml/jax#31662 (the headline report of JAX's slow transposed convolution)
# and its neighbours in 1-D, 2-D and 3-D.
WORKLOADS = [
    Workload("seed example", (4, 10, 8, 128), 32, 2, 2, "valid"),
    Workload("U-Net up", (8, 32, 32, 256), 128, 2, 2, "valid"),
    Workload("DCGAN up", (32, 16, 16, 256), 128, 4, 2, "same"),
    Workload("autoencoder", (16, 28, 28, 64), 32, 3, 2, "same"),
    Workload("stride 1", (8, 32, 32, 64), 64, 3, 1, "same"),
    Workload("channels_first", (8, 32, 32, 256), 128, 2, 2, "valid", data_format="channels_first"),
    _jax_31662("float32"),
    Workload("3-D k3 s2 same op1", (2, 16, 16, 16, 32), 32, 3, 2, "same", 1),
    Workload("3-D k2 s2 valid", (2, 16, 16, 8, 64), 32, 2, 2, "valid"),
    Workload("2-D k3 s2 same op1", (4, 32, 32, 64), 32, 3, 2, "same", 1),
    Workload("1-D k4 s2 same", (8, 256, 64), 64, 4, 2, "same"),
    _jax_31662("bfloat16"),
]

# (kernel, stride, padding, output_padding) of the sweep's layers: the
# families decoders use.
FAMILIES = [(2, 2, "valid", None), (3, 2, "same", None), (3, 2, "same", 1),
            (3, 2, "valid", None), (4, 2, "same", None), (5, 2, "same", 1),
            (3, 1, "same", None)]
# Spatial sizes per rank, and the channel counts drawn, so that a layer's
# work stays between about 0.1 and 100 ms on a 2-core CPU.
SIZES = {1: (16, 32, 64, 128, 256), 2: (4, 8, 16, 32), 3: (4, 6, 8, 12)}
CHANNELS = (8, 16, 32, 64, 128, 256)
MAX_FLOPS = 4e9
MIN_FLOPS = 2e6


def sweep(seed, count=60):
    """`count` workloads drawn from `seed`: ranks 1 to 3, both data formats,
    float32 (and one in five bfloat16), batch 1 to 32, the FAMILIES, and
    groups now and then; reproducible from the seed alone."""
    draw = random.Random(seed)
    workloads = []
    while len(workloads) < count:
        rank = draw.choice((1, 2, 2, 3))
        kernel, stride, padding, output_padding = draw.choice(FAMILIES)
        spatial = tuple(draw.choice(SIZES[rank]) for _ in range(rank))
        channels, filters = draw.choice(CHANNELS), draw.choice(CHANNELS)
        groups = draw.choice((1, 1, 1, 1, 2, 4))
        if channels % groups or filters % groups:
            groups = 1
        workload = Workload(
            f"sweep {seed}/{len(workloads)}",
            (draw.choice((1, 2, 4, 8, 16, 32)), *spatial, channels), filters, kernel, stride,
            padding, output_padding,
            data_format=draw.choice(("channels_last", "channels_last", "channels_first")),
            dtype=draw.choice(("float32",) * 4 + ("bfloat16",)), groups=groups)
        if MIN_FLOPS <= workload.flops <= MAX_FLOPS:
            workloads.append(workload)
    return workloads
