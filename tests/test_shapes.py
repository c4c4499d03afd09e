"""`shapes.py`'s windows on every axis of the whole case matrix, against the
reference's own output length (`reference.output_length`, written apart from
the production arithmetic), with the input sizes 1 to 9."""

import numpy as np
import pytest

from cases import MATRIX
from keras_ct_plugin import shapes
from keras_ct_plugin.conformance import reference

AXES = sorted({(k, s, d, p if isinstance(p, str) else tuple(p), op)
               for case in MATRIX
               for k, s, d, p, op in zip(
                   case.kernel_size, case.strides, case.dilation_rate,
                   [case.padding] * case.rank if isinstance(case.padding, str) else case.padding,
                   case.output_padding or (None,) * case.rank)}, key=str)


def _window(k, s, d, padding, output_padding):
    return shapes.axis_window(k, s, d, padding, output_padding)


@pytest.mark.parametrize("k, s, d, padding, output_padding", AXES, ids=str)
def test_window_length_is_the_references(k, s, d, padding, output_padding):
    window = _window(k, s, d, padding, output_padding)
    for n in range(1, 10):
        expected = reference.output_length(n, k, s, d, padding, output_padding)
        assert window.length(n) == expected, n
        full = (n - 1) * s + (k - 1) * d + 1
        assert window.full_length(n) == full
        assert full - window.crop_before - window.crop_after == expected
    assert window.length(None) is None


@pytest.mark.parametrize("k, s, d, padding, output_padding", AXES, ids=str)
def test_tiling_is_one_block_per_input_position(k, s, d, padding, output_padding):
    """A window tiles the output when each input position's kernel block is
    exactly its own stride-long part of the output."""
    window = _window(k, s, d, padding, output_padding)
    tiles = k == s and d == 1 and all(window.length(n) == n * s for n in range(1, 10)) and (
        window.crop_before == 0)
    assert window.is_tiling == tiles


def test_a_padding_it_does_not_know_raises():
    """The layer and the op check `padding` first; a direct caller of the
    shape module gets the same message."""
    with pytest.raises(ValueError) as error:
        shapes.axis_window(3, 2, 1, "full", None)
    assert str(error.value) == ("Invalid value for argument `padding`. Expected 'valid' or "
                                "'same'. Received padding='full'.")


@pytest.mark.parametrize("rank", [1, 2, 3])
def test_channel_moves_are_numpys_moveaxis(rank):
    shape = (2, 3, 4, 5, 6)[:rank + 2]
    x = np.arange(np.prod(shape)).reshape(shape)
    np.testing.assert_array_equal(np.transpose(x, shapes.to_channels_last(rank)),
                                  np.moveaxis(x, 1, -1))
    np.testing.assert_array_equal(np.transpose(x, shapes.to_channels_first(rank)),
                                  np.moveaxis(x, -1, 1))


def test_axis_windows_are_values_a_cache_can_key_on():
    """The torch backend's plan cache keys on a call's windows: equal windows hash alike,
    and none can change after it is made."""
    window = shapes.AxisWindow(3, 2, 1, 1, 0)
    assert {window: "plan"}[shapes.AxisWindow(3, 2, 1, 1, 0)] == "plan"
    with pytest.raises(AttributeError):
        window.stride = 1
