"""Keras runs `gc.collect()` each time a layer deletes a variable
(`quantize` deletes the float kernel). With TensorFlow, JAX or torch imported,
each collection walks their millions of objects: about half a second. A
process that quantizes many layers, such as a conformance worker or a test
run, freezes what its imports made out of the collector's view first."""

import gc
import importlib
import importlib.util


def freeze_imports(*modules):
    """Imports those of `modules` that are installed, then freezes every
    object there is."""
    for name in modules:
        if importlib.util.find_spec(name):
            importlib.import_module(name)
    gc.freeze()
