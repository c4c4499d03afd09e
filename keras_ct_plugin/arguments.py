"""Validation and standardization of the transposed-convolution arguments.

Each helper names the argument, says what was expected and what was received,
and returns the argument in its standard form (ints as tuples of `rank` ints).
"""

import numbers

import keras

from keras_ct_plugin import shapes

PADDINGS = ("valid", "same")
DATA_FORMATS = ("channels_last", "channels_first")


def is_int(value):
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _received(name, value):
    return f"Received {name}={value!r} of type {type(value).__name__}."


def positive_int(value, name):
    if not is_int(value):
        raise TypeError(
            f"Invalid type for argument `{name}`. Expected a positive int. "
            + _received(name, value)
        )
    if value < 1:
        raise ValueError(
            f"Invalid value for argument `{name}`. Expected a strictly "
            f"positive value. Received {name}={value}."
        )
    return int(value)


def int_tuple(value, rank, name, minimum):
    """An int, or a tuple/list of `rank` ints, each at least `minimum`."""
    expected = f"an int or a tuple of {rank} ints, each >= {minimum}"
    if is_int(value):
        values = (value,) * rank
    elif isinstance(value, (tuple, list)) and all(is_int(v) for v in value):
        values = tuple(value)
    else:
        raise TypeError(
            f"Invalid type for argument `{name}`. Expected {expected}. "
            + _received(name, value)
        )
    if len(values) != rank or min(values) < minimum:
        raise ValueError(
            f"Invalid value for argument `{name}`. Expected {expected}. "
            f"Received {name}={value!r}."
        )
    return tuple(int(v) for v in values)


def choice(value, name, choices):
    expected = " or ".join(repr(c) for c in choices)
    if not isinstance(value, str):
        raise TypeError(
            f"Invalid type for argument `{name}`. Expected {expected}. "
            + _received(name, value)
        )
    if value.lower() not in choices:
        raise ValueError(
            f"Invalid value for argument `{name}`. Expected {expected}. "
            f"Received {name}={value!r}."
        )
    return value.lower()


def padding(value, rank):
    """'valid' or 'same', or explicit crops in the standard form: a tuple of
    `rank` (before, after) pairs. An int or a tuple of `rank` ints crops the
    same amount at both ends, as PyTorch's `padding` does."""
    if isinstance(value, str):
        return choice(value, "padding", PADDINGS)
    expected = (
        f"'valid' or 'same', an int, a tuple of {rank} ints, or a tuple of "
        f"{rank} (before, after) pairs of ints, each >= 0"
    )
    if is_int(value):
        pairs = ((value, value),) * rank
    elif isinstance(value, (tuple, list)) and all(is_int(v) for v in value):
        pairs = tuple((v, v) for v in value)
    elif isinstance(value, (tuple, list)) and all(
        isinstance(v, (tuple, list)) and len(v) == 2 and all(is_int(a) for a in v)
        for v in value
    ):
        pairs = tuple(tuple(v) for v in value)
    else:
        raise TypeError(
            f"Invalid type for argument `padding`. Expected {expected}. "
            + _received("padding", value)
        )
    if len(pairs) != rank or min(min(pair) for pair in pairs) < 0:
        raise ValueError(
            f"Invalid value for argument `padding`. Expected {expected}. "
            f"Received padding={value!r}."
        )
    return tuple((int(a), int(b)) for a, b in pairs)


def data_format(value):
    return choice(value, "data_format", DATA_FORMATS)


def output_padding(value, rank, strides, dilation_rate):
    """`None`, or per axis `0 <= output_padding < max(stride, dilation)`.

    This is PyTorch's rule; with `dilation_rate=1` it is Keras's
    `output_padding < strides`.
    """
    if value is None:
        return None
    values = int_tuple(value, rank, "output_padding", minimum=0)
    limits = tuple(max(s, d) for s, d in zip(strides, dilation_rate))
    if any(op >= limit for op, limit in zip(values, limits)):
        raise ValueError(
            "Invalid value for argument `output_padding`. Expected each value "
            "to be strictly less than max(strides, dilation_rate) on its axis, "
            f"here {limits}. Received output_padding={value!r} with "
            f"strides={strides} and dilation_rate={dilation_rate}."
        )
    return values


