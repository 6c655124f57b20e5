"""Sliding windows over a continuous recording: which pattern is active when.

A recording without trials is cut into windows of ``length`` s every ``step`` s (or only the
windows that hold a detected population event, ``events.population_events``); the windows
are the epochs of any dissimilarity of ``SpotDisClust`` (SPOTDis, SpikeShip or the rate
vectors), and HDBSCAN's labels of them are a **time course of pattern labels** (window ->
pattern, -1 none). For each pattern the **average sequence**: its neurons sorted from the
one that leads to the one that lags, by SpikeShip's neuron-specific flows (Sotomayor-Gómez,
Battaglia & Vinck 2023) or by the mean first-spike time within the window (the delays of
SPOTDis, Grossberger, Battaglia & Vinck 2018). Both papers apply their measure to windows
cut from whole recordings; the windows here are the ones their users cut by hand.

Above ``max_full_epochs`` windows ``SpotDisClust`` works in graph mode (exact
dissimilarities to candidate neighbours only), so 10^5 windows need no 10^10-entry matrix;
the windows' own memory (spike times per window, overlapping windows hold a spike more than
once) is estimated and checked before anything is cut.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import param

from ..base import CachedSteps, SavedResult, data_summary
from ..errors import check_memory
from ..spiketrains import Epochs, SpikeTrains
from .clust import SpotDisClust, _snap
from .epochs import _Epochs
from .events import grid_period, population_events
from .spikeship import neuron_flows

__all__ = ["SlidingWindows", "SlidingWindowsResult", "PatternSequence", "window_starts",
           "window_epochs", "window_truth", "windows_bytes", "holds_event"]

#: bytes per window and unit of the windows' epoch layout (offsets, counts, first spikes)
_BYTES_PER_WINDOW_UNIT = 24.0
#: bytes per entry of a full dissimilarity matrix with its temporaries (SpikeShip's
#: estimate, the largest of the three)
_BYTES_PER_ENTRY = 60.0
#: bytes per window and kept neighbour in graph mode (candidates, sums, the graph)
_BYTES_PER_NEIGHBOUR = 64.0


def _positive_number(name, value, unit="s"):
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name}: expected a number ({unit}), got {value!r}") from None
    if not (np.isfinite(x) and x > 0):
        raise ValueError(f"{name}: must be > 0 {unit}, got {value}")
    return x


def window_starts(t_start, t_stop, length, step):
    """Starts of the windows ``[s, s + length]`` every ``step`` s from ``t_start`` that end
    by ``t_stop`` (a window ending within a relative 1e-9 of it counts). ValueError naming
    ``length`` or ``step`` when there are fewer than 2."""
    length = _positive_number("length", length)
    step = _positive_number("step", step)
    span = float(t_stop) - float(t_start)
    if length > span * (1 + 1e-9):
        raise ValueError(f"length: a window of {length:g} s is longer than the recording "
                         f"({span:g} s)")
    n = int(np.floor((span - length) / step + 1e-9)) + 1
    if n < 2:
        raise ValueError(f"step: the recording ({span:g} s) holds only one window of "
                         f"{length:g} s at a step of {step:g} s; shorten length or step")
    return float(t_start) + step * np.arange(n, dtype=np.float64)


def windows_bytes(data, n_windows, length, n_neighbors=None):
    """Estimated peak bytes of clustering ``n_windows`` windows of ``length`` s: the
    windows' epoch layout (their spikes; overlapping windows copy a spike), and the full
    dissimilarity matrix, or with ``n_neighbors`` the graph mode's neighbour lists."""
    W, N = float(n_windows), float(data.n_units)
    rate = data.n_spikes / max(float(data.duration), 1e-300)
    spikes = rate * length * W
    layout = _BYTES_PER_WINDOW_UNIT * W * N + 16.0 * spikes
    if n_neighbors is None:
        return layout + _BYTES_PER_ENTRY * W * W
    return layout + _BYTES_PER_NEIGHBOUR * W * float(n_neighbors)


def window_epochs(data, length, step, sampling_period=None):
    """All sliding windows as ``Epochs`` (label: the window's index).

    Windows ``[t_start + i step, t_start + i step + length]``, their bounds on the
    recording's sample grid (``events.grid_period``) as spike times are.
    """
    starts = window_starts(data.t_start, data.t_stop, length, step)
    period = grid_period(data, sampling_period)
    start = _snap(starts, period)
    stop = _snap(np.minimum(starts + length, data.t_stop), period)
    return Epochs(start, np.maximum(stop, start), np.arange(starts.size).astype(str))


