"""The single in-memory form of spike data: :class:`SpikeTrains`.

N units; all spike times in one flat float64 array (seconds) plus an ``offsets`` array of
length N + 1 (CSR layout), so unit ``i`` owns ``times[offsets[i]:offsets[i + 1]]``, sorted.
About 8 bytes per spike: 1e8 spikes take 0.8 GB.

Instances are immutable (arrays are read-only) and validated at construction; every
operation returns a new object.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Iterable, Sequence

import numpy as np
import pandas as pd
import scipy.sparse as sp

from .errors import SpikeDataError

__all__ = ["SpikeTrains", "Epochs", "bin_indices", "n_bins_for"]

#: Spikes within this fraction of a bin below a bin edge are moved into the next bin, as in
#: Elephant's ``BinnedSpikeTrain`` (``tolerance=1e-8``); this keeps binning identical to the
#: field's reference when spike times are multiples of the bin size up to rounding.
BIN_TOLERANCE = 1e-8

#: Ground-truth keys whose arrays have one entry per unit (subset with the units).
PER_UNIT_TRUTH = ("chain_group", "assembly_membership")


def _readonly(a):
    a = np.ascontiguousarray(a)
    a.flags.writeable = False
    return a


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
        start = np.asarray(self.start, dtype=np.float64).ravel()
        stop = np.asarray(self.stop, dtype=np.float64).ravel()
        label = np.asarray(self.label).ravel().astype(str)
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
        object.__setattr__(self, "start", _readonly(start))
        object.__setattr__(self, "stop", _readonly(stop))
        object.__setattr__(self, "label", _readonly(label))

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
    """

    __slots__ = ("times", "offsets", "t_start", "t_stop", "unit_ids", "annotations",
                 "unit_annotations", "epochs", "truth")

    def __init__(self, times, offsets, t_start, t_stop, unit_ids=None, annotations=None,
                 unit_annotations=None, epochs=None, truth=None, sort=False, source=None):
        times = np.asarray(times, dtype=np.float64).ravel()
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
                for i in range(n):
                    times[offsets[i]:offsets[i + 1]].sort()

        unit_annotations = {str(k): np.asarray(v) for k, v in (unit_annotations or {}).items()}
        for key, value in unit_annotations.items():
            if len(value) != n:
                raise SpikeDataError(f"has {len(value)} values for {n} units",
                                     source, f"unit annotation {key!r}")
            value.flags.writeable = False

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

        truth = {str(k): _readonly(np.asarray(v)) for k, v in (truth or {}).items()}
        _check_truth(truth, n, epochs, source)

        setattr_ = object.__setattr__
        setattr_(self, "times", _readonly(times))
        setattr_(self, "offsets", _readonly(offsets))
        setattr_(self, "t_start", t_start)
        setattr_(self, "t_stop", t_stop)
        setattr_(self, "unit_ids", _readonly(unit_ids))
        setattr_(self, "annotations", dict(annotations or {}))
        setattr_(self, "unit_annotations", unit_annotations)
        setattr_(self, "epochs", epochs)
        setattr_(self, "truth", truth)

    def __setattr__(self, name, value):
        raise AttributeError("SpikeTrains is immutable; use replace() to derive a new one")

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_spikes(cls, times, units, t_start=None, t_stop=None, unit_ids=None, sort=True,
                    source=None, **kwargs):
        """Build from two flat columns: spike time (s) and unit label of each spike.

        ``unit_ids`` fixes the order of units and may include silent units; by default the
        sorted unique labels of ``units``. With ``sort=False`` rows must already be in time
        order within each unit.
        """
        times = np.asarray(times, dtype=np.float64).ravel()
        units = np.asarray(units).ravel()
        if times.size != units.size:
            raise SpikeDataError(f"{times.size} times but {units.size} unit labels", source)
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
        finite = times[np.isfinite(times)]
        if t_start is None:
            t_start = min(0.0, float(finite.min())) if finite.size else 0.0
        if t_stop is None:
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
        return cls(times, offsets, t_start, t_stop, unit_ids=unit_ids, sort=sort, **kwargs)

    def replace(self, **changes):
        """A copy with some fields changed (validated again)."""
        fields = {k: getattr(self, k) for k in self.__slots__}
        fields.update(changes)
        return SpikeTrains(**fields)

    # ------------------------------------------------------------------ basic properties
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
                           self.epochs, truth)

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
                           self.annotations, self.unit_annotations, epochs, truth)

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
        """Bin centres (s) and population rate (spikes/s per unit) in bins of ``bin_size`` s."""
        bin_size = _check_bin_size(bin_size, self.duration)
        nb = n_bins_for(self.t_start, self.t_stop, bin_size)
        k = bin_indices(self.times, self.t_start, bin_size)
        counts = np.bincount(k[(k >= 0) & (k < nb)], minlength=nb)
        centres = self.t_start + (np.arange(counts.size) + 0.5) * bin_size
        return centres, counts / bin_size / max(self.n_units, 1)

    # ------------------------------------------------------------------ neo
    def to_neo(self):
        """A ``neo.Block`` with one Segment holding one ``neo.SpikeTrain`` per unit (s).

        Unit ids and per-unit annotations become spike-train annotations; epochs become a
        ``neo.Epoch``; ground truth goes into the block annotation ``spikelens_truth`` (JSON).
        """
        import neo
        import quantities as pq

        # annotate() after construction, so keys such as 'name' or 'units' cannot collide
        # with the constructors' own arguments
        block = neo.Block(name=str(self.annotations.get("name", "spikelens")))
        block.annotate(**_neo_annotations(self.annotations))
        seg = neo.Segment(name="recording")
        for i, uid in enumerate(self.unit_ids.tolist()):
            st = neo.SpikeTrain(np.array(self[i]) * pq.s, t_start=self.t_start * pq.s,
                                t_stop=self.t_stop * pq.s, name=uid)
            st.annotate(unit_id=uid, **_neo_annotations(
                {k: v[i] for k, v in self.unit_annotations.items()}))
            seg.spiketrains.append(st)
        if self.epochs is not None:
            seg.epochs.append(neo.Epoch(times=np.array(self.epochs.start) * pq.s,
                                        durations=np.array(self.epochs.duration) * pq.s,
                                        labels=np.array(self.epochs.label), name="epochs"))
        if self.truth:
            block.annotate(spikelens_truth=json.dumps(
                {k: v.tolist() for k, v in self.truth.items()}))
        if self.unit_annotations:
            block.annotate(spikelens_unit_annotations=json.dumps(sorted(self.unit_annotations)))
        block.segments.append(seg)
        seg.block = block
        return block

    @classmethod
    def from_neo(cls, obj, source=None):
        """Build from a ``neo.Block``, ``neo.Segment`` or a list of ``neo.SpikeTrain``.

        Quantities are converted to seconds. A Segment's ``neo.Epoch`` objects become the
        epochs (with their labels). A segment annotation ``spiketrain_ordering`` (as written
        by Elephant's ASSET tutorial data) becomes ``truth['ordering']``.
        """
        import neo

        block_ann, seg_ann, epochs_neo = {}, {}, []
        if isinstance(obj, neo.Block):
            block_ann = dict(obj.annotations)
            if len(obj.segments) != 1:
                raise SpikeDataError(f"expected one segment, found {len(obj.segments)}",
                                     source, "block")
            obj = obj.segments[0]
        if isinstance(obj, neo.Segment):
            seg_ann = dict(obj.annotations)
            epochs_neo = list(obj.epochs)
            trains = list(obj.spiketrains)
        else:
            trains = list(obj)
            if not all(isinstance(t, neo.SpikeTrain) for t in trains):
                raise SpikeDataError("expected a neo Block, Segment or list of SpikeTrain",
                                     source)
        if not trains:
            raise SpikeDataError("contains no spike trains", source)
        t_start = min(float(t.t_start.rescale("s").magnitude) for t in trains)
        t_stop = max(float(t.t_stop.rescale("s").magnitude) for t in trains)
        unit_keys = set(json.loads(block_ann.pop("spikelens_unit_annotations", "[]")))
        ids, unit_ann = [], {k: [] for k in unit_keys}
        for k, t in enumerate(trains):
            ann = dict(t.annotations)
            uid = ann.get("unit_id", t.name if t.name else k)
            ids.append(str(uid))
            for key in unit_keys:
                unit_ann[key].append(ann.get(key))
        if len(set(ids)) != len(ids):  # names are not unique: fall back to positions
            ids = [str(k) for k in range(len(trains))]
        spike_lists = [np.asarray(t.rescale("s").magnitude, dtype=np.float64) for t in trains]
        truth = {k: np.asarray(v, dtype=np.int64 if k in ("ordering", "chain_group")
                               else None)
                 for k, v in json.loads(block_ann.pop("spikelens_truth", "{}")).items()}
        if "spiketrain_ordering" in seg_ann:
            truth["ordering"] = np.asarray(seg_ann.pop("spiketrain_ordering"), dtype=np.int64)
        epochs = None
        if epochs_neo:
            starts = np.concatenate([e.times.rescale("s").magnitude for e in epochs_neo])
            durs = np.concatenate([e.durations.rescale("s").magnitude for e in epochs_neo])
            labels = np.concatenate([np.asarray(e.labels).astype(str) if len(e.labels)
                                     else np.arange(len(e)).astype(str) for e in epochs_neo])
            epochs = Epochs(starts, starts + durs, labels)
        annotations = {k: _plain(v) for k, v in block_ann.items()
                       if k not in ("nix_name",)}
        annotations.update({k: _plain(v) for k, v in seg_ann.items() if k != "nix_name"})
        return cls.from_lists(spike_lists, t_start=t_start, t_stop=t_stop, unit_ids=ids,
                              annotations=annotations,
                              unit_annotations={k: np.asarray(v) for k, v in unit_ann.items()},
                              epochs=epochs, truth=truth, source=source)


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


def _neo_annotations(d):
    out = {}
    for k, v in d.items():
        v = _plain(v)
        if v is None:  # NIX cannot store None
            continue
        out[k] = v if isinstance(v, (str, int, float, bool)) else json.dumps(v)
    return out


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
