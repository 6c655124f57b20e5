"""SPOTDisClust past the full matrix: exact SPOTDis on candidate neighbours only.

For tens of thousands of epochs (the Fig 2 setting of Grossberger, Battaglia & Vinck 2018:
500 patterns x 30 epochs + 15,000 noise epochs) the M x M SPOTDis matrix has 4.5e8
entries. HDBSCAN and t-SNE need much less: each epoch's nearest neighbours. So:

1. **Candidates** from a cheap approximation. Per epoch and neuron, the quartiles of the
   neuron's spike times (relative to the epoch start), minus the epoch's mean median over
   its active neurons (SPOTDis ignores a common shift of an epoch's spikes; so does this).
   Silent neurons take the epoch's mean. The Euclidean distance between these vectors is
   small when every neuron fires at about the same time relative to the others, which is
   what a small SPOTDis needs: the mean of a pair's delays is the difference of the two
   neurons' mean times, and ``W1 >= |difference of means|``. Each epoch's
   ``n_candidates`` nearest epochs in that space (exact brute-force search, BLAS in row
   blocks) are its candidates.
2. **Exact SPOTDis** on the union of candidate pairs (``spotdis_pairs``): the grid kernel
   takes them in cache-sized tiles of epochs and their candidates (``tiles``), the
   continuous one walks neuron pairs and visits only the candidate epoch pairs; same
   numbers as ``spotdis`` (to rounding).
3. **k-nearest-neighbour graph** of the exact values (each epoch keeps its
   ``n_neighbors`` nearest among its own and its reverse candidates), which
   ``SpotDisClust`` hands to HDBSCAN (a sparse precomputed distance matrix) and to openTSNE
   (``PrecomputedNeighbors``).

The approximation only chooses which entries are computed; every distance used downstream
is exact. What it can miss is a true near neighbour whose quartile vector is far away (for
example bimodal patterns, where a neuron's median sits between its two modes); the
candidate count trades that against time.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numba
import numpy as np

from ..errors import available_memory, check_memory
from ..kernels import spotdis as kernels
from ..parallel import map_blocks
from .epochs import _add_pair, _blocks, _prepare
from .tiles import CACHE_BUDGET, grid_sums

__all__ = ["SpotDisGraph", "spotdis_pairs", "candidate_neighbours", "spotdis_knn",
           "knn_distance_matrix", "QUARTILES"]

QUARTILES = (0.25, 0.5, 0.75)
_CHUNKS = 4                  # accumulators of the continuous candidate kernel (fixed:
#                              deterministic)
_SEARCH_BLOCK = 2048         # most rows per block of the brute-force candidate search
_SEARCH_BYTES = 512e6        # about the memory of one block (distances, indices, temporaries)
_MIN_DISTANCE = 1e-12        # stands in for 0 in sparse matrices (0 would be "no edge")


@dataclass
class SpotDisGraph:
    """Exact SPOTDis (or SpikeShip) to each epoch's nearest epochs (a k-nearest-neighbour
    graph).

    Attributes
    ----------
    neighbors : int64 (M x k)
        Each epoch's k nearest other epochs by exact SPOTDis, nearest first.
    distances : float64 (M x k)
        Their SPOTDis (undefined entries 1.0, as in ``SpotDis``) or SpikeShip (undefined
        entries ``fill_value``, as in ``SpikeShip``).
    n_pairs : int
        Epoch pairs whose exact SPOTDis was computed (k < m).
    n_undefined : int
        Of those, pairs without a neuron pair firing in both epochs.
    n_empty_epochs : int
        Epochs with fewer than two active neurons.
    method : str
        "grid" or "continuous" (SPOTDis kernels), or "spikeship".
    normalization : float
        The divisor of each pair's distance, 2 T (s) for SPOTDis; N - 1 varies per pair for
        SpikeShip, where this is 1.0.
    seconds : dict
        Wall time of each stage ("candidates", "exact", "graph").
    dissimilarity : str
        "spotdis" or "spikeship".
    fill_value : float
        The value of undefined entries, also the largest dissimilarity (SPOTDis 1.0,
        SpikeShip ``2 * 0.7 * T``): components of the graph are joined at it.
    """

    neighbors: np.ndarray
    distances: np.ndarray
    n_pairs: int
    n_undefined: int
    n_empty_epochs: int
    method: str
    normalization: float
    seconds: dict
    dissimilarity: str = "spotdis"
    fill_value: float = 1.0

    @property
    def n_epochs(self):
        return self.neighbors.shape[0]


def _candidate_csr(rows, cols, n_ep):
    """Unique pairs (k < m) in CSR by k; returns (ptr, partners, k of each entry)."""
    rows = np.asarray(rows, dtype=np.int64).ravel()
    cols = np.asarray(cols, dtype=np.int64).ravel()
    if rows.shape != cols.shape:
        raise ValueError(f"pairs: rows and cols differ in length ({rows.size}, {cols.size})")
    if rows.size and (min(rows.min(), cols.min()) < 0 or max(rows.max(), cols.max()) >= n_ep):
        raise ValueError(f"pairs: epoch indices must lie in 0..{n_ep - 1}")
    k, m = np.minimum(rows, cols), np.maximum(rows, cols)
    keep = k < m
    key = np.unique(k[keep] * n_ep + m[keep])
    k, m = key // n_ep, key % n_ep
    ptr = np.zeros(n_ep + 1, dtype=np.int64)
    np.cumsum(np.bincount(k, minlength=n_ep), out=ptr[1:])
    return ptr, m, k


def spotdis_pairs(data, rows, cols, sampling_period=None, method="auto", progress=None,
                  _setup=None, scheduler=None):
    """Exact SPOTDis for the given epoch pairs only.

    The same definition, normalisation (2 T) and undefined-entry rule as ``spotdis``, for
    the unique pairs ``{(min(r, c), max(r, c))}`` with ``r != c``.

    Returns
    -------
    (k, m, values, counts) : the unique pairs (k < m, sorted), their SPOTDis (1.0 where
        undefined) and the number of neuron pairs averaged (0 where undefined).

    ``scheduler``: a dask scheduler address for the neuron-pair blocks (None:
    ``$SPIKELENS_SCHEDULER``, else local; see ``analysis.parallel``); same values on every
    backend.
    """
    report = progress or (lambda f, m: None)
    ep, period, samples = _setup if _setup is not None else \
        _prepare(data, sampling_period, method)
    ptr, partners, firsts = _candidate_csr(rows, cols, ep.n_epochs)
    if period is not None:
        acc_sum, count = grid_sums(ep, period, samples, ptr, partners, False, report,
                                   scheduler)
        total = acc_sum * period
    else:
        total, count = _continuous_pair_sums(ep, ptr, partners, report, scheduler)
    norm = 2.0 * ep.duration
    values = np.where(count > 0, total / np.maximum(count, 1) / norm, 1.0)
    return firsts, partners, values, count


def _continuous_pair_sums(ep, ptr, partners, report, scheduler=None):
    """W1 sums (s) and counts of the candidate pairs, continuous kernel."""
    M, N = ep.n_epochs, ep.n_units
    Q = partners.size
    act_ptr = np.zeros(M + 1, dtype=np.int64)
    np.cumsum(ep.n_active, out=act_ptr[1:])
    act = kernels.epoch_active(ep.offsets, N, act_ptr)
    pair_i, pair_j, pptr, epochs = kernels.pair_epoch_lists(act_ptr, act, N)
    # per block a fixed number of chunk accumulators, summed; the blocks' partial sums are
    # added in block order: the same numbers locally and on a dask cluster
    n_np = pair_i.size
    out = map_blocks(_pairs_block, _blocks(n_np, 20), backend="serial", scheduler=scheduler,
                     shared=dict(pair_i=pair_i, pair_j=pair_j, pptr=pptr, epochs=epochs,
                                 rel=ep.rel, ep_offsets=ep.offsets, n_units=N, cand_ptr=ptr,
                                 partners=partners),
                     reduce=_add_pair, label="neuron-pair block",
                     progress=lambda f, m: report(f, f"SPOTDis: {m} of {n_np} neuron pairs "
                                                     f"on {Q} candidate epoch pairs"))
    if out is None:
        return np.zeros(Q), np.zeros(Q, dtype=np.int64)
    return out


def _pairs_block(block, pair_i, pair_j, pptr, epochs, rel, ep_offsets, n_units, cand_ptr,
                 partners):
    """Partial sums and counts over the candidate pairs of neuron pairs block[0]..[1]-1."""
    p0, p1 = block
    Q = partners.size
    acc_sum = np.zeros((_CHUNKS, Q))
    acc_cnt = np.zeros((_CHUNKS, Q), dtype=np.int32)
    kernels.candidate_pairs(p0, p1, pair_i, pair_j, pptr, epochs, rel, ep_offsets, n_units,
                            cand_ptr, partners, acc_sum, acc_cnt)
    return acc_sum.sum(axis=0), acc_cnt.sum(axis=0, dtype=np.int64)


def _features(ep, levels=QUARTILES):
    """Shift-free quartile vectors of the epochs (M x N * len(levels), float32)."""
    q = kernels.epoch_quantiles(ep.rel, ep.offsets, ep.n_epochs, ep.n_units,
                                np.asarray(levels, dtype=np.float64))
    mid = q[:, :, len(levels) // 2]
    with np.errstate(invalid="ignore"):
        centre = np.nanmean(np.where(np.isnan(mid), np.nan, mid), axis=1)
    centre = np.where(np.isnan(centre), 0.0, centre)
    q = q - centre[:, None, None]
    q[np.isnan(q)] = 0.0
    return q.reshape(ep.n_epochs, -1).astype(np.float32)


def search_rows(M):
    """Rows per block of ``candidate_neighbours``: at most ``_SEARCH_BLOCK``, fewer for
    large M so that a block's distances and indices (about 16 bytes an entry) stay near
    ``_SEARCH_BYTES`` (at least 64 rows)."""
    return int(np.clip(_SEARCH_BYTES // (16 * max(M, 1)), 64, _SEARCH_BLOCK))


def candidate_neighbours(features, n_candidates, progress=None):
    """Each row's ``n_candidates`` nearest other rows (Euclidean), by brute force.

    Exact search in blocks of rows (squared distances by BLAS, ``search_rows``); O(M^2 d)
    time, O(block M) memory. Returns int64 (M x c), nearest first, c = min(n_candidates,
    M - 1).
    """
    report = progress or (lambda f, m: None)
    X = np.ascontiguousarray(features, dtype=np.float32)
    M = X.shape[0]
    c = int(min(n_candidates, M - 1))
    sq = np.einsum("ij,ij->i", X, X)
    out = np.empty((M, c), dtype=np.int64)
    rows = search_rows(M)
    for r0 in range(0, M, rows):
        r1 = min(M, r0 + rows)
        d = sq[r0:r1, None] + sq[None, :] - 2.0 * (X[r0:r1] @ X.T)
        d[np.arange(r1 - r0), np.arange(r0, r1)] = np.inf      # not its own neighbour
        part = np.argpartition(d, c - 1, axis=1)[:, :c]
        dd = np.take_along_axis(d, part, axis=1)
        out[r0:r1] = np.take_along_axis(part, np.argsort(dd, axis=1, kind="stable"), axis=1)
        report(r1 / M, f"candidates: {r1}/{M} epochs")
    return out


def spotdis_knn(data, n_neighbors=90, n_candidates=None, sampling_period=None,
                method="auto", progress=None, scheduler=None, memory_budget=None):
    """Exact SPOTDis to each epoch's nearest epochs, found through candidates.

    Parameters
    ----------
    data : SpikeTrains with epochs
    n_neighbors : int
        Neighbours kept per epoch (t-SNE with perplexity p uses 3 p; HDBSCAN needs at least
        ``min_samples``).
    n_candidates : int, optional
        Candidates per epoch from the quartile approximation (default ``n_neighbors``);
        more candidates find more of the true neighbours and cost proportionally more
        exact SPOTDis.
    sampling_period, method : as in ``spotdis``
    progress : callable(fraction, message), optional
    scheduler : str, optional; dask scheduler address for the exact SPOTDis blocks (see
        ``spotdis_pairs``)
    memory_budget : float, optional
        Bytes it may use (None: a quarter of the available memory); a larger estimate
        (``graph_bytes``) is refused before anything is computed.

    Returns
    -------
    SpotDisGraph
    """
    report = progress or (lambda f, m: None)
    t0 = time.perf_counter()
    setup = _prepare(data, sampling_period, method)
    ep, period, _ = setup
    M = ep.n_epochs
    if not isinstance(n_neighbors, (int, np.integer)) or n_neighbors < 1:
        raise ValueError(f"n_neighbors: must be a whole number >= 1, got {n_neighbors!r}")
    n_candidates = n_neighbors if n_candidates is None else n_candidates
    if not isinstance(n_candidates, (int, np.integer)) or n_candidates < n_neighbors:
        raise ValueError(f"n_candidates: must be a whole number >= n_neighbors "
                         f"({n_neighbors}), got {n_candidates!r}")
    k = int(min(n_neighbors, M - 1))
    budget = available_memory() / 4 if memory_budget is None else float(memory_budget)
    check_memory(f"the neighbour graph of {M} epochs ({n_candidates} candidates each)",
                 graph_bytes(ep, n_candidates, period), budget,
                 "lower n_candidates / n_neighbors (or the perplexity), use fewer epochs, or "
                 "raise memory_budget")
    report(0.0, "candidates: quartile vectors")
    cand = candidate_neighbours(_features(ep), n_candidates,
                                progress=lambda f, m: report(0.1 * f, m))
    t1 = time.perf_counter()
    rows = np.repeat(np.arange(M), cand.shape[1])
    first, second, values, counts = spotdis_pairs(
        data, rows, cand.ravel(), progress=lambda f, m: report(0.1 + 0.85 * f, m),
        _setup=setup, scheduler=scheduler)
    t2 = time.perf_counter()
    report(0.95, "nearest neighbours")
    neighbors, distances = _nearest(first, second, values, M, k)
    n_undefined = int(np.sum(counts == 0))
    report(1.0, f"SPOTDis: {first.size} epoch pairs exact, {n_undefined} undefined")
    return SpotDisGraph(neighbors, distances, int(first.size), n_undefined,
                        int(np.sum(ep.n_active < 2)), "grid" if period else "continuous",
                        2.0 * ep.duration, {"candidates": t1 - t0, "exact": t2 - t1,
                                            "graph": time.perf_counter() - t2})


def graph_bytes(ep, n_candidates, period):
    """Estimated peak bytes of ``spotdis_knn``: quartile vectors, the candidate search's
    row block, the candidate pairs and their sums, every epoch's active neuron pairs, and
    the grid kernel's per-tile count rows (within ``CACHE_BUDGET`` per thread) or the
    continuous kernel's per-chunk sorted delays."""
    M, N = ep.n_epochs, ep.n_units
    Q = float(M) * n_candidates
    features = M * N * len(QUARTILES) * 12.0
    search = search_rows(M) * float(M) * 16.0
    active_pairs = 8.0 * float(ep.n_pairs.sum())
    if period is not None:
        return features + search + Q * 40.0 + 2 * Q * 12.0 + active_pairs + \
            numba.get_num_threads() * float(CACHE_BUDGET)
    per_pair = float(ep.n_delays.sum()) / max(float(ep.n_pairs.sum()), 1.0)
    per_chunk = float(M) * per_pair * 8.0
    return features + search + Q * 40.0 + _CHUNKS * Q * 12.0 + active_pairs + \
        _CHUNKS * per_chunk