def holds_event(start, stop, events):
    """Whether each window ``[start, stop)`` holds one of ``events`` (s)."""
    ev = np.sort(np.asarray(events, dtype=np.float64).ravel())
    return np.searchsorted(ev, start, "left") < np.searchsorted(ev, stop, "left")


def window_truth(start, stop, pattern_start, pattern_stop, pattern_label):
    """The true label of each window from embedded pattern intervals.

    A window that holds a whole occurrence (``start <= occurrence start`` and
    ``occurrence stop <= stop``) gets its pattern; one that overlaps no occurrence gets -1
    (background); one that cuts an occurrence (part in, part out) or holds two is
    ambiguous, -2, and is left out of the score.
    """
    start, stop = np.asarray(start, float), np.asarray(stop, float)
    ps, pe = np.asarray(pattern_start, float), np.asarray(pattern_stop, float)
    pl = np.asarray(pattern_label, np.int64)
    order = np.argsort(ps, kind="stable")
    ps, pe, pl = ps[order], pe[order], pl[order]
    if np.any(pe[:-1] > ps[1:]):
        raise ValueError("pattern_start: occurrences overlap; window_truth needs them apart")
    # the occurrences overlapping [start, stop): ending after start and starting before stop
    lo = np.searchsorted(pe, start, "right")
    hi = np.searchsorted(ps, stop, "left")
    n = hi - lo
    out = np.full(start.size, -1, dtype=np.int64)
    one = np.flatnonzero(n == 1)
    k = lo[one]
    inside = (ps[k] >= start[one]) & (pe[k] <= stop[one])
    out[one] = np.where(inside, pl[k], -2)
    out[n > 1] = -2
    return out


@dataclass
class PatternSequence:
    """A pattern's average sequence: its neurons from the one that leads to the one that
    lags.

    Attributes
    ----------
    label : int
        The pattern (cluster) label.
    measure : str
        "flow": SpikeShip's mean neuron-specific flow of the pattern's windows against the
        other windows (s, beyond each pair's global shift; ``neuron_flows``); "delay": the
        mean first-spike time in the pattern's windows, relative to each window's median
        first-spike time over its active neurons (s).
    value : float64 (N,)
        The measure per neuron (NaN where the neuron never fired in the windows used).
    n_windows : int64 (N,)
        Windows (or window pairs, for flows) behind each value.
    unit_ids : str array (N,)
    windows : int
        The pattern's windows used (a seeded sample of at most ``max_sequence_windows``).
    """

    label: int
    measure: str
    value: np.ndarray
    n_windows: np.ndarray
    unit_ids: np.ndarray
    windows: int

    def __post_init__(self):
        # a results file is outside data: one value, count and id per unit
        if not isinstance(self.label, (int, np.integer)) or isinstance(self.label, bool):
            raise ValueError(f"PatternSequence.label: expected a whole number, got "
                             f"{self.label!r}")
        if self.measure not in ("flow", "delay"):
            raise ValueError(f"PatternSequence.measure: expected 'flow' or 'delay', got "
                             f"{self.measure!r}")
        n = np.shape(self.value)[0] if np.ndim(self.value) == 1 else -1
        for name, kinds in (("value", "f"), ("n_windows", "iu"), ("unit_ids", "UO")):
            v = getattr(self, name)
            if not isinstance(v, np.ndarray) or v.ndim != 1 or v.shape[0] != n \
                    or v.dtype.kind not in kinds:
                raise ValueError(f"PatternSequence.{name}: expected one "
                                 f"{'number' if name != 'unit_ids' else 'id'} per unit "
                                 f"({n}), got {getattr(v, 'dtype', type(v).__name__)} of "
                                 f"shape {np.shape(v)}")
        if not isinstance(self.windows, (int, np.integer)) or self.windows < 0:
            raise ValueError(f"PatternSequence.windows: expected a count, got "
                             f"{self.windows!r}")

    def order(self):
        """Units from the most leading (smallest value) to the most lagging; units without
        a value last."""
        key = np.where(np.isfinite(self.value), self.value, np.inf)
        return np.lexsort((np.arange(key.size), key))

    def to_frame(self):
        """One row per unit in ``order()``: ``unit``, ``unit_id``, ``value`` (s),
        ``n_windows``."""
        import pandas as pd

        o = self.order()
        return pd.DataFrame({"unit": o, "unit_id": self.unit_ids[o], "value": self.value[o],
                             "n_windows": self.n_windows[o]})


