"""Each `model.export` format: how a user exports to it, runs the artifact in
its own runtime at that runtime's default settings, and lists the artifact's
ops.

`FORMATS[backend]` are the formats `model.export` offers on that backend.
"""

import importlib.util

import numpy as np

FORMATS = {
    "tensorflow": ("tf_saved_model", "onnx", "openvino", "litert"),
    "jax": ("tf_saved_model", "onnx", "openvino"),
    "torch": ("tf_saved_model", "onnx", "openvino", "litert", "torch"),
}
SUFFIX = {"tf_saved_model": "", "onnx": ".onnx", "openvino": ".xml", "litert": ".tflite",
          "torch": ".pt2"}
# The Python packages each format's exporter and runtime need, per backend.
NEEDS = {
    "tf_saved_model": ("tensorflow",),
    "onnx": {"tensorflow": ("tf2onnx", "onnxruntime"), "jax": ("jax2onnx", "onnxruntime"),
             "torch": ("onnxscript", "onnxruntime")},
    "openvino": ("openvino",),
    "litert": {"tensorflow": ("ai_edge_litert",), "torch": ("litert_torch", "ai_edge_litert")},
    "torch": ("torch",),
}
# Each format's own transposed-convolution ops, by the names `ops` lists.
TRANSPOSED_OPS = {
    "onnx": {"ConvTranspose"},
    "openvino": {"ConvolutionBackpropData", "GroupConvolutionBackpropData"},
    "litert": {"TRANSPOSE_CONV", "CONV_3D_TRANSPOSE"},
    "tf_saved_model": {"Conv2DBackpropInput", "Conv2DBackpropInputV2", "Conv3DBackpropInputV2"},
    "torch": {"aten.conv_transpose1d.default", "aten.conv_transpose2d.input",
              "aten.conv_transpose3d.input"},
}
# Ops that only move data between a SavedModel's functions and variables.
# AssignVariableOp: Keras's JAX exporter writes every non-trainable variable
# back after the call (a LoRA layer's frozen kernel among them, unchanged).
_SAVED_MODEL_PLUMBING = {"Placeholder", "Identity", "NoOp", "Const", "ReadVariableOp",
                         "AssignVariableOp", "StatefulPartitionedCall", "PartitionedCall",
                         "VarHandleOp"}


def missing_packages(format, backend):
    needs = NEEDS[format]
    if isinstance(needs, dict):
        needs = needs[backend]
    return [name for name in needs if importlib.util.find_spec(name) is None]


def keeps_dynamic_shapes(format, backend):
    """LiteRT from torch fixes every size at export (Keras's documented
    limit); the other formats keep unknown sizes unknown."""
    return not (format == "litert" and backend == "torch")


def export_kwargs(format, backend, model, static_shape):
    """What a user passes to `model.export` besides the path and format."""
    import keras

    if format == "torch" and backend == "torch":
        import torch

        return {"dynamic_shapes": {axis: torch.export.Dim(f"axis_{axis}", min=2)
                                   for axis in model.dynamic_axes}}
    if not keeps_dynamic_shapes(format, backend):
        return {"input_signature": [keras.InputSpec(shape=static_shape, dtype="float32")]}
    return {}


def run(format, path, x):
    """The artifact's output for the float32 NumPy input `x`."""
    if format == "tf_saved_model":
        import tensorflow as tf

        loaded = tf.saved_model.load(path)
        return np.asarray(loaded.serve(x))
    if format == "onnx":
        import onnxruntime

        session = onnxruntime.InferenceSession(path, providers=["CPUExecutionProvider"])
        return session.run(None, {session.get_inputs()[0].name: x})[0]
    if format == "openvino":
        import openvino

        compiled = openvino.Core().compile_model(path, "CPU")
        return np.asarray(compiled(x)[0])
    if format == "litert":
        from ai_edge_litert.interpreter import Interpreter

        interpreter = Interpreter(model_path=path)
        index = interpreter.get_input_details()[0]["index"]
        interpreter.resize_tensor_input(index, x.shape)
        interpreter.allocate_tensors()
        interpreter.set_tensor(index, x)
        interpreter.invoke()
        return interpreter.get_tensor(interpreter.get_output_details()[0]["index"])
    if format == "torch":
        import torch

        program = torch.export.load(path)
        return program.module()(torch.from_numpy(x)).detach().numpy()
    raise ValueError(f"unknown format {format!r}")


def _on_data_path(nodes, sources):
    """The kinds of the nodes that depend on `sources`; `nodes`: (kind,
    inputs, outputs) in topological order."""
    reached, kinds = set(sources), []
    for kind, inputs, outputs in nodes:
        if reached.intersection(inputs):
            reached.update(outputs)
            kinds.append(kind)
    return kinds


def ops(format, path, data_path=True):
    """The names of the artifact's compute ops (inputs, outputs, constants
    and variable reads left out); with `data_path`, only those on the path
    from its input to its output: ops on weights alone, which every runtime
    folds into constants when it loads the artifact, left out too. (LiteRT
    and SavedModel artifacts list every op either way.)"""
    if format == "onnx":
        import onnx

        graph = onnx.load(path).graph
        weights = {t.name for t in graph.initializer}
        nodes = [(n.op_type, list(n.input), list(n.output)) for n in graph.node
                 if n.op_type != "Constant"]
        if not data_path:
            return [kind for kind, _, _ in nodes]
        return _on_data_path(nodes, [i.name for i in graph.input if i.name not in weights])
    if format == "openvino":
        import openvino

        model = openvino.Core().read_model(path)
        nodes = [(op.get_type_name(), [i.get_source_output().get_node().get_friendly_name()
                                       for i in op.inputs()], [op.get_friendly_name()])
                 for op in model.get_ordered_ops()
                 if op.get_type_name() not in ("Parameter", "Result", "Constant")]
        if not data_path:
            return [kind for kind, _, _ in nodes]
        return _on_data_path(nodes, [p.get_friendly_name() for p in model.get_parameters()])
    if format == "litert":
        from ai_edge_litert.interpreter import Interpreter

        return [op["op_name"] for op in Interpreter(model_path=path)._get_ops_details()]
    if format == "tf_saved_model":
        import tensorflow as tf

        graph = tf.saved_model.load(path).signatures["serving_default"].graph.as_graph_def()
        nodes = list(graph.node) + [n for f in graph.library.function for n in f.node_def]
        return [n.op for n in nodes if n.op not in _SAVED_MODEL_PLUMBING]
    if format == "torch":
        import torch

        program = torch.export.load(path)
        inputs = [spec.arg.name for spec in program.graph_signature.input_specs
                  if spec.kind == torch.export.graph_signature.InputKind.USER_INPUT]
        nodes = [(str(n.target), [a.name for a in n.all_input_nodes], [n.name])
                 for n in program.graph.nodes if n.op == "call_function"]
        if not data_path:
            return [kind for kind, _, _ in nodes]
        return _on_data_path(nodes, inputs)
    raise ValueError(f"unknown format {format!r}")
