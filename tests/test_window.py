"""`window.py` on the running backend, against NumPy's own pad and slices."""

import numpy as np
from keras import ops

from keras_ct_plugin import window
from keras_ct_plugin.shapes import axis_window
from keras_ct_plugin.conformance.operands import uniform


def test_pad_or_crop_pads_and_crops_each_end_of_each_axis():
    x = uniform((2, 5, 6, 3), 0)
    y = window.pad_or_crop(ops.convert_to_tensor(x), (1, 2), [(2, -1), (-3, 1)])
    expected = np.pad(x[:, :-1, 3:], [(0, 0), (2, 0), (0, 1), (0, 0)])
    np.testing.assert_array_equal(ops.convert_to_numpy(y), expected)


def test_pad_or_crop_adds_no_op_when_there_is_nothing_to_do():
    x = ops.convert_to_tensor(uniform((2, 5, 3), 0))
    assert window.pad_or_crop(x, (1,), [(0, 0)]) is x
    cropped = window.pad_or_crop(x, (1,), [(-1, 0)])
    np.testing.assert_array_equal(ops.convert_to_numpy(cropped), ops.convert_to_numpy(x)[:, 1:])


def test_flip_reverses_every_axis_given():
    x = uniform((2, 3, 4, 5), 0)
    y = window.flip(ops.convert_to_tensor(x), (1, 3))
    np.testing.assert_array_equal(ops.convert_to_numpy(y), x[:, ::-1, :, ::-1])


def test_crop_to_window_keeps_each_window_of_the_full_output():
    # Kernel 4, stride 2, "same": the full output drops 1 position at the
    # start and 1 at the end; kernel 3, stride 1, explicit (2, 0): 2 at the
    # start, none at the end.
    windows = (axis_window(4, 2, 1, "same", None), axis_window(3, 1, 1, (2, 0), None))
    full = uniform((2, 3, 8, 7), 0)
    y = window.crop_to_window(ops.convert_to_tensor(full), windows, "channels_first")
    np.testing.assert_array_equal(ops.convert_to_numpy(y), full[:, :, 1:-1, 2:])
