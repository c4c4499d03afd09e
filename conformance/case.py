"""One transposed-convolution setting, with an id that says what it is."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Case:
    kernel_size: tuple
    strides: tuple
    dilation_rate: tuple
    padding: str
    output_padding: tuple | None
    data_format: str
    spatial: tuple
    batch: int = 2
    in_channels: int = 3
    filters: int = 4
    use_bias: bool = True
    activation: str | None = None
    dtype: str = "float32"
    groups: int = 1

    @property
    def rank(self):
        return len(self.kernel_size)

    @property
    def input_shape(self):
        if self.data_format == "channels_last":
            return (self.batch, *self.spatial, self.in_channels)
        return (self.batch, self.in_channels, *self.spatial)

    @property
    def kernel_shape(self):
        return (*self.kernel_size, self.filters, self.in_channels // self.groups)

    @property
    def settings(self):
        return dict(
            strides=self.strides,
            padding=self.padding,
            output_padding=self.output_padding,
            dilation_rate=self.dilation_rate,
            data_format=self.data_format,
            groups=self.groups,
        )

    @property
    def builtin_settings(self):
        """`settings` as `keras.layers.Conv{1,2,3}DTranspose` takes them: it
        has no `groups`."""
        settings = self.settings
        del settings["groups"]
        return settings

    @property
    def keras_builtin_accepts(self):
        """Keras rejects strides > 1 with dilation > 1, and output_padding
        >= strides (this plugin follows torch: < max(strides, dilation)); it
        has no groups and no explicit padding."""
        if max(self.strides) > 1 and max(self.dilation_rate) > 1:
            return False
        if self.groups > 1 or not isinstance(self.padding, str):
            return False
        op = self.output_padding or (0,) * self.rank
        return all(p < s for p, s in zip(op, self.strides))

    @property
    def id(self):
        def axes(t):
            return "x".join(map(str, t))

        op = "none" if self.output_padding is None else axes(self.output_padding)
        fmt = "cl" if self.data_format == "channels_last" else "cf"
        padding = self.padding if isinstance(self.padding, str) else (
            "pad" + "x".join(f"{a}_{b}" for a, b in self.padding))
        extras = [f"b{self.batch}" if self.batch != 2 else "",
                  "" if self.use_bias else "nobias", self.activation or "",
                  self.dtype if self.dtype != "float32" else "",
                  f"g{self.groups}" if self.groups > 1 else ""]
        return "-".join([
            f"{self.rank}d-k{axes(self.kernel_size)}-s{axes(self.strides)}"
            f"-d{axes(self.dilation_rate)}-{padding}-op{op}-{fmt}"
            f"-n{axes(self.spatial)}", *filter(None, extras)])