@dataclass
class SlidingWindowsResult(SavedResult):
    """Everything ``SlidingWindows.run`` computes; ``save(path)`` writes it to one ``.npz``
    results file and ``SlidingWindowsResult.load(path)`` reopens it (``analysis.results``).

    ``start``, ``stop`` (s) and ``labels`` (HDBSCAN pattern, -1 none) per window in time
    order; ``sequences`` per pattern label; ``truth`` per window (``window_truth``) when the
    recording has embedded pattern times, else None; ``clustered``: the windows that were
    clustered (the others, too sparse or without an event, are -1); ``scores``: ``ari``
    (against ``truth``, ambiguous windows left out; NaN without), ``silhouette`` (of the
    clustered windows), ``n_clusters``, ``n_noise`` (windows labelled -1), ``n_windows``,
    ``n_clustered``, ``n_ambiguous``; ``events``: the detected population events
    (s) with ``events_only``, else None.
    """

    start: np.ndarray
    stop: np.ndarray
    labels: np.ndarray
    sequences: dict
    scores: dict
    dissimilarity: str
    graph_mode: bool
    step: float
    truth: np.ndarray | None = None
    clustered: np.ndarray | None = None
    events: np.ndarray | None = None
    params: dict = field(default_factory=dict)
    data_summary: dict = field(default_factory=dict)
    elapsed: float | None = None

    def __post_init__(self):
        # a results file is outside data: its per-window arrays must fit together
        n = np.shape(self.start)[0] if np.ndim(self.start) == 1 else -1
        for name in ("start", "stop", "labels", "truth", "clustered"):
            v = getattr(self, name)
            if v is None and name in ("truth", "clustered"):
                continue
            if not isinstance(v, np.ndarray) or v.ndim != 1 or v.shape[0] != n:
                raise ValueError(f"SlidingWindowsResult.{name}: expected one value per "
                                 f"window ({n}), got shape {np.shape(v)}")
        for name, kinds in (("start", "f"), ("stop", "f"), ("labels", "iu"), ("truth", "iu"),
                            ("clustered", "b")):
            v = getattr(self, name)
            if v is not None and v.dtype.kind not in kinds:
                raise ValueError(f"SlidingWindowsResult.{name}: unexpected dtype {v.dtype}")
        if not (np.all(np.isfinite(self.start)) and np.all(self.stop >= self.start)):
            raise ValueError("SlidingWindowsResult.start, stop: expected finite windows "
                             "with stop >= start")
        if not isinstance(self.sequences, dict) or not all(
                isinstance(s, PatternSequence) and isinstance(k, (int, np.integer))
                and k == s.label for k, s in self.sequences.items()):
            raise ValueError("SlidingWindowsResult.sequences: expected {label: "
                             "PatternSequence}")
        if not isinstance(self.scores, dict) or not all(
                isinstance(self.scores.get(k), (int, float, np.integer, np.floating))
                for k in ("ari", "silhouette", "n_clusters", "n_noise", "n_windows",
                          "n_clustered")):
            raise ValueError("SlidingWindowsResult.scores: expected numbers ari, "
                             "silhouette, n_clusters, n_noise, n_windows, n_clustered")
        if not isinstance(self.dissimilarity, str) or not isinstance(self.graph_mode, bool):
            raise ValueError("SlidingWindowsResult.dissimilarity, graph_mode: expected a "
                             "name and a flag")
        if self.events is not None and (not isinstance(self.events, np.ndarray)
                                        or self.events.ndim != 1):
            raise ValueError("SlidingWindowsResult.events: expected event times (s) or None")
        if not isinstance(self.params, dict) or not isinstance(self.data_summary, dict):
            raise ValueError("SlidingWindowsResult.params, data_summary: expected dicts")
        if self.elapsed is not None and not (
                isinstance(self.elapsed, (int, float)) and np.isfinite(self.elapsed)):
            raise ValueError(f"SlidingWindowsResult.elapsed: expected seconds, got "
                             f"{self.elapsed!r}")
        if not (isinstance(self.step, float) and np.isfinite(self.step) and self.step > 0):
            raise ValueError(f"SlidingWindowsResult.step: expected a step > 0 s, got "
                             f"{self.step!r}")

    @property
    def centre(self):
        return 0.5 * (self.start + self.stop)

    def time_course(self):
        """The label time course as a DataFrame: ``start``, ``stop``, ``centre`` (s),
        ``label`` (and ``truth`` with ground truth), one row per window."""
        import pandas as pd

        frame = pd.DataFrame({"start": self.start, "stop": self.stop, "centre": self.centre,
                              "label": self.labels})
        if self.truth is not None:
            frame["truth"] = self.truth
        return frame

    def segments(self):
        """The time course as spans for a colour band: each window stands for
        ``centre +- step / 2`` (so the spans tile time without overlap), and runs of
        neighbouring windows (one step apart) with the same label are merged. DataFrame
        ``start``, ``stop`` (s), ``label``, ``windows``."""
        import pandas as pd

        c = self.centre
        lo, hi = c - self.step / 2, c + self.step / 2
        if c.size == 0:
            return pd.DataFrame({"start": [], "stop": [], "label": [], "windows": []})
        gap = np.diff(c) > 1.5 * self.step
        new = np.concatenate([[True], (np.diff(self.labels) != 0) | gap])
        first = np.flatnonzero(new)
        last = np.concatenate([first[1:], [c.size]]) - 1
        return pd.DataFrame({"start": lo[first], "stop": hi[last],
                             "label": self.labels[first].astype(np.int64),
                             "windows": (last - first + 1).astype(np.int64)})


