"""A lab server's event loop runs in one thread: a numba kernel that keeps the GIL while it
runs in a worker freezes every visitor's page (and Cancel) until it returns. Every compiled
kernel releases the GIL (``nogil=True``)."""

import importlib
import pkgutil

from numba.core.registry import CPUDispatcher

import analysis.kernels


def dispatchers():
    modules = [importlib.import_module(f"analysis.kernels.{m.name}")
               for m in pkgutil.iter_modules(analysis.kernels.__path__)]
    modules.append(importlib.import_module("analysis.grid"))
    for module in modules:
        for name, obj in vars(module).items():
            if isinstance(obj, CPUDispatcher) and obj.__module__ == module.__name__:
                yield f"{module.__name__}.{name}", obj


def test_every_kernel_releases_the_gil():
    found = dict(dispatchers())
    assert len(found) > 20
    holding = [name for name, d in found.items() if not d.targetoptions.get("nogil")]
    assert not holding, f"kernels that keep the GIL: {holding}"

