"""Each backend module provides `backend_interface.Backend`, with its
signatures, and nothing the dispatcher would not call."""

import importlib
import inspect
import types

import keras
import pytest

from keras_ct_plugin import backend_interface
from keras_ct_plugin import dispatch

BACKEND = keras.backend.backend()


def _parameters(function):
    return [p for p in inspect.signature(function).parameters.values() if p.name != "self"]


def _takes_what_dispatch_passes(function, declared):
    """The declared positional parameters, keyword-only ones among those
    dispatch passes (the declared ones and the settings), and `**` for the
    rest."""
    own, interface = _parameters(function), _parameters(declared)
    positional = [p.name for p in own if p.kind is p.POSITIONAL_OR_KEYWORD]
    keywords = {p.name for p in own if p.kind is p.KEYWORD_ONLY}
    passed = {p.name for p in interface if p.kind is p.KEYWORD_ONLY}
    passed |= set(backend_interface.SETTINGS)
    star = bool(interface) and interface[-1].kind is inspect.Parameter.VAR_KEYWORD
    return (positional == [p.name for p in interface if p.kind is p.POSITIONAL_OR_KEYWORD]
            and keywords <= passed
            and {p.name for p in interface if p.kind is p.KEYWORD_ONLY} <= keywords
            and (not star or own[-1].kind is inspect.Parameter.VAR_KEYWORD))


@pytest.mark.skipif(BACKEND not in backend_interface.MODULES, reason="no backend module here")
def test_the_running_backends_module_provides_the_interface():
    module = importlib.import_module(backend_interface.MODULES[BACKEND])
    for name in backend_interface.REQUIRED:
        assert _takes_what_dispatch_passes(getattr(module, name),
                                           getattr(backend_interface.Backend, name)), name
    for name, default in backend_interface.OPTIONAL.items():
        if hasattr(module, name):
            declared = getattr(backend_interface.Backend, name, default)
            if declared is not None:
                assert _takes_what_dispatch_passes(getattr(module, name), declared), name


def test_a_module_missing_a_required_function_is_named(monkeypatch):
    incomplete = types.ModuleType("keras_ct_plugin.backends.incomplete")
    incomplete.preference = lambda windows, settings: ("native",)
    monkeypatch.setattr(keras.backend, "backend", lambda: "incomplete")
    monkeypatch.setitem(backend_interface.MODULES, "incomplete", incomplete.__name__)
    monkeypatch.setattr(importlib, "import_module", lambda name: incomplete)
    with pytest.raises(TypeError) as raised:
        dispatch._import_backend_module()
    assert str(raised.value) == (
        "keras_ct_plugin.backends.incomplete lacks native, export_target, export_format "
        "(keras_ct_plugin.backend_interface.Backend)")


def test_optional_functions_are_filled_in(monkeypatch):
    minimal = types.ModuleType("keras_ct_plugin.backends.minimal")
    for name in backend_interface.REQUIRED:
        setattr(minimal, name, lambda *args, **kwargs: None)
    monkeypatch.setattr(keras.backend, "backend", lambda: "minimal")
    monkeypatch.setitem(backend_interface.MODULES, "minimal", minimal.__name__)
    monkeypatch.setattr(importlib, "import_module", lambda name: minimal)
    module = dispatch._import_backend_module()
    assert module.why_not("native", (), {}) is None
    assert module.as_constant(lambda: 7) == 7
    assert module.add_bias is None and module.add_low_rank is None and module.exported is None
