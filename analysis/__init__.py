"""spikelens analysis: headless data model, IO, simulators and analysis objects.

This package never imports panel or bokeh. Heavier submodules (IO with neo/pynwb,
simulators) load on first use.
"""

from importlib import import_module

from .errors import SpikeDataError
from .spiketrains import Epochs, SpikeTrains

__all__ = ["SpikeDataError", "SpikeTrains", "Epochs", "load", "save", "simulate", "Asset",
           "AssemblyNeurons", "SpotDisClust"]

_LAZY = {"load": ("io", "load"), "save": ("io", "save"), "simulate": ("simulate", None),
         "Asset": ("asset", "Asset"), "AssemblyNeurons": ("assembly", "AssemblyNeurons"),
         "SpotDisClust": ("spotdis", "SpotDisClust")}


def __getattr__(name):
    if name not in _LAZY:
        raise AttributeError(f"module 'analysis' has no attribute {name!r}")
    module, attr = _LAZY[name]
    mod = import_module(f".{module}", __name__)
    return mod if attr is None else getattr(mod, attr)
