"""spikelens analysis: headless data model, IO, simulators and analysis objects.

This package never imports panel or bokeh. Heavier submodules (IO with neo/pynwb,
simulators) load on first use.
"""

from importlib import import_module

from .errors import SpikeDataError
from .spiketrains import Epochs, SpikeTrains

from . import methods as _methods

_LAZY = {"load": ("io", "load"), "save": ("io", "save"), "simulate": ("simulate", None)}

# the analysis classes of every registered method (analysis.methods), by class name
__all__ = ["SpikeDataError", "SpikeTrains", "Epochs", "load", "save", "simulate",
           *(m.analysis_name for m in _methods.methods())]


def __getattr__(name):
    method = next((m for m in _methods.methods() if m.analysis_name == name), None)
    if method is not None:
        return method.load("analysis")
    if name not in _LAZY:
        raise AttributeError(f"module 'analysis' has no attribute {name!r}")
    module, attr = _LAZY[name]
    mod = import_module(f".{module}", __name__)
    return mod if attr is None else getattr(mod, attr)
