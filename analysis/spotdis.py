"""SPOTDisClust: clustering epochs by their spatio-temporal spike patterns.

Grossberger L, Battaglia FP, Vinck M (2018), "Unsupervised clustering of temporal patterns
in high-dimensional neuronal ensembles using a novel dissimilarity measure", PLoS Comput
Biol 14(7): e1006283.

SPOTDis (Methods, "SPOTDis"): M epochs, N neurons, spike times within each epoch. For
epoch k and neurons i < j, the multiset of all delays ``t_j - t_i`` over the spikes of i
and j in the epoch, each with mass 1/n (n = n_i n_j). Between epochs k and m, each pair's
two delay distributions are compared by the earth mover's distance, which on a line is
the Wasserstein-1 distance, the integral of |F_k - F_m| over the lag. SPOTDis(k, m) is
the mean of these distances over the pairs in which both neurons fire in both epochs.
SPOTDisClust then clusters the M x M matrix with HDBSCAN and shows it with t-SNE
(Methods, "Clustering and visualization").

Choices made here (say so when comparing with other implementations):

* Normalisation: a pair's distance is divided by 2 T, with T the epoch length (the longest
  epoch when lengths differ), so that 0 <= SPOTDis <= 1 in continuous time: delays lie in
  (-T, T). This is the scale of the authors' code (LGro/spot, which passes twice the epoch
  length), where the paper normalises by the number of time bins.
* Undefined entries: an epoch pair without any neuron pair that fires in both epochs has
  no SPOTDis. It is counted (``n_undefined``), marked in ``undefined``, and given the
  largest dissimilarity, 1.0, for clustering and embedding. Epochs without spikes (or with
  one active neuron) give whole undefined rows; they are allowed and counted.
* Exactness: both kernels compute the same numbers (to rounding); the sample-grid kernel is
  used when spike times lie on a sampling grid and that is cheaper (see ``spotdis``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import param

from .base import CachedSteps
from .errors import available_memory, check_memory
from .kernels import spotdis as kernels
from .parallel import map_blocks
from .spiketrains import Epochs, SpikeTrains

__all__ = ["SpotDisClust", "SpotDis", "SpotDisClustResult", "spotdis", "detect_sampling_period",
           "GRID_TOLERANCE", "rate_vector_dissimilarity", "window_sweep"]

#: Relative tolerance for spike times on a sampling grid (see ``detect_sampling_period``).
GRID_TOLERANCE = 1e-9

#: Annotation keys that may give the sampling grid: seconds per sample, or Hz.
_PERIOD_KEYS = ("sample_time", "sampling_period")
_RATE_KEYS = ("sample_rate", "sampling_rate")

#: Auto mode picks the grid kernel when ``2 T / period < GRID_ADVANTAGE * d``, d the mean
#: number of delays per active neuron pair and epoch: per neuron pair and epoch pair the grid
#: kernel walks the lag range (vectorized, about 0.1 ns a lag), the continuous one merges
#: the two delay lists (a few ns a delay, branchy, plus the lookups). Both kernels took the
#: same time at 2 T / period = 600 lags and d = 5 on the 2-core development machine; the
#: choice never changes the result, only the time (and the grid kernel stores no delays).
GRID_ADVANTAGE = 100.0

_GRID_MAX_UNITS = 65536   # the grid kernel numbers neuron pairs in int32
_GRID_CHUNKS = 8          # partial M x M sums of the grid kernel, reduced at the end
_ACCUMULATOR_LIMIT = 1e9  # bytes for those partial sums
_SPECTRAL_MIN_EPOCHS = 10  # t-SNE: fewer epochs start from a seeded random layout


@dataclass
class SpotDis:
    """The SPOTDis matrix of a recording's epochs and what is behind each entry.

    Attributes
    ----------
    matrix : float64 (M x M)
        SPOTDis, symmetric, diagonal 0, in [0, 1]; undefined entries are 1.0.
    counts : int64 (M x M)
        Number of neuron pairs averaged per entry (firing in both epochs); the diagonal
        holds each epoch's number of active pairs.
    undefined : bool (M x M)
        Entries without any such pair (never on the diagonal).
    n_undefined : int
        Undefined epoch pairs (k < m).
    n_empty_epochs : int
        Epochs with fewer than two active neurons (their rows are undefined).
    method : str
        "grid" or "continuous": the kernel that computed it.
    sampling_period : float or None
        Sample grid in seconds used by the grid kernel (None for continuous).
    normalization : float
        The divisor of each pair's distance, 2 T (s).
    seconds : float
        Wall time of the computation.
    """

    matrix: np.ndarray
    counts: np.ndarray
    undefined: np.ndarray
    n_undefined: int
    n_empty_epochs: int
    method: str
    sampling_period: float | None
    normalization: float
    seconds: float = 0.0

    @property
    def n_epochs(self):
        return self.matrix.shape[0]

    def save(self, path):
        """Write to an ``.npz`` file (``load`` reads it back)."""
        np.savez_compressed(
            path, matrix=self.matrix, counts=self.counts, undefined=self.undefined,
            n_undefined=self.n_undefined, n_empty_epochs=self.n_empty_epochs,
            method=self.method,
            sampling_period=np.nan if self.sampling_period is None else self.sampling_period,
            normalization=self.normalization, seconds=self.seconds)

    @classmethod
    def load(cls, path):
        with np.load(path) as z:
            period = float(z["sampling_period"])
            return cls(z["matrix"], z["counts"], z["undefined"], int(z["n_undefined"]),
                       int(z["n_empty_epochs"]), str(z["method"]),
                       None if np.isnan(period) else period, float(z["normalization"]),
                       float(z["seconds"]))


@dataclass
class SpotDisClustResult:
    """Everything ``SpotDisClust.run`` computes."""

    spotdis: SpotDis
    labels: np.ndarray          # HDBSCAN cluster per epoch, -1 noise
    embedding: np.ndarray       # M x 2 t-SNE coordinates
    scores: dict
    params: dict = field(default_factory=dict)
    #: the M x M matrix that was clustered and embedded (SPOTDis, or the rate-vector
    #: baseline when ``dissimilarity="rate"``, in which case ``spotdis`` is None)
    dissimilarity: np.ndarray | None = None
    #: above ``max_full_epochs``: the exact k-nearest-neighbour graph that was clustered
    #: and embedded instead of a matrix (``spotdis`` and ``dissimilarity`` are None)
    graph: object | None = None

    def save(self, path, compress=True):
        """Write to one ``.npz`` file; see ``analysis.results.save_result``."""
        from .results import save_result
        return save_result(self, path, compress=compress)

    @classmethod
    def load(cls, path):
        """Read a file written by ``save``; see ``analysis.results.load_result``."""
        from .results import load_result
        return load_result(path, expect=cls)


# ============================================================================ data
def _check_data(data):
    if data is None:
        raise ValueError("data: no spike trains given")
    if not isinstance(data, SpikeTrains):
        raise ValueError(f"data: expected SpikeTrains, got {type(data).__name__}")
    if data.epochs is None:
        raise ValueError("data: the recording has no epochs (SPOTDis compares epochs)")
    if len(data.epochs) < 2:
        raise ValueError(f"data: SPOTDis needs at least 2 epochs, got {len(data.epochs)}")
    if not np.max(data.epochs.duration) > 0:
        raise ValueError("data: all epochs have zero length")


class _Epochs:
    """Spikes of every epoch, relative to its start, in epoch-major CSR layout."""

    def __init__(self, data):
        ep = data.epochs
        self.n_epochs, self.n_units = len(ep), data.n_units
        starts = np.ascontiguousarray(ep.start, dtype=np.float64)
        stops = np.ascontiguousarray(ep.stop, dtype=np.float64)
        closed = stops >= data.t_stop   # as SpikeTrains.epoch_spikes: [start, stop)
        offsets = np.ascontiguousarray(data.offsets, dtype=np.int64)
        times = np.ascontiguousarray(data.times, dtype=np.float64)
        first, counts = kernels.epoch_counts(times, offsets, starts, stops, closed)
        self.offsets = np.zeros(counts.size + 1, dtype=np.int64)
        np.cumsum(counts.ravel(), out=self.offsets[1:])
        self.rel = kernels.gather_epochs(times, first, self.offsets, starts)
        self._starts = starts
        self.duration = float(np.max(stops - starts))
        self.n_active, self.n_pairs, self.n_delays = kernels.epoch_sizes(
            self.offsets, self.n_epochs, self.n_units)
        self.counts = counts

    def epoch(self, k):
        """(times, offsets) of epoch k, like ``SpikeTrains.epoch_spikes``."""
        o = self.offsets[k * self.n_units:(k + 1) * self.n_units + 1]
        return self.rel[o[0]:o[-1]], o - o[0]

    def off_grid(self, period):
        """Number of spikes whose relative time is not a multiple of ``period``."""
        absolute = self.rel + np.repeat(self._starts, self.counts.sum(axis=1))
        return int(kernels.off_grid_count(self.rel, absolute, float(period), GRID_TOLERANCE))


def detect_sampling_period(data, epochs=None):
    """The sampling period (s) the spike times lie on, from the recording's annotations.

    Candidates: ``annotations["sample_time"]`` or ``["sampling_period"]`` (s), or
    ``["sample_rate"]``/``["sampling_rate"]`` (Hz). A candidate is taken when every spike
    time relative to its epoch's start is a multiple of it: ``|x - round(x)| <= 1e-9 *
    max(1, |t| / period)`` with ``x = t_rel / period`` and t the absolute spike time, a
    relative tolerance that absorbs the rounding of ``t - epoch_start``. None otherwise.
    """
    epochs = _Epochs(data) if epochs is None else epochs
    ann = data.annotations or {}
    candidates = [ann.get(k) for k in _PERIOD_KEYS]
    candidates += [1.0 / ann[k] if _positive(ann.get(k)) else None for k in _RATE_KEYS]
    for period in candidates:
        if _positive(period) and epochs.off_grid(float(period)) == 0:
            return float(period)
    return None


def _positive(x):
    try:
        return x is not None and np.isfinite(float(x)) and float(x) > 0
    except (TypeError, ValueError):
        return False


# ============================================================================ SPOTDis
def spotdis(data, sampling_period=None, method="auto", progress=None, scheduler=None,
            memory_budget=None):
    """The SPOTDis matrix between all epochs of a recording.

    Grossberger, Battaglia & Vinck (2018), Methods "SPOTDis": the mean, over neuron pairs
    firing in both epochs, of the Wasserstein-1 distance between the pair's delay
    distributions in the two epochs, each distance divided by 2 T (T: epoch length, the
    longest one if they differ; the authors' code's scale), so 0 <= SPOTDis <= 1.

    Parameters
    ----------
    data : SpikeTrains with epochs (at least 2)
        Spikes of epoch k are those in [start, stop) (closed at the recording's end), as in
        ``SpikeTrains.epoch_spikes``; epochs may differ in length and may overlap.
    sampling_period : float, optional
        Seconds per sample when spike times lie on a sample grid (checked; see
        ``detect_sampling_period``). None: taken from the annotations when they give one
        that fits the data.
    method : {"auto", "grid", "continuous"}
        Kernel. "grid" needs a sampling period (given or detected); "auto" takes the grid
        kernel when there is a grid and its lag range is short next to the number of
        delays per neuron pair (``GRID_ADVANTAGE``). Both give the same matrix.
    progress : callable(fraction, message), optional
    memory_budget : float, optional
        Bytes the computation may use (None: a quarter of the available memory). A larger
        estimate (the M x M matrices and partial sums, the continuous kernel's stored
        delays) is refused before anything is computed (``MemoryBudgetError``).
    scheduler : str, optional
        Address of a dask scheduler (``tcp://host:8786``) that computes the blocks of epoch
        pairs; None: ``$SPIKELENS_SCHEDULER``, else local (see ``analysis.parallel``). The
        matrix is the same, bit for bit, on every backend.

    Returns
    -------
    SpotDis
    """
    t0 = time.perf_counter()
    report = progress or (lambda f, m: None)
    report(0.0, "SPOTDis: splitting spikes into epochs")
    ep, period, use_grid = _prepare(data, sampling_period, method)
    M = ep.n_epochs
    budget = available_memory() / 4 if memory_budget is None else float(memory_budget)
    check_memory(f"the SPOTDis matrix of {M} epochs ({_kernel_name(use_grid)} kernel)",
                 _matrix_bytes(ep, use_grid), budget,
                 "use fewer epochs (SpotDisClust works on a nearest-neighbour graph above "
                 "max_full_epochs) or raise memory_budget")
    n_empty = int(np.sum(ep.n_active < 2))
    if n_empty:
        report(0.02, f"SPOTDis: {n_empty} of {M} epochs have fewer than 2 active neurons "
                     f"(undefined rows)")
    if use_grid:
        total, count = _grid_sums(ep, period, report, scheduler)
        total = total * period
    else:
        total, count = _continuous_sums(ep, report, scheduler)
    norm = 2.0 * ep.duration
    iu = np.triu_indices(M, 1)
    total = total + total.T
    count = count + count.T
    undefined = count == 0
    np.fill_diagonal(undefined, False)
    with np.errstate(invalid="ignore", divide="ignore"):
        matrix = np.where(undefined, 1.0, total / np.maximum(count, 1) / norm)
    np.fill_diagonal(matrix, 0.0)
    np.fill_diagonal(count, ep.n_pairs)
    n_undefined = int(np.sum(undefined[iu]))
    report(1.0, f"SPOTDis: {M} epochs, {n_undefined} undefined epoch pairs")
    return SpotDis(matrix, count.astype(np.int64), undefined, n_undefined, n_empty,
                   "grid" if use_grid else "continuous", period if use_grid else None, norm,
                   time.perf_counter() - t0)


def _prepare(data, sampling_period, method):
    """Check the arguments, split the spikes into epochs and choose the kernel.

    Returns ``(epochs, period, use_grid)``: the sampling period (given and checked, or
    detected; None in continuous time) and whether the grid kernel is used.
    """
    _check_data(data)
    if method not in ("auto", "grid", "continuous"):
        raise ValueError(f"method: expected 'auto', 'grid' or 'continuous', got {method!r}")
    if sampling_period is not None and not _positive(sampling_period):
        raise ValueError(f"sampling_period: must be > 0 s, got {sampling_period!r}")
    ep = _Epochs(data)
    if sampling_period is not None:
        period = float(sampling_period)
        bad = ep.off_grid(period)
        if bad:
            raise ValueError(f"sampling_period: {bad} spike times are not multiples of "
                             f"{period} s after their epoch's start")
    elif method != "continuous":
        period = detect_sampling_period(data, ep)
    else:
        period = None
    if method == "grid" and period is None:
        raise ValueError("method: 'grid' needs spike times on a sample grid; give "
                         "sampling_period (none was found in the annotations)")
    why_not = None if period is None else _grid_unsuitable(ep, period)
    if method == "grid" and why_not:
        raise ValueError(f"method: {why_not}; use 'continuous'")
    use_grid = method == "grid" or (
        method == "auto" and period is not None and not why_not
        and (sampling_period is not None or _grid_cheaper(ep, period)))
    return ep, period, use_grid


def _grid_unsuitable(ep, period):
    """Why the grid kernel cannot take this recording (None if it can)."""
    if ep.n_units >= _GRID_MAX_UNITS:
        return (f"the grid kernel handles fewer than {_GRID_MAX_UNITS} units, the recording "
                f"has {ep.n_units}")
    n_max = float(ep.counts.max()) if ep.counts.size else 0.0
    lags = 2.0 * ep.duration / period + 2
    # int32 cumulative counts (n_i n_j delays) and int64 sums of lags * n_k * n_m
    if n_max ** 2 >= 2 ** 31 or lags * n_max ** 4 >= 2 ** 62:
        return (f"a neuron fires {int(n_max)} times in one epoch, too many for the grid "
                f"kernel's integer counts")
    return None


def _grid_cheaper(ep, period):
    """Grid kernel when its lag walk (about 2 T / period lags) costs less than merging."""
    pairs = int(ep.n_pairs.sum())
    if pairs == 0:
        return False
    mean_delays = float(ep.n_delays.sum()) / pairs
    lags = 2.0 * ep.duration / period
    return lags < GRID_ADVANTAGE * mean_delays


def _blocks(n, n_blocks):
    edges = np.linspace(0, n, min(n, n_blocks) + 1).round().astype(np.int64)
    return [(int(a), int(b)) for a, b in zip(edges[:-1], edges[1:]) if b > a]


def _kernel_name(use_grid):
    return "grid" if use_grid else "continuous"


def _delay_bytes(ep):
    """Bytes the continuous kernel stores: every active pair's delays in every epoch."""
    n_delays = float(ep.n_delays.sum())
    off = 4 if n_delays < 2 ** 31 - 1 else 8
    return 8.0 * n_delays + off * float(ep.n_pairs.sum())


def _matrix_bytes(ep, use_grid):
    """Estimated peak bytes of ``spotdis``: the M x M results and their temporaries (about
    49 bytes an entry), plus the grid kernel's partial sums (12 bytes an entry per chunk,
    twice while a block is added) or the continuous kernel's stored delays."""
    M2 = float(ep.n_epochs) ** 2
    if use_grid:
        n_chunks = max(1, min(_GRID_CHUNKS, _ACCUMULATOR_LIMIT // (12 * M2)))
        return 49.0 * M2 + 2 * 12.0 * n_chunks * M2
    return 49.0 * M2 + _delay_bytes(ep)


def _continuous_sums(ep, report, scheduler=None):
    M, N = ep.n_epochs, ep.n_units
    act_ptr = np.zeros(M + 1, dtype=np.int64)
    np.cumsum(ep.n_active, out=act_ptr[1:])
    pair_base = np.zeros(M + 1, dtype=np.int64)
    np.cumsum(ep.n_pairs, out=pair_base[1:])
    delay_base = np.zeros(M + 1, dtype=np.int64)
    np.cumsum(ep.n_delays, out=delay_base[1:])
    n_delays = int(delay_base[-1])
    off_type = np.int32 if n_delays < 2 ** 31 - 1 else np.int64
    need = _delay_bytes(ep)   # checked against the memory budget by the caller
    report(0.03, f"SPOTDis: sorting {n_delays} delays ({need / 1e6:.0f} MB)")
    act = kernels.epoch_active(ep.offsets, N, act_ptr)
    pair_off = np.empty(int(pair_base[-1]) + 1, dtype=off_type)
    delays = np.empty(n_delays, dtype=np.float64)
    kernels.epoch_delays(ep.rel, ep.offsets, N, act_ptr, act, pair_base, delay_base, pair_off,
                         delays)
    # row k has M - 1 - k partners: pair rows (k, M - 1 - k) so every block and thread
    # gets the same work
    folded = np.empty(M, dtype=np.int64)
    folded[0::2] = np.arange((M + 1) // 2)
    folded[1::2] = M - 1 - np.arange(M // 2)
    total = np.zeros((M, M))
    count = np.zeros((M, M), dtype=np.int64)

    def put(acc, result):
        rows, s, c = result
        total[rows] = s
        count[rows] = c
        return acc

    # each block's rows are complete in itself: the same numbers on every backend
    blocks = [folded[r0:r1] for r0, r1 in _blocks(M, 20)]
    map_blocks(_continuous_block, blocks, backend="serial", scheduler=scheduler,
               shared=dict(n_ep=M, act_ptr=act_ptr, act=act, pair_base=pair_base,
                           pair_off=pair_off, delays=delays),
               reduce=put, initial=None, label="epoch-row block",
               progress=lambda f, m: report(0.05 + 0.95 * f, f"SPOTDis: {m} (continuous "
                                                             f"kernel)"))
    return total, count


def _continuous_block(rows, n_ep, act_ptr, act, pair_base, pair_off, delays):
    """SPOTDis sums of epoch rows ``rows`` against all later epochs (one task)."""
    s, c = kernels.continuous_rows(rows, n_ep, act_ptr, act, pair_base, pair_off, delays)
    return rows, s, c


def _grid_sums(ep, period, report, scheduler=None):
    M, N = ep.n_epochs, ep.n_units
    samples = np.rint(ep.rel / period).astype(np.int64)
    act_ptr = np.zeros(M + 1, dtype=np.int64)
    np.cumsum(ep.n_active, out=act_ptr[1:])
    act = kernels.epoch_active(ep.offsets, N, act_ptr)
    report(0.03, "SPOTDis: neuron pairs per epoch")
    pair_i, pair_j, ptr, epochs = kernels.pair_epoch_lists(act_ptr, act, N)
    # a fixed number of accumulators per block (not one per thread) and the blocks' partial
    # sums added in block order, so the float sums and hence the result depend neither on
    # the number of threads nor on the backend (local or dask)
    n_chunks = int(max(1, min(_GRID_CHUNKS, _ACCUMULATOR_LIMIT // (12 * M * M))))
    n_pairs = pair_i.size
    out = map_blocks(_grid_block, _blocks(n_pairs, 20), backend="serial",
                     scheduler=scheduler,
                     shared=dict(pair_i=pair_i, pair_j=pair_j, ptr=ptr, epochs=epochs,
                                 samples=samples, ep_offsets=ep.offsets, n_units=N, n_ep=M,
                                 n_chunks=n_chunks),
                     reduce=_add_pair, label="neuron-pair block",
                     progress=lambda f, m: report(0.05 + 0.95 * f,
                                                  f"SPOTDis: {m} of {n_pairs} neuron pairs "
                                                  f"(grid kernel)"))
    if out is None:
        return np.zeros((M, M)), np.zeros((M, M), dtype=np.int64)
    return out


def _grid_block(block, pair_i, pair_j, ptr, epochs, samples, ep_offsets, n_units, n_ep,
                n_chunks):
    """Partial grid sums (in samples) and counts of neuron pairs block[0]..block[1]-1."""
    p0, p1 = block
    acc_sum = np.zeros((n_chunks, n_ep, n_ep))
    acc_cnt = np.zeros((n_chunks, n_ep, n_ep), dtype=np.int32)
    kernels.grid_pairs(p0, p1, pair_i, pair_j, ptr, epochs, samples, ep_offsets, n_units,
                       acc_sum, acc_cnt)
    return acc_sum.sum(axis=0), acc_cnt.sum(axis=0, dtype=np.int64)


def _add_pair(acc, part):
    """Fold two (sums, counts) partials (new arrays: results from dask may be read-only)."""
    return acc[0] + part[0], acc[1] + part[1]


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
    from scipy.spatial.distance import cdist

    _check_data(data)
    counts = _Epochs(data).counts.astype(np.float64)
    total = counts.sum(axis=1)
    p = counts / np.maximum(total, 1.0)[:, None]
    d = cdist(p, p, metric="cityblock")
    empty = total == 0
    d[empty, :] = 2.0
    d[:, empty] = 2.0
    np.fill_diagonal(d, 0.0)
    return d


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
        min_samples, cluster_selection, dissimilarity).

    Returns
    -------
    pandas.DataFrame
        One row per (length, offset): ``length``, ``offset``, ``silhouette``, ``ari``,
        ``n_clusters``, ``n_noise``, ``n_undefined`` (undefined SPOTDis epoch pairs; 0 for
        the rate baseline), ``seconds``.

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
    # window bounds on the sample grid (when the annotations give one) are put exactly on
    # it, as sample * period like the spike times, so that a spike at a window's stop is
    # not in or out by rounding
    ann = data.annotations or {}
    period = next((float(ann[k]) for k in _PERIOD_KEYS if _positive(ann.get(k))),
                  next((1.0 / float(ann[k]) for k in _RATE_KEYS if _positive(ann.get(k))),
                       None))
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
            undefined = obj.spotdis().n_undefined if obj.dissimilarity == "spotdis" else 0
            rows.append({"length": float(length), "offset": float(off),
                         "silhouette": sc["silhouette"], "ari": sc["ari"],
                         "n_clusters": sc["n_clusters"], "n_noise": sc["n_noise"],
                         "n_undefined": int(undefined),
                         "seconds": time.perf_counter() - t0})
            i = a * offsets.size + b + 1
            report(i / n, f"window sweep: {i}/{n} (length {length} s, offset {off} s)")
    return pd.DataFrame(rows, columns=["length", "offset", "silhouette", "ari", "n_clusters",
                                       "n_noise", "n_undefined", "seconds"])


# ============================================================================ object
class SpotDisClust(CachedSteps):
    """SPOTDisClust (Grossberger, Battaglia & Vinck 2018): SPOTDis, HDBSCAN, t-SNE.

    Steps, each cached on what it depends on: ``spotdis()`` (the M x M dissimilarity),
    ``cluster()`` (HDBSCAN labels), ``embed()`` (2-D t-SNE), ``scores()`` (ARI against
    ``truth['epoch_labels']``, silhouette). Changing a clustering parameter does not
    recompute SPOTDis; changing the perplexity does not recluster.

    ``dissimilarity="rate"`` clusters and embeds the rate-vector baseline instead
    (``rate_vector_dissimilarity``); ``baseline()`` gives that next to SPOTDis, and
    ``window_sweep()`` scores other analysis windows (Grossberger et al. 2018, S11/S12).
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
        only to each epoch's candidate neighbours (``analysis.spotdis_large``), and
        HDBSCAN and t-SNE run on that k-nearest-neighbour graph.""")
    n_neighbors = param.Integer(default=None, allow_None=True, bounds=(2, 1000), doc="""
        Graph mode: neighbours kept per epoch. None: 3 x perplexity (what t-SNE uses).""")
    n_candidates = param.Integer(default=None, allow_None=True, bounds=(2, 5000), doc="""
        Graph mode: candidates per epoch from the quartile approximation, at least
        n_neighbors (None: n_neighbors).""")
    silhouette_sample = param.Integer(default=1000, bounds=(10, 100_000), doc="""
        Graph mode: the silhouette is computed on the full SPOTDis of this many randomly
        chosen clustered epochs (seeded).""")
    dissimilarity = param.Selector(default="spotdis", objects=["spotdis", "rate"], doc="""
        What is clustered and embedded: SPOTDis, or the rate-vector baseline (L1 distance
        between normalised population count vectors, no temporal structure; see
        ``rate_vector_dissimilarity``).""")

    # ---------------------------------------------------------------- keys and checks
    def _spotdis_key(self):
        return (self.data, self.sampling_period, self.method)

    def _matrix_key(self):
        if self.dissimilarity == "rate":
            return (self.data, "rate")
        return self._spotdis_key() + ("spotdis",)

    def _cluster_key(self):
        if self.graph_mode() and self.dissimilarity == "spotdis":
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
        if self.graph_mode():
            M = len(self.data.epochs)
            raise ValueError(
                f"max_full_epochs: {what} of {M} epochs would hold {M * M:,} entries "
                f"({20 * M * M / 1e9:.1f} GB); above max_full_epochs "
                f"({self.max_full_epochs}) SpotDisClust works on the nearest-neighbour "
                f"graph (graph(), cluster(), embed()); raise max_full_epochs to force it")

    def graph(self):
        """Exact SPOTDis to each epoch's nearest epochs (``SpotDisGraph``), graph mode.

        See ``analysis.spotdis_large.spotdis_knn``; used by ``cluster`` and ``embed``
        above ``max_full_epochs`` epochs (it can be called at any size).
        """
        from .spotdis_large import spotdis_knn

        _check_data(self.data)
        k = self._n_neighbors()
        cand = self.n_candidates
        if cand is not None and cand < k:
            raise ValueError(f"n_candidates: {cand} is fewer than the {k} neighbours kept "
                             f"(n_neighbors, or 3 x perplexity)")

        def compute():
            return spotdis_knn(self.data, k, cand, self.sampling_period, self.method,
                               progress=lambda f, m: self._report(0.7 * f, m),
                               scheduler=self.scheduler, memory_budget=self._budget())
        return self._cached("graph", self._graph_key(), compute)

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
        return self.spotdis().matrix

    def cluster(self):
        """HDBSCAN labels of the epochs on the precomputed SPOTDis (-1: noise).

        Grossberger et al. (2018), Methods "Clustering": HDBSCAN on the dissimilarity
        matrix, undefined entries at the maximum dissimilarity 1.
        """
        _check_data(self.data)
        self._check_clustering(len(self.data.epochs))

        def compute():
            import hdbscan

            if self._use_graph():
                from .spotdis_large import knn_distance_matrix

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
        perplexity is capped at (M - 1) / 3 for small M.
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

            def fit(initialization):
                tsne = TSNE(n_components=2, perplexity=perplexity, metric="precomputed",
                            initialization=initialization, n_jobs=1,
                            random_state=int(self.seed), negative_gradient_method="bh",
                            verbose=False)
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
        return self.graph_mode() and self.dissimilarity == "spotdis"

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
        (SPOTDis or the rate vectors, see ``dissimilarity``) of the epochs not called
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
        """Silhouette of the clustered epochs on the exact SPOTDis of a seeded sample."""
        from sklearn.metrics import silhouette_score

        keep = np.flatnonzero(labels >= 0)
        rng = np.random.default_rng(self.seed)
        pick = np.sort(rng.choice(keep, min(keep.size, self.silhouette_sample),
                                  replace=False))
        if np.unique(labels[pick]).size < 2:
            return float("nan")

        def compute():
            from .spotdis_large import spotdis_pairs

            self._report(0.95, f"silhouette on {pick.size} sampled epochs")
            r, c = np.triu_indices(pick.size, 1)
            k, m, v, _ = spotdis_pairs(self.data, pick[r], pick[c], self.sampling_period,
                                       self.method, scheduler=self.scheduler)
            pos = {e: q for q, e in enumerate(pick)}
            d = np.zeros((pick.size, pick.size))
            a = np.fromiter((pos[e] for e in k), np.int64, k.size)
            b = np.fromiter((pos[e] for e in m), np.int64, m.size)
            d[a, b] = d[b, a] = v
            return d
        d = self._cached("silhouette_sample", self._spotdis_key() + (tuple(int(e) for e in pick),),
                         compute)
        return float(silhouette_score(d, labels[pick], metric="precomputed"))

    def run(self):
        """All steps: ``SpotDisClustResult`` (each step cached)."""
        self._report(0.0, "SPOTDis" if self.dissimilarity == "spotdis" else "rate vectors")
        graph = self._use_graph()
        d = self.spotdis() if self.dissimilarity == "spotdis" and not graph else None
        labels = self.cluster()
        emb = self.embed()
        sc = self.scores(labels)
        self._report(1.0, "done")
        return SpotDisClustResult(d, labels, emb, sc,
                                  {k: getattr(self, k) for k in self.param
                                   if k not in ("name", "data", "progress", "scheduler")},
                                  None if graph else self.matrix(),
                                  self.graph() if graph else None)

    def _params(self):
        return {k: getattr(self, k) for k in
                ("sampling_period", "method", "min_cluster_size", "min_samples",
                 "cluster_selection", "perplexity", "seed", "dissimilarity", "scheduler")}

    def baseline(self):
        """The rate-vector baseline clustered and embedded like SPOTDis.

        Same clustering and t-SNE parameters, on ``rate_vector_dissimilarity``; kept in a
        companion object so its steps are cached too. Returns a ``SpotDisClustResult``
        with ``spotdis`` None and ``dissimilarity`` the rate-vector matrix.
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
        """
        params = self._params()
        params.pop("perplexity")
        params.pop("seed")
        return window_sweep(self.data, lengths, offsets, events, progress=self.progress,
                            **params)
