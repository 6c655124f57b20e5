"""SPOTDis, shared part: checking the data, splitting spikes into epochs, choosing the kernel.

Used by the full matrix (``matrix``), the nearest-neighbour graph (``graph``) and the
object (``clust``); it imports none of them. Also what the views of a result read from its
epochs: the cluster-average cross-correlation and its row order, the most active neuron,
the true epoch labels.
"""

from __future__ import annotations

import numpy as np

from ..kernels import spotdis as kernels
from ..spiketrains import SpikeTrains

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

#: delay bins of ``cross_correlation`` over [-T, T]
N_DELAY_BINS = 81

_GRID_MAX_UNITS = 65536   # the grid kernel numbers neuron pairs in int32

def _check_data(data, what="SPOTDis"):
    if data is None:
        raise ValueError("data: no spike trains given")
    if not isinstance(data, SpikeTrains):
        raise ValueError(f"data: expected SpikeTrains, got {type(data).__name__}")
    if data.epochs is None:
        raise ValueError(f"data: the recording has no epochs ({what} compares epochs)")
    if len(data.epochs) < 2:
        raise ValueError(f"data: {what} needs at least 2 epochs, got {len(data.epochs)}")
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
        if starts.size > 1 and np.all(starts[1:] >= starts[:-1]) \
                and np.all(stops[1:] >= stops[:-1]):
            first, counts = kernels.epoch_counts_sorted(times, offsets, starts, stops, closed)
        else:
            first, counts = kernels.epoch_counts(times, offsets, starts, stops, closed)
        self.offsets = np.zeros(counts.size + 1, dtype=np.int64)
        np.cumsum(counts.ravel(), out=self.offsets[1:])
        self.rel = kernels.gather_epochs(times, first, self.offsets, starts)
        self._starts = starts
        self.duration = float(np.max(stops - starts))
        # per epoch: active neurons, their pairs and the pairs' delays (numpy on the
        # M x N counts: a parallel kernel's start cost more than the sums on small data)
        self.n_active = np.count_nonzero(counts, axis=1).astype(np.int64)
        total = counts.sum(axis=1)
        self.n_pairs = self.n_active * (self.n_active - 1) // 2
        self.n_delays = (total * total - np.einsum("ij,ij->i", counts, counts)) // 2
        self.counts = counts

    def epoch(self, k):
        """(times, offsets) of epoch k, like ``SpikeTrains.epoch_spikes``."""
        o = self.offsets[k * self.n_units:(k + 1) * self.n_units + 1]
        return self.rel[o[0]:o[-1]], o - o[0]

    def _absolute(self):
        return self.rel + np.repeat(self._starts, self.counts.sum(axis=1))

    def off_grid(self, period):
        """Number of spikes whose relative time is not a multiple of ``period``."""
        return int(kernels.off_grid_count(self.rel, self._absolute(), float(period),
                                          GRID_TOLERANCE))

    def samples(self, period):
        """Spike times in whole samples of ``period``, laid out like ``rel`` (int64).

        Relative to the epoch's start when those are multiples, else absolute (a grid found
        in the times themselves, ``SpikeTrains.sampling_period``, with epoch bounds off
        it): the kernels use only differences within an epoch, where both agree.
        """
        t = self.rel if self.off_grid(period) == 0 else self._absolute()
        return np.rint(t / period).astype(np.int64)


def detect_sampling_period(data, epochs=None):
    """The sampling period (s) the spike times lie on: from the annotations, else the times.

    Candidates: ``annotations["sample_time"]`` or ``["sampling_period"]`` (s), or
    ``["sample_rate"]``/``["sampling_rate"]`` (Hz). A candidate is taken when every spike
    time relative to its epoch's start is a multiple of it: ``|x - round(x)| <= 1e-9 *
    max(1, |t| / period)`` with ``x = t_rel / period`` and t the absolute spike time, a
    relative tolerance that absorbs the rounding of ``t - epoch_start``. Without one, the
    grid found in the times themselves (``SpikeTrains.sampling_period``, see
    ``analysis.grid``). None when neither fits.
    """
    epochs = _Epochs(data) if epochs is None else epochs
    ann = data.annotations or {}
    candidates = [ann.get(k) for k in _PERIOD_KEYS]
    candidates += [1.0 / ann[k] if _positive(ann.get(k)) else None for k in _RATE_KEYS]
    for period in candidates:
        if _positive(period) and epochs.off_grid(float(period)) == 0:
            return float(period)
    return data.sampling_period


