"""SPOTDisClust, the object: SPOTDis, HDBSCAN and t-SNE as cached steps; the rate-vector
baseline and the analysis-window sweep (Grossberger, Battaglia & Vinck 2018)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import param

from ..base import CachedSteps, SavedResult
from ..spiketrains import Epochs, SpikeTrains
from .epochs import _PERIOD_KEYS, _RATE_KEYS, GRID_TOLERANCE, _check_data, _Epochs, _positive
from ..errors import available_memory, check_memory
from .graph import (SpotDisGraph, _candidate_csr, _nearest, candidate_neighbours,
                    knn_distance_matrix, search_rows, spotdis_knn, spotdis_pairs)
from .matrix import SpotDis, spotdis
from .spikeship import SpikeShip, neuron_flows, spikeship, spikeship_knn, spikeship_pairs

__all__ = ["SpotDisClust", "SpotDisClustResult", "rate_vector_dissimilarity", "rate_knn",
           "window_sweep"]

_SPECTRAL_MIN_EPOCHS = 10  # t-SNE: fewer epochs start from a seeded random layout
#: up to this many epochs the t-SNE runs ``SHORT_TSNE_ITERATIONS`` (early exaggeration,
#: then the rest) instead of openTSNE's 250 + 500: a few hundred points have settled by
#: then (the pulse-pattern demo's 300 epochs: silhouette of the map's clusters 0.870
#: against 0.877, in half the time, 0.28 against 0.54 CPU s)
SHORT_TSNE_EPOCHS = 1000
SHORT_TSNE_ITERATIONS = (125, 250)

@dataclass
class SpotDisClustResult(SavedResult):
    """Everything ``SpotDisClust.run`` computes."""

    spotdis: SpotDis
    labels: np.ndarray          # HDBSCAN cluster per epoch, -1 noise
    embedding: np.ndarray       # M x 2 t-SNE coordinates
    scores: dict
    params: dict = field(default_factory=dict)
    #: the M x M matrix that was clustered and embedded (SPOTDis, SpikeShip with
    #: ``dissimilarity="spikeship"`` or the rate-vector baseline with ``"rate"``; in the
    #: last two ``spotdis`` is None)
    dissimilarity: np.ndarray | None = None
    #: above ``max_full_epochs``: the exact k-nearest-neighbour graph (SPOTDis or
    #: SpikeShip, see its ``dissimilarity``) that was clustered and embedded instead of a
    #: matrix (``spotdis``, ``spikeship`` and ``dissimilarity`` are None)
    graph: object | None = None
    #: the data of the run (``analysis.base.data_summary``); empty in files saved before
    #: results recorded it
    data_summary: dict = field(default_factory=dict)
    #: seconds the run took; None in files saved before results recorded it
    elapsed: float | None = None
    #: with ``dissimilarity="spikeship"``: the SpikeShip matrix, global shifts and
    #: undefined pairs (``SpikeShip``); None otherwise
    spikeship: SpikeShip | None = None

    @property
    def dissimilarity_name(self):
        """What was clustered: "SPOTDis", "SpikeShip" or "rate vectors"."""
        if getattr(self.graph, "dissimilarity", None) == "rate":
            return "rate vectors"
        if self.spikeship is not None or \
                getattr(self.graph, "dissimilarity", None) == "spikeship":
            return "SpikeShip"
        if self.spotdis is not None or self.graph is not None:
            return "SPOTDis"
        return "rate vectors"



# ============================================================================ baseline
def rate_vector_dissimilarity(data):
    """The rate-vector baseline: L1 distance between normalised population count vectors.

    For each epoch the vector of spike counts per neuron divided by the epoch's total count
    (a distribution over neurons, so neither the epoch length nor a global rate change
    matters); the M x M matrix of L1 distances between these vectors, in [0, 2]. It sees
    which neurons fire how much, not when: set next to SPOTDis it shows what the temporal
    structure adds. Spikes per epoch as in ``spotdis`` ([start, stop), closed at the
    recording's end). An epoch without spikes has no vector: its entries are 2.0 (the
    largest distance), diagonal 0.

    Returns
    -------
    float64 (M x M), symmetric, diagonal 0.
    """
    _check_data(data)
    return _rate_matrix(_Epochs(data).counts)


def _rate_vectors(counts):
    """Each epoch's counts per neuron over its total (M x N float64), and which epochs
    have no spike."""
    counts = np.asarray(counts, dtype=np.float64)
    total = counts.sum(axis=1)
    return counts / np.maximum(total, 1.0)[:, None], total == 0


def _rate_matrix(counts):
    """The rate-vector matrix of these epochs' counts (``rate_vector_dissimilarity``)."""
    from scipy.spatial.distance import cdist

    p, empty = _rate_vectors(counts)
    d = cdist(p, p, metric="cityblock")
    d[empty, :] = 2.0
    d[:, empty] = 2.0
    np.fill_diagonal(d, 0.0)
    return d


