"""Shared machinery of the analysis objects: cached steps and progress reports."""

from __future__ import annotations

import param


class CachedSteps(param.Parameterized):
    """Base of the analysis objects: each step caches its result on the inputs it uses.

    A step calls ``self._cached(name, key, compute)``; ``key`` is a tuple of the parameter
    values (and data objects, compared by identity) the step depends on, including its
    upstream steps' keys, so changing a threshold recomputes only the steps after it.
    ``computations`` counts how often each step really ran (for tests and the UI).
    """

    progress = param.Callable(default=None, allow_None=True, precedence=-1, doc="""
        Called as progress(fraction, message) while steps run; fraction in [0, 1].""")
    scheduler = param.String(default=None, allow_None=True, precedence=-1, doc="""
        Address of a dask scheduler (e.g. ``tcp://host:8786``) that runs the expensive
        kernels' blocks; None: the ``SPIKELENS_SCHEDULER`` environment variable, else local
        threads; "local" forces local. Results do not depend on it (see
        ``analysis.parallel`` and docs/cluster.md).""")

    memory_budget = param.Number(default=None, allow_None=True, bounds=(0, None), doc="""
        Bytes the large steps may use; a step that would need more is refused before it
        starts, with what it needs and the parameter to change (or, where the method
        allows, works in tiles). None: a quarter of the memory available at the time.""")

    def _budget(self):
        from .errors import available_memory

        if self.memory_budget is not None:
            return float(self.memory_budget)
        return available_memory() / 4

    def __init__(self, **params):
        super().__init__(**params)
        self._cache = {}
        self.computations = {}

    def _cached(self, name, key, compute):
        hit = self._cache.get(name)
        if hit is not None and _same_key(hit[0], key):
            return hit[1]
        value = compute()
        self._cache[name] = (key, value)
        self.computations[name] = self.computations.get(name, 0) + 1
        return value

    def _cached_value(self, name, key):
        """The value cached for step ``name`` under ``key``, or None; computes nothing."""
        hit = self._cache.get(name)
        return hit[1] if hit is not None and _same_key(hit[0], key) else None

    def _report(self, fraction, message):
        if self.progress is not None:
            self.progress(float(min(max(fraction, 0.0), 1.0)), message)

    def clear_cache(self):
        self._cache.clear()


def _same_key(a, b):
    if len(a) != len(b):
        return False
    for x, y in zip(a, b):
        if isinstance(x, (tuple, list)) and isinstance(y, (tuple, list)):
            if not _same_key(tuple(x), tuple(y)):
                return False
        elif isinstance(x, (int, float, str, bool, type(None))):
            if type(x) is not type(y) or x != y:
                return False
        elif x is not y:  # data objects: the same object, not an equal one
            return False
    return True