def _positive(x):
    try:
        return x is not None and np.isfinite(float(x)) and float(x) > 0
    except (TypeError, ValueError):
        return False


def _prepare(data, sampling_period, method):
    """Check the arguments, split the spikes into epochs and choose the kernel.

    Returns ``(epochs, period, samples)``: with the grid kernel, its sampling period
    (given and checked, or detected) and the spike times in samples; else None, None.
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
                         "sampling_period (none was found in the annotations or the times)")
    why_not = None if period is None else _grid_unsuitable(ep, period)
    if method == "grid" and why_not:
        raise ValueError(f"method: {why_not}; use 'continuous'")
    use_grid = method == "grid" or (
        method == "auto" and period is not None and not why_not
        and (sampling_period is not None or _grid_cheaper(ep, period)))
    if not use_grid:
        return ep, None, None
    return ep, period, ep.samples(period)


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




def _add_pair(acc, part):
    """Fold two (sums, counts) partials (new arrays: results from dask may be read-only)."""
    return acc[0] + part[0], acc[1] + part[1]


def cross_correlation(data, epochs, reference, n_bins=N_DELAY_BINS):
    """Cluster-average cross-correlation of neuron ``reference`` against every neuron.

    For each epoch in ``epochs`` and each neuron j, all delays t_j - t_i (i = ``reference``)
    between their spikes go into a histogram over [-T, T] (T: the longest epoch); the counts
    are divided by the number of epochs. Row ``reference`` is left at zero. These are the
    pairwise delay distributions SPOTDis compares (Grossberger et al. 2018, Methods,
    "SPOTDis"), averaged over a cluster's epochs.

    Parameters
    ----------
    data : SpikeTrains
        Spike trains with epochs.
    epochs : sequence of int
        The epochs to average over (e.g. one cluster's members).
    reference : int
        Index of the reference neuron.
    n_bins : int
        Delay bins over [-T, T].

    Returns
    -------
    centres : numpy.ndarray
        Bin centres in seconds (``n_bins``).
    hist : numpy.ndarray
        Mean counts per epoch, neurons x ``n_bins``.
    """
    T = float(np.max(data.epochs.stop - data.epochs.start))
    edges = np.linspace(-T, T, n_bins + 1)
    hist = np.zeros((data.n_units, n_bins))
    for k in epochs:
        times, offsets = data.epoch_spikes(int(k))
        ti = times[offsets[reference]:offsets[reference + 1]]
        if ti.size == 0:
            continue
        for j in range(data.n_units):
            if j == reference:
                continue
            tj = times[offsets[j]:offsets[j + 1]]
            if tj.size:
                hist[j] += np.histogram((tj[:, None] - ti[None, :]).ravel(), edges)[0]
    if len(epochs):
        hist /= len(epochs)
    return 0.5 * (edges[:-1] + edges[1:]), hist


def delay_order(centres, hist, reference):
    """Neurons by their most frequent delay to ``reference`` (earliest at the bottom);
    the reference and neurons without pairs at the top.

    ``centres`` and ``hist`` are what ``cross_correlation`` returns; ordered this way its
    rows show a cluster's sequence as in Grossberger et al. (2018), Fig. 1E."""
    peak = centres[np.argmax(hist, axis=1)]
    empty = hist.sum(axis=1) == 0
    empty[reference] = True
    return np.lexsort((np.arange(hist.shape[0]), np.where(empty, np.inf, peak)))


def most_active(data, epochs):
    """The neuron that fires in most of ``epochs`` (ties: more spikes), 0 without spikes."""
    if data is None or len(epochs) == 0:
        return 0
    active = np.zeros(data.n_units)
    spikes = np.zeros(data.n_units)
    for k in epochs:
        counts = np.diff(data.epoch_spikes(int(k))[1])
        active += counts > 0
        spikes += counts
    return int(np.lexsort((-spikes, -active))[0])


def has_epochs(data):
    """Whether ``data`` has the 2 epochs or more that SPOTDis compares."""
    return data is not None and data.epochs is not None and len(data.epochs) >= 2


def true_labels(data):
    """``truth['epoch_labels']`` as ints (one per epoch), or None."""
    if data is None or not data.truth or "epoch_labels" not in data.truth \
            or data.epochs is None:
        return None
    labels = np.asarray(data.truth["epoch_labels"]).astype(np.int64).ravel()
    return labels if labels.size == len(data.epochs) else None
