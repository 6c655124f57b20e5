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
        # kept spikes before each unit's first; np.add.reduceat fails on trailing silent units
        offsets = np.concatenate([[0], np.cumsum(keep)])[self.offsets]
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
        """A ``neo.Block`` holding the spike trains in seconds; see
        :func:`analysis.neo_io.to_neo` for the layout."""
        from .neo_io import to_neo

        return to_neo(self)

    @classmethod
    def from_neo(cls, obj, source=None):
        """Build from a ``neo.Block``, ``neo.Segment`` or a list of ``neo.SpikeTrain``; see
        :func:`analysis.neo_io.from_neo` for what is kept and how."""
        from .neo_io import from_neo

        return from_neo(obj, source, cls=cls)

    # ------------------------------------------------------------------ ecosystem
    @classmethod
    def from_spikeinterface(cls, sorting, segment=0):
        """Build from one segment of a SpikeInterface sorting; see
        :func:`analysis.ecosystem.from_spikeinterface`."""
        from .ecosystem import from_spikeinterface

        return from_spikeinterface(sorting, segment, cls=cls)

    @classmethod
    def from_pynapple(cls, tsgroup, epochs=None):
        """Build from a pynapple ``TsGroup`` and optional ``IntervalSet`` of epochs; see
        :func:`analysis.ecosystem.from_pynapple`."""
        from .ecosystem import from_pynapple

        return from_pynapple(tsgroup, epochs, cls=cls)

    def to_pynapple(self):
        """``(TsGroup, IntervalSet or None)``; see :func:`analysis.ecosystem.to_pynapple`."""
        from .ecosystem import to_pynapple

        return to_pynapple(self)


#: Annotation holding the layout of the foreign neo object data were read from.
NEO_LAYOUT_KEY = "neo_layout"


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
