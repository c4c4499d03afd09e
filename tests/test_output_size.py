"""`output_size` at call time (PyTorch's): every size a call can reach gives
what the layer built with the matching `output_padding` gives, on every path,
in models, compiled and exported; sizes out of reach raise."""

import itertools
from dataclasses import replace

import keras
import numpy as np
import pytest

import keras_ct_plugin as ct
from cases import COVERING
from cases import Case
from helpers import LAYERS
from helpers import assert_matches_reference
from helpers import built_layer_for
from helpers import path_params
from helpers import serves
from keras_ct_plugin.conformance import reference
from keras_ct_plugin.conformance.operands import reference_output
from keras_ct_plugin.conformance.operands import uniform

BACKEND = keras.backend.backend()

# Where output_padding has a choice: strides or dilation above 1 on some axis.
CASES = [replace(c, dtype="float32", activation=None) for c in COVERING
         if max(max(c.strides), max(c.dilation_rate)) > 1][::3] + [
    Case((3, 3), (2, 2), (1, 1), "same", (1, 1), "channels_last", (5, 4)),
    Case((2, 3, 2), (3, 2, 1), (1, 1, 2), ((1, 0), (0, 1), (1, 1)), None, "channels_first",
         (2, 3, 2), groups=3, in_channels=3, filters=6),
]


def _reachable(case):
    """Per axis, the output lengths output_padding 0 to max(s, d) - 1 give,
    from the reference's own length rule."""
    paddings = (case.padding,) * case.rank if isinstance(case.padding, str) else case.padding
    return [[reference.output_length(n, k, s, d, p, op) for op in range(max(s, d))]
            for n, k, s, d, p in zip(case.spatial, case.kernel_size, case.strides,
                                     case.dilation_rate, paddings)]


def _sizes_and_cases(case):
    """(output_size, the case built with its output_padding) for every size
    the call reaches."""
    for output_padding in itertools.product(*(range(len(r)) for r in _reachable(case))):
        size = tuple(r[op] for r, op in zip(_reachable(case), output_padding))
        yield size, replace(case, output_padding=output_padding)


def _operands(case):
    return uniform(case.input_shape, 30), uniform(case.kernel_shape, 31), uniform(
        (case.filters,), 32)


def _built(case, implementation="auto"):
    x, kernel, bias = _operands(case)
    layer = LAYERS[case.rank](case.filters, case.kernel_size, **case.settings,
                              implementation=implementation)
    layer.build(case.input_shape)
    layer.set_weights([kernel, bias])
    return layer, x, kernel, bias


def _first_case_per_path():
    """Each path with the first case it serves: output_size reaches a path
    as output_padding does, which test_paths.py checks case by case."""
    chosen = {}
    for param in path_params(CASES):
        chosen.setdefault(param.values[1], param)
    return list(chosen.values())


@pytest.mark.parametrize("case, path", _first_case_per_path())
def test_every_path_gives_every_reachable_size(case, path):
    layer, x, kernel, bias = _built(case, path)
    for size, matching in _sizes_and_cases(case):
        if not serves(path, matching):
            with pytest.raises(ValueError, match=f"implementation='{path}' cannot give"):
                layer(x, output_size=size)
            continue
        y = layer(x, output_size=size)
        assert_matches_reference(y, reference_output(matching, x, kernel, bias))


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_a_size_is_what_the_matching_output_padding_gives(case):
    """The smallest and the largest reachable sizes, against the reference
    and the layer built with the matching output_padding."""
    layer, x, kernel, bias = _built(case)
    sizes = list(_sizes_and_cases(case))
    for size, matching in (sizes[0], sizes[-1]):
        y = layer(x, output_size=size)
        spec = layer.compute_output_spec(keras.KerasTensor(x.shape), output_size=size)
        assert spec.shape == tuple(y.shape)
        assert_matches_reference(y, reference_output(matching, x, kernel, bias))
        twin = built_layer_for(matching, 0)
        twin.set_weights([kernel, bias])
        np.testing.assert_allclose(keras.ops.convert_to_numpy(twin(x)),
                                   keras.ops.convert_to_numpy(y), rtol=1e-5, atol=1e-6)


def test_the_functional_op_takes_output_size():
    case = CASES[-2]
    x, kernel, _ = _operands(case)
    (size, matching), *_ = reversed(list(_sizes_and_cases(case)))
    y = ct.ops.conv_transpose(x, kernel, **case.settings, output_size=size)
    assert_matches_reference(y, reference_output(matching, x, kernel))
    symbolic = ct.ops.conv_transpose(keras.Input(case.input_shape[1:]), kernel,
                                     **case.settings, output_size=size)
    assert symbolic.shape[1:] == y.shape[1:]