#: most entries (pairs x neurons) of one block of ``rate_knn``'s exact L1 distances
_RATE_BLOCK = 2**22


def rate_graph_bytes(M, N, n_candidates):
    """Estimated peak bytes of ``rate_knn``: the counts and rate vectors, the candidate
    search's row block, the candidate pairs with their values, one block of differences."""
    Q = float(M) * n_candidates
    return 20.0 * M * N + search_rows(M) * float(M) * 16.0 + Q * 40.0 + 16.0 * _RATE_BLOCK


def rate_knn(data, n_neighbors=90, n_candidates=None, progress=None, memory_budget=None):
    """The rate-vector baseline to each epoch's nearest epochs (graph mode).

    Without ``n_candidates`` the search is exact: the L1 distances of
    ``rate_vector_dissimilarity`` from each block of epochs to all (``search_rows`` rows
    at a time), each epoch keeping its ``n_neighbors`` nearest; the time of the full
    matrix (O(M^2 N)), the memory of one block. With ``n_candidates``, as
    ``analysis.spotdis.graph.spotdis_knn`` does for SPOTDis: candidates are each epoch's
    ``n_candidates`` nearest epochs by the Euclidean distance between the same normalised
    count vectors (BLAS; L2 <= L1 <= sqrt(N) L2), the exact L1 distance is computed on the
    union of those pairs, and each epoch keeps its ``n_neighbors`` nearest of them (faster
    on large M; on 6,000 pattern and noise epochs 69 % of the kept neighbours were among
    the true nearest with as many candidates as neighbours, 87 % with twice as many). An
    epoch without spikes is at 2.0 (the largest distance) from every other, as in the
    matrix; pairs with one are counted as undefined.

    Returns
    -------
    SpotDisGraph with ``dissimilarity="rate"``, ``method="rate"``, ``fill_value=2.0``
    (``n_empty_epochs``: epochs without spikes).
    """
    report = progress or (lambda f, m: None)
    t0 = time.perf_counter()
    _check_data(data)
    if not isinstance(n_neighbors, (int, np.integer)) or n_neighbors < 1:
        raise ValueError(f"n_neighbors: must be a whole number >= 1, got {n_neighbors!r}")
    if n_candidates is not None and (not isinstance(n_candidates, (int, np.integer))
                                     or n_candidates < n_neighbors):
        raise ValueError(f"n_candidates: must be a whole number >= n_neighbors "
                         f"({n_neighbors}), got {n_candidates!r}")
    M, N = len(data.epochs), data.n_units
    k = int(min(n_neighbors, M - 1))
    budget = available_memory() / 4 if memory_budget is None else float(memory_budget)
    check_memory(f"the rate-vector neighbour graph of {M} epochs "
                 f"({n_candidates or 'all'} candidates each)",
                 rate_graph_bytes(M, N, n_candidates or k), budget,
                 "lower n_candidates / n_neighbors (or the perplexity), use fewer epochs, or "
                 "raise memory_budget")
    p, empty = _rate_vectors(_Epochs(data).counts)
    if n_candidates is None:
        neighbors, distances = _rate_exact_knn(p, empty, k, report)
        t1 = t2 = time.perf_counter()
        n_pairs = M * (M - 1) // 2
        e = int(empty.sum())
        n_undefined = e * (M - e) + e * (e - 1) // 2
    else:
        report(0.0, "candidates: rate vectors")
        cand = candidate_neighbours(p, n_candidates,
                                    progress=lambda f, m: report(0.6 * f, m))
        t1 = time.perf_counter()
        _, second, first = _candidate_csr(np.repeat(np.arange(M), cand.shape[1]),
                                          cand.ravel(), M)
        del cand
        values = np.empty(first.size)
        step = max(1, _RATE_BLOCK // max(N, 1))
        for a in range(0, first.size, step):
            b = min(first.size, a + step)
            values[a:b] = np.abs(p[first[a:b]] - p[second[a:b]]).sum(axis=1)
            report(0.6 + 0.35 * b / first.size, f"rate vectors: {b}/{first.size} epoch pairs")
        undefined = empty[first] | empty[second]
        values[undefined] = 2.0
        t2 = time.perf_counter()
        report(0.95, "nearest neighbours")
        neighbors, distances = _nearest(first, second, values, M, k, 2.0)
        n_pairs, n_undefined = int(first.size), int(undefined.sum())
    report(1.0, f"rate vectors: {n_pairs} epoch pairs exact")
    return SpotDisGraph(neighbors, distances, n_pairs, n_undefined, int(empty.sum()),
                        "rate", 1.0, {"candidates": t1 - t0, "exact": t2 - t1,
                                      "graph": time.perf_counter() - t2},
                        dissimilarity="rate", fill_value=2.0)


def _rate_exact_knn(p, empty, k, report):
    """Each row's k nearest other rows of ``p`` by L1 (2.0 to and from empty rows), in
    blocks of rows; ties by index. (M x k) neighbours and distances, nearest first."""
    from scipy.spatial.distance import cdist

    M = p.shape[0]
    neighbors = np.empty((M, k), dtype=np.int64)
    distances = np.empty((M, k))
    rows = search_rows(M)
    for r0 in range(0, M, rows):
        r1 = min(M, r0 + rows)
        d = cdist(p[r0:r1], p, metric="cityblock")
        d[:, empty] = 2.0
        d[empty[r0:r1], :] = 2.0
        d[np.arange(r1 - r0), np.arange(r0, r1)] = np.inf      # not its own neighbour
        part = np.argpartition(d, k - 1, axis=1)[:, :k]
        dd = np.take_along_axis(d, part, axis=1)
        order = np.lexsort((part, dd), axis=1)
        neighbors[r0:r1] = np.take_along_axis(part, order, axis=1)
        distances[r0:r1] = np.take_along_axis(dd, order, axis=1)
        report(r1 / M, f"rate vectors: {r1}/{M} epochs against all")
    return neighbors, distances


# ============================================================================ windows
def _values(name, values, allow_negative=True):
    try:
        arr = np.atleast_1d(np.asarray(values, dtype=np.float64)).ravel()
    except (TypeError, ValueError):
        raise ValueError(f"{name}: expected numbers (s), got {values!r}") from None
    if arr.size == 0:
        raise ValueError(f"{name}: give at least one value")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name}: values must be finite")
    if not allow_negative and not np.all(arr > 0):
        raise ValueError(f"{name}: values must be > 0 s, got {arr.min()}")
    return arr


