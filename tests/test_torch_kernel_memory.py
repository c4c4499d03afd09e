"""On torch, the kernel variable holds its values in the memory order torch's
op reads its weight in, behind the Keras shape, so the native path hands
torch a view, not a copy; training, saving and loading keep that order and
the layer's results. The copies and passes torch would make beyond that
are counted too."""

import contextlib
import math

import keras
import numpy as np
import pytest

import keras_ct_plugin as ct

pytestmark = pytest.mark.skipif(keras.backend.backend() != "torch",
                                reason="torch's memory order")


def _ops_on(run, size, names=("aten::copy_",)):
    """The calls of torch's ops `names` (copies by default) that `run()` makes
    on a tensor of `size` elements."""
    from torch.profiler import profile

    with profile(record_shapes=True) as profiled:
        run()
    return [event.name for event in profiled.events() if event.name in names
            and any(shape and math.prod(shape) == size for shape in event.input_shapes)]


def _kernel_copies(layer, x):
    """The copies torch's ops make of a kernel-sized tensor in one forward."""
    import torch

    with torch.no_grad():
        return _ops_on(lambda: layer(x), math.prod(layer.kernel.shape))


def _runs_torch_own_kernel(layer, x, stride, padding):
    """Whether torch picks its own CPU kernel for the 3-D `layer` (one group,
    no dilation) on the channels_first `x`."""
    from keras_ct_plugin.backends import torch as torch_backend

    return torch_backend._runs_torch_own_kernel(
        x, torch_backend._torch_weight(layer.kernel.value, 1),
        dict(stride=[stride] * 3, padding=[padding] * 3, dilation=[1] * 3,
             output_padding=[0] * 3, groups=1))


def _model(layer, input_shape):
    inputs = keras.Input(input_shape)
    return keras.Model(inputs, layer(inputs))


