"""The single in-memory form of spike data: :class:`SpikeTrains`.

N units; all spike times in one flat float64 array (seconds) plus an ``offsets`` array of
length N + 1 (CSR layout), so unit ``i`` owns ``times[offsets[i]:offsets[i + 1]]``, sorted.
About 8 bytes per spike: 1e8 spikes take 0.8 GB.

Instances are immutable (arrays are read-only) and validated at construction; every
operation returns a new object.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp
import yaml

from .errors import SpikeDataError

__all__ = ["SpikeTrains", "Epochs", "bin_indices", "n_bins_for"]

#: Spikes within this fraction of a bin below a bin edge are moved into the next bin, as in
#: Elephant's ``BinnedSpikeTrain`` (``tolerance=1e-8``); this keeps binning identical to the
#: field's reference when spike times are multiples of the bin size up to rounding.
BIN_TOLERANCE = 1e-8

#: Ground-truth keys whose arrays have one entry per unit (subset with the units).
PER_UNIT_TRUTH = ("chain_group", "assembly_membership")


def _readonly(a, copy=None):
    """``a`` as a read-only C-contiguous array that shares no writeable memory with anyone.

    ``copy=None``: copy unless ``a`` and every array (or buffer) it is a view of are
    read-only already; the caller's arrays are never made read-only and a writeable alias
    of the result cannot exist. ``copy=False``: never copy, make ``a`` read-only in place
    (the caller hands over an array it owns privately and keeps no writeable view of it).
    ``copy=True``: always copy.
    """
    a = np.asarray(a)
    if not a.flags.c_contiguous:
        a = np.ascontiguousarray(a)  # a new array that owns its memory
    elif copy or (copy is None and _others_may_write(a)):
        a = a.copy()
    a.flags.writeable = False
    return a


def _frozen(v, dtype=None, copy=None, ravel=False):
    """``_readonly(np.asarray(v, dtype))`` without copying twice: an array that
    ``np.asarray`` had to make (from a list, or by converting the dtype) is private."""
    a = np.asarray(v, dtype=dtype)
    if copy is None and _made_by_asarray(v, a):
        copy = False
    if ravel and a.ndim != 1:
        a = a.reshape(-1)
    return _readonly(a, copy)


def _made_by_asarray(src, a):
    """Whether ``a = np.asarray(src, ...)`` is a new array that nobody else holds."""
    if isinstance(src, np.ndarray):
        return a is not src and a.base is None
    return isinstance(src, (list, tuple))


def _others_may_write(a):
    """Whether the memory of the view ``a`` can be written through ``a`` or its bases."""
    b = a
    while isinstance(b, np.ndarray):
        if b.flags.writeable:
            return True
        if b.base is None:
            return False
        b = b.base
    try:  # memory owned by another object: bytes, a read-only buffer, an mmap ...
        return not memoryview(b).readonly
    except TypeError:
        return True


class _FrozenDict(dict):
    """A dict that refuses changes (``SpikeTrains.annotations``, ``unit_annotations``,
    ``truth``).

    A real ``dict`` subclass rather than ``types.MappingProxyType`` so that ``json.dumps``,
    ``isinstance(x, dict)``, ``copy`` and pickling keep working; ``dict(x)`` or ``{**x}``
    give an ordinary, mutable copy.
    """

    __slots__ = ()

    def _refuse(self, *args, **kwargs):
        raise TypeError("SpikeTrains metadata is read-only; derive a new object with "
                        "replace(annotations=..., unit_annotations=..., truth=...)")

    __setitem__ = __delitem__ = __ior__ = _refuse
    clear = pop = popitem = setdefault = update = _refuse

    def __reduce__(self):
        return (type(self), (dict(self),))


# ``yaml.safe_dump`` matches representers by exact type: write _FrozenDict as a mapping
yaml.SafeDumper.add_representer(_FrozenDict, yaml.SafeDumper.represent_dict)
yaml.Dumper.add_representer(_FrozenDict, yaml.Dumper.represent_dict)


def _floor_with_tolerance(x):
    """floor(x) except that values within BIN_TOLERANCE below an integer round up."""
    x = np.asarray(x, dtype=np.float64)
    f = np.floor(x)
    return (f + ((x - f) >= 1.0 - BIN_TOLERANCE)).astype(np.int64)


def n_bins_for(t_start, t_stop, bin_size):
    """Number of whole bins of ``bin_size`` seconds in [t_start, t_stop] (Elephant's rule)."""
    return int(_floor_with_tolerance((t_stop - t_start) / bin_size))


def bin_indices(times, t_start, bin_size):
    """Bin index of each spike time (may be out of range; callers drop those)."""
    return _floor_with_tolerance((np.asarray(times) - t_start) / bin_size)


@dataclass(frozen=True)
class Epochs:
    """Epochs (trials or windows): start and stop times in seconds and a label each."""

    start: np.ndarray
    stop: np.ndarray
    label: np.ndarray

    def __post_init__(self):
        start = _frozen(self.start, np.float64, ravel=True)
        stop = _frozen(self.stop, np.float64, ravel=True)
        label = _readonly(np.asarray(self.label).ravel().astype(str), False)  # astype copied
        if not (len(start) == len(stop) == len(label)):
            raise SpikeDataError(
                f"start, stop and label must have the same length "
                f"(got {len(start)}, {len(stop)}, {len(label)})", where="epochs")
        if not (np.all(np.isfinite(start)) and np.all(np.isfinite(stop))):
            raise SpikeDataError("epoch bounds must be finite", where="epochs")
        bad = np.flatnonzero(stop < start)
        if len(bad):
            raise SpikeDataError(f"epoch {bad[0]} ends before it starts "
                                 f"({start[bad[0]]} > {stop[bad[0]]})", where="epochs")
        object.__setattr__(self, "start", start)
        object.__setattr__(self, "stop", stop)
        object.__setattr__(self, "label", label)

    def __reduce__(self):
        return (type(self), (self.start, self.stop, self.label))

    def __len__(self):
        return len(self.start)

    @property
    def duration(self):
        return self.stop - self.start

    def to_frame(self):
        return pd.DataFrame({"start": self.start, "stop": self.stop, "label": self.label})

    @classmethod
    def from_frame(cls, df):
        missing = {"start", "stop"} - set(df.columns)
        if missing:
            raise SpikeDataError(f"missing columns {sorted(missing)}", where="epochs")
        label = df["label"] if "label" in df else np.arange(len(df)).astype(str)
        return cls(df["start"].to_numpy(), df["stop"].to_numpy(), np.asarray(label))

    @classmethod
    def from_events(cls, events, offset, length, t_start=None, t_stop=None, labels=None,
                    sampling_period=None):
        """Windows ``[event + offset, event + offset + length]`` around event times.

        Grossberger et al. (2018) cut SPOTDis epochs around events (stimulus onsets, for
        example) when a recording has no trials of its own. Events are sorted (their labels
        with them); windows may overlap.

        Parameters
        ----------
        events : sequence of float
            Event times (s), at least one, finite.
        offset : float
            Window start relative to its event (s; negative: before the event).
        length : float
            Window length (s, > 0).
        t_start, t_stop : float, optional
            Recording bounds (s): every window must lie inside them (within 1e-12 s).
        labels : sequence of str, optional
            One label per event (default ``"event k"``, k counting the sorted events).
        sampling_period : float, optional
            Seconds per sample: window bounds within a relative 1e-9 of a sample are put
            exactly on it, so that a spike on a sample at a window's edge is in or out
            as the sample arithmetic says, not as rounding says.

        Raises
        ------
        ValueError
            One line naming the parameter: ``events`` (not numbers, none, not finite),
            ``offset`` (not finite, a window starting before ``t_start``), ``length``
            (not > 0, a window ending after ``t_stop``), ``labels`` (wrong count).
        """
        try:
            ev = np.atleast_1d(np.asarray(events, dtype=np.float64)).ravel()
        except (TypeError, ValueError):
            raise ValueError(f"events: expected event times (s), got {events!r}") from None
        if ev.size == 0:
            raise ValueError("events: give at least one event time")
        if not np.all(np.isfinite(ev)):
            raise ValueError("events: event times must be finite")
        offset, length = _finite_seconds("offset", offset), _finite_seconds("length", length)
        if not length > 0:
            raise ValueError(f"length: must be > 0 s, got {length}")
        order = np.argsort(ev, kind="stable")
        if labels is None:
            labels = np.array([f"event {k}" for k in range(ev.size)])
        else:
            labels = np.asarray(labels).ravel().astype(str)
            if labels.size != ev.size:
                raise ValueError(f"labels: {labels.size} labels for {ev.size} events")
            labels = labels[order]
        ev = ev[order]
        start = ev + offset
        stop = start + length
        if sampling_period is not None:
            period = _finite_seconds("sampling_period", sampling_period)
            if not period > 0:
                raise ValueError(f"sampling_period: must be > 0 s, got {period}")
            start, stop = _on_grid(start, period), _on_grid(stop, period)
        tol = 1e-12
        t_start = None if t_start is None else float(t_start)
        t_stop = None if t_stop is None else float(t_stop)
        if t_start is not None and start[0] < t_start - tol:
            raise ValueError(f"offset: the window of the event at {ev[0]:.10g} s starts at "
                             f"{start[0]:.10g} s, before the recording's start "
                             f"({t_start:.10g} s)")
        if t_stop is not None and stop[-1] > t_stop + tol:
            k = int(np.argmax(stop))
            raise ValueError(f"length: the window of the event at {ev[k]:.10g} s ends at "
                             f"{stop[k]:.10g} s, after the recording's end ({t_stop:.10g} s)")
        if t_start is not None:
            start = np.maximum(start, t_start)
        if t_stop is not None:
            stop = np.minimum(stop, t_stop)
        return cls(start, stop, labels)

    def equals(self, other):
        return (isinstance(other, Epochs) and np.array_equal(self.start, other.start)
                and np.array_equal(self.stop, other.stop)
                and np.array_equal(self.label, other.label))


class SpikeTrains:
    """Spike times of N units in CSR layout, with optional epochs and ground truth.

    Parameters
    ----------
    times : array of float
        All spike times in seconds, unit after unit, sorted within each unit.
    offsets : array of int, length N + 1
        Unit ``i`` owns ``times[offsets[i]:offsets[i+1]]``.
    t_start, t_stop : float
        Recording bounds in seconds; every spike lies in [t_start, t_stop].
    unit_ids : sequence of str, optional
        Unique, non-empty unit names (default ``"0" .. "N-1"``).
    annotations : dict, optional
        Recording-level metadata (JSON-serialisable values).
    unit_annotations : dict of name -> sequence of length N, optional
        Per-unit metadata, for example a phy cluster group.
    epochs : Epochs or DataFrame with columns start, stop[, label], optional
        Trials or windows in seconds, inside [t_start, t_stop].
    truth : dict of name -> array, optional
        Ground truth from a simulator or an annotated file. Known keys:
        ``ordering`` (a permutation of unit indices that reveals a synfire chain),
        ``chain_group`` (per unit: chain group, -1 for background),
        ``assembly_membership`` (bool array, assemblies x units),
        ``epoch_labels`` (per epoch: pattern id, -1 for noise).
    sort : bool
        Sort times within each unit instead of refusing unsorted input.
    source : str, optional
        Where the data came from, used in error messages.
    copy : bool or None
        What to do with a ``times`` array that is already float64 (any other input is
        converted, i.e. copied, anyway). ``None`` (default): copied unless the array and
        every array it is a view of are read-only already, so your arrays are never made
        read-only and writing to them (or to any view of them) afterwards does not change
        the SpikeTrains. ``True``: always copy. ``False``: never copy; you hand over an
        array you own privately: it is made read-only in place and you must keep no
        writeable view of it (the loaders do this with the arrays they read, to avoid a
        copy of 8 bytes per spike).

    Notes
    -----
    Immutability contract: attributes cannot be reassigned; ``times``, ``offsets``,
    ``unit_ids``, the epoch arrays and every array in ``unit_annotations`` and ``truth`` are
    read-only numpy arrays that share no writeable memory with the caller (arrays passed in
    are copied unless read-only already, or, for ``times`` only, handed over with
    ``copy=False``); the caller's own arrays are never made read-only;
    ``annotations``, ``unit_annotations`` and ``truth`` are read-only dicts (a ``dict``
    subclass: item assignment, ``update``, ``pop`` ... raise ``TypeError``; ``dict(x)``
    gives a mutable copy). Values nested inside ``annotations`` (lists, dicts) are the
    caller's objects and are not frozen: do not change them in place. Derive a changed
    object with :meth:`replace`.
    """

    __slots__ = ("times", "offsets", "t_start", "t_stop", "unit_ids", "annotations",
                 "unit_annotations", "epochs", "truth", "_grid")

    def __init__(self, times, offsets, t_start, t_stop, unit_ids=None, annotations=None,
                 unit_annotations=None, epochs=None, truth=None, sort=False, source=None,
                 copy=None):
        given = times
        times = np.asarray(times, dtype=np.float64)
        if copy is None and _made_by_asarray(given, times):
            copy = False  # converted from a list or another dtype: a private array already
        if times.ndim != 1:
            times = times.reshape(-1)
        offsets = np.asarray(offsets).ravel()
        if offsets.size == 0 or not np.issubdtype(offsets.dtype, np.integer):
            raise SpikeDataError("offsets must be a non-empty integer array", source, "offsets")
        offsets = offsets.astype(np.int64)
        n = offsets.size - 1
        if offsets[0] != 0 or offsets[-1] != times.size or np.any(np.diff(offsets) < 0):
            raise SpikeDataError(
                f"offsets must rise from 0 to the number of spikes ({times.size})",
                source, "offsets")
        try:
            t_start, t_stop = float(t_start), float(t_stop)
        except (TypeError, ValueError):
            raise SpikeDataError("t_start and t_stop must be numbers", source, "t_start/t_stop")
        if not (np.isfinite(t_start) and np.isfinite(t_stop)) or t_stop < t_start:
            raise SpikeDataError(f"need finite t_start <= t_stop, got [{t_start}, {t_stop}]",
                                 source, "t_start/t_stop")

        unit_ids = (np.arange(n).astype(str) if unit_ids is None
                    else np.asarray([str(u) for u in unit_ids], dtype=str))
        if unit_ids.size != n:
            raise SpikeDataError(f"{unit_ids.size} unit ids for {n} units", source, "unit_ids")
        if n and np.any(np.char.str_len(unit_ids) == 0):
            raise SpikeDataError("unit ids must not be empty", source, "unit_ids")
        if len(np.unique(unit_ids)) != n:
            uniq, counts = np.unique(unit_ids, return_counts=True)
            raise SpikeDataError(f"unit id {str(uniq[counts > 1][0])!r} is used twice",
                                 source, "unit_ids")

        bad = np.flatnonzero(~np.isfinite(times))
        if bad.size:
            raise SpikeDataError(f"spike time {times[bad[0]]} is not finite",
                                 source, _where(unit_ids, offsets, bad[0]))
        bad = np.flatnonzero((times < t_start) | (times > t_stop))
        if bad.size:
            raise SpikeDataError(
                f"spike time {float(times[bad[0]])!r} s lies outside [t_start, t_stop] = "
                f"[{t_start}, {t_stop}]", source, _where(unit_ids, offsets, bad[0]))
        if times.size > 1:
            descending = np.diff(times) < 0
            # a drop in time is allowed only where a new unit begins
            descending[offsets[1:-1][(offsets[1:-1] > 0) & (offsets[1:-1] < times.size)] - 1] = False
            if descending.any():
                if not sort:
                    k = int(np.flatnonzero(descending)[0]) + 1
                    raise SpikeDataError("spike times are not sorted (pass sort=True to sort)",
                                         source, _where(unit_ids, offsets, k))
                times = times.copy()
                copy = False  # a private copy now
                for i in range(n):
                    times[offsets[i]:offsets[i + 1]].sort()

        unit_annotations = {str(k): _frozen(v) for k, v in (unit_annotations or {}).items()}
        for key, value in unit_annotations.items():
            if value.ndim == 0 or len(value) != n:
                got = "a single value" if value.ndim == 0 else f"{len(value)} values"
                raise SpikeDataError(f"has {got} for {n} units",
                                     source, f"unit annotation {key!r}")

        if epochs is not None and not isinstance(epochs, Epochs):
            epochs = Epochs.from_frame(pd.DataFrame(epochs))
        if epochs is not None:
            outside = np.flatnonzero((epochs.start < t_start - 1e-12)
                                     | (epochs.stop > t_stop + 1e-12))
            if outside.size:
                k = outside[0]
                raise SpikeDataError(
                    f"epoch {k} [{epochs.start[k]}, {epochs.stop[k]}] lies outside the recording "
                    f"[{t_start}, {t_stop}]", source, "epochs")

        truth = {str(k): _frozen(v) for k, v in (truth or {}).items()}
        _check_truth(truth, n, epochs, source)

        setattr_ = object.__setattr__
        setattr_(self, "times", _readonly(times, copy))
        setattr_(self, "offsets", _readonly(offsets, False))  # astype made it private
        setattr_(self, "t_start", t_start)
        setattr_(self, "t_stop", t_stop)
        setattr_(self, "unit_ids", _readonly(unit_ids, False))
        setattr_(self, "annotations", _FrozenDict(annotations or {}))
        setattr_(self, "unit_annotations", _FrozenDict(unit_annotations))
        setattr_(self, "epochs", epochs)
        setattr_(self, "truth", _FrozenDict(truth))

    def __setattr__(self, name, value):
        raise AttributeError("SpikeTrains is immutable; use replace() to derive a new one")

    def __reduce__(self):
        # pickle and copy.deepcopy: rebuild through the constructor (validated again); the
        # unpickled (or deep-copied) times are new arrays nobody else holds: no copy
        return (type(self), (self.times, self.offsets, self.t_start, self.t_stop,
                             self.unit_ids, dict(self.annotations),
                             dict(self.unit_annotations), self.epochs, dict(self.truth),
                             False, None, False))

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_spikes(cls, times, units, t_start=None, t_stop=None, unit_ids=None, sort=True,
                    source=None, **kwargs):
        """Build from two flat columns: spike time (s) and unit label of each spike.

        ``unit_ids`` fixes the order of units and may include silent units; by default the
        sorted unique labels of ``units``. With ``sort=False`` rows must already be in time
        order within each unit.

        Bounds follow :func:`analysis.load`: without ``t_start`` the recording starts at 0 s
        and a negative time raises :class:`SpikeDataError` (where: ``times``; pass
        ``t_start`` for a recording that starts before 0 s); without ``t_stop`` it ends at
        the last spike.
        """
        times = np.asarray(times, dtype=np.float64).ravel()
        units = np.asarray(units).ravel()
        if times.size != units.size:
            raise SpikeDataError(f"{times.size} times but {units.size} unit labels", source)
        if t_start is None:
            # as analysis.load: a recording starts at 0 s unless told otherwise
            negative = np.flatnonzero(times < 0)
            if negative.size:
                r = int(negative[0])
                raise SpikeDataError(
                    f"negative time {float(times[r])!r} s in row {r} (pass t_start= for a "
                    f"recording that starts before 0 s)", source, "times")
            t_start = 0.0
        if unit_ids is None:
            unit_ids, codes = np.unique(units, return_inverse=True)
        else:
            unit_ids = np.asarray(unit_ids)
            lookup = {u: i for i, u in enumerate(unit_ids.astype(str).tolist())}
            labels = units.astype(str)
            try:
                codes = np.fromiter((lookup[u] for u in labels), dtype=np.int64,
                                    count=labels.size)
            except KeyError as exc:
                raise SpikeDataError(f"spike of unknown unit {exc.args[0]!r}", source, "unit")
        if t_stop is None:
            finite = times[np.isfinite(times)]
            t_stop = float(finite.max()) if finite.size else float(t_start)
        if not sort and times.size > 1:
            # refuse rows that go back in time within a unit, naming the first such row
            order = np.argsort(codes, kind="stable")
            grouped = times[order]
            back = (np.diff(grouped) < 0) & (np.diff(codes[order]) == 0)
            if back.any():
                row = int(order[np.flatnonzero(back)[0] + 1])
                raise SpikeDataError(
                    f"rows are not sorted by time within unit {str(units[row])!r} "
                    f"(row {row}); pass sort=True to sort them", source, "time")
            order_final = order
        else:
            order_final = np.lexsort((times, codes))
        counts = np.bincount(codes, minlength=len(unit_ids))
        offsets = np.concatenate([[0], np.cumsum(counts)])
        kwargs.setdefault("copy", False)  # times[order_final] is a new array
        return cls(times[order_final], offsets, t_start, t_stop, unit_ids=unit_ids,
                   source=source, **kwargs)

    @classmethod
    def from_lists(cls, trains: Sequence[Iterable[float]], t_start=0.0, t_stop=None,
                   unit_ids=None, sort=True, **kwargs):
        """Build from one sequence of spike times (s) per unit."""
        arrays = [np.asarray(t, dtype=np.float64).ravel() for t in trains]
        counts = [a.size for a in arrays]
        times = np.concatenate(arrays) if arrays else np.empty(0)
        if t_stop is None:
            finite = times[np.isfinite(times)]
            t_stop = float(finite.max()) if finite.size else float(t_start)
        offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        kwargs.setdefault("copy", False)  # np.concatenate made a new array
        return cls(times, offsets, t_start, t_stop, unit_ids=unit_ids, sort=sort, **kwargs)

    def replace(self, **changes):
        """A copy with some fields changed (validated again)."""
        fields = {k: getattr(self, k) for k in self.__slots__ if not k.startswith("_")}
        if "times" not in changes:
            fields["copy"] = False  # our own read-only times: no copy
        fields.update(changes)
        return SpikeTrains(**fields)

    # ------------------------------------------------------------------ basic properties
    @property
    def sampling_period(self):
        """Seconds per sample when every spike time is a whole multiple of one period, else
        None: found from the times themselves on first use (``analysis.grid``; an
        annotation ``sampling_period``/``sample_time`` is tried first), so it holds for
        data from any file or from neo and survives every save and load."""
        try:
            return self._grid[0]
        except AttributeError:
            from .grid import detect_period
            ann = self.annotations
            hint = next((float(ann[k]) for k in ("sampling_period", "sample_time")
                         if isinstance(ann.get(k), (int, float))), None)
            object.__setattr__(self, "_grid", (detect_period(self.times, hint),))
            return self._grid[0]

    @property
    def n_units(self):
        return self.offsets.size - 1

    @property
    def n_spikes(self):
        return self.times.size

    @property
    def duration(self):
        return self.t_stop - self.t_start

    @property
    def spike_counts(self):
        return np.diff(self.offsets)

    @property
    def rates(self):
        """Mean firing rate of each unit in Hz (spikes per second)."""
        d = self.duration
        return self.spike_counts / d if d > 0 else np.full(self.n_units, np.nan)

    @property
    def units(self):
        """Unit index of every spike, aligned with ``times``."""
        return np.repeat(np.arange(self.n_units), self.spike_counts)

    def __len__(self):
        return self.n_units

    def __getitem__(self, i):
        """Spike times (s) of unit ``i`` (an index, or a unit id string)."""
        if isinstance(i, str):
            hits = np.flatnonzero(self.unit_ids == i)
            if not hits.size:
                raise KeyError(i)
            i = int(hits[0])
        i = range(self.n_units)[i]
        return self.times[self.offsets[i]:self.offsets[i + 1]]

    def __iter__(self):
        for i in range(self.n_units):
            yield self[i]

    def __repr__(self):
        ep = f", {len(self.epochs)} epochs" if self.epochs is not None else ""
        return (f"<SpikeTrains {self.n_units} units, {self.n_spikes} spikes, "
                f"[{self.t_start:g}, {self.t_stop:g}] s{ep}>")

    def summary(self):
        """Key figures as a dict: units, spikes, duration (s), mean rate (Hz), epochs."""
        rates = self.rates
        return {
            "units": self.n_units,
            "spikes": self.n_spikes,
            "t_start (s)": self.t_start,
            "t_stop (s)": self.t_stop,
            "duration (s)": self.duration,
            "mean rate (Hz)": float(np.mean(rates)) if self.n_units and self.duration > 0
            else float("nan"),
            "silent units": int(np.sum(self.spike_counts == 0)),
            "epochs": 0 if self.epochs is None else len(self.epochs),
            "ground truth": ", ".join(sorted(self.truth)) or "none",
        }

    def equals(self, other):
        """Exact equality of spikes, bounds, ids, epochs, annotations and truth."""
        if not isinstance(other, SpikeTrains):
            return False
        same_epochs = ((self.epochs is None and other.epochs is None)
                       or (self.epochs is not None and self.epochs.equals(other.epochs)))
        return (np.array_equal(self.times, other.times)
                and np.array_equal(self.offsets, other.offsets)
                and self.t_start == other.t_start and self.t_stop == other.t_stop
                and np.array_equal(self.unit_ids, other.unit_ids) and same_epochs
                and _jsonable(self.annotations) == _jsonable(other.annotations)
                and _dicts_of_arrays_equal(self.unit_annotations, other.unit_annotations)
                and _dicts_of_arrays_equal(self.truth, other.truth))

    # ------------------------------------------------------------------ subsets
    def select_units(self, index):
        """A new SpikeTrains with the given units (indices, a boolean mask, or unit ids).

        Per-unit ground truth follows the units; ``ordering`` keeps the selected units in
        their true order.
        """
        index = np.asarray(index)
        if index.dtype == bool:
            index = np.flatnonzero(index)
        elif index.dtype.kind in "US":
            pos = {u: i for i, u in enumerate(self.unit_ids.tolist())}
            try:
                index = np.array([pos[u] for u in index.tolist()], dtype=np.int64)
            except KeyError as exc:
                raise ValueError(f"units: unknown unit id {exc.args[0]!r}")
        index = index.astype(np.int64)
        if index.size and (index.min() < -self.n_units or index.max() >= self.n_units):
            raise ValueError(f"units: index out of range for {self.n_units} units")
        index = index % max(self.n_units, 1)
        counts = self.spike_counts[index]
        times = (np.concatenate([self[i] for i in index]) if index.size else np.empty(0))
        offsets = np.concatenate([[0], np.cumsum(counts)])
        truth = {}
        for key, value in self.truth.items():
            if key == "chain_group":
                truth[key] = value[index]
            elif key == "assembly_membership":
                truth[key] = value[:, index]
            elif key == "ordering":
                new_pos = np.full(self.n_units, -1)
                new_pos[index] = np.arange(index.size)
                kept = new_pos[value]
                truth[key] = kept[kept >= 0]
            else:
                truth[key] = value
        return SpikeTrains(times, offsets, self.t_start, self.t_stop, self.unit_ids[index],
                           self.annotations, {k: v[index] for k, v in
                                              self.unit_annotations.items()},
                           self.epochs, truth, copy=False)

    def time_slice(self, t_start, t_stop):
        """Spikes in [t_start, t_stop] (s); epochs that lie fully inside are kept."""
        t_start, t_stop = float(t_start), float(t_stop)
        if not (self.t_start <= t_start <= t_stop <= self.t_stop):
            raise ValueError(f"time_slice: [{t_start}, {t_stop}] is not inside the recording "
                             f"[{self.t_start}, {self.t_stop}]")
        keep = (self.times >= t_start) & (self.times <= t_stop)
        counts = np.add.reduceat(keep, self.offsets[:-1]) if self.n_spikes else \
            np.zeros(self.n_units, dtype=np.int64)
        counts = np.where(self.spike_counts == 0, 0, counts)
        offsets = np.concatenate([[0], np.cumsum(counts)])
        epochs, truth = self.epochs, dict(self.truth)
        if epochs is not None:
            inside = (epochs.start >= t_start) & (epochs.stop <= t_stop)
            epochs = Epochs(epochs.start[inside], epochs.stop[inside], epochs.label[inside])
            if "epoch_labels" in truth:
                truth["epoch_labels"] = truth["epoch_labels"][inside]
        return SpikeTrains(self.times[keep], offsets, t_start, t_stop, self.unit_ids,
                           self.annotations, self.unit_annotations, epochs, truth, copy=False)

    def epoch_spikes(self, epoch):
        """Spike times of every unit in one epoch [start, stop), relative to its start (s).

        Returns a tuple ``(times, offsets)`` in the same CSR layout.
        """
        if self.epochs is None:
            raise ValueError("epoch_spikes: this recording has no epochs")
        start, stop = self.epochs.start[epoch], self.epochs.stop[epoch]
        # half-open [start, stop) like bins, so that a spike on the boundary of two abutting
        # epochs belongs to the later one only; an epoch ending at t_stop is closed
        side = "right" if stop >= self.t_stop else "left"
        lo = np.array([np.searchsorted(self[i], start, "left") for i in range(self.n_units)])
        hi = np.array([np.searchsorted(self[i], stop, side) for i in range(self.n_units)])
        base = self.offsets[:-1]
        idx = np.concatenate([np.arange(base[i] + lo[i], base[i] + hi[i])
                              for i in range(self.n_units)]) if self.n_units else np.empty(0, int)
        offsets = np.concatenate([[0], np.cumsum(hi - lo)])
        return self.times[idx.astype(np.int64)] - start, offsets

    # ------------------------------------------------------------------ binning
    def n_bins(self, bin_size):
        return n_bins_for(self.t_start, self.t_stop, _check_bin_size(bin_size, self.duration))

    def bin(self, bin_size, binary=False, t_start=None, t_stop=None):
        """Spike counts in bins of ``bin_size`` seconds as a scipy CSR matrix (units x bins).

        Bin ``k`` covers [t_start + k*bin_size, t_start + (k+1)*bin_size); the number of bins
        is floor((t_stop - t_start) / bin_size) and spikes past the last whole bin are dropped,
        the same convention as Elephant's ``BinnedSpikeTrain`` (including its 1e-8 rounding
        tolerance at bin edges). ``binary=True`` clips counts at 1.
        """
        t0 = self.t_start if t_start is None else float(t_start)
        t1 = self.t_stop if t_stop is None else float(t_stop)
        if not (self.t_start <= t0 < t1 <= self.t_stop):
            raise ValueError(f"t_start/t_stop: [{t0}, {t1}] must lie inside the recording")
        bin_size = _check_bin_size(bin_size, t1 - t0)
        nb = n_bins_for(t0, t1, bin_size)
        cols = bin_indices(self.times, t0, bin_size)
        rows = self.units
        keep = (cols >= 0) & (cols < nb) & (self.times >= t0)
        m = sp.csr_matrix((np.ones(int(keep.sum()), dtype=np.int32), (rows[keep], cols[keep])),
                          shape=(self.n_units, nb))
        m.sum_duplicates()
        if binary:
            m.data[:] = 1
        return m

    def population_rate(self, bin_size):
        """Bin centres (s) and population rate (spikes/s per unit) in bins of ``bin_size`` s.

        The bins are those of :meth:`bin`: a spike exactly at ``t_stop`` falls outside the
        last bin and is not counted, as in Elephant's binning.
        """
        bin_size = _check_bin_size(bin_size, self.duration)
        nb = n_bins_for(self.t_start, self.t_stop, bin_size)
        k = bin_indices(self.times, self.t_start, bin_size)
        counts = np.bincount(k[(k >= 0) & (k < nb)], minlength=nb)
        centres = self.t_start + (np.arange(counts.size) + 0.5) * bin_size
        return centres, counts / bin_size / max(self.n_units, 1)

    # ------------------------------------------------------------------ neo
    def to_neo(self):
        """A ``neo.Block`` holding the spike trains in seconds.

        Data read from a foreign neo object (see :meth:`from_neo`) carry the annotation
        ``neo_layout``, and the Block is rebuilt in that layout: block and segment names,
        descriptions and annotations at their own level; one Segment per original segment
        (consecutive trials are split again at their bounds, spikes on the bound of two
        touching segments going back to the segment they came from); spike-train names,
        bounds and ``unit_id`` annotations as they were; unit annotations as spike-train
        annotations (``None`` values are left out); one ``neo.Epoch`` per original Epoch
        with its name, labels and annotations; ``truth['ordering']`` as the segment annotation
        ``spiketrain_ordering``. Parts of the layout that no longer fit the data (after
        ``select_units`` or ``replace``) fall back to the default below.

        Otherwise (data made by spikelens): one Segment ``"recording"`` with one
        ``neo.SpikeTrain`` per unit (name and annotation ``unit_id``: the unit id; per-unit
        annotations as spike-train annotations), the epochs as one ``neo.Epoch`` named
        ``"epochs"``, the annotations on the Block (its name from ``annotations['name']``;
        ``None`` values left out), ground truth as the JSON block annotation
        ``spikelens_truth`` and the unit-annotation keys as the JSON block annotation
        ``spikelens_unit_annotations``, which marks the Block as written by spikelens.

        Times, bounds and epochs are in seconds. Other truth keys of foreign data also go
        into ``spikelens_truth``.
        """
        layout = self.annotations.get(NEO_LAYOUT_KEY)
        if isinstance(layout, dict):
            return self._to_neo_layout(layout)
        import neo
        import quantities as pq

        # annotate() after construction, so keys such as 'name' or 'units' cannot collide
        # with the constructors' own arguments
        block = neo.Block(name=str(self.annotations.get("name", "spikelens")))
        block.annotate(**_neo_values(self.annotations))
        seg = neo.Segment(name="recording")
        for i, uid in enumerate(self.unit_ids.tolist()):
            st = neo.SpikeTrain(np.array(self[i]) * pq.s, t_start=self.t_start * pq.s,
                                t_stop=self.t_stop * pq.s, name=uid)
            st.annotate(unit_id=uid, **_neo_values(
                {k: v[i] for k, v in self.unit_annotations.items()}))
            seg.spiketrains.append(st)
        if self.epochs is not None:
            seg.epochs.append(neo.Epoch(times=np.array(self.epochs.start) * pq.s,
                                        durations=np.array(self.epochs.duration) * pq.s,
                                        labels=np.array(self.epochs.label), name="epochs"))
        if self.truth:
            block.annotate(spikelens_truth=json.dumps(
                {k: v.tolist() for k, v in self.truth.items()}))
        block.annotate(spikelens_unit_annotations=json.dumps(sorted(self.unit_annotations)))
        block.segments.append(seg)
        seg.block = block
        return block

    def _to_neo_layout(self, layout):
        """``to_neo`` for data read from a foreign neo object (see ``from_neo``)."""
        import neo
        import quantities as pq

        n = self.n_units
        blk = layout.get("block") if isinstance(layout.get("block"), dict) else None
        segs = [s if isinstance(s, dict) else {} for s in (layout.get("segments") or [{}])]
        seg_keys = [k for k in (layout.get("segment_keys") or []) if k in self.annotations]
        id_source = layout.get("unit_id", "name")

        name = blk.get("name") if blk is not None else self.annotations.get("name", "spikelens")
        block = neo.Block(name=None if name is None else str(name),
                          description=blk.get("description") if blk is not None else None)
        block_ann = {k: v for k, v in self.annotations.items()
                     if k not in seg_keys and k != NEO_LAYOUT_KEY}
        if blk is not None and isinstance(blk.get("annotations"), dict):
            block_ann.update(blk["annotations"])
        block.annotate(**_neo_values(block_ann))
        ordering_on_segment = bool(layout.get("ordering")) and "ordering" in self.truth
        other_truth = {k: v.tolist() for k, v in self.truth.items()
                       if not (k == "ordering" and ordering_on_segment)}
        if other_truth:
            block.annotate(spikelens_truth=json.dumps(other_truth))

        # segments: the original trials when their bounds still cover every spike
        bounds = _segment_bounds(segs, self)
        if bounds is None:
            segs, bounds = segs[:1], [(self.t_start, self.t_stop)]
        ranges = _split_ranges(self, bounds)
        if ranges is None:  # spikes outside the segments: keep them all in one
            segs, bounds = segs[:1], [(self.t_start, self.t_stop)]
            ranges = _split_ranges(self, bounds)
        _return_spikes_at_t_stop(self, segs, bounds, ranges)

        # epochs: the trial epochs (one per segment) are implied by the segments
        groups = _epoch_groups(layout, self.epochs, len(bounds))

        unit_values = {k: v.tolist() for k, v in self.unit_annotations.items()}
        ids = self.unit_ids.tolist()
        # per unit, its position in the recorded per-train entries (-1: not recorded)
        recorded = layout.get("unit_ids")
        if isinstance(recorded, list):
            where = {str(u): j for j, u in enumerate(recorded)}
            rec_pos, n_rec = [where.get(u, -1) for u in ids], len(recorded)
        else:  # a layout without ids: by position, only while the count is the same
            rec_pos, n_rec = list(range(n)), n
        # ids that are positions come back from the positions only while nothing moved
        write_uid = id_source == "unit_id" or (
            id_source == "index" and not (n == n_rec and rec_pos == list(range(n))
                                          and ids == [str(i) for i in range(n)]))
        for k, s in enumerate(segs):
            seg = neo.Segment(name=s.get("name"), description=s.get("description"))
            seg_ann = {key: self.annotations[key] for key in seg_keys}
            if isinstance(s.get("annotations"), dict):
                seg_ann.update(s["annotations"])
            if ordering_on_segment:
                seg_ann["spiketrain_ordering"] = self.truth["ordering"].tolist()
            seg.annotate(**_neo_values(seg_ann))
            t0, t1 = bounds[k]
            names = _per_unit(s.get("train_names"), n_rec)
            train_bounds = _per_unit(s.get("train_bounds"), n_rec)
            extra = {key: vals for key, vals in (s.get("train_annotations") or {}).items()
                     if _per_unit(vals, n_rec) is not None}
            lo, hi = ranges[k]
            for i, uid in enumerate(ids):
                j = rec_pos[i]
                spikes = np.array(self[i][lo[i]:hi[i]])
                a, b = _train_bounds(None if train_bounds is None or j < 0
                                     else train_bounds[j], spikes, t0, t1)
                if id_source == "name":
                    tname = uid
                else:
                    tname = None if names is None or j < 0 else names[j]
                st = neo.SpikeTrain(spikes * pq.s, t_start=a * pq.s, t_stop=b * pq.s,
                                    name=tname)
                ann = {key: vals[i] for key, vals in unit_values.items()}
                if j >= 0:
                    ann.update({key: vals[j] for key, vals in extra.items()})
                if write_uid:
                    ann["unit_id"] = uid
                st.annotate(**_neo_values(ann))
                seg.spiketrains.append(st)
            for info, sl in groups[k]:
                ep = self.epochs
                start, stop = ep.start[sl], ep.stop[sl]
                e = neo.Epoch(times=np.array(start) * pq.s,
                              durations=np.array(stop - start) * pq.s,
                              labels=np.array(ep.label[sl]) if info.get("labels", True)
                              else None,
                              name=info.get("name"), description=info.get("description"))
                if isinstance(info.get("annotations"), dict):
                    e.annotate(**_neo_values(info["annotations"]))
                seg.epochs.append(e)
            block.segments.append(seg)
            seg.block = block
        return block

    @classmethod
    def from_neo(cls, obj, source=None):
        """Build from a ``neo.Block``, ``neo.Segment`` or a list of ``neo.SpikeTrain``.

        Quantities are converted to seconds. Unit ids are the spike trains' ``unit_id``
        annotations when every train has a distinct one, else their names when these are
        distinct, else their positions. A Segment's ``neo.Epoch`` objects become the
        epochs (with their labels, or their positions as labels). A segment annotation
        ``spiketrain_ordering`` (as written by Elephant's ASSET tutorial data) becomes
        ``truth['ordering']``.

        Blocks written by :meth:`to_neo` from spikelens data (block annotation
        ``spikelens_unit_annotations``) come back exactly. Any other ("foreign") object:

        - annotations = block annotations plus the segment annotations (a segment's value
          wins over the block's for the same key);
        - unit annotations = the spike trains' annotations (a key missing on a train, or
          values of different types, give an object array with ``None`` for the missing);
        - the annotation ``neo_layout`` (JSON-friendly) records what :meth:`to_neo` needs to
          rebuild the same layout: block and segment names and descriptions, which keys are
          segment annotations, train names and bounds where they differ from the ids and
          the recording, each Epoch's name, size and annotations, where the ordering was.
        - A Block with several segments is read when the segments are consecutive trials:
          every segment holds the same units (same count and ids, in order) and each starts
          no earlier than the previous one ends. The trials are joined on the Block's time
          axis (times are not shifted), each segment becomes an epoch (label: the segment's
          name, else ``"segment k"``), followed by the segments' own Epochs; segment and
          train annotations that are the same in every segment are kept as above, the others
          per segment in ``neo_layout``. Any other Block with several segments is refused.

        Not kept: per-spike array annotations and waveforms (SpikeTrains holds no per-spike
        data), array annotations of Epochs, Events, signals, and annotations whose value is
        ``None``. Quantity-valued annotations keep their magnitude only.

        Raises
        ------
        SpikeDataError
            For an object without spike trains, several segments that are not consecutive
            trials of the same units (the message names the block and the number of
            segments), and the usual validation errors.
        """
        import neo

        if isinstance(obj, neo.Block):
            if "spikelens_unit_annotations" in obj.annotations:
                return cls._from_spikelens_neo(obj, source)
            block, segments = obj, list(obj.segments)
            if not segments:
                raise SpikeDataError("contains no segments", source, _block_where(block))
            seg_trains = [list(s.spiketrains) for s in segments]
        elif isinstance(obj, neo.Segment):
            block, segments, seg_trains = None, [obj], [list(obj.spiketrains)]
        else:
            try:
                trains = list(obj)
            except TypeError:
                trains = None
            if trains is None or not all(isinstance(t, neo.SpikeTrain) for t in trains):
                raise SpikeDataError("expected a neo Block, Segment or list of SpikeTrain",
                                     source)
            block, segments, seg_trains = None, [None], [trains]
        return cls._from_foreign_neo(block, segments, seg_trains, source)

    @classmethod
    def _from_spikelens_neo(cls, block, source):
        """``from_neo`` for a Block written by the default ``to_neo``: exact."""
        block_ann = dict(block.annotations)
        if len(block.segments) != 1:
            raise SpikeDataError(f"a spikelens Block has one segment, this one has "
                                 f"{len(block.segments)}", source, _block_where(block))
        seg = block.segments[0]
        seg_ann = dict(seg.annotations)
        epochs_neo = list(seg.epochs)
        trains = list(seg.spiketrains)
        if not trains:
            raise SpikeDataError("contains no spike trains", source)
        t_start = min(float(t.t_start.rescale("s").magnitude) for t in trains)
        t_stop = max(float(t.t_stop.rescale("s").magnitude) for t in trains)
        unit_keys = set(json.loads(block_ann.pop("spikelens_unit_annotations", "[]")))
        ids, _ = _neo_unit_ids(trains)
        unit_ann = {key: [t.annotations.get(key) for t in trains] for key in unit_keys}
        spike_lists = [np.asarray(t.rescale("s").magnitude, dtype=np.float64) for t in trains]
        truth = _truth_from_json(block_ann.pop("spikelens_truth", "{}"), source)
        if "spiketrain_ordering" in seg_ann:
            truth["ordering"] = np.asarray(seg_ann.pop("spiketrain_ordering"), dtype=np.int64)
        epochs = _epochs_from_neo(epochs_neo)[0] if epochs_neo else None
        annotations = {k: _plain(v) for k, v in block_ann.items()
                       if k not in ("nix_name",)}
        annotations.update({k: _plain(v) for k, v in seg_ann.items() if k != "nix_name"})
        return cls.from_lists(spike_lists, t_start=t_start, t_stop=t_stop, unit_ids=ids,
                              annotations=annotations,
                              unit_annotations={k: np.asarray(v) for k, v in unit_ann.items()},
                              epochs=epochs, truth=truth, source=source)

    @classmethod
    def _from_foreign_neo(cls, block, segments, seg_trains, source):
        """``from_neo`` for anything else; records the layout in ``neo_layout``."""
        where = _block_where(block) if block is not None else None
        n_seg = len(seg_trains)
        if not any(seg_trains) or (n_seg > 1 and not all(seg_trains)):
            empty = [k for k, t in enumerate(seg_trains) if not t]
            raise SpikeDataError("contains no spike trains" if n_seg == 1 or
                                 len(empty) == n_seg else
                                 f"segment {empty[0]} of its {n_seg} segments contains no "
                                 f"spike trains", source, where)
        counts = [len(t) for t in seg_trains]
        if len(set(counts)) > 1:
            raise SpikeDataError(
                f"its {n_seg} segments hold different numbers of spike trains "
                f"({', '.join(map(str, counts))}); several segments are read only when they "
                f"are consecutive trials of the same units", source, where)
        ids, id_source = _neo_unit_ids(seg_trains[0])
        for k, trains in enumerate(seg_trains[1:], 1):
            other = [str(t.annotations.get("unit_id")) if id_source == "unit_id" else
                     t.name if id_source == "name" else str(j) for j, t in enumerate(trains)]
            if other != ids:
                raise SpikeDataError(
                    f"its {n_seg} segments hold different units (segment {k} differs from "
                    f"segment 0); several segments are read only when they are consecutive "
                    f"trials of the same units", source, where)
        sec = [[(float(t.t_start.rescale("s").magnitude), float(t.t_stop.rescale("s").magnitude))
                for t in trains] for trains in seg_trains]
        seg_bounds = [(min(b[0] for b in s), max(b[1] for b in s)) for s in sec]
        for k in range(1, n_seg):
            if seg_bounds[k][0] < seg_bounds[k - 1][1]:
                raise SpikeDataError(
                    f"its {n_seg} segments overlap in time (segment {k} starts at "
                    f"{seg_bounds[k][0]:g} s, before segment {k - 1} ends at "
                    f"{seg_bounds[k - 1][1]:g} s); several segments are read only when they "
                    f"are consecutive trials on one time axis (or pass one of its "
                    f"Segments to from_neo)",
                    source, where)
        n = counts[0]
        spike_lists = [np.concatenate([np.asarray(trains[i].rescale("s").magnitude,
                                                  dtype=np.float64).ravel()
                                       for trains in seg_trains]) for i in range(n)]
        t_start, t_stop = seg_bounds[0][0], seg_bounds[-1][1]

        # ---- annotations: block, then what every segment shares
        skip = {"nix_name"}
        block_ann = {} if block is None else {k: _plain_deep(v)
                                              for k, v in block.annotations.items()
                                              if k not in skip}
        seg_anns = [{} if s is None else {k: _plain_deep(v) for k, v in s.annotations.items()
                                          if k not in skip} for s in segments]
        truth = {}
        if block is not None and "spikelens_truth" in block_ann:
            truth = _truth_from_json(block_ann.pop("spikelens_truth"), source)
        orderings = [a.get("spiketrain_ordering") for a in seg_anns]
        ordering = orderings[0] is not None and all(_same(o, orderings[0]) for o in orderings)
        if ordering:
            for a in seg_anns:
                a.pop("spiketrain_ordering")
            truth["ordering"] = np.asarray(orderings[0], dtype=np.int64)
        shared = [k for k in seg_anns[0] if all(k in a and _same(a[k], seg_anns[0][k])
                                                for a in seg_anns)]
        annotations = {**block_ann, **{k: seg_anns[0][k] for k in shared}}

        # ---- per-unit annotations: those every segment shares; the rest per segment
        train_skip = skip | ({"unit_id"} if id_source == "unit_id" else set())
        per_seg = [_train_annotation_lists(trains, train_skip) for trains in seg_trains]
        common_keys = [k for k in per_seg[0]
                       if all(k in p and _same(p[k], per_seg[0][k]) for p in per_seg)]
        unit_annotations = {k: _unit_array(per_seg[0][k]) for k in common_keys}

        # ---- epochs: the trials (several segments), then each segment's Epochs
        starts, stops, labels = [], [], []
        if n_seg > 1:
            starts.append(np.array([b[0] for b in seg_bounds]))
            stops.append(np.array([b[1] for b in seg_bounds]))
            labels.append(np.array([s.name if s is not None and s.name else f"segment {k}"
                                    for k, s in enumerate(segments)], dtype=str))
        seg_layouts = []
        for k, s in enumerate(segments):
            epochs_neo = [] if s is None else list(s.epochs)
            groups = []
            if epochs_neo:
                ep, groups = _epochs_from_neo(epochs_neo)
                starts.append(ep.start)
                stops.append(ep.stop)
                labels.append(ep.label)
            names = [t.name for t in seg_trains[k]]
            seg_layouts.append({
                "name": None if s is None else s.name,
                "description": None if s is None else s.description,
                "t_start": seg_bounds[k][0], "t_stop": seg_bounds[k][1],
                "annotations": {key: v for key, v in seg_anns[k].items() if key not in shared},
                "train_names": names if id_source != "name" and any(
                    x is not None for x in names) else None,
                "train_bounds": [list(b) for b in sec[k]]
                if any(b != seg_bounds[k] for b in sec[k]) else None,
                "train_annotations": {key: v for key, v in per_seg[k].items()
                                      if key not in common_keys},
                "epochs": groups,
                # spikes on this segment's t_stop when the next segment starts there:
                # to_neo would give them to the next one
                "spikes_at_t_stop": _spikes_at(seg_trains[k], ids, seg_bounds[k][1])
                if k + 1 < n_seg and seg_bounds[k + 1][0] == seg_bounds[k][1] else [],
            })
        epochs = None
        if starts:
            epochs = Epochs(np.concatenate(starts), np.concatenate(stops),
                            np.concatenate(labels))
        layout = {
            "block": None if block is None else {
                "name": block.name, "description": block.description,
                "annotations": {k: v for k, v in block_ann.items() if k in shared}},
            "segment_keys": shared,
            "ordering": ordering,
            "unit_id": id_source,
            # per-train entries (train_names, train_bounds, train_annotations) are in
            # this order of unit ids; to_neo maps them by id
            "unit_ids": ids,
            "trial_epochs": n_seg > 1,
            "segments": seg_layouts,
        }
        annotations[NEO_LAYOUT_KEY] = layout
        return cls.from_lists(spike_lists, t_start=t_start, t_stop=t_stop, unit_ids=ids,
                              annotations=annotations, unit_annotations=unit_annotations,
                              epochs=epochs, truth=truth, source=source)


# ---------------------------------------------------------------------- neo helpers
#: Annotation holding the layout of the foreign neo object data were read from.
NEO_LAYOUT_KEY = "neo_layout"


def _block_where(block):
    return f"block {block.name!r}" if getattr(block, "name", None) else "block"


def _plain_deep(v):
    """``_plain`` applied inside lists, tuples and dicts too."""
    v = _plain(v)
    if isinstance(v, (list, tuple)):
        return [_plain_deep(x) for x in v]
    if isinstance(v, dict):
        return {str(k): _plain_deep(x) for k, x in v.items()}
    return v


def _same(a, b):
    """Equal annotation values (lists, dicts and NaN included)."""
    return json.dumps(a, sort_keys=True, default=str) == \
        json.dumps(b, sort_keys=True, default=str)


def _neo_values(d):
    """Annotations for neo's ``annotate``: values as they are, ``None`` left out."""
    return {str(k): _plain_deep(v) for k, v in d.items() if v is not None}


def _truth_from_json(text, source):
    try:
        raw = json.loads(text)
    except (TypeError, ValueError):
        raise SpikeDataError("is not valid JSON", source, "block annotation spikelens_truth") \
            from None
    return {k: np.asarray(v, dtype=np.int64 if k in ("ordering", "chain_group") else None)
            for k, v in raw.items()}


def _neo_unit_ids(trains):
    """Unit ids of neo spike trains and where they came from: unit_id, name or index."""
    uid = [t.annotations.get("unit_id") for t in trains]
    if all(u is not None and str(u) != "" for u in uid) and len(set(map(str, uid))) == len(uid):
        return [str(u) for u in uid], "unit_id"
    names = [t.name for t in trains]
    if all(isinstance(x, str) and x for x in names) and len(set(names)) == len(names):
        return names, "name"
    return [str(k) for k in range(len(trains))], "index"


def _train_annotation_lists(trains, skip):
    """Every spike-train annotation key -> one plain value per train (None if absent)."""
    keys = sorted(set().union(*(t.annotations for t in trains)) - skip)
    return {k: [_plain_deep(t.annotations[k]) if k in t.annotations else None for t in trains]
            for k in keys}


def _unit_array(values):
    """A typed array when every value is a str, bool, int or float of one type, else
    an object array (None for a missing value)."""
    kinds = {type(v) for v in values}
    if len(kinds) == 1 and kinds <= {str, bool, int, float}:
        try:
            return np.asarray(values)
        except OverflowError:  # ints beyond int64
            pass
    out = np.empty(len(values), dtype=object)
    for i, v in enumerate(values):
        out[i] = v
    return out


def _epochs_from_neo(epochs_neo):
    """Epochs (s) from neo Epoch objects, and each object's layout record."""
    starts, stops, labels, groups = [], [], [], []
    for e in epochs_neo:
        start = np.asarray(e.times.rescale("s").magnitude, dtype=np.float64).ravel()
        dur = np.asarray(e.durations.rescale("s").magnitude, dtype=np.float64).ravel()
        has_labels = len(e.labels) > 0
        starts.append(start)
        stops.append(start + dur)
        labels.append(np.asarray(e.labels).astype(str) if has_labels
                      else np.arange(len(e)).astype(str))
        groups.append({"name": e.name, "description": e.description, "size": int(start.size),
                       "labels": bool(has_labels),
                       "annotations": {k: _plain_deep(v) for k, v in e.annotations.items()
                                       if k != "nix_name"}})
    return Epochs(np.concatenate(starts), np.concatenate(stops), np.concatenate(labels)), groups


def _per_unit(values, n):
    return values if isinstance(values, list) and len(values) == n else None


def _train_bounds(recorded, spikes, t0, t1):
    """A train's recorded (t_start, t_stop) when it still lies in its segment [t0, t1] and
    holds the train's spikes (not after ``select_units``, ``time_slice`` or ``replace``
    moved them), else the segment's bounds."""
    try:
        a, b = float(recorded[0]), float(recorded[1])
    except (TypeError, ValueError, IndexError, KeyError):
        return t0, t1
    if not (t0 <= a <= b <= t1) or (spikes.size and (spikes[0] < a or spikes[-1] > b)):
        return t0, t1
    return a, b


def _segment_bounds(segs, data):
    """(t_start, t_stop) of each recorded segment, or None when they no longer fit."""
    if len(segs) <= 1:
        return [(data.t_start, data.t_stop)]
    try:
        bounds = [(float(s["t_start"]), float(s["t_stop"])) for s in segs]
    except (KeyError, TypeError, ValueError):
        return None
    ok = (bounds[0][0] >= data.t_start and bounds[-1][1] <= data.t_stop
          and all(a <= b for a, b in bounds)
          and all(bounds[k][0] >= bounds[k - 1][1] for k in range(1, len(bounds))))
    return bounds if ok else None


def _split_ranges(data, bounds):
    """Per segment, (lo, hi) spike positions within each unit; None if a spike lies
    outside every segment. A spike on the bound of two touching segments goes to the
    later one (``_return_spikes_at_t_stop`` corrects that from the layout)."""
    n_seg = len(bounds)
    t0 = np.array([b[0] for b in bounds])
    t1 = np.array([b[1] for b in bounds])
    k = np.searchsorted(t0[1:], data.times, side="right")
    if data.n_spikes and np.any((data.times < t0[k]) | (data.times > t1[k])):
        return None
    counts = np.bincount(data.units * n_seg + k, minlength=data.n_units * n_seg)
    cum = np.zeros((data.n_units, n_seg + 1), dtype=np.int64)
    cum[:, 1:] = np.cumsum(counts.reshape(data.n_units, n_seg), axis=1)
    return [(cum[:, j].copy(), cum[:, j + 1].copy()) for j in range(n_seg)]


def _spikes_at(trains, ids, t):
    """``[unit id, count]`` of the trains' spikes at exactly ``t`` seconds."""
    out = []
    for uid, train in zip(ids, trains):
        c = int(np.count_nonzero(np.asarray(train.rescale("s").magnitude) == t))
        if c:
            out.append([uid, c])
    return out


def _return_spikes_at_t_stop(data, segs, bounds, ranges):
    """Give the spikes recorded at a segment's t_stop back to it (see ``from_neo``)."""
    pos = {u: i for i, u in enumerate(data.unit_ids.tolist())}
    for k in range(len(bounds) - 1):
        at = segs[k].get("spikes_at_t_stop") if isinstance(segs[k], dict) else None
        if bounds[k][1] != bounds[k + 1][0] or not isinstance(at, list):
            continue
        for item in at:
            try:
                i, c = pos[item[0]], int(item[1])
            except (KeyError, TypeError, ValueError, IndexError):
                continue
            lo, hi = ranges[k + 1]
            train = data[i]
            c = min(c, int(np.count_nonzero(train[lo[i]:hi[i]] == bounds[k][1])))
            if c > 0:
                ranges[k][1][i] += c
                lo[i] += c


def _epoch_groups(layout, epochs, n_out):
    """Per output segment, the (layout record, slice) of each neo.Epoch to write."""
    out = [[] for _ in range(n_out)]
    if epochs is None:
        return out
    recorded = [s.get("epochs") if isinstance(s, dict) else None
                for s in (layout.get("segments") or [])]
    offset = len(recorded) if layout.get("trial_epochs") and len(recorded) > 1 else 0
    try:
        sizes = [[int(g["size"]) for g in r or []] for r in recorded]
    except (KeyError, TypeError, ValueError):
        sizes = None
    fits = (sizes is not None and len(recorded) == n_out
            and offset + sum(map(sum, sizes)) == len(epochs))
    if not fits:
        out[0].append(({"name": "epochs"}, slice(0, len(epochs))))
        return out
    pos = offset
    for j, r in enumerate(recorded):
        for g in r or []:
            out[j].append((g, slice(pos, pos + int(g["size"]))))
            pos += int(g["size"])
    return out


# ---------------------------------------------------------------------- helpers
def _check_bin_size(bin_size, duration):
    try:
        bin_size = float(bin_size)
    except (TypeError, ValueError):
        raise ValueError(f"bin_size: must be a number of seconds, got {bin_size!r}")
    if not np.isfinite(bin_size) or bin_size <= 0:
        raise ValueError(f"bin_size: must be > 0 s, got {bin_size}")
    if bin_size > duration * (1 + BIN_TOLERANCE):
        raise ValueError(f"bin_size: {bin_size} s is longer than the recording ({duration} s)")
    return bin_size


def _where(unit_ids, offsets, k):
    i = int(np.searchsorted(offsets, k, side="right") - 1)
    i = min(max(i, 0), len(unit_ids) - 1) if len(unit_ids) else 0
    unit = unit_ids[i] if len(unit_ids) else "?"
    return f"unit {unit!s}, spike {int(k - offsets[i])}"


def _check_truth(truth, n, epochs, source):
    if "ordering" in truth:
        o = truth["ordering"]
        if o.ndim != 1 or not np.issubdtype(o.dtype, np.integer) or \
                (o.size and (o.min() < 0 or o.max() >= n)) or len(np.unique(o)) != o.size:
            raise SpikeDataError("must be distinct unit indices", source, "truth 'ordering'")
    if "chain_group" in truth and truth["chain_group"].shape != (n,):
        raise SpikeDataError(f"must have one entry per unit ({n})", source,
                             "truth 'chain_group'")
    if "assembly_membership" in truth:
        a = truth["assembly_membership"]
        if a.ndim != 2 or a.shape[1] != n:
            raise SpikeDataError(f"must be (assemblies, {n})", source,
                                 "truth 'assembly_membership'")
    if "epoch_labels" in truth:
        n_ep = 0 if epochs is None else len(epochs)
        if truth["epoch_labels"].shape != (n_ep,):
            raise SpikeDataError(f"must have one entry per epoch ({n_ep})", source,
                                 "truth 'epoch_labels'")


def _dicts_of_arrays_equal(a, b):
    """Same keys and equal arrays; NaN equals NaN in float arrays (missing values)."""
    if a.keys() != b.keys():
        return False
    for key, x in a.items():
        y = b[key]
        nan_ok = x.dtype.kind in "fc" and y.dtype.kind in "fc"
        if not np.array_equal(x, y, equal_nan=nan_ok):
            return False
    return True


def _plain(v):
    """A JSON-friendly Python value from numpy scalars/arrays and quantities."""
    if hasattr(v, "magnitude"):
        v = v.magnitude
    if isinstance(v, np.ndarray):
        return v.tolist()
    if isinstance(v, np.generic):
        return v.item()
    return v


def _jsonable(d):
    return json.loads(json.dumps({k: _plain(v) for k, v in d.items()}, default=str))


def _finite_seconds(name, value):
    """``value`` as a finite float, or ValueError naming ``name``."""
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name}: expected a number of seconds, got {value!r}") from None
    if not np.isfinite(value):
        raise ValueError(f"{name}: must be finite, got {value}")
    return value


def _on_grid(t, period):
    """Times within a relative 1e-9 of a multiple of ``period`` put exactly on it."""
    x = t / period
    r = np.rint(x)
    return np.where(np.abs(x - r) <= 1e-9 * np.maximum(1.0, np.abs(x)), r * period, t)