def groups(value, filters):
    value = positive_int(value, "groups")
    if filters % value:
        raise ValueError(
            "Invalid value for argument `groups`. Expected a divisor of "
            f"filters={filters}. Received groups={value}."
        )
    return value


def conv_transpose_settings(
    rank, strides, padding_, output_padding_, dilation_rate, data_format_, groups_,
    filters,
):
    """The standardized settings shared by the layer and the functional op."""
    strides = int_tuple(strides, rank, "strides", minimum=1)
    dilation_rate = int_tuple(dilation_rate, rank, "dilation_rate", minimum=1)
    return dict(
        strides=strides,
        padding=padding(padding_, rank),
        output_padding=output_padding(output_padding_, rank, strides, dilation_rate),
        dilation_rate=dilation_rate,
        data_format=data_format(data_format_),
        groups=groups(groups_, filters),
    )


def _layout(rank, data_format):
    spatial = ", ".join(f"spatial_{i + 1}" for i in range(rank))
    if data_format == "channels_last":
        return f"(batch, {spatial}, channels)"
    return f"(batch, channels, {spatial})"


def _invalid_input_shape(shape, rank, data_format, detail):
    return ValueError(
        f"Invalid shape for argument `inputs`. Expected a {rank + 2}-D input of shape "
        f"{_layout(rank, data_format)} for data_format={data_format!r}{detail}. "
        f"Received inputs with shape {shape}."
    )


def input_channels(shape, rank, data_format, expected_channels, groups):
    """Check an input shape; return its (known) channel count, a multiple of
    `groups`. (Runs at every call: the messages are built only on error.)"""
    shape = tuple(shape)
    if len(shape) != rank + 2:
        raise _invalid_input_shape(shape, rank, data_format, "")
    channels = shape[-1 if data_format == "channels_last" else 1]
    if channels is None:
        raise _invalid_input_shape(shape, rank, data_format, ", with a known channel dimension")
    if expected_channels is not None and channels != expected_channels:
        per_group = f", {groups} groups of {expected_channels // groups}," if groups > 1 else ""
        raise _invalid_input_shape(
            shape, rank, data_format,
            f", with {expected_channels} channels{per_group} to match the kernel")
    if channels % groups:
        raise _invalid_input_shape(
            shape, rank, data_format,
            f", with a channel count divisible by groups={groups}")
    spatial = shape[1:-1] if data_format == "channels_last" else shape[2:]
    if any(n is not None and n < 1 for n in spatial):
        raise _invalid_input_shape(shape, rank, data_format, ", with every spatial size >= 1")
    return channels


def real_dtype(dtype, name):
    """The standard name of argument `name`'s dtype, which must not be complex."""
    dtype = keras.backend.standardize_dtype(dtype)
    if dtype.startswith("complex"):
        raise TypeError(
            f"Invalid dtype for argument `{name}`. Expected a real tensor (floating, "
            f"integer or bool). Received {name} of dtype {dtype}."
        )
    return dtype


def op_compute_dtype(inputs_dtype, kernel_dtype):
    """What the functional op computes in: the inputs' float dtype; for
    integer or bool inputs the kernel's, or `floatx()` if that is not a float
    either (as `keras.layers.Dense` computes integer inputs in its float
    dtype). The kernel is never cast to an integer dtype."""
    inputs_dtype = real_dtype(inputs_dtype, "inputs")
    kernel_dtype = real_dtype(kernel_dtype, "kernel")
    for dtype in (inputs_dtype, kernel_dtype):
        if keras.backend.is_float_dtype(dtype):
            return dtype
    return keras.config.floatx()


def output_padding_for_size(output_size, input_shape, kernel_size, settings):
    """`output_size` (an int or one per spatial axis) as the `output_padding`
    that gives it for `input_shape`, with the standardized `settings`."""
    rank = len(kernel_size)
    output_size = int_tuple(output_size, rank, "output_size", minimum=0)
    sizes = [input_shape[a] for a in shapes.spatial_axes(rank, settings["data_format"])]
    return shapes.output_padding_for(
        output_size, sizes, kernel_size, settings["strides"], settings["dilation_rate"],
        settings["padding"],
    )