def _snap(t, period):
    """Times within a relative 1e-9 of a multiple of ``period`` put exactly on it."""
    if period is None:
        return t
    x = t / period
    r = np.rint(x)
    return np.where(np.abs(x - r) <= GRID_TOLERANCE * np.maximum(1.0, np.abs(x)),
                    r * period, t)


def window_sweep(data, lengths, offsets=(0.0,), events=None, progress=None, **params):
    """SPOTDisClust for every analysis window: choosing the window without ground truth.

    Grossberger et al. (2018), S11/S12 Figs: the epochs are cut anew around the events for
    each window length and offset, window ``[event + offset, event + offset + length]``;
    SPOTDis is computed and clustered (HDBSCAN) for each, and the silhouette of the
    clustering (which needs no ground truth) shows which window separates the patterns best.

    Parameters
    ----------
    data : SpikeTrains
    lengths : float or sequence of float
        Window lengths (s, > 0).
    offsets : float or sequence of float
        Window starts relative to the event (s; negative: before it). Default 0.
    events : sequence of float, optional
        Event times (s, at least 2). Default: the start times of ``data.epochs``. With the
        default, or as many events as epochs, the epochs' labels and ``truth['epoch_labels']``
        are kept (so the ARI is reported); otherwise the ARI is NaN.
    progress : callable(fraction, message), optional
    **params
        Parameters of ``SpotDisClust`` (sampling_period, method, min_cluster_size,
        min_samples, cluster_selection, dissimilarity; above ``max_full_epochs`` windows
        graph mode with n_neighbors or perplexity, n_candidates, silhouette_sample, seed).

    Returns
    -------
    pandas.DataFrame
        One row per (length, offset): ``length``, ``offset``, ``silhouette``, ``ari``,
        ``n_clusters``, ``n_noise``, ``n_undefined`` (undefined SPOTDis or SpikeShip epoch
        pairs; for the rate baseline 0, in graph mode the pairs with an epoch without
        spikes), ``graph_mode`` (the window was clustered on its neighbour graph),
        ``seconds``.

    Raises
    ------
    ValueError
        Naming the parameter: a window that starts before the recording's start
        (``offsets``) or ends after its end (``lengths``), bad numbers, fewer than 2 events.
    """
    import pandas as pd

    if data is None or not isinstance(data, SpikeTrains):
        raise ValueError("data: expected SpikeTrains")
    lengths = _values("lengths", lengths, allow_negative=False)
    offsets = _values("offsets", offsets)
    if events is None:
        if data.epochs is None:
            raise ValueError("events: the recording has no epochs; give the event times")
        events = np.asarray(data.epochs.start, dtype=np.float64)
    else:
        events = _values("events", events)
    if events.size < 2:
        raise ValueError(f"events: SPOTDis needs at least 2 windows, got {events.size}")
    lo, hi = float(data.t_start), float(data.t_stop)
    first, last = float(events.min()), float(events.max())
    tol = 1e-12 * max(1.0, abs(hi), abs(lo))
    for off in offsets:
        if first + off < lo - tol:
            raise ValueError(f"offsets: the window at offset {off} s starts at "
                             f"{first + off} s, before the recording's start ({lo} s)")
        for length in lengths:
            if last + off + length > hi + tol:
                raise ValueError(f"lengths: the window of {length} s at offset {off} s ends "
                                 f"at {last + off + length} s, after the recording's end "
                                 f"({hi} s)")
    same = data.epochs is not None and events.size == len(data.epochs)
    labels = data.epochs.label if same else np.arange(events.size).astype(str)
    truth = dict(data.truth)
    if not same:
        truth.pop("epoch_labels", None)
    report = progress or (lambda f, m: None)
    # window bounds on the sample grid (the annotations', else the one the times lie on)
    # are put exactly on it, as sample * period like the spike times, so that a spike at a
    # window's stop is not in or out by rounding
    ann = data.annotations or {}
    period = next((float(ann[k]) for k in _PERIOD_KEYS if _positive(ann.get(k))),
                  next((1.0 / float(ann[k]) for k in _RATE_KEYS if _positive(ann.get(k))),
                       data.sampling_period))
    rows = []
    n = lengths.size * offsets.size
    for a, length in enumerate(lengths):
        for b, off in enumerate(offsets):
            t0 = time.perf_counter()
            start = _snap(np.clip(events + off, lo, hi), period)
            stop = _snap(np.clip(start + length, lo, hi), period)
            cut = data.replace(epochs=Epochs(start, stop, labels), truth=truth)
            obj = SpotDisClust(data=cut, **params)
            sc = obj.scores()
            undefined = obj.n_undefined()
            rows.append({"length": float(length), "offset": float(off),
                         "silhouette": sc["silhouette"], "ari": sc["ari"],
                         "n_clusters": sc["n_clusters"], "n_noise": sc["n_noise"],
                         "n_undefined": int(undefined),
                         "graph_mode": bool(obj.graph_mode()),
                         "seconds": time.perf_counter() - t0})
            i = a * offsets.size + b + 1
            report(i / n, f"window sweep: {i}/{n} (length {length} s, offset {off} s)")
    return pd.DataFrame(rows, columns=["length", "offset", "silhouette", "ari", "n_clusters",
                                       "n_noise", "n_undefined", "graph_mode", "seconds"])