# Input, kernel and output sizes differ, so that only kernel copies count.
@pytest.mark.parametrize("layer_class, kwargs, input_shape", [
    (ct.Conv2DTranspose, dict(filters=6, kernel_size=3, strides=2), (5, 5, 4)),
    (ct.Conv2DTranspose, dict(filters=6, kernel_size=3, data_format="channels_first"),
     (4, 5, 5)),
    (ct.Conv3DTranspose, dict(filters=3, kernel_size=3, strides=2, padding="same",
                              data_format="channels_first"), (4, 3, 3, 3)),
    (ct.Conv1DTranspose, dict(filters=5, kernel_size=4, strides=2), (7, 2)),
])
def test_training_saving_and_loading_keep_torch_order(layer_class, kwargs, input_shape,
                                                      tmp_path):
    model = _model(layer_class(**kwargs), input_shape)
    layer = model.layers[-1]
    x = np.random.default_rng(0).standard_normal((4, *input_shape)).astype("float32")
    x_tensor = keras.ops.convert_to_tensor(x)
    assert _kernel_copies(layer, x_tensor) == []
    strides = layer.kernel.value.stride()
    y = np.random.default_rng(1).standard_normal(
        (4, *model.output_shape[1:])).astype("float32")
    before = keras.ops.convert_to_numpy(layer.kernel).copy()
    model.compile(optimizer="adam", loss="mse")
    model.fit(x, y, epochs=2, batch_size=2, verbose=0)
    assert not np.allclose(keras.ops.convert_to_numpy(layer.kernel), before)
    assert layer.kernel.value.stride() == strides
    model.save(tmp_path / "model.keras")
    loaded = keras.saving.load_model(tmp_path / "model.keras")
    assert loaded.layers[-1].kernel.value.stride() == strides
    assert _kernel_copies(loaded.layers[-1], x_tensor) == []
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(loaded.layers[-1].kernel),
                                  keras.ops.convert_to_numpy(layer.kernel))
    np.testing.assert_allclose(keras.ops.convert_to_numpy(loaded(x)),
                               keras.ops.convert_to_numpy(model(x)), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("kwargs", [
    dict(kernel_size=2, strides=2),  # the channels_last matmul reads Keras's order
    dict(implementation="generic"),  # keras.ops read Keras's order
])
def test_other_kernels_keep_keras_order(kwargs):
    layer = ct.Conv2DTranspose(**{"filters": 4, "kernel_size": 3, **kwargs})
    layer.build((None, 5, 5, 4))
    assert layer.kernel.value.is_contiguous()


@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_a_grouped_kernel_is_laid_out_as_one_group_is(data_format):
    """torch's grouped weight is no strided view of the kernel, but a copy;
    from one group's order it is a copy of contiguous runs."""
    one, two = (ct.Conv2DTranspose(filters=6, kernel_size=3, strides=2, groups=groups,
                                   data_format=data_format) for groups in (1, 2))
    one.build((None, 5, 5, 4) if data_format == "channels_last" else (None, 4, 5, 5))
    two.build((None, 5, 5, 8) if data_format == "channels_last" else (None, 8, 5, 5))
    assert one.kernel.shape == two.kernel.shape
    assert two.kernel.value.stride() == one.kernel.value.stride()
    assert not two.kernel.value.is_contiguous()


# channels_last memory (the first two) and contiguous NCHW.
@pytest.mark.parametrize("data_format, strides, memory", [
    ("channels_last", 2, "channels_last"), ("channels_first", 2, "channels_last"),
    ("channels_first", 1, "contiguous")])
def test_a_grouped_step_copies_the_kernel_as_few_times_as_torch_lets(data_format, strides,
                                                                     memory):
    """Torch's grouped weight is a copy (forward), which its backward copies
    back (the gradient of that reshape): two copies beyond what torch's own
    `ConvTranspose2d` makes in the same memory format, a number that
    oneDNN's kernel for the CPU decides (2 on this AVX2 CPU). The
    gradient then has the variable's strides, where autograd would
    otherwise copy it once more."""
    import torch

    layer = ct.Conv2DTranspose(filters=6, kernel_size=3, strides=strides, groups=2,
                               data_format=data_format)
    x = torch.randn(4, 5, 5, 8) if data_format == "channels_last" else torch.randn(4, 8, 5, 5)
    layer(x)

    def forward_backward():
        torch.square(layer(x)).sum().backward()

    module = torch.nn.ConvTranspose2d(8, 6, 3, stride=strides, groups=2)
    x_torch = torch.randn(4, 8, 5, 5)
    if memory == "channels_last":
        module = module.to(memory_format=torch.channels_last)
        x_torch = x_torch.contiguous(memory_format=torch.channels_last)

    def torch_forward_backward():
        torch.square(module(x_torch)).sum().backward()

    torch_forward_backward()
    size = math.prod(layer.kernel.shape)
    assert len(_ops_on(forward_backward, size)) == len(_ops_on(torch_forward_backward, size)) + 2
    assert layer.kernel.value.grad.stride() == layer.kernel.value.stride()


def test_a_grouped_weight_is_copied_once_into_channels_last_order():
    """torch's grouped weight is a copy of Keras's kernel; made in the order
    torch reads a weight in beside a channels_last input, torch copies it no
    further."""
    layer = ct.Conv2DTranspose(filters=6, kernel_size=3, strides=2, groups=2)
    x = keras.ops.convert_to_tensor(
        np.random.default_rng(0).standard_normal((4, 5, 5, 8)).astype("float32"))
    layer(x)
    assert len(_kernel_copies(layer, x)) == 1


def test_an_input_is_copied_once_where_torch_runs_its_own_kernel():
    """Torch's own CPU kernel computes in contiguous memory: handed a
    channels_last input, it copied it in the forward and for both gradients.
    Now one copy goes before the op, and one gives the input's gradient the
    input's strides."""
    import torch

    layer = ct.Conv3DTranspose(filters=6, kernel_size=3, padding="same")
    x = torch.randn(1, 4, 8, 6, 5)
    layer(x)
    assert _runs_torch_own_kernel(layer, x.permute(0, 4, 1, 2, 3), stride=1, padding=1)
    x.requires_grad_(True)

    def forward_backward():
        torch.square(layer(x)).sum().backward()

    assert len(_ops_on(forward_backward, x.numel())) == 2


def test_gradients_where_torch_runs_its_own_kernel():
    """Batch 1, a 1x4 kernel, dilation 2: torch runs its own CPU kernel there,
    not oneDNN's, and its backward needs a contiguous weight (the
    conformance suite caught it)."""
    from keras_ct_plugin.conformance import checks
    from keras_ct_plugin.conformance import matrix

    case_id = "2d-k1x4-s2x2-d2x2-valid-opnone-cl-n3x3-b1-tanh"
    case = next(case for case in matrix.load() if case.id == case_id)
    checks.gradients(checks.prepare(ct.Conv2DTranspose, case))


def test_a_bias_that_gets_a_gradient_is_added_after_torch_op():
    """torch's backward computes the bias gradient slowly in channels_last
    memory: in training the bias is added after the op, at inference inside."""
    import torch

    layer = ct.Conv2DTranspose(filters=6, kernel_size=4, strides=2, padding="same")
    x = torch.randn(4, 5, 5, 3)
    layer(x)

    def adds(run):
        return _ops_on(run, 4 * 10 * 10 * 6, ("aten::add", "aten::add_"))

    with torch.no_grad():
        assert adds(lambda: layer(x)) == []
        inference = layer(x)
    assert adds(lambda: torch.square(layer(x)).sum().backward()) != []
    np.testing.assert_allclose(layer(x).detach().numpy(), inference.numpy(), rtol=1e-5,
                               atol=1e-5)


def test_no_call_changes_the_kernel_storage_as_the_batch_changes():
    """Torch runs its own CPU kernel at batch 1 here and oneDNN's at batch
    8. The variable keeps the storage and strides it had at build (DDP and
    FSDP hold views of them); the batch-1 calls copy the weight once, the
    batch-8 calls not at all; every call, forward and backward, gives the
    reference's values."""
    import torch

    from keras_ct_plugin.conformance import reference

    layer = ct.Conv3DTranspose(filters=6, kernel_size=3, strides=2)
    rng = np.random.default_rng(0)
    one, eight = (torch.tensor(rng.standard_normal((n, 4, 3, 5, 5)).astype("float32"))
                  for n in (1, 8))
    layer.build(one.shape)
    assert _runs_torch_own_kernel(layer, one.permute(0, 4, 1, 2, 3), stride=2, padding=0)
    assert not _runs_torch_own_kernel(layer, eight.permute(0, 4, 1, 2, 3), stride=2, padding=0)
    storage, strides = layer.kernel.value.data_ptr(), layer.kernel.value.stride()
    for x in (one, eight, one, eight):
        kernel = layer.kernel.numpy().copy()
        layer(x)
        assert len(_kernel_copies(layer, x)) == (1 if x is one else 0)
        x.requires_grad_(True)
        y = layer(x)
        upstream = rng.standard_normal(y.shape).astype("float32")
        y.backward(torch.tensor(upstream))
        np.testing.assert_allclose(y.detach().numpy(),
                                   reference.conv_transpose(x.detach().numpy(), kernel, 2)
                                   + layer.bias.numpy(), rtol=1e-4, atol=1e-4)
        dx, dkernel = reference.conv_transpose_vjp(x.detach().numpy(), kernel, upstream, 2)
        np.testing.assert_allclose(x.grad.numpy(), dx, rtol=1e-4, atol=1e-4)
        np.testing.assert_allclose(layer.kernel.value.grad.numpy(), dkernel, rtol=1e-4,
                                   atol=1e-4)
        layer.kernel.value.grad = x.grad = None
        x.requires_grad_(False)
        assert (layer.kernel.value.data_ptr(), layer.kernel.value.stride()) == (storage, strides)


def test_a_channels_first_input_is_copied_only_for_onednn():
    """channels_first inputs go to oneDNN in channels_last memory (a copy);
    torch's own kernel, which it runs at batch 1 here, reads them as they
    are: copying them there only to copy them back cost two passes."""
    import torch

    layer = ct.Conv3DTranspose(filters=6, kernel_size=3, strides=2,
                               data_format="channels_first")
    one, four = torch.randn(1, 4, 6, 5, 5), torch.randn(4, 4, 6, 5, 5)
    layer(four)
    assert _runs_torch_own_kernel(layer, one, stride=2, padding=0)
    assert not _runs_torch_own_kernel(layer, four, stride=2, padding=0)
    with torch.no_grad():
        assert _ops_on(lambda: layer(one), one.numel()) == []
        assert len(_ops_on(lambda: layer(four), four.numel())) == 1


@pytest.mark.parametrize("layer_class, kwargs, input_shape", [
    # Keras's "same" crops one more position at the end: torch's padding
    # cannot give it, the full output is cropped.
    (ct.Conv2DTranspose, dict(kernel_size=3, strides=2, padding="same", output_padding=1),
     (3, 5, 6, 4)),
    (ct.Conv3DTranspose, dict(kernel_size=3, strides=2, padding="same", output_padding=1,
                              data_format="channels_first"), (1, 4, 3, 4, 2)),
    (ct.Conv1DTranspose, dict(kernel_size=3, strides=2, padding="same", output_padding=1),
     (2, 7, 4)),
])
def test_a_forward_without_gradient_crops_to_a_view(layer_class, kwargs, input_shape):
    """Where no gradient is taken, the crop is a view, as a torch user
    slices it (a copy of the output took a tenth of a 3-D forward), and
    the bias is added before it, to the contiguous full output."""
    import torch

    from keras_ct_plugin.conformance import reference

    layer = layer_class(filters=5, bias_initializer="random_normal", **kwargs)
    x = torch.tensor(np.random.default_rng(0).standard_normal(input_shape).astype("float32"))
    layer(x)
    with torch.no_grad():
        crops = _ops_on(lambda: layer(x), math.prod(layer.compute_output_shape(x.shape)),
                        ("aten::constant_pad_nd", "aten::copy_"))
        y = layer(x)
    assert crops == []
    channels_first = kwargs.get("data_format") == "channels_first"
    bias = layer.bias.numpy().reshape((-1,) + (1,) * (x.ndim - 2) if channels_first else -1)
    expected = reference.conv_transpose(
        x.numpy(), layer.kernel.numpy(), kwargs["strides"], "same", kwargs["output_padding"],
        data_format=kwargs.get("data_format", "channels_last")) + bias
    np.testing.assert_allclose(y.numpy(), expected, rtol=1e-5, atol=1e-5)


def test_a_crop_that_pads_zeros_gives_them_the_bias_without_gradient():
    """Dilation with output_padding: the window runs past the full output,
    whose missing positions are zeros plus the bias."""
    import torch

    from keras_ct_plugin.conformance import reference

    layer = ct.Conv2DTranspose(filters=5, kernel_size=3, strides=2, dilation_rate=2,
                               output_padding=1, bias_initializer="random_normal")
    x = torch.tensor(np.random.default_rng(0).standard_normal((2, 4, 5, 3)).astype("float32"))
    with torch.no_grad():
        y = layer(x)
    expected = reference.conv_transpose(x.numpy(), layer.kernel.numpy(), 2, "valid", 1,
                                        dilation_rate=2) + layer.bias.numpy()
    np.testing.assert_allclose(y.numpy(), expected, rtol=1e-5, atol=1e-5)


@contextlib.contextmanager
def _one_thread():
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def _onednn_off():
    import torch

    return torch.backends.mkldnn.flags(enabled=False)


@pytest.mark.parametrize("switch, kernel_size, strides, batch", [
    (_onednn_off, 3, 2, 8),
    # With one thread torch runs its own kernel here, with two oneDNN's.
    (_one_thread, 1, 1, 2),
])
def test_the_remembered_kernel_choice_follows_what_torch_reads(switch, kernel_size, strides,
                                                               batch):
    """Torch's choice of CPU kernel is remembered per input shape and
    settings. With oneDNN switched off, or one thread, torch runs its own
    kernel: the remembered choice follows, and forward and backward give
    the reference's values."""
    import torch

    from keras_ct_plugin.backends import torch as torch_backend
    from keras_ct_plugin.conformance import reference

    layer = ct.Conv2DTranspose(filters=6, kernel_size=kernel_size, strides=strides)
    rng = np.random.default_rng(0)
    x = torch.tensor(rng.standard_normal((batch, 5, 5, 4)).astype("float32"))
    layer(x)
    plan = torch_backend._plan(layer._windows, layer.strides, layer.dilation_rate,
                               layer.data_format, 1, 4, True)
    as_torch_sees_it = x.permute(0, 3, 1, 2)

    def remembered_and_read():
        weight = torch_backend._weight_shaped(layer.kernel.value, 1)
        return (torch_backend._runs_own_kernel_for(as_torch_sees_it, layer.kernel.value, plan),
                torch_backend._runs_torch_own_kernel(as_torch_sees_it, weight, plan.arguments))

    assert remembered_and_read() == (False, False)
    with switch():
        assert remembered_and_read() == (True, True)
        x.requires_grad_(True)
        y = layer(x)
        upstream = rng.standard_normal(y.shape).astype("float32")
        y.backward(torch.tensor(upstream))
    kernel = layer.kernel.numpy()
    np.testing.assert_allclose(y.detach().numpy(),
                               reference.conv_transpose(x.detach().numpy(), kernel, strides)
                               + layer.bias.numpy(), rtol=1e-4, atol=1e-4)
    dx, dkernel = reference.conv_transpose_vjp(x.detach().numpy(), kernel, upstream, strides)
    np.testing.assert_allclose(x.grad.numpy(), dx, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(layer.kernel.value.grad.numpy(), dkernel, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("rank, data_format", [(1, "channels_last"), (2, "channels_last"),
                                               (2, "channels_first"), (3, "channels_last")])
def test_the_plan_follows_the_device_of_the_input(rank, data_format):
    """What `native` does for CPU (1-D lifted to 2-D, the matmul, channels_last
    memory) is chosen from the input's device, not from the machine: an
    input on another device (torch's shape-only "meta" device stands in for
    a GPU here) gets the plan for other devices and the CPU call's shape."""
    import torch

    from keras_ct_plugin.backends import torch as torch_backend

    layer_class = (ct.Conv1DTranspose, ct.Conv2DTranspose, ct.Conv3DTranspose)[rank - 1]
    layer = layer_class(filters=3, kernel_size=2, strides=2, data_format=data_format)
    spatial = (5,) * rank
    shape = (2, *spatial, 4) if data_format == "channels_last" else (2, 4, *spatial)
    x = torch.ones(shape)
    expected = tuple(layer(x).shape)
    arguments = dict(windows=layer._windows, strides=layer.strides,
                     dilation_rate=layer.dilation_rate, data_format=data_format, groups=1)
    on_meta = torch_backend.native(x.to("meta"), layer.kernel.value.detach().to("meta"),
                                   layer.bias.value.detach().to("meta"), **arguments)
    assert on_meta.device.type == "meta" and tuple(on_meta.shape) == expected
    plans = {on_cpu: torch_backend._plan(tuple(layer._windows), tuple(layer.strides),
                                         tuple(layer.dilation_rate), data_format, 1, 4, on_cpu)
             for on_cpu in (True, False)}
    assert not plans[False].lifted and not plans[False].tiles
    assert plans[True].lifted == (rank == 1)
