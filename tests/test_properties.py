"""Property tests: random settings of every kind, on the running backend.

Valid settings must match the NumPy reference (or, where an explicit padding
crops more than the whole output, raise naming `padding`); a setting with one
argument made invalid must raise ValueError or TypeError naming that argument.
"""

import keras
import numpy as np
import pytest
from hypothesis import HealthCheck
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from helpers import LAYERS
from helpers import assert_matches_reference
from keras_ct_plugin.conformance import reference
from keras_ct_plugin.conformance.operands import to_float32
from keras_ct_plugin.conformance.operands import uniform

# JAX compiles every new shape: fewer examples there. Each run draws anew.
EXAMPLES = 25 if keras.backend.backend() == "jax" else 60
PROPERTY_SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


def _per_axis(rank, values):
    return st.tuples(*[values] * rank)


@st.composite
def paddings(draw, rank):
    small = st.integers(0, 3)
    return draw(st.one_of(
        st.sampled_from(["valid", "same", "SAME"]),
        small,
        _per_axis(rank, small),
        _per_axis(rank, st.tuples(small, small)),
    ))


@st.composite
def valid_settings(draw):
    rank = draw(st.integers(1, 3))
    groups = draw(st.integers(1, 3))
    kernel_size = draw(_per_axis(rank, st.integers(1, 4)))
    strides = draw(_per_axis(rank, st.integers(1, 3)))
    dilation_rate = draw(_per_axis(rank, st.integers(1, 3)))
    limits = [max(s, d) for s, d in zip(strides, dilation_rate)]
    output_padding = draw(st.one_of(
        st.none(), st.tuples(*[st.integers(0, limit - 1) for limit in limits])))
    max_size = 5 if rank < 3 else 3
    return dict(
        rank=rank,
        filters=groups * draw(st.integers(1, 2)),
        kernel_size=kernel_size,
        strides=strides,
        padding=draw(paddings(rank)),
        output_padding=output_padding,
        data_format=draw(st.sampled_from(["channels_last", "channels_first"])),
        dilation_rate=dilation_rate,
        groups=groups,
        in_channels=groups * draw(st.integers(1, 2)),
        spatial=draw(_per_axis(rank, st.integers(1, max_size))),
        batch=draw(st.integers(1, 2)),
    )


LAYER_ARGUMENTS = ("filters", "kernel_size", "strides", "padding", "output_padding",
                   "data_format", "dilation_rate", "groups")


def _layer(s):
    return LAYERS[s["rank"]](**{k: s[k] for k in LAYER_ARGUMENTS})


def _input_shape(s):
    if s["data_format"] == "channels_last":
        return (s["batch"], *s["spatial"], s["in_channels"])
    return (s["batch"], s["in_channels"], *s["spatial"])


def _crops_too_much(s):
    """Some axis would be left with a negative length (explicit padding)."""
    output_padding = s["output_padding"] or (None,) * s["rank"]
    return any(reference.output_length(*axis) < 0 for axis in zip(
        s["spatial"], s["kernel_size"], s["strides"], s["dilation_rate"],
        reference.per_axis_padding(s["padding"], s["rank"]), output_padding))


@PROPERTY_SETTINGS
@given(valid_settings())
def test_random_valid_settings_match_reference(s):
    layer = _layer(s)
    x = uniform(_input_shape(s), seed=50)
    if _crops_too_much(s):
        with pytest.raises(ValueError, match="Invalid value for argument `padding`"):
            layer(x)
        return
    y = layer(x)
    assert tuple(y.shape) == layer.compute_output_shape(x.shape)
    expected = reference.conv_transpose(
        x, to_float32(layer.kernel), s["strides"], s["padding"], s["output_padding"],
        s["dilation_rate"], s["data_format"], s["groups"],
    ) + (to_float32(layer.bias).reshape((-1,) + (1,) * s["rank"])
         if s["data_format"] == "channels_first" else to_float32(layer.bias))
    assert_matches_reference(y, expected)


# One argument made invalid: (argument, strategy of bad values).
BAD_VALUES = {
    "filters": st.one_of(st.integers(-3, 0), st.floats(0.5, 4), st.just("4"),
                         st.none(), st.just(True)),
    "kernel_size": st.one_of(st.just(0), st.just((2, 0, 1, 3)), st.just(2.5),
                             st.just("3"), st.none()),
    "strides": st.one_of(st.integers(-2, 0), st.just((1, 1, 1, 1)), st.just([1.0])),
    "dilation_rate": st.one_of(st.just(0), st.just((1, 2, 3, 4)), st.just("2")),
    "padding": st.one_of(st.sampled_from(["full", "causal", ""]), st.integers(-3, -1),
                         st.just(((1, 2, 3),)), st.just(1.5), st.none(),
                         st.just((1, 1, 1, 1))),
    "output_padding": st.one_of(st.just(-1), st.just(9), st.just((0, 0, 0, 0)),
                                st.just("1")),
    "data_format": st.one_of(st.sampled_from(["NHWC", "channels", ""]), st.just(3)),
    "groups": st.one_of(st.integers(-2, 0), st.just(2.0), st.just("2")),
}


@st.composite
def invalid_settings(draw):
    s = draw(valid_settings())
    name = draw(st.sampled_from(sorted(BAD_VALUES)))
    value = draw(BAD_VALUES[name])
    if name == "groups" and isinstance(value, int) and value > 0:
        value = s["filters"] + 1
    return s, name, value


@PROPERTY_SETTINGS
@given(invalid_settings())
def test_random_invalid_settings_raise_naming_the_argument(case):
    s, name, value = case
    arguments = {k: s[k] for k in LAYER_ARGUMENTS}
    arguments[name] = value
    with pytest.raises((ValueError, TypeError)) as raised:
        LAYERS[s["rank"]](**arguments)
    assert f"argument `{name}`" in str(raised.value)


@st.composite
def invalid_inputs(draw):
    s = draw(valid_settings())
    shape = list(_input_shape(s))
    channel = -1 if s["data_format"] == "channels_last" else 1
    kind = draw(st.sampled_from(["rank", "channels", "empty"]))
    if kind == "rank":
        shape = shape + [2] if draw(st.booleans()) else shape[:-1]
    elif kind == "channels":
        shape[channel] += draw(st.integers(1, s["groups"] * 2 - 1)) if s["groups"] > 1 else 1
    else:
        spatial = range(1, s["rank"] + 1) if channel == -1 else range(2, s["rank"] + 2)
        shape[draw(st.sampled_from(list(spatial)))] = 0
    return s, tuple(shape)


@PROPERTY_SETTINGS
@given(invalid_inputs())
def test_random_invalid_inputs_raise_naming_inputs(case):
    s, shape = case
    layer = _layer(s)
    layer.build(_input_shape(s))
    with pytest.raises(ValueError) as raised:
        layer(np.zeros(shape, "float32"))
    assert "argument `inputs`" in str(raised.value)
