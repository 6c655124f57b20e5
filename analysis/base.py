"""Shared machinery of the analysis objects: cached steps and progress reports."""

from __future__ import annotations

import time

import param

#: what a result's ``params`` leaves out: the data, where it came from, and the plumbing
#: that does not change the result (progress reports, the dask scheduler)
NOT_RESULT_PARAMS = ("name", "data", "data_j", "source", "progress", "scheduler")


class SavedResult:
    """Base of the result dataclasses: each saves to one ``.npz`` file and reopens from it
    without recomputing (``analysis.results``)."""

    def save(self, path, compress=True):
        """Write to one ``.npz`` file; see ``analysis.results.save_result``."""
        from .results import save_result
        return save_result(self, path, compress=compress)

    @classmethod
    def load(cls, path):
        """Read a file written by ``save``; see ``analysis.results.load_result``."""
        from .results import load_result
        return load_result(path, expect=cls)


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

    source = param.String(default=None, allow_None=True, precedence=-1, doc="""
        Where ``data`` came from (a file, a demo name), recorded in the results'
        ``data_summary``; None: not known.""")

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

    def run_params(self):
        """The parameter values a run computes with: every parameter except those in
        ``NOT_RESULT_PARAMS``; a result stores them as its ``params``."""
        return {k: getattr(self, k) for k in self.param if k not in NOT_RESULT_PARAMS}

    def _provenance(self, started, **summary):
        """The fields every result carries: ``params``, ``data_summary`` (see
        :func:`data_summary`, with ``summary``'s entries added) and ``elapsed``, the
        seconds since ``started`` (a ``time.perf_counter()`` value)."""
        return {"params": self.run_params(),
                "data_summary": data_summary(self.data, self.source, **summary),
                "elapsed": time.perf_counter() - started}

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


def data_summary(data, source=None, **extra):
    """A small dict describing the spike trains a result was computed on.

    Parameters
    ----------
    data : SpikeTrains
    source : str, optional
        Where the data came from (a file, a demo name).
    **extra
        Further entries, e.g. ``bins`` (number of bins of a binned method).

    Returns
    -------
    dict
        ``units``, ``spikes``, ``duration`` (s), ``epochs`` (number; 0 without epochs),
        ``source``, ``restriction`` (what ``analysis.restrict`` kept; only on a restricted
        recording) and the ``extra`` entries, as plain Python values.
    """
    restriction = data.annotations.get("restriction")
    return {"units": int(data.n_units), "spikes": int(data.n_spikes),
            "duration": float(data.duration),
            "epochs": 0 if data.epochs is None else len(data.epochs),
            "source": source, **({"restriction": str(restriction)} if restriction else {}),
            **extra}