# ============================================================================ object
class SpotDisClust(CachedSteps):
    """SPOTDisClust (Grossberger, Battaglia & Vinck 2018): SPOTDis, HDBSCAN, t-SNE.

    Steps, each cached on what it depends on: ``spotdis()`` (the M x M dissimilarity),
    ``cluster()`` (HDBSCAN labels), ``embed()`` (2-D t-SNE), ``scores()`` (ARI against
    ``truth['epoch_labels']``, silhouette). Changing a clustering parameter does not
    recompute SPOTDis; changing the perplexity does not recluster.

    ``dissimilarity="spikeship"`` clusters and embeds SpikeShip instead (Sotomayor-Gómez,
    Battaglia & Vinck 2023; ``spikeship()``, with the global shifts, and ``flows()``, the
    neurons that lead or lag in a cluster); ``dissimilarity="rate"`` the rate-vector
    baseline (``rate_vector_dissimilarity``); ``baseline()`` gives that next to SPOTDis, and
    ``window_sweep()`` scores other analysis windows (Grossberger et al. 2018, S11/S12).
    Graph mode (above ``max_full_epochs``) works with each dissimilarity (exact values on
    candidate pairs, ``graph()``; for the rate vectors ``rate_knn``); the baseline and the
    window sweep take this object's graph-mode settings.
    """

    data = param.ClassSelector(class_=SpikeTrains, allow_None=True, doc="""
        Spike trains with epochs (at least 2).""")
    sampling_period = param.Number(default=None, allow_None=True, bounds=(0, None),
                                   inclusive_bounds=(False, True),
                                   label="Sampling period (ms)", doc="""
        Seconds per sample when spike times lie on a sample grid (enables the exact grid
        kernel). None: detected from the recording's annotations, else continuous time.""")
    method = param.Selector(default="auto", objects=["auto", "grid", "continuous"], doc="""
        SPOTDis kernel; both give the same matrix, auto picks the faster one.""")
    min_cluster_size = param.Integer(default=10, bounds=(2, None), doc="""
        HDBSCAN: the smallest group of epochs that counts as a cluster.""")
    min_samples = param.Integer(default=None, allow_None=True, bounds=(1, None), doc="""
        HDBSCAN: neighbours for a core epoch (larger: more epochs called noise). None:
        min(min_cluster_size, 4). HDBSCAN's own default equals min_cluster_size, which
        labels clusters of about that size as noise.""")
    cluster_selection = param.Selector(default="eom", objects=["eom", "leaf"], doc="""
        HDBSCAN cluster selection: excess of mass (eom) or the tree's leaves.""")
    perplexity = param.Number(default=30.0, bounds=(0, None), inclusive_bounds=(False, True),
                              doc="""
        t-SNE perplexity (at most (M - 1) / 3 is used).""")
    seed = param.Integer(default=0, bounds=(0, None), doc="Random seed of the t-SNE.")
    max_full_epochs = param.Integer(default=5000, bounds=(2, None), doc="""
        Up to this many epochs the full M x M matrix is computed; above it, exact SPOTDis
        only to each epoch's candidate neighbours (``analysis.spotdis.graph``), and
        HDBSCAN and t-SNE run on that k-nearest-neighbour graph.""")
    n_neighbors = param.Integer(default=None, allow_None=True, bounds=(2, 1000), doc="""
        Graph mode: neighbours kept per epoch. None: 3 x perplexity (what t-SNE uses).""")
    n_candidates = param.Integer(default=None, allow_None=True, bounds=(2, 5000), doc="""
        Graph mode: candidates per epoch from the quartile approximation, at least
        n_neighbors (None: n_neighbors).""")
    silhouette_sample = param.Integer(default=1000, bounds=(10, 100_000), doc="""
        Graph mode: the silhouette is computed on the full SPOTDis (or SpikeShip) of this
        many randomly chosen clustered epochs (seeded).""")
    dissimilarity = param.Selector(default="spotdis", objects={
        "SPOTDis": "spotdis", "SpikeShip": "spikeship", "rate vectors": "rate"}, doc="""
        What is clustered and embedded: SPOTDis; SpikeShip (the transport of each neuron's
        spikes left after one common shift of the epoch, Sotomayor-Gómez et al. 2023; see
        ``analysis.spotdis.spikeship``); or the rate-vector baseline (L1 distance between
        normalised population count vectors, no temporal structure; see
        ``rate_vector_dissimilarity``). Each switches to graph mode above
        ``max_full_epochs`` epochs (the rate vectors through ``rate_knn``).""")

    # ---------------------------------------------------------------- keys and checks
    def _spotdis_key(self):
        return (self.data, self.sampling_period, self.method)

    def _matrix_key(self):
        if self.dissimilarity in ("rate", "spikeship"):
            return (self.data, self.dissimilarity)
        return self._spotdis_key() + ("spotdis",)

    def _cluster_key(self):
        if self._use_graph():
            return self._graph_key() + (self.min_cluster_size, self._min_samples(),
                                        self.cluster_selection)
        return self._matrix_key() + (self.min_cluster_size, self._min_samples(),
                                     self.cluster_selection)

    def graph_mode(self):
        """True when the epochs exceed ``max_full_epochs`` (k-nearest-neighbour graph)."""
        return self.data is not None and self.data.epochs is not None and \
            len(self.data.epochs) > self.max_full_epochs

    def _n_neighbors(self):
        k = int(3 * self.perplexity) if self.n_neighbors is None else int(self.n_neighbors)
        return max(k, self._min_samples() + 1)

    def _graph_key(self):
        if self.dissimilarity in ("spikeship", "rate"):
            return (self.data, self.dissimilarity, self._n_neighbors(), self.n_candidates)
        return self._spotdis_key() + (self._n_neighbors(), self.n_candidates)

    def _min_samples(self):
        return min(self.min_cluster_size, 4) if self.min_samples is None \
            else int(self.min_samples)

    def _check_clustering(self, M):
        if self.min_cluster_size > M:
            raise ValueError(f"min_cluster_size: {self.min_cluster_size} is larger than the "
                             f"number of epochs ({M})")
        if self._min_samples() > M - 1:
            raise ValueError(f"min_samples: {self._min_samples()} needs more than the "
                             f"{M - 1} other epochs")

    # ---------------------------------------------------------------- steps
    def spotdis(self):
        """The SPOTDis matrix (``SpotDis``), see ``analysis.spotdis.spotdis``."""
        def compute():
            return spotdis(self.data, self.sampling_period, self.method,
                           progress=lambda f, m: self._report(0.7 * f, m),
                           scheduler=self.scheduler, memory_budget=self._budget())
        _check_data(self.data)
        self._refuse_full("the SPOTDis matrix")
        return self._cached("spotdis", self._spotdis_key(), compute)

    def _refuse_full(self, what):
        if not self.graph_mode():
            return
        M = len(self.data.epochs)
        instead = ("SpotDisClust works on the nearest-neighbour graph (graph(), cluster(), "
                   "embed())")
        raise ValueError(
            f"max_full_epochs: {what} of {M} epochs would hold {M * M:,} entries "
            f"({20 * M * M / 1e9:.1f} GB); above max_full_epochs ({self.max_full_epochs}) "
            f"{instead}; raise max_full_epochs to force it")

    def graph(self):
        """Exact SPOTDis (``dissimilarity="spotdis"``), SpikeShip (``"spikeship"``) or
        rate-vector distances (``"rate"``) to each epoch's nearest epochs
        (``SpotDisGraph``), graph mode.

        See ``analysis.spotdis.graph.spotdis_knn``,
        ``analysis.spotdis.spikeship.spikeship_knn`` and ``rate_knn``; used by ``cluster``
        and ``embed``
        above ``max_full_epochs`` epochs (it can be called at any size).
        """
        _check_data(self.data)
        k = self._n_neighbors()
        cand = self.n_candidates
        if cand is not None and cand < k:
            raise ValueError(f"n_candidates: {cand} is fewer than the {k} neighbours kept "
                             f"(n_neighbors, or 3 x perplexity)")

        def compute():
            if self.dissimilarity == "rate":
                return rate_knn(self.data, k, cand,
                                progress=lambda f, m: self._report(0.7 * f, m),
                                memory_budget=self._budget())
            if self.dissimilarity == "spikeship":
                return spikeship_knn(self.data, k, cand,
                                     progress=lambda f, m: self._report(0.7 * f, m),
                                     memory_budget=self._budget())
            return spotdis_knn(self.data, k, cand, self.sampling_period, self.method,
                               progress=lambda f, m: self._report(0.7 * f, m),
                               scheduler=self.scheduler, memory_budget=self._budget())
        return self._cached("graph", self._graph_key(), compute)

    def spikeship(self):
        """The SpikeShip matrix and global shifts (``SpikeShip``), see
        ``analysis.spotdis.spikeship.spikeship``."""
        def compute():
            return spikeship(self.data, progress=lambda f, m: self._report(0.7 * f, m),
                             scheduler=self.scheduler, memory_budget=self._budget())
        _check_data(self.data, "SpikeShip")
        self._refuse_full("the SpikeShip matrix")
        return self._cached("spikeship", (self.data,), compute)

    def flows(self, epochs, reference=None):
        """Neurons that lead or lag in ``epochs`` (e.g. a cluster's members) against
        ``reference`` (default: all other epochs), beyond each pair's global shift:
        ``NeuronFlows``, see ``analysis.spotdis.spikeship.neuron_flows``. Uses SpikeShip's
        flows whatever ``dissimilarity`` is."""
        _check_data(self.data, "SpikeShip")
        return neuron_flows(self.data, epochs, reference, memory_budget=self._budget())

    def n_undefined(self):
        """Undefined epoch pairs of the clustered dissimilarity (0 for the rate vectors'
        matrix; in graph mode, their pairs with an epoch without spikes)."""
        if self._use_graph():
            return self.graph().n_undefined
        if self.dissimilarity == "spikeship":
            return self.spikeship().n_undefined
        if self.dissimilarity == "spotdis":
            return self.spotdis().n_undefined
        return 0

    def rate_vectors(self):
        """The rate-vector baseline matrix (M x M), see ``rate_vector_dissimilarity``."""
        _check_data(self.data)
        self._refuse_full("the rate-vector matrix")
        return self._cached("rate", (self.data,),
                            lambda: rate_vector_dissimilarity(self.data))

    def matrix(self):
        """The M x M matrix that is clustered and embedded (per ``dissimilarity``)."""
        if self.dissimilarity == "rate":
            return self.rate_vectors()
        if self.dissimilarity == "spikeship":
            return self.spikeship().matrix
        return self.spotdis().matrix

    def cluster(self):
        """HDBSCAN labels of the epochs on the precomputed SPOTDis (-1: noise).

        Grossberger et al. (2018), Methods "Clustering": HDBSCAN on the dissimilarity
        matrix, undefined entries at the maximum dissimilarity (SPOTDis 1, SpikeShip
        ``SpikeShip.fill_value``).
        """
        _check_data(self.data)
        self._check_clustering(len(self.data.epochs))

        def compute():
            import hdbscan

            if self._use_graph():
                d = knn_distance_matrix(self.graph())
            else:
                d = self.matrix()
            self._report(0.75, "HDBSCAN")
            clusterer = hdbscan.HDBSCAN(
                metric="precomputed", min_cluster_size=int(self.min_cluster_size),
                min_samples=self._min_samples(),
                cluster_selection_method=self.cluster_selection)
            return clusterer.fit_predict(d).astype(np.int64)
        return self._cached("cluster", self._cluster_key(), compute)

    def embed(self):
        """2-D t-SNE of the epochs from the SPOTDis matrix (M x 2), seeded.

        Grossberger et al. (2018), Methods "Visualization": openTSNE with
        ``metric="precomputed"``, spectral initialisation (a seeded random one below
        ``_SPECTRAL_MIN_EPOCHS`` epochs or when the eigen-solver fails), one thread. The
        perplexity is capped at (M - 1) / 3 for small M; up to ``SHORT_TSNE_EPOCHS``
        epochs it runs ``SHORT_TSNE_ITERATIONS``.
        """
        _check_data(self.data)
        M = len(self.data.epochs)
        perplexity = float(min(self.perplexity, (M - 1) / 3.0))

        def compute():
            from openTSNE import TSNE

            if self._use_graph():
                return self._embed_graph(perplexity)
            d = self.matrix()
            self._report(0.85, "t-SNE")

            short = {}
            if M <= SHORT_TSNE_EPOCHS:
                short = dict(zip(("early_exaggeration_iter", "n_iter"),
                                 SHORT_TSNE_ITERATIONS))

            def fit(initialization):
                tsne = TSNE(n_components=2, perplexity=perplexity, metric="precomputed",
                            initialization=initialization, n_jobs=1,
                            random_state=int(self.seed), negative_gradient_method="bh",
                            verbose=False, **short)
                return np.asarray(tsne.fit(d), dtype=np.float64)
            if M < _SPECTRAL_MIN_EPOCHS:
                return fit("random")
            try:
                return fit("spectral")
            except (TypeError, ValueError, ArithmeticError, RuntimeError):
                # a degenerate affinity graph (e.g. many undefined entries) can defeat the
                # eigen-solver; a seeded random start still gives a reproducible embedding
                return fit("random")
        key = self._graph_key() if self._use_graph() else self._matrix_key()
        return self._cached("embed", key + (perplexity, self.seed), compute)

    def _use_graph(self):
        return self.graph_mode()

    def _embed_graph(self, perplexity):
        """openTSNE on the exact neighbour graph (``PrecomputedNeighbors``)."""
        from openTSNE import TSNE, affinity
        from openTSNE.nearest_neighbors import PrecomputedNeighbors

        g = self.graph()
        self._report(0.85, "t-SNE (neighbour graph)")
        k = g.neighbors.shape[1]
        perplexity = float(min(perplexity, k / 3.0))
        aff = affinity.PerplexityBasedNN(
            perplexity=perplexity, knn_index=PrecomputedNeighbors(g.neighbors, g.distances),
            n_jobs=1, random_state=int(self.seed))
        tsne = TSNE(n_components=2, n_jobs=1, random_state=int(self.seed),
                    negative_gradient_method="fft", verbose=False)
        try:
            emb = tsne.fit(affinities=aff, initialization="spectral")
        except (TypeError, ValueError, ArithmeticError, RuntimeError):
            emb = tsne.fit(affinities=aff, initialization="random")
        return np.asarray(emb, dtype=np.float64)

    def scores(self, labels=None):
        """ARI against the true epoch labels and the silhouette of a clustering.

        ``ari``: adjusted Rand index (scikit-learn) between ``truth['epoch_labels']`` (-1
        noise) and the labels, HDBSCAN noise (-1) counted as one cluster of its own; NaN
        without ground truth. ``silhouette``: mean silhouette on the clustered matrix
        (SPOTDis, SpikeShip or the rate vectors, see ``dissimilarity``) of the epochs not
        called
        noise; NaN with fewer than 2 clusters (or no epoch left outside them).

        Parameters
        ----------
        labels : int array (M,), optional; default ``cluster()``
        """
        from sklearn.metrics import adjusted_rand_score, silhouette_score

        _check_data(self.data)
        M = len(self.data.epochs)
        labels = self.cluster() if labels is None else np.asarray(labels).ravel()
        if labels.shape != (M,):
            raise ValueError(f"labels: need one label per epoch ({M}), got {labels.shape}")
        truth = self.data.truth.get("epoch_labels")
        ari = float(adjusted_rand_score(truth, labels)) if truth is not None else float("nan")
        keep = labels >= 0
        kept = labels[keep]
        n_clusters = int(np.unique(kept).size)
        silhouette = float("nan")
        if 2 <= n_clusters <= kept.size - 1 and self._use_graph():
            silhouette = self._sampled_silhouette(labels)
        elif 2 <= n_clusters <= kept.size - 1:
            d = self.matrix()[np.ix_(keep, keep)]
            silhouette = float(silhouette_score(d, kept, metric="precomputed"))
        return {"ari": ari, "silhouette": silhouette, "n_clusters": n_clusters,
                "n_noise": int(np.sum(~keep))}

    def _sampled_silhouette(self, labels):
        """Silhouette of the clustered epochs on the exact SPOTDis (or SpikeShip) of a
        seeded sample."""
        from sklearn.metrics import silhouette_score

        keep = np.flatnonzero(labels >= 0)
        rng = np.random.default_rng(self.seed)
        pick = np.sort(rng.choice(keep, min(keep.size, self.silhouette_sample),
                                  replace=False))
        if np.unique(labels[pick]).size < 2:
            return float("nan")

        def compute():
            self._report(0.95, f"silhouette on {pick.size} sampled epochs")
            if self.dissimilarity == "rate":
                return _rate_matrix(_Epochs(self.data).counts[pick])
            r, c = np.triu_indices(pick.size, 1)
            if self.dissimilarity == "spikeship":
                k, m, v, _, _ = spikeship_pairs(self.data, pick[r], pick[c])
            else:
                k, m, v, _ = spotdis_pairs(self.data, pick[r], pick[c],
                                           self.sampling_period, self.method,
                                           scheduler=self.scheduler)
            d = np.zeros((pick.size, pick.size))
            a = np.searchsorted(pick, k)      # pick is sorted and holds every k and m
            b = np.searchsorted(pick, m)
            d[a, b] = d[b, a] = v
            return d
        key = (self.data, self.dissimilarity) if self.dissimilarity in ("spikeship", "rate") \
            else self._spotdis_key()
        d = self._cached("silhouette_sample", key + (tuple(int(e) for e in pick),), compute)
        return float(silhouette_score(d, labels[pick], metric="precomputed"))

    def run(self):
        """All steps: ``SpotDisClustResult`` (each step cached)."""
        started = time.perf_counter()
        self._report(0.0, {"spotdis": "SPOTDis", "spikeship": "SpikeShip"}.get(
            self.dissimilarity, "rate vectors"))
        graph = self._use_graph()
        d = self.spotdis() if self.dissimilarity == "spotdis" and not graph else None
        ship = self.spikeship() if self.dissimilarity == "spikeship" and not graph else None
        labels = self.cluster()
        emb = self.embed()
        sc = self.scores(labels)
        self._report(1.0, "done")
        return SpotDisClustResult(d, labels, emb, sc,
                                  dissimilarity=None if graph else self.matrix(),
                                  graph=self.graph() if graph else None,
                                  spikeship=ship, **self._provenance(started))

    def _params(self):
        """The settings the baseline and the window sweep share with this object, graph
        mode's included."""
        return {k: getattr(self, k) for k in
                ("sampling_period", "method", "min_cluster_size", "min_samples",
                 "cluster_selection", "perplexity", "seed", "dissimilarity", "scheduler",
                 "max_full_epochs", "n_neighbors", "n_candidates", "silhouette_sample",
                 "memory_budget")}

    def baseline(self):
        """The rate-vector baseline clustered and embedded like SPOTDis.

        Same clustering, t-SNE and graph-mode parameters, on ``rate_vector_dissimilarity``
        (above ``max_full_epochs`` epochs its neighbour graph, ``rate_knn``); kept in a
        companion object so its steps are cached too. Returns a ``SpotDisClustResult``
        with ``spotdis`` None and ``dissimilarity`` the rate-vector matrix (in graph mode
        None, and ``graph`` the rate vectors' graph).
        """
        _check_data(self.data)
        params = {**self._params(), "dissimilarity": "rate"}
        twin = getattr(self, "_baseline_twin", None)
        if twin is None:
            twin = SpotDisClust(data=self.data, **params)
            self._baseline_twin = twin
        else:
            twin.param.update(data=self.data, **params)
        twin.progress = self.progress
        return twin.run()

    def window_sweep(self, lengths, offsets=(0.0,), events=None):
        """``window_sweep`` of this recording with this object's parameters (DataFrame).

        Re-cuts the epochs to ``[event + offset, event + offset + length]`` for every length
        and offset (events default to the current epochs' starts) and reports silhouette,
        ARI (with ground truth) and the number of clusters of each; see ``window_sweep``.
        Above ``max_full_epochs`` epochs each window is clustered in graph mode, with this
        object's neighbours (``n_neighbors``, or 3 x ``perplexity``) and sampled
        silhouette (``silhouette_sample``, ``seed``).
        """
        params = self._params()
        return window_sweep(self.data, lengths, offsets, events, progress=self.progress,
                            **params)