class SlidingWindows(CachedSteps):
    """Sliding windows of a continuous recording clustered into patterns.

    Steps, each cached on what it depends on: ``events()`` (population events, with
    ``events_only``), ``windowed()`` (the recording with the windows as its epochs),
    ``cluster()`` (HDBSCAN labels of the windows through ``SpotDisClust``, in graph mode
    above ``max_full_epochs`` windows), ``sequences()`` (each pattern's average sequence)
    and ``run()`` (``SlidingWindowsResult``). ``clust`` is the ``SpotDisClust`` of the
    windows (its own steps cached).
    """

    data = param.ClassSelector(class_=SpikeTrains, allow_None=True, doc="""
        A continuous recording (its own epochs, if any, are not used).""")
    length = param.Number(default=0.2, bounds=(0, None), inclusive_bounds=(False, True),
                          label="Window length (s)", doc="""
        Length of each window in s (> 0); a pattern should fit inside.""")
    step = param.Number(default=0.1, bounds=(0, None), inclusive_bounds=(False, True),
                        label="Window step (s)", doc="""
        Time between the starts of consecutive windows in s (> 0); below ``length`` the
        windows overlap.""")
    events_only = param.Boolean(default=False, label="Only windows with population events",
                                doc="""
        Keep only the windows that hold a population event (``population_events``).""")
    event_bin = param.Number(default=0.02, bounds=(0, None), inclusive_bounds=(False, True),
                             label="Event bin (s)", doc="""
        Bin width of the population-event detection, s.""")
    event_threshold = param.Number(default=3.0, bounds=(0, None),
                                   inclusive_bounds=(False, True), doc="""
        Population events: bins above the mean count by this many standard deviations.""")
    min_active = param.Integer(default=2, bounds=(2, None), label="Fewest active units",
                               doc="""
        Windows with fewer active units are not clustered (label -1): the dissimilarity of
        two sparse windows rests on a few common neurons and is small by chance, so sparse
        background windows find close neighbours among themselves.""")
    dissimilarity = param.Selector(default="spotdis", objects=["spotdis", "spikeship", "rate"],
                                   doc="""
        What compares the windows (see ``SpotDisClust.dissimilarity``).""")
    sequence = param.Selector(default="auto", objects=["auto", "flow", "delay"], doc="""
        Each pattern's sequence from SpikeShip's flows or the mean first-spike delays;
        auto: flows with SpikeShip, delays otherwise.""")
    min_cluster_size = param.Integer(default=10, bounds=(2, None), doc="""
        HDBSCAN: the fewest windows that make a pattern.""")
    min_samples = param.Integer(default=None, allow_None=True, bounds=(1, None), doc="""
        HDBSCAN: neighbours of a core window (None: SpotDisClust's default).""")
    cluster_selection = param.Selector(default="eom", objects=["eom", "leaf"], doc="""
        HDBSCAN's cluster selection.""")
    max_full_epochs = param.Integer(default=5000, bounds=(2, None), doc="""
        Above this many windows, graph mode (SPOTDis to candidate neighbours only).""")
    n_neighbors = param.Integer(default=30, bounds=(2, None), doc="""
        Graph mode: neighbours kept per window.""")
    max_sequence_windows = param.Integer(default=100, bounds=(2, None), doc="""
        Windows per pattern (and reference windows) behind a sequence: a seeded sample.""")
    sampling_period = param.Number(default=None, allow_None=True, bounds=(0, None),
                                   inclusive_bounds=(False, True), doc="""
        Seconds per sample (see SpotDisClust); None: detected.""")
    seed = param.Integer(default=0, bounds=(0, None), doc="""
        Seed of the sequences' samples.""")

    def __init__(self, **params):
        super().__init__(**params)
        self.clust = SpotDisClust(data=None)

    # ---------------------------------------------------------------- checks
    def _check(self):
        if self.data is None:
            raise ValueError("data: no spike trains given")
        if not isinstance(self.data, SpikeTrains):
            raise ValueError(f"data: expected SpikeTrains, got {type(self.data).__name__}")
        starts = window_starts(self.data.t_start, self.data.t_stop, self.length, self.step)
        return starts.size

    def n_windows(self):
        """Windows of the full grid (before ``events_only``)."""
        return self._check()

    # ---------------------------------------------------------------- steps
    def events(self):
        """Population event times (s), ``population_events`` with ``event_bin`` and
        ``event_threshold``."""
        self._check()
        return self._cached("events", (self.data, self.event_bin, self.event_threshold),
                            lambda: population_events(self.data, self.event_bin,
                                                      self.event_threshold))

    def grid(self):
        """Every window of the grid (``window_epochs``), after the memory check."""
        n = self._check()
        graph = n > self.max_full_epochs
        need = windows_bytes(self.data, n, self.length, self.n_neighbors if graph else None)
        if graph:   # fewer windows than that may be left to cluster, as a full matrix
            need += _BYTES_PER_ENTRY * float(self.max_full_epochs) ** 2
        check_memory(f"{n} windows of {self.length:g} s", need, self._budget(),
                     "raise step, use events_only, or raise memory_budget")
        return self._cached("grid", (self.data, self.length, self.step, self.sampling_period),
                            lambda: window_epochs(self.data, self.length, self.step,
                                                  self.sampling_period))

    def selected(self):
        """Which windows of ``grid()`` are clustered (bool): those with at least
        ``min_active`` active units and, with ``events_only``, holding a population
        event. ValueError naming the setting when fewer than 2 are left."""
        grid = self.grid()
        key = (grid, self.min_active, self.events_only) + \
            ((self.event_bin, self.event_threshold) if self.events_only else ())

        def compute():
            self._report(0.02, f"selecting among {len(grid)} windows")
            cut = self.data.replace(epochs=grid, truth={})
            active = np.sum(_Epochs(cut).counts > 0, axis=1)
            keep = active >= self.min_active
            if self.events_only:
                keep &= holds_event(grid.start, grid.stop, self.events())
            return keep
        keep = self._cached("selected", key, compute)
        if keep.sum() < 2:
            what = ("events_only: few windows hold a population event; lower "
                    "event_threshold or use all windows") if self.events_only else \
                "min_active: lower it"
            raise ValueError(f"{what} ({int(keep.sum())} of {keep.size} windows left, "
                             "at least 2 needed)")
        return keep

    def windowed(self):
        """The recording with the selected windows as its epochs (the recording's own
        ``epoch_labels`` dropped)."""
        grid, keep = self.grid(), self.selected()

        def compute():
            idx = np.flatnonzero(keep)
            epochs = Epochs(grid.start[idx], grid.stop[idx], grid.label[idx])
            truth = {k: v for k, v in self.data.truth.items() if k != "epoch_labels"}
            return self.data.replace(epochs=epochs, truth=truth)
        return self._cached("windowed", (grid, keep), compute)

    def _clust(self):
        data = self.windowed()
        c = self.clust
        params = dict(dissimilarity=self.dissimilarity, min_cluster_size=self.min_cluster_size,
                      min_samples=self.min_samples, cluster_selection=self.cluster_selection,
                      max_full_epochs=self.max_full_epochs, n_neighbors=self.n_neighbors,
                      sampling_period=self.sampling_period, scheduler=self.scheduler,
                      memory_budget=self.memory_budget, seed=self.seed)
        changed = {k: v for k, v in params.items() if getattr(c, k) != v}
        if c.data is not data:
            changed["data"] = data
        if changed:
            c.param.update(**changed)
        c.progress = lambda f, m: self._report(0.05 + 0.8 * f, m)
        return c

    def cluster(self):
        """HDBSCAN label of every window of ``grid()`` (-1: no pattern, or not clustered:
        see ``selected``), in time order."""
        keep = self.selected()
        inner = self._clust().cluster()
        labels = np.full(keep.size, -1, dtype=np.int64)
        labels[keep] = inner
        return labels

    def _sequence_measure(self):
        if self.sequence == "auto":
            return "flow" if self.dissimilarity == "spikeship" else "delay"
        return self.sequence

    def sequences(self):
        """Each pattern's ``PatternSequence`` ({label: sequence}, labels >= 0)."""
        labels = self.cluster()[self.selected()]   # the clustered windows' labels
        data = self.windowed()
        measure = self._sequence_measure()

        def compute():
            self._report(0.9, f"sequences ({measure})")
            rng = np.random.default_rng(self.seed)
            out = {}
            cap = int(self.max_sequence_windows)
            firsts = _relative_first_spikes(data) if measure == "delay" else None
            ids = np.asarray(data.unit_ids).astype(str)
            for lab in np.unique(labels[labels >= 0]):
                members = np.flatnonzero(labels == lab)
                if members.size > cap:
                    members = np.sort(rng.choice(members, cap, replace=False))
                if measure == "flow":
                    others = np.flatnonzero(labels != lab)
                    if others.size == 0:
                        others = np.setdiff1d(np.arange(labels.size), members)
                    if others.size > cap:
                        others = np.sort(rng.choice(others, cap, replace=False))
                    fl = neuron_flows(data, members, others, memory_budget=self._budget())
                    value, n = fl.mean_flow, fl.n_pairs
                else:
                    sub = firsts[members]
                    n = np.sum(np.isfinite(sub), axis=0).astype(np.int64)
                    with np.errstate(invalid="ignore"):
                        value = np.where(n > 0, np.nansum(sub, axis=0) / np.maximum(n, 1),
                                         np.nan)
                out[int(lab)] = PatternSequence(int(lab), measure, value, n, ids,
                                                int(members.size))
            return out
        key = (data, self.dissimilarity, self.min_cluster_size, self.min_samples,
               self.cluster_selection, self.max_full_epochs, self.n_neighbors, measure,
               self.max_sequence_windows, self.seed)
        return self._cached("sequences", key, compute)

    def run(self):
        """All steps: ``SlidingWindowsResult``."""
        started = time.perf_counter()
        self._report(0.0, "sliding windows")
        labels = self.cluster()
        keep = self.selected()
        grid = self.grid()
        seqs = self.sequences()
        c = self.clust
        sc = c.scores(labels[keep])
        truth = None
        ari = float("nan")
        n_amb = 0
        t = self.data.truth
        if all(k in t for k in ("pattern_start", "pattern_stop", "pattern_label")):
            truth = window_truth(grid.start, grid.stop, t["pattern_start"],
                                 t["pattern_stop"], t["pattern_label"])
            scored = truth >= -1
            n_amb = int(np.sum(~scored))
            if scored.sum() >= 2:
                from sklearn.metrics import adjusted_rand_score
                ari = float(adjusted_rand_score(truth[scored], labels[scored]))
        scores = {"ari": ari, "silhouette": sc["silhouette"], "n_clusters": sc["n_clusters"],
                  "n_noise": int(np.sum(labels < 0)), "n_windows": int(labels.size),
                  "n_clustered": int(keep.sum()), "n_ambiguous": n_amb}
        self._report(1.0, "done")
        name = {"spotdis": "SPOTDis", "spikeship": "SpikeShip"}.get(self.dissimilarity,
                                                                      "rate vectors")
        return SlidingWindowsResult(
            np.asarray(grid.start), np.asarray(grid.stop), labels, seqs, scores,
            name, bool(c.graph_mode()), float(self.step), truth, keep,
            self.events() if self.events_only else None, params=self.run_params(),
            data_summary=data_summary(self.data, self.source),
            elapsed=time.perf_counter() - started)


def _relative_first_spikes(data):
    """(windows x units): each unit's first spike in each window (s from the window's
    start) minus the window's median over its active units; NaN where a unit is silent."""
    ep = _Epochs(data)
    counts = ep.counts
    first_pos = ep.offsets[:-1].reshape(counts.shape)
    rel = ep.rel
    safe = np.minimum(first_pos, max(rel.size - 1, 0))
    t = np.where(counts > 0, rel[safe] if rel.size else 0.0, np.nan)
    with np.errstate(invalid="ignore"):
        import warnings
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            med = np.nanmedian(t, axis=1)
    return t - med[:, None]