def test_sizes_out_of_reach_raise_with_the_range():
    layer, x, _, _ = _built(CASES[-2])
    with pytest.raises(ValueError) as error:
        layer(x, output_size=(12, 7))
    assert ("Invalid value for argument `output_size`. Expected on each spatial axis a "
            "size this input reaches (9 to 10, 7 to 8). Received output_size=(12, 7) for "
            "spatial input sizes (5, 4).") in str(error.value)
    with pytest.raises(TypeError, match=r"Invalid type for argument `output_size`. Expected "
                       r"an int or a tuple of 2 ints, each >= 0. Received output_size="
                       r"'10x8' of type str."):
        layer(x, output_size="10x8")
    with pytest.raises(ValueError, match=r"Expected inputs whose spatial sizes are known. "
                       r"Received output_size=\(10, 8\) for spatial input sizes "
                       r"\(None, 4\)."):
        layer(keras.Input((None, 4, 3)), output_size=(10, 8))


def test_a_forced_path_that_cannot_give_the_size_says_so():
    tiling = Case((2, 2), (2, 2), (1, 1), "valid", None, "channels_last", (3, 4))
    layer, x, _, _ = _built(tiling, "matmul")
    with pytest.raises(ValueError, match=r"Invalid value for argument `output_size`. "
                       r"implementation='matmul' cannot give output_size=\(7, 8\): it needs "
                       r"kernel_size == strides"):
        layer(x, output_size=(7, 8))


def _skip_model(jit_compile):
    """A decoder step that upsamples to its skip connection's odd size."""
    x = keras.Input((5, 4, 3))
    skip = keras.Input((10, 7, 2))
    up = ct.Conv2DTranspose(2, 3, strides=2, padding="same", kernel_initializer="ones",
                            name="up")
    y = keras.layers.Concatenate()([up(x, output_size=(10, 7)), skip])
    model = keras.Model([x, skip], y)
    if jit_compile is not None:
        model.compile(jit_compile=jit_compile)
    return model


def _skip_expected(model, x, skip):
    up = model.get_layer("up")
    kernel, bias = (keras.ops.convert_to_numpy(w) for w in up.weights)
    y = reference.conv_transpose(x, kernel, (2, 2), "same", output_padding=(1, 0))
    return np.concatenate([y + bias, skip], axis=-1)


@pytest.mark.parametrize("jit_compile", [None, True], ids=["eager", "jit"])
def test_a_functional_model_upsamples_to_its_skip_connection(jit_compile, tmp_path):
    if jit_compile and BACKEND == "numpy":
        pytest.skip("the numpy backend does not compile")
    model = _skip_model(jit_compile)
    x, skip = uniform((2, 5, 4, 3), 1), uniform((2, 10, 7, 2), 2)
    assert model.output_shape == (None, 10, 7, 4)
    assert_matches_reference(model.predict([x, skip], verbose=0), _skip_expected(model, x, skip))
    model.save(tmp_path / "skip.keras")
    loaded = keras.models.load_model(tmp_path / "skip.keras")
    assert_matches_reference(loaded.predict([x, skip], verbose=0),
                             _skip_expected(model, x, skip))


def _exported_output(model, format, directory, inputs):
    if format == "tf_saved_model":
        import tensorflow as tf

        model.export(directory / "saved", format=format, verbose=False)
        loaded = tf.saved_model.load(str(directory / "saved"))
        return loaded.serve(list(inputs))
    import onnxruntime

    model.export(directory / "model.onnx", format=format, verbose=False)
    session = onnxruntime.InferenceSession(str(directory / "model.onnx"),
                                           providers=["CPUExecutionProvider"])
    return session.run(None, {i.name: x for i, x in zip(session.get_inputs(), inputs)})[0]


@pytest.mark.skipif(BACKEND not in ("tensorflow", "jax", "torch"), reason="exports from "
                    "TF and JAX (SavedModel) and torch (ONNX)")
def test_export_keeps_the_size(tmp_path):
    model = _skip_model(None)
    x, skip = uniform((3, 5, 4, 3), 3), uniform((3, 10, 7, 2), 4)
    format = "onnx" if BACKEND == "torch" else "tf_saved_model"
    model.predict([x, skip], verbose=0)  # torch's exporter traces a model that has run
    assert_matches_reference(_exported_output(model, format, tmp_path, (x, skip)),
                             _skip_expected(model, x, skip))


def test_torch_output_size_is_ours():
    """torch's `ConvTranspose2d.forward(x, output_size=...)` through
    `from_torch`, for every size torch reaches."""
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    module = torch.nn.ConvTranspose2d(4, 6, (3, 4), stride=(3, 2), padding=(1, 2), groups=2)
    layer = ct.from_torch(module)
    x = uniform((2, 4, 5, 3), 5)
    for size in itertools.product(range(13, 16), range(4, 6)):
        expected = module(torch.tensor(x), output_size=size).detach().numpy()
        actual = keras.ops.convert_to_numpy(layer(x, output_size=size))
        np.testing.assert_allclose(actual, expected, rtol=1e-5, atol=1e-5, err_msg=str(size))
