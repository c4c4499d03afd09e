"""The benchmark's workloads (inputs given NHWC)."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Workload:
    name: str
    input_nhwc: tuple
    filters: int
    kernel: int
    stride: int
    padding: str
    data_format: str = "channels_last"

    @property
    def input_shape(self):
        if self.data_format == "channels_last":
            return self.input_nhwc
        n, h, w, c = self.input_nhwc
        return (n, c, h, w)

    @property
    def flops(self):
        n, h, w, c = self.input_nhwc
        return 2 * n * h * w * c * self.filters * self.kernel**2

    @property
    def matmul_shape(self):
        """(M, K, N) with 2*M*K*N equal to the layer's FLOPs."""
        n, h, w, c = self.input_nhwc
        return n * h * w, c, self.filters * self.kernel**2


WORKLOADS = [
    Workload("seed example", (4, 10, 8, 128), 32, 2, 2, "valid"),
    Workload("U-Net up", (8, 32, 32, 256), 128, 2, 2, "valid"),
    Workload("DCGAN up", (32, 16, 16, 256), 128, 4, 2, "same"),
    Workload("autoencoder", (16, 28, 28, 64), 32, 3, 2, "same"),
    Workload("stride 1", (8, 32, 32, 64), 64, 3, 1, "same"),
    Workload("channels_first", (8, 32, 32, 256), 128, 2, 2, "valid", "channels_first"),
]