def _nearest(first, second, values, M, k, fill=1.0):
    """Each epoch's k nearest partners among the computed pairs (both directions); an
    epoch without any computed partner gets distance ``fill``."""
    src = np.concatenate([first, second])
    dst = np.concatenate([second, first])
    val = np.concatenate([values, values])
    order = np.lexsort((dst, val, src))           # by epoch, then distance, then index
    src, dst, val = src[order], dst[order], val[order]
    start = np.searchsorted(src, np.arange(M))
    have = np.bincount(src, minlength=M)
    neighbors = np.empty((M, k), dtype=np.int64)
    distances = np.empty((M, k))
    for e in range(M):
        n = min(k, have[e])
        neighbors[e, :n] = dst[start[e]:start[e] + n]
        distances[e, :n] = val[start[e]:start[e] + n]
        if n < k:   # fewer computed partners than k (tiny M): pad with the farthest one
            neighbors[e, n:] = neighbors[e, n - 1] if n else (e + 1) % M
            distances[e, n:] = distances[e, n - 1] if n else fill
    return neighbors, distances


def knn_distance_matrix(graph):
    """Symmetric sparse (CSR) distance matrix of the graph for HDBSCAN.

    Entries are the exact SPOTDis or SpikeShip (0 stored as 1e-12, since a sparse 0 means
    "no edge"). Components that the neighbours leave apart are chained by edges of the
    largest dissimilarity (``graph.fill_value``: SPOTDis 1.0), so HDBSCAN gets one
    connected graph; they join only at the top of its tree.
    """
    from scipy import sparse
    from scipy.sparse import csgraph

    M, k = graph.neighbors.shape
    rows = np.repeat(np.arange(M), k)
    vals = np.maximum(graph.distances.ravel(), _MIN_DISTANCE)
    a = sparse.coo_matrix((vals, (rows, graph.neighbors.ravel())), shape=(M, M)).tocsr()
    a = a.maximum(a.T).tocsr()
    n_comp, comp = csgraph.connected_components(a, directed=False)
    if n_comp > 1:
        reps = np.array([np.flatnonzero(comp == c)[0] for c in range(n_comp)])
        link = sparse.coo_matrix((np.full(n_comp - 1, float(graph.fill_value)),
                                  (reps[:-1], reps[1:])), shape=(M, M))
        a = (a + link + link.T).tocsr()
    a.sum_duplicates()
    return a
