"""ASSET: Analysis of Sequences of Synchronous EvenTs (Torre et al. 2016).

Torre E, Canova C, Denker M, Gerstein G, Helias M, Grün S (2016), "ASSET: Analysis of
Sequences of Synchronous Events in Massively Parallel Spike Trains", PLoS Comput Biol
12(7): e1004939.

The steps and their names follow Elephant's ``elephant.asset`` (the field's reference):
intersection matrix -> probability matrix -> joint-probability matrix -> mask -> clusters
-> synchronous events (SSEs) -> a neuron ordering that reveals the chain.

Differences from Elephant 1.2.1, on purpose:

* The intersection matrix uses binary (clipped) bins by default (``binary=False`` counts
  spikes as Elephant does); the probability matrix is computed from the same (binary or
  count) coincidences, before any normalization.
* The joint-probability matrix is computed exactly in float64 by a recursion over order
  statistics (Elephant sums float32 terms over all index sequences), and it is returned
  symmetric in the symmetric case: Elephant fills only the lower triangle. Entries whose
  window does not fit inside the matrix, or (symmetric case) that lie within ``l`` bins of
  the diagonal, are 0 as in Elephant.
* In the symmetric case the mask and cluster matrices are symmetric too; clustering runs on
  the lower triangle and is mirrored, so each SSE is reported once (as in Elephant).
* Clustering never builds the all-pairs distance matrix: the stretched distance is never
  smaller than the Euclidean one, so a radius search within ``max_distance`` finds every
  candidate pair. Memory grows with the number of significant entries and their neighbours.
* The rate kernel width in bins is ``floor(kernel_width / bin_size)`` with a 1e-8 tolerance
  (Elephant truncates, so 0.3 ms / 0.1 ms gives 2 bins there), and a 1-bin kernel is the
  plain binary train (Elephant overwrites the whole row with its last value).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import param
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

from .base import CachedSteps, SavedResult
from .kernels import asset as kernels
from .errors import available_memory  # noqa: F401  (re-exported)
from .errors import check_memory
from .parallel import map_blocks
from .spiketrains import SpikeTrains, _floor_with_tolerance

__all__ = ["Asset", "AssetResult", "intersection_matrix", "probability_matrix_analytical",
           "joint_probability_matrix", "mask_matrices", "cluster_matrix_entries",
           "extract_synchronous_events", "sse_neurons", "sse_time_bins",
           "ordering_from_sses", "ordering_score"]

NORMALIZATIONS = (None, "intersection", "mean", "union")


class _OwnParameter:
    """Default of an Elephant-style argument whose None is a value of its own."""

    def __repr__(self):
        return "<the Asset's parameter>"


#: ``Asset.intersection_matrix(normalization=None)`` means no normalization, as in Elephant;
#: left out, the call uses the object's ``normalization``
OWN_PARAMETER = _OwnParameter()


# ============================================================================ matrices
def intersection_matrix(binned_x, binned_y=None, normalization=None):
    """Number of neurons spiking in both bin i (of x) and bin j (of y).

    Torre et al. (2016), Methods "Intersection matrix". ``binned_*`` are (units x bins)
    sparse count matrices (``SpikeTrains.bin``); pass binary ones for the paper's
    definition. Normalizations divide entry (i, j) by ``min(S_i, S_j)`` ("intersection"),
    ``sqrt(S_i S_j)`` ("mean") or the number of neurons spiking in either bin ("union"),
    where S is the spike count of a bin; a zero denominator gives 0.

    Returns
    -------
    imat : int64 array (bins_x x bins_y), or float64 when normalized
    """
    if normalization not in NORMALIZATIONS:
        raise ValueError(f"normalization: expected one of {NORMALIZATIONS}, got "
                         f"{normalization!r}")
    bx = sp.csc_matrix(binned_x, dtype=np.int64)
    by = bx if binned_y is None else sp.csc_matrix(binned_y, dtype=np.int64)
    imat = _dense_product(bx, by)
    if normalization is None:
        return imat
    sx = np.asarray(bx.sum(axis=0)).ravel().astype(np.float64)
    sy = np.asarray(by.sum(axis=0)).ravel().astype(np.float64)
    if normalization == "intersection":
        norm = np.minimum.outer(sx, sy)
    elif normalization == "mean":
        norm = np.sqrt(np.outer(sx, sy))
    else:  # union: |A ∪ B| = |A| + |B| - |A ∩ B| on binary bins
        bxb, byb = (bx > 0).astype(np.int64), (by > 0).astype(np.int64)
        nx = np.asarray(bxb.sum(axis=0)).ravel()
        ny = np.asarray(byb.sum(axis=0)).ravel()
        norm = (np.add.outer(nx, ny) - _dense_product(bxb, byb)).astype(np.float64)
    out = np.zeros(imat.shape)
    np.divide(imat, norm, out=out, where=norm != 0)
    return out


#: entries of the units x bins or bins x bins blocks that steps work on one at a time, so
#: that their sparse products and temporaries never span a whole matrix
_BLOCK_ENTRIES = 2 ** 18


def _product_rows(bx, by):
    """Row blocks ``(r0, r1, (bx.T @ by)[r0:r1])`` of the coincidence counts, dense.

    ``bx``, ``by`` are sparse (units x bins); each block has at most ``_BLOCK_ENTRIES``
    entries (one row at least), so the sparse intermediate stays that small too.
    """
    bxt, by = sp.csr_matrix(bx.T), sp.csr_matrix(by)
    n_rows, n_cols = bxt.shape[0], by.shape[1]
    step = max(1, _BLOCK_ENTRIES // max(n_cols, 1))
    for r0 in range(0, n_rows, step):
        r1 = min(n_rows, r0 + step)
        yield r0, r1, (bxt[r0:r1] @ by).toarray()


def _dense_product(bx, by):
    """``(bx.T @ by)`` as a dense array, formed one row block at a time."""
    out = np.empty((bx.shape[1], by.shape[1]), dtype=np.result_type(bx.dtype, by.dtype))
    for r0, r1, block in _product_rows(bx, by):
        out[r0:r1] = block
    return out


def _kernel_bins(kernel_width, bin_size, n_bins):
    k = int(_floor_with_tolerance(kernel_width / bin_size))
    if k < 1:
        raise ValueError(f"kernel_width: {kernel_width} s is shorter than one bin "
                         f"({bin_size} s)")
    if k > n_bins:
        raise ValueError(f"kernel_width: {kernel_width} s spans {k} bins, more than the "
                         f"{n_bins} bins of the recording")
    return k


def spike_probabilities(binary, kernel_bins):
    """Probability of at least one spike per bin, ``1 - exp(-r)``, from boxcar rates r."""
    return 1.0 - np.exp(-kernels.boxcar_rates(binary, kernel_bins))


def _probabilities_by_units(binned, kernel_bins):
    """``spike_probabilities`` of a sparse (units x bins) count matrix, a block of units at
    a time: only the float64 result spans all units x bins."""
    binned = sp.csr_matrix(binned)
    n_units, n_bins = binned.shape
    out = np.empty((n_units, n_bins))
    step = max(1, _BLOCK_ENTRIES // n_bins)
    for u0 in range(0, n_units, step):
        block = (binned[u0:u0 + step] > 0).toarray()
        out[u0:u0 + step] = spike_probabilities(block, kernel_bins)
    return out


def probability_matrix_analytical(imat_counts, prob_x, prob_y=None, progress=None):
    """P(overlap < observed) under independence, by Le Cam's Poisson approximation.

    Torre et al. (2016), Methods "Analytical probability matrix": the overlap of bins i and
    j is a sum of Bernoulli variables with means ``p_n(i) p_n(j)``; it is approximated by a
    Poisson variable of mean ``mu_ij = sum_n p_n(i) p_n(j)``, so
    ``pmat_ij = P(Poisson(mu_ij) <= imat_ij - 1)`` (0 where imat is 0). In the symmetric
    case (``prob_y`` None) the diagonal is set to 0.5.

    Computed in blocks of rows of at most ``_BLOCK_ENTRIES`` entries (one row at least), so
    that the means never span the whole matrix and ``progress`` hears of each block.

    Parameters
    ----------
    imat_counts : int array (bins_x x bins_y), unnormalized coincidence counts
    prob_x, prob_y : arrays (units x bins) of spike probabilities per bin
    progress : callable(fraction, message), optional, called after each block of rows
    """
    symmetric = prob_y is None
    prob_y = prob_x if symmetric else prob_y
    counts = np.ascontiguousarray(imat_counts, dtype=np.int64)
    n_rows, n_cols = counts.shape
    pmat = np.empty(counts.shape)
    step = max(1, _BLOCK_ENTRIES // max(n_cols, 1))
    for r0 in range(0, n_rows, step):
        r1 = min(n_rows, r0 + step)
        pmat[r0:r1] = kernels.poisson_cdf_below(counts[r0:r1], prob_x[:, r0:r1].T @ prob_y)
        if progress is not None:
            progress(r1 / n_rows, f"rows {r1}/{n_rows}")
    if symmetric:
        np.fill_diagonal(pmat, 0.5)
    return pmat


def _check_filter(filter_shape, n_largest, shape, symmetric):
    try:
        length, width = (int(v) for v in filter_shape)
    except (TypeError, ValueError):
        raise ValueError(f"filter_shape: expected (length, width), got {filter_shape!r}")
    if length < 1 or width < 0 or width >= length:
        raise ValueError(f"filter_shape: need length >= 1 and 0 <= width < length, got "
                         f"{filter_shape}")
    n_cells = length * (1 + 2 * width) - width * (width + 1)
    if not 1 <= n_largest <= n_cells:
        raise ValueError(f"n_largest: must be in 1..{n_cells} (cells of the {length}x{length} "
                         f"band of width {width}), got {n_largest}")
    need = 2 * length - 1 if symmetric else length
    if min(shape) < need:
        raise ValueError(f"filter_shape: a {length}-bin filter needs at least {need} bins, the "
                         f"matrix has {min(shape)} (use a larger recording or smaller filter)")
    return length, width


def _centres_per_row(shape, length, symmetric):
    """Number of valid centres in each row: those whose whole window fits (and, symmetric:
    lying strictly below the band); a row's centres are its columns from ``length // 2``."""
    n_rows, n_cols = shape
    half = length // 2
    rows = np.arange(n_rows)
    j_hi = (rows - length) if symmetric else np.full(n_rows, n_cols - length + half)
    count = np.maximum(j_hi - half + 1, 0)
    count[(rows - half < 0) | (rows - half + length > n_rows)] = 0
    return count


def _valid_centres(shape, length, symmetric, r0=0, r1=None):
    """The valid centres (rows, cols) of rows r0..r1-1, in row-major order."""
    count = _centres_per_row(shape, length, symmetric)[r0:r1]
    rows = np.repeat(np.arange(r0, r0 + count.size), count)
    first = np.repeat(np.cumsum(count) - count, count)  # index of each row's first centre
    cols = length // 2 + np.arange(rows.size) - first
    return rows.astype(np.int64), cols.astype(np.int64)


def joint_probability_matrix(pmat, filter_shape=(11, 3), n_largest=3, min_p_value=1e-5,
                             symmetric=None, scheduler=None, progress=None):
    """Joint significance of the d largest probabilities around each entry.

    Torre et al. (2016), Methods "Joint probability matrix": around entry (i, j) take the
    ``l x l`` window's band ``|a - b| <= w`` (n cells), its ``n_largest`` largest pmat values
    clipped at ``1 - min_p_value``, and return 1 - P(the d largest of n iid uniform values
    are at least as large). Exact float64 (see ``kernels.top_d_survival``).

    Parameters
    ----------
    pmat : array (bins_x x bins_y)
    filter_shape : (l, w) in bins
    n_largest : int, d
    min_p_value : float in (0, 1)
    symmetric : bool, optional; default: pmat is square with a diagonal of 0.5
    scheduler : str, optional
        dask scheduler address for the blocks of centres (None: ``$SPIKELENS_SCHEDULER``,
        else local; see ``analysis.parallel``). Every entry is computed on its own, so the
        matrix is the same on every backend.
    progress : callable(fraction, message), optional

    Returns
    -------
    jmat : float64 array like pmat; symmetric when ``symmetric``
    """
    pmat = np.ascontiguousarray(pmat, dtype=np.float64)
    if symmetric is None:
        symmetric = pmat.shape[0] == pmat.shape[1] and np.all(np.diagonal(pmat) == 0.5)
    if not 0 < min_p_value < 1:
        raise ValueError(f"min_p_value: must be in (0, 1), got {min_p_value}")
    length, width = _check_filter(filter_shape, n_largest, pmat.shape, symmetric)
    ka, kb = kernels.band_kernel_offsets(length, width)
    # blocks of rows with about equal numbers of centres, about _JMAT_BLOCK_CENTRES each
    # (progress and cancelling every fraction of a second however large the matrix); each
    # block's values are written into jmat as soon as it is in, so only the values of
    # blocks in flight are held
    cum = np.cumsum(_centres_per_row(pmat.shape, length, symmetric))
    n_blocks = max(1, round(int(cum[-1]) / _JMAT_BLOCK_CENTRES))
    cuts = np.searchsorted(cum, cum[-1] * np.arange(1, n_blocks) / n_blocks, side="right")
    edges = np.unique(np.concatenate([[0], cuts, [pmat.shape[0]]]))
    blocks = list(zip(edges[:-1].tolist(), edges[1:].tolist()))

    def fill(jmat, part):
        (r0, r1), values = part
        rows, cols = _valid_centres(pmat.shape, length, symmetric, r0, r1)
        jmat[rows, cols] = values
        if symmetric:
            jmat[cols, rows] = values
        return jmat

    return map_blocks(_jmat_block, blocks, backend="serial", scheduler=scheduler,
                      shared=dict(pmat=pmat, ka=ka, kb=kb, length=length, symmetric=symmetric,
                                  d=int(n_largest), clip=1.0 - min_p_value),
                      reduce=fill, initial=np.zeros(pmat.shape), label="block of centres",
                      progress=progress)


#: centres per block of jmat rows (a progress report and a dask task each): about 0.2 s of
#: work on 2 cores
_JMAT_BLOCK_CENTRES = 2 ** 18


def _jmat_block(block, pmat, ka, kb, length, symmetric, d, clip):
    """Joint-probability values at the centres of rows block[0]..block[1]-1 (one task)."""
    rows, cols = _valid_centres(pmat.shape, length, symmetric, *block)
    return block, kernels.jmat_at(pmat, 0, rows, cols, ka, kb, length // 2, d, clip)


def mask_matrices(matrices, thresholds):
    """Entries where every matrix exceeds its threshold (strictly)."""
    matrices = list(matrices)
    if np.isscalar(thresholds):
        thresholds = [thresholds] * len(matrices)
    thresholds = list(thresholds)
    if not matrices or len(matrices) != len(thresholds):
        raise ValueError(f"thresholds: need one threshold per matrix, got {len(thresholds)} "
                         f"for {len(matrices)}")
    mask = np.ones(np.shape(matrices[0]), dtype=bool)
    for m, t in zip(matrices, thresholds):
        mask &= np.asarray(m) > t
    return mask


def cluster_entries(rows, cols, max_distance, min_neighbors, stretch):
    """DBSCAN labels (0..k-1, -1 noise) of entries (rows[p], cols[p]) with the stretched
    distance, from a radius search: memory linear in entries times neighbours.

    The labels are those of scikit-learn's ``DBSCAN`` (which Elephant runs), found without
    it: core entries have at least ``min_neighbors`` entries within ``max_distance``
    (themselves included); a cluster is a connected group of core entries, numbered in the
    order of its first entry; a border entry joins the lowest-numbered cluster among its
    core neighbours, the one whose depth-first search in scikit-learn reaches it first.
    """
    n = rows.size
    if n == 0:
        return np.empty(0, dtype=np.int64)
    rows, cols = rows.astype(np.int64), cols.astype(np.int64)
    pairs = cKDTree(np.column_stack([rows, cols]).astype(np.float64)).query_pairs(
        max_distance, output_type="ndarray")  # i < j, Euclidean distance <= max_distance
    i, j = pairs[:, 0].astype(np.int64), pairs[:, 1].astype(np.int64)
    near = kernels.stretched_distances(rows, cols, i, j, float(stretch)) <= max_distance
    i, j = i[near], j[near]
    n_neighbors = 1 + np.bincount(i, minlength=n) + np.bincount(j, minlength=n)
    core = n_neighbors >= int(min_neighbors)
    linked = core[i] & core[j]
    _, component = connected_components(
        sp.coo_matrix((np.ones(np.count_nonzero(linked)), (i[linked], j[linked])),
                      shape=(n, n)), directed=False)
    # number the clusters in the order of their first core entry
    core_ids, first = np.unique(component[core], return_index=True)
    number = np.empty(component.max() + 1, dtype=np.int64)
    number[core_ids[np.argsort(first)]] = np.arange(core_ids.size)
    labels = np.full(n, -1, dtype=np.int64)
    labels[core] = number[component[core]]
    border = np.full(n, n, dtype=np.int64)
    for a, b in ((i, j), (j, i)):
        reach = core[a] & ~core[b]
        np.minimum.at(border, b[reach], labels[a[reach]])
    joined = border < n
    labels[joined] = border[joined]
    return labels


def cluster_matrix_entries(mask, max_distance=11.0, min_neighbors=10, stretch=5.0,
                           symmetric=False):
    """Cluster the significant entries of a mask (DBSCAN, stretched distance).

    Torre et al. (2016), Methods "Clustering": neighbours are entries within
    ``max_distance`` bins by the stretched distance; clusters need ``min_neighbors`` points
    within reach (the point itself included).

    Returns
    -------
    cmat : int32 array like mask: cluster ids 1..k, -1 noise, 0 not significant. In the
        symmetric case only the lower triangle is clustered and the result is mirrored.
    """
    _check_clustering(max_distance, min_neighbors, stretch)
    mask = np.asarray(mask, dtype=bool)
    rows, cols = np.nonzero(mask)
    if symmetric:  # the lower triangle
        rows, cols = rows[rows > cols], cols[rows > cols]
    labels = cluster_entries(rows, cols, max_distance, min_neighbors, stretch)
    cmat = np.zeros(mask.shape, dtype=np.int32)
    cmat[rows, cols] = np.where(labels >= 0, labels + 1, -1)
    if symmetric:
        cmat[cols, rows] = cmat[rows, cols]
    return cmat


def _check_clustering(max_distance, min_neighbors, stretch):
    if not max_distance > 0:
        raise ValueError(f"max_distance: must be > 0 bins, got {max_distance}")
    if int(min_neighbors) < 1:
        raise ValueError(f"min_neighbors: must be >= 1, got {min_neighbors}")
    if not stretch >= 1:
        raise ValueError(f"stretch: must be >= 1, got {stretch}")


def extract_synchronous_events(cmat, binned_x, binned_y=None, symmetric=None):
    """The neurons of each cluster entry: SSEs as {cluster: {(i, j): neuron indices}}.

    Entry (i, j) of a cluster holds the neurons spiking in both bin i and bin j. In the
    symmetric case clusters touching the main diagonal are dropped, and only the lower
    triangle is read (the upper one mirrors it).
    """
    cmat = np.asarray(cmat)
    if symmetric is None:
        symmetric = binned_y is None
    rows, cols = np.nonzero(cmat)
    if symmetric:  # the lower triangle, diagonal included
        rows, cols = rows[rows >= cols], cols[rows >= cols]
    return sses_from_entries(rows, cols, cmat[rows, cols], binned_x, binned_y, symmetric)


def sses_from_entries(rows, cols, labels, binned_x, binned_y=None, symmetric=False):
    """SSEs from clustered entries given as coordinate lists (row-major order kept)."""
    bx = sp.csc_matrix(binned_x)
    by = bx if binned_y is None else sp.csc_matrix(binned_y)
    order = np.lexsort((cols, rows))
    rows, cols, labels = rows[order], cols[order], labels[order]
    sses = {}
    for k in np.unique(labels[labels > 0]):
        members = labels == k
        ri, ci = rows[members], cols[members]
        if symmetric and np.any(ri == ci):
            continue
        event = {}
        for i, j in zip(ri.tolist(), ci.tolist()):
            ni = bx.indices[bx.indptr[i]:bx.indptr[i + 1]]
            nj = by.indices[by.indptr[j]:by.indptr[j + 1]]
            event[(i, j)] = frozenset(np.intersect1d(ni, nj).tolist())
        sses[int(k)] = event
    return sses


def sse_neurons(sse):
    """Sorted neuron indices taking part in an SSE."""
    return sorted(set().union(*sse.values())) if sse else []


def sse_time_bins(sse):
    """(start, end): the first and last bin of an SSE on each axis, ``([i0, j0], [i1, j1])``."""
    if not sse:
        raise ValueError("sse: empty SSE has no time bins")
    pixels = np.array(list(sse))
    return pixels.min(axis=0).tolist(), pixels.max(axis=0).tolist()


def ordering_from_sses(sses, n_units, cluster=None):
    """A permutation of units that puts the neurons of one SSE first, in chain order.

    As in the ASSET tutorial's cluster-chain permutation: walk the cluster's entries in
    row-major order and list each neuron when it first appears (within an entry, by unit
    index; the tutorial's order there follows Python's set iteration), then the other units.
    By default the cluster with the most entries.

    Returns
    -------
    order : int array, a permutation of range(n_units)
    n_found : int, how many units came from the SSE
    """
    if not sses:
        return np.arange(n_units), 0
    if cluster is None:
        cluster = max(sses, key=lambda k: (len(sses[k]), -k))
    seen, order = set(), []
    for pixel in sorted(sses[cluster]):
        for unit in sorted(sses[cluster][pixel]):
            if unit not in seen:
                seen.add(unit)
                order.append(unit)
    rest = [u for u in range(n_units) if u not in seen]
    return np.array(order + rest, dtype=np.int64), len(order)


def ordering_score(order, n_found, chain_group):
    """Fraction of chain neurons that a found ordering places in their true group order.

    The units found (the first ``n_found`` of ``order``) that belong to the chain
    (``chain_group >= 0``) are read in order; the longest run of them whose groups never
    decrease (a longest non-decreasing subsequence) counts as correctly ordered. Divided by
    the number of chain neurons, so missed neurons count as errors.
    """
    chain_group = np.asarray(chain_group)
    total = int(np.sum(chain_group >= 0))
    if total == 0:
        raise ValueError("chain_group: the data has no chain neurons")
    groups = [int(chain_group[u]) for u in order[:n_found] if chain_group[u] >= 0]
    tails = []  # patience sorting for the longest non-decreasing subsequence
    for g in groups:
        pos = int(np.searchsorted(tails, g, side="right"))
        if pos == len(tails):
            tails.append(g)
        else:
            tails[pos] = g
    return len(tails) / total


# ============================================================================ the object
@dataclass
class AssetResult(SavedResult):
    """The outcome of ``Asset.run()``; matrices are bins x bins arrays (None when tiled)."""

    imat: np.ndarray | None
    pmat: np.ndarray | None
    jmat: np.ndarray | None
    mask: np.ndarray | None
    cmat: np.ndarray | None
    sses: dict
    order: np.ndarray
    n_found: int
    bin_size: float
    t_start: float
    symmetric: bool
    score: float | None = None
    significant: dict = field(default_factory=dict)
    t_start_j: float | None = None  # start of the j axis (None: same as t_start)
    #: the parameter values of the run (``Asset.run_params``); empty in files saved
    #: before results recorded them
    params: dict = field(default_factory=dict)
    #: the data of the run (``analysis.base.data_summary``, with ``bins``); empty in
    #: files saved before results recorded it
    data_summary: dict = field(default_factory=dict)
    #: seconds the run took; None in files saved before results recorded it
    elapsed: float | None = None

    def sse_table(self, unit_ids=None):
        """One row per SSE: cluster, entries, neurons, first/last bin and time (s)."""
        import pandas as pd

        rows = []
        t_start_j = self.t_start if self.t_start_j is None else self.t_start_j
        for k, sse in self.sses.items():
            start, end = sse_time_bins(sse)
            neurons = sse_neurons(sse)
            rows.append({
                "cluster": k, "entries": len(sse), "neurons": len(neurons),
                "start i (s)": self.t_start + start[0] * self.bin_size,
                "end i (s)": self.t_start + (end[0] + 1) * self.bin_size,
                "start j (s)": t_start_j + start[1] * self.bin_size,
                "end j (s)": t_start_j + (end[1] + 1) * self.bin_size,
                "units": ", ".join(str(unit_ids[u]) if unit_ids is not None else str(u)
                                   for u in neurons),
            })
        return pd.DataFrame(rows, columns=["cluster", "entries", "neurons", "start i (s)",
                                           "end i (s)", "start j (s)", "end j (s)", "units"])


#: surrogate methods of ``Asset.probability_matrix_montecarlo``
SURROGATE_METHODS = ("dither_spikes", "jitter_spikes")


class Asset(CachedSteps):
    """ASSET on one population (symmetric) or two recordings of it (``data_j``).

    Each step returns its result and caches it on the parameters it depends on, so a new
    alpha recomputes only the mask and what follows. Defaults are those of the ASSET
    tutorial (Torre et al. 2016; Elephant).
    """

    data = param.ClassSelector(class_=SpikeTrains, allow_None=True, doc="""
        Spike trains (the i axis, and the j axis too when data_j is None).""")
    data_j = param.ClassSelector(class_=SpikeTrains, allow_None=True, doc="""
        Optional second recording of the same units for the j axis (non-symmetric case).""")
    bin_size = param.Number(default=0.003, bounds=(0, None), inclusive_bounds=(False, True),
                            label="Bin size (ms)", doc="Bin size in seconds.")
    binary = param.Boolean(default=True, doc="""
        Clip bins to 0/1 for the intersection matrix (False counts spikes, as Elephant).""")
    normalization = param.Selector(default=None, objects=list(NORMALIZATIONS), doc="""
        Normalization of the displayed intersection matrix.""")
    kernel_width = param.Number(default=0.05, bounds=(0, None), inclusive_bounds=(False, True),
                                label="Kernel width (ms)", doc="""
        Width of the boxcar rate estimate in seconds.""")
    filter_shape = param.NumericTuple(default=(11, 3), length=2, doc="""
        (length, width) of the diagonal band filter, in bins.""")
    n_largest = param.Integer(default=3, bounds=(1, None), doc="""
        Number of largest probabilities in the filter that are tested jointly.""")
    min_p_value = param.Number(default=1e-5, bounds=(0, 1), inclusive_bounds=(False, False),
                               doc="Probabilities are clipped at 1 - min_p_value.")
    alpha_p = param.Number(default=0.99, bounds=(0, 1), inclusive_bounds=(False, False),
                           doc="Threshold on the probability matrix (strictly greater).")
    alpha_j = param.Number(default=0.99, bounds=(0, 1), inclusive_bounds=(False, False),
                           doc="Threshold on the joint-probability matrix.")
    max_distance = param.Number(default=11.0, bounds=(0, None), inclusive_bounds=(False, True),
                                doc="DBSCAN neighbourhood radius, in bins (stretched).")
    min_neighbors = param.Integer(default=10, bounds=(1, None), doc="""
        DBSCAN minimum points in a neighbourhood (the point itself included).""")
    stretch = param.Number(default=5.0, bounds=(1, None), doc="""
        Distance stretch across the 45° direction.""")
    memory_budget = param.Number(default=None, allow_None=True, bounds=(0, None), doc="""
        Bytes a run may use (``memory_needed``; default: a quarter of the available
        memory). Over it, run() works in row tiles, which keep only the significant
        entries; a run that does not fit even in tiles is refused before it starts.""")

    # What memory_needed counts, per element of the arrays that grow with the data:
    #: bins x bins entry of a full run: counts 8, Poisson mean 8, pmat 8, jmat 8, jmat values
    #: not yet written 8, mask 1 and one comparison 1, clustered lower triangle 1, clusters 4
    BYTES_PER_ENTRY = 47
    #: ... added with a normalized intersection matrix: the matrix 8, denominators and
    #: temporaries 24
    BYTES_PER_NORMALIZED_ENTRY = 32
    #: entry of a row tile (tiled run): sparse product 12, counts 8, mean 8, pmat 8, the
    #: alpha_p test 1, and, if every entry is a candidate, rows, columns and jmat values 24
    #: and their filtered copies 24
    BYTES_PER_TILE_ENTRY = 85
    #: unit and bin: the float64 spike probabilities, kept for pmat
    BYTES_PER_UNIT_BIN = 8
    #: spike: binned counts, their binary and transposed sparse copies, binning temporaries
    BYTES_PER_SPIKE = 96
    #: entry of the block a step works on (``_BLOCK_ENTRIES``, or one row): a block of units'
    #: spike-probability temporaries (bool 1, float64 copy, cumulative sums, two gathers and
    #: their difference 40) or a sparse product's rows (20)
    BYTES_PER_BLOCK_ENTRY = 48

    # -------------------------------------------------------------- inputs
    def _check_data(self):
        if self.data is None:
            raise ValueError("data: no spike trains given")
        if self.data.n_units == 0 or self.data.n_spikes == 0:
            raise ValueError("data: the recording has no spikes")
        if self.data_j is not None and (self.data_j.n_units == 0
                                        or self.data_j.n_spikes == 0):
            raise ValueError("data_j: the recording has no spikes")
        if self.data_j is not None and self.data_j.n_units != self.data.n_units:
            raise ValueError(f"data_j: has {self.data_j.n_units} units, data has "
                             f"{self.data.n_units}; both axes need the same units")
        for name, d in (("data", self.data), ("data_j", self.data_j)):
            if d is not None and self.bin_size > d.duration:
                raise ValueError(f"bin_size: {self.bin_size:g} s is longer than {name} "
                                 f"({d.duration:.6g} s)")

    @property
    def symmetric(self):
        return self.data_j is None

    def _t_start_j(self):
        return None if self.data_j is None else self.data_j.t_start

    def _binned_key(self):
        return (self.data, self.data_j, self.bin_size)

    def binned(self):
        """Binned counts (units x bins) for the i and j axes (j is None if symmetric)."""
        def compute():
            self._check_data()
            bx = self.data.bin(self.bin_size).tocsc()
            by = None if self.symmetric else self.data_j.bin(self.bin_size).tocsc()
            return bx, by
        return self._cached("binned", self._binned_key(), compute)

    @property
    def n_bins(self):
        bx, by = self.binned()
        return bx.shape[1], (bx if by is None else by).shape[1]

    def _bins_summary(self):
        """A result's bin counts: ``bins`` (i axis), and ``bins_j`` with ``data_j``."""
        nx, ny = self.n_bins
        return {"bins": int(nx)} if self.symmetric else {"bins": int(nx), "bins_j": int(ny)}

    # -------------------------------------------------------------- steps
    def _coincidence_inputs(self):
        """The binned matrices whose coincidences are counted: binary (clipped) or counts."""
        bx, by = self.binned()
        if self.binary:
            bx = (bx > 0).astype(np.int64)
            by = None if by is None else (by > 0).astype(np.int64)
        return bx, by

    def _counts(self):
        """Coincidence counts on binary or count bins (input of the probability matrix)."""
        def compute():
            return intersection_matrix(*self._coincidence_inputs())
        return self._cached("counts", self._binned_key() + (self.binary,), compute)

    def intersection_matrix(self, normalization=OWN_PARAMETER):
        """Entry (i, j): neurons spiking in bin i and bin j (normalized if asked).

        ``normalization`` defaults to the ``normalization`` parameter (this is the step
        ``run()`` uses, cached); given, as in Elephant's call, it is used for this call
        only (None: not normalized), and a value other than the parameter's is not cached.
        """
        if normalization is OWN_PARAMETER:
            normalization = self.normalization
        if normalization is None:
            return self._counts()

        def compute():
            return intersection_matrix(*self._coincidence_inputs(), normalization)
        if normalization != self.normalization:
            return compute()
        return self._cached("imat", self._binned_key() + (self.binary, self.normalization),
                            compute)

    def _pmat_key(self):
        return self._binned_key() + (self.binary, self.kernel_width)

    def spike_probabilities(self):
        """Per-unit spike probability in each bin, for the i and j axes."""
        def compute():
            bx, by = self.binned()
            n_bins = bx.shape[1] if by is None else min(bx.shape[1], by.shape[1])
            k = _kernel_bins(self.kernel_width, self.bin_size, n_bins)
            px = _probabilities_by_units(bx, k)
            py = None if by is None else _probabilities_by_units(by, k)
            return px, py
        return self._cached("probabilities", self._binned_key() + (self.kernel_width,),
                            compute)

    def _with(self, **arguments):
        """The Asset an Elephant-style call computes with, for the arguments given.

        This object itself when every argument given (not None) equals its parameter, so
        the call reuses and fills the steps' cache; otherwise a copy with those values,
        which starts from this object's cache (sharing its arrays) and keeps what it
        computes to itself: the call never changes this object's parameters or the
        cached results its own steps use. Quantities (``50 * pq.ms``) are converted to
        seconds; the copy's parameters check the values (``ValueError``).
        """
        given = {}
        for name, value in arguments.items():
            if value is None:
                continue
            if hasattr(value, "rescale"):  # a quantities.Quantity, as Elephant takes
                value = float(value.rescale("s").magnitude)
            elif isinstance(value, np.ndarray):
                raise ValueError(f"{name}: expected a number, got an array")
            if name == "filter_shape":
                value = tuple(value)
            if value != getattr(self, name):
                given[name] = value
        if not given:
            return self
        values = {k: v for k, v in self.param.values().items() if k != "name"}
        copy = type(self)(**{**values, **given})
        copy._cache = dict(self._cache)
        return copy

    def probability_matrix_analytical(self, imat=None, firing_rates_x="estimate",
                                      firing_rates_y="estimate", kernel_width=None):
        """P(overlap < observed) for every pair of bins (Le Cam's Poisson approximation).

        Elephant's call: ``kernel_width`` (seconds or a quantity; default: the parameter)
        is used for this call only, and the parameters stay as they are (see ``_with``).
        ``imat``, if given, must be this object's own (unnormalized) intersection matrix,
        from which the probabilities are computed anyway; rates are always estimated from
        the data (``firing_rates_x/y`` other than ``"estimate"`` are refused).
        """
        for name, rates in (("firing_rates_x", firing_rates_x),
                            ("firing_rates_y", firing_rates_y)):
            if not (isinstance(rates, str) and rates == "estimate"):
                raise ValueError(f"{name}: Asset estimates rates from the data (kernel_width); "
                                 f"only 'estimate' is accepted")
        target = self._with(kernel_width=kernel_width)
        if imat is not None and not np.array_equal(imat, target._counts()):
            raise ValueError("imat: differs from this Asset's own intersection matrix "
                             "(unnormalized), from which the probability matrix is computed")
        return target._probability_matrix()

    def _probability_matrix(self):
        """The analytical probability matrix of this object's parameters, cached."""
        def compute():
            self._report(0.05, "probability matrix")
            px, py = self.spike_probabilities()
            return probability_matrix_analytical(
                self._counts(), px, py,
                progress=lambda f, m: self._report(0.05 + 0.25 * f, f"probability matrix: {m}"))
        return self._cached("pmat", self._pmat_key(), compute)

    def probability_matrix_montecarlo(self, n_surrogates=100, dither=None, seed=0,
                                      backend="threads", method="dither_spikes", *,
                                      surrogate_method=None, surrogate_dt=None):
        """P(overlap < observed) estimated from surrogates that move every spike.

        Elephant's keyword names are accepted too: ``surrogate_method`` for ``method`` and
        ``surrogate_dt`` (seconds or a quantity) for ``dither``.

        ``method``:

        * ``"dither_spikes"`` (default, as Elephant): every spike moves by a uniform
          offset in [-dither, dither] (default 5 bins);
        * ``"jitter_spikes"``: the recording is cut into windows of length ``dither``
          from t_start (the last one ends at t_stop), and every spike moves to a uniform
          time inside its own window (keeps the rate profile at the window's resolution).

        Spikes that land outside (t_start, t_stop) are dropped. The result counts how often
        the surrogate's coincidence count is below the observed one. Surrogate s uses seed
        ``SeedSequence(seed).spawn`` child s, so the result does not depend on the backend.
        Refused (``MemoryBudgetError``) before it starts when its bins x bins arrays (one
        count per entry for each of up to 8 batches) exceed ``memory_budget``.
        """
        if surrogate_method is not None:
            method = surrogate_method
        if surrogate_dt is not None:
            dither = (surrogate_dt.rescale("s").magnitude if hasattr(surrogate_dt, "rescale")
                      else surrogate_dt)
        if method not in SURROGATE_METHODS:
            raise ValueError(f"method: must be one of {', '.join(SURROGATE_METHODS)}, "
                             f"got {method!r}")
        if int(n_surrogates) < 1:
            raise ValueError(f"n_surrogates: must be >= 1, got {n_surrogates}")
        dither = 5 * self.bin_size if dither is None else float(dither)
        if not dither > 0:
            raise ValueError(f"dither: must be > 0 s, got {dither}")
        n_blocks = min(int(n_surrogates), 8)
        n_units, nx, ny, _, spikes = self._shape()
        # observed counts 8 and pmat 8 per entry, an int32 count per entry for each batch
        # (in flight or waiting to be added), and each batch's surrogate spikes and block
        need = (nx * ny * (16 + 4 * n_blocks) + n_blocks * (
            spikes * self.BYTES_PER_SPIKE
            + max(_BLOCK_ENTRIES, nx, ny) * self.BYTES_PER_BLOCK_ENTRY))
        check_memory(f"the Monte Carlo pmat of {n_units} units x {nx} bins", need,
                     self._budget(), "use a larger bin_size or a larger memory_budget")
        observed = self._counts()
        children = np.random.SeedSequence(seed).spawn(int(n_surrogates))
        # plain arrays (not SpikeTrains objects) travel to the workers
        datasets = [(d.times, d.units, d.n_units, d.t_start, d.t_stop)
                    for d in ([self.data] if self.symmetric else [self.data, self.data_j])]
        blocks = [children[b::n_blocks] for b in range(n_blocks)]
        # integer counts: their sum is exact in any order, the same on every backend
        counts = map_blocks(
            _surrogate_block, blocks, backend=backend, scheduler=self.scheduler,
            shared=dict(datasets=datasets, dither=dither, method=method,
                        bin_size=self.bin_size,
                        binary=self.binary, symmetric=self.symmetric, observed=observed),
            reduce=_add_into, label="surrogate batch",
            progress=lambda f, m: self._report(f, f"surrogates: {m}"))
        pmat = counts / float(n_surrogates)
        if self.symmetric:
            np.fill_diagonal(pmat, 0.5)
        return pmat

    def _jmat_key(self):
        return self._pmat_key() + (tuple(self.filter_shape), self.n_largest, self.min_p_value)

    def joint_probability_matrix(self, pmat=None, filter_shape=None, n_largest=None,
                                 min_p_value=None, precision=None, tolerance=None):
        """Joint significance of the n_largest probabilities in the band filter.

        Elephant's call: ``filter_shape``, ``n_largest`` and ``min_p_value`` (default: the
        parameters) are used for this call only, and the parameters stay as they are (see
        ``_with``). ``pmat`` defaults to the analytical probability matrix of those values;
        given, the jmat is computed from it (cached only when it is that matrix, as cached
        by an earlier call, so a Monte Carlo estimate gives a jmat that is not cached).
        ``precision`` and ``tolerance`` are accepted and ignored: the computation is exact
        in float64.
        """
        target = self._with(filter_shape=filter_shape, n_largest=n_largest,
                            min_p_value=min_p_value)
        if pmat is None or target._is_cached_pmat(pmat):
            return target._joint_probability_matrix()
        return joint_probability_matrix(
            np.asarray(pmat, dtype=np.float64), target.filter_shape, target.n_largest,
            target.min_p_value, symmetric=self.symmetric, scheduler=self.scheduler)

    def _is_cached_pmat(self, pmat):
        # looks only at the cache: computing the analytical pmat just to compare it with a
        # given one would cost more than the jmat it might save
        own = self._cached_value("pmat", self._pmat_key())
        return own is not None and (pmat is own or np.array_equal(pmat, own))

    def _joint_probability_matrix(self):
        """The joint-probability matrix of this object's parameters, cached."""
        def compute():
            pmat = self.probability_matrix_analytical()
            self._report(0.3, "joint-probability matrix")
            return joint_probability_matrix(
                pmat, self.filter_shape, self.n_largest, self.min_p_value,
                symmetric=self.symmetric, scheduler=self.scheduler,
                progress=lambda f, m: self._report(0.3 + 0.45 * f, f"joint probability: {m}"))
        return self._cached("jmat", self._jmat_key(), compute)

    def _mask_key(self):
        return self._jmat_key() + (self.alpha_p, self.alpha_j)

    def mask_matrix(self):
        """Entries with pmat > alpha_p and jmat > alpha_j."""
        def compute():
            return mask_matrices([self.probability_matrix_analytical(),
                                  self.joint_probability_matrix()],
                                 [self.alpha_p, self.alpha_j])
        return self._cached("mask", self._mask_key(), compute)

    def _cluster_key(self):
        return self._mask_key() + (self.max_distance, self.min_neighbors, self.stretch)

    def cluster_matrix(self):
        """Cluster ids of the significant entries: 1..k, -1 noise, 0 not significant."""
        def compute():
            mask = self.mask_matrix()
            self._report(0.8, "clustering")
            return cluster_matrix_entries(mask, self.max_distance, self.min_neighbors,
                                          self.stretch, symmetric=self.symmetric)
        return self._cached("cmat", self._cluster_key(), compute)

    def synchronous_events(self):
        """SSEs: {cluster: {(i, j): neuron indices spiking in bins i and j}}."""
        def compute():
            bx, by = self.binned()
            return extract_synchronous_events(self.cluster_matrix(), bx, by, self.symmetric)
        return self._cached("sses", self._cluster_key(), compute)

    # ------------------------------------------- Elephant's names for steps 4-6
    #: ``Asset.mask_matrices([pmat, jmat], [alpha_p, alpha_j])``, as Elephant's static method
    mask_matrices = staticmethod(mask_matrices)

    def cluster_matrix_entries(self, mask, max_distance=None, min_neighbors=None,
                               stretch=None):
        """Elephant's call: cluster a given mask with the arguments (default: the
        parameters), which are used for this call only (see ``_with``).

        ``cluster_matrix()`` does the same on this object's own mask, cached.
        """
        target = self._with(max_distance=max_distance, min_neighbors=min_neighbors,
                            stretch=stretch)
        return cluster_matrix_entries(mask, target.max_distance, target.min_neighbors,
                                      target.stretch, symmetric=self.symmetric)

    def extract_synchronous_events(self, cmat=None, ids=None):
        """Elephant's call: SSEs of a cluster matrix (default: this object's own).

        ``ids``, if given, names the neurons: ``ids[n]`` stands for neuron index n.
        """
        if cmat is None:
            sses = self.synchronous_events()
        else:
            bx, by = self.binned()
            sses = extract_synchronous_events(cmat, bx, by, self.symmetric)
        if ids is None:
            return sses
        if len(ids) != self.data.n_units:
            raise ValueError(f"ids: expected {self.data.n_units} ids (one per neuron), "
                             f"got {len(ids)}")
        return {c: {pixel: frozenset(ids[n] for n in members)
                    for pixel, members in sse.items()} for c, sse in sses.items()}

    def ordering(self, cluster=None):
        """(order, n_found): units reordered so the chain of the largest SSE comes first."""
        return ordering_from_sses(self.synchronous_events(), self.data.n_units, cluster)

    def _shape(self):
        """(units, bins_x, bins_y, units x bins of both axes, spikes of both axes)."""
        axes = [self.data] if self.symmetric else [self.data, self.data_j]
        nx, ny = (d.n_bins(self.bin_size) for d in (axes[0], axes[-1]))
        unit_bins = sum(d.n_units * d.n_bins(self.bin_size) for d in axes)
        return self.data.n_units, nx, ny, unit_bins, sum(d.n_spikes for d in axes)

    def _base_bytes(self):
        """Bytes of the arrays every run holds: binned spikes, spike probabilities, a block."""
        _, nx, ny, unit_bins, spikes = self._shape()
        return (spikes * self.BYTES_PER_SPIKE + unit_bins * self.BYTES_PER_UNIT_BIN
                + max(_BLOCK_ENTRIES, nx, ny) * self.BYTES_PER_BLOCK_ENTRY)

    def _min_tile_bytes(self):
        """Bytes of the smallest row tile: ``length`` rows and the filter's halo."""
        _, _, ny, _, _ = self._shape()
        return (2 * int(self.filter_shape[0]) - 1) * ny * self.BYTES_PER_TILE_ENTRY

    def memory_needed(self, tiled=False):
        """Peak bytes of ``run()`` (or of the tiled run), estimated before anything large is
        computed, from the numbers of units, bins and spikes.

        Counts every array that grows with the data (see the ``BYTES_PER_*`` attributes):
        the binned spikes and their copies, the spike probabilities (units x bins), the
        block of units or rows that a step works on, and either every bins x bins matrix
        of a full run with its temporaries, or the smallest row tile. Not counted: the
        significant entries and their clustering graph, which grow with the number of
        significant entries times their neighbours within ``max_distance`` (data-dependent,
        small next to the matrices at the default alphas).
        """
        self._check_data()
        if tiled:
            return self._base_bytes() + self._min_tile_bytes()
        _, nx, ny, _, _ = self._shape()
        per_entry = self.BYTES_PER_ENTRY
        if self.normalization is not None:
            per_entry += self.BYTES_PER_NORMALIZED_ENTRY
        return self._base_bytes() + nx * ny * per_entry

    def run(self, tiled=None):
        """All steps; returns an ``AssetResult`` (scored against ground truth if known).

        Parameters
        ----------
        tiled : bool, optional
            Work in row tiles and keep only the significant entries (``result.significant``;
            the matrices are None). Default: when a full run would exceed
            ``memory_budget`` (``memory_needed``).

        Raises
        ------
        MemoryBudgetError
            Before anything large is computed, when the run (tiled: its units x bins
            arrays and smallest tile) needs more than ``memory_budget``.
        """
        started = time.perf_counter()
        self._check_data()
        budget = self._budget()
        if tiled is None:
            tiled = self.memory_needed() > budget
        n_units, nx, ny, _, _ = self._shape()
        what = f"ASSET on {n_units} units x {nx} bins"
        if tiled:
            check_memory(f"{what} in row tiles", self.memory_needed(tiled=True), budget,
                         "use a larger bin_size, fewer units or a larger memory_budget")
            return self._run_tiled(tile_bytes=budget - self._base_bytes(), started=started)
        check_memory(what, self.memory_needed(), budget, "run it in tiles (tiled=True), "
                     "use a larger bin_size or a larger memory_budget")
        self._report(0.0, "binning")
        imat = self.intersection_matrix()
        pmat = self.probability_matrix_analytical()
        jmat = self.joint_probability_matrix()
        mask = self.mask_matrix()
        cmat = self.cluster_matrix()
        sses = self.synchronous_events()
        order, n_found = self.ordering()
        score = None
        if "chain_group" in self.data.truth and np.any(self.data.truth["chain_group"] >= 0):
            score = ordering_score(order, n_found, self.data.truth["chain_group"])
        self._report(1.0, "done")
        return AssetResult(imat, pmat, jmat, mask, cmat, sses, order, n_found,
                           self.bin_size, self.data.t_start, self.symmetric, score,
                           t_start_j=self._t_start_j(),
                           **self._provenance(started, **self._bins_summary()))


    # -------------------------------------------------------------- tiled run
    def significant_entries(self, tile_bytes=None):
        """Entries with pmat > alpha_p and jmat > alpha_j, computed in row tiles.

        Never holds a bins x bins matrix: each tile of rows (plus the filter's halo) gets
        its counts, mean matrix and pmat; jmat is evaluated only where pmat already exceeds
        alpha_p (the mask needs both). Symmetric case: the lower triangle. A tile takes
        ``tile_bytes`` at most (``BYTES_PER_TILE_ENTRY`` per entry; default: what
        ``memory_budget`` leaves after the arrays every run holds), and ``length`` rows at
        least.

        Returns
        -------
        dict of arrays: rows, cols, pmat, jmat (one value per significant entry)
        """
        def compute():
            bx, by = self.binned()
            px, py = self.spike_probabilities()
            symmetric = self.symmetric
            nx, ny = self.n_bins
            length, width = _check_filter(self.filter_shape, self.n_largest, (nx, ny),
                                          symmetric)
            if not 0 < self.min_p_value < 1:
                raise ValueError(f"min_p_value: must be in (0, 1), got {self.min_p_value}")
            ka, kb = kernels.band_kernel_offsets(length, width)
            half = length // 2
            cx, cy = self._coincidence_inputs()
            cy = sp.csc_matrix(cx if cy is None else cy)
            py = px if py is None else py
            budget = self._budget() - self._base_bytes() if tile_bytes is None else tile_bytes
            tile_rows = int(budget // (self.BYTES_PER_TILE_ENTRY * ny))  # halo included
            block = max(length, min(nx, tile_rows - (length - 1)))
            # each tile is complete in itself: the same entries on every backend
            tiles = [(r0, min(nx, r0 + block)) for r0 in range(0, nx, block)]
            parts = map_blocks(
                _tile_block, tiles, backend="serial", scheduler=self.scheduler,
                shared=dict(cxt=sp.csr_matrix(cx.T), cy=cy, px=px, py=py, nx=nx, ny=ny, length=length,
                            half=half, symmetric=symmetric, ka=ka, kb=kb,
                            alpha_p=self.alpha_p, alpha_j=self.alpha_j,
                            d=int(self.n_largest), clip=1.0 - self.min_p_value),
                label="row tile",
                progress=lambda f, m: self._report(0.05 + 0.8 * f, f"tiles: {m}"))
            found = {k: [p[k] for p in parts] for k in ("rows", "cols", "pmat", "jmat")}
            return {k: np.concatenate(v) if v else np.empty(0) for k, v in found.items()}
        return self._cached("significant", self._mask_key(), compute)

    def _run_tiled(self, tile_bytes, started):
        self._report(0.0, "binning")
        sig = self.significant_entries(tile_bytes)
        _check_clustering(self.max_distance, self.min_neighbors, self.stretch)
        self._report(0.86, "clustering")
        labels = cluster_entries(sig["rows"], sig["cols"], self.max_distance,
                                 self.min_neighbors, self.stretch)
        labels = np.where(labels >= 0, labels + 1, -1)
        bx, by = self.binned()
        sses = sses_from_entries(sig["rows"], sig["cols"], labels, bx, by, self.symmetric)
        order, n_found = ordering_from_sses(sses, self.data.n_units)
        score = None
        if "chain_group" in self.data.truth and np.any(self.data.truth["chain_group"] >= 0):
            score = ordering_score(order, n_found, self.data.truth["chain_group"])
        self._report(1.0, "done")
        return AssetResult(None, None, None, None, None, sses, order, n_found,
                           self.bin_size, self.data.t_start, self.symmetric, score,
                           significant={**sig, "labels": labels},
                           t_start_j=self._t_start_j(),
                           **self._provenance(started, **self._bins_summary()))


def _tile_block(tile, cxt, cy, px, py, nx, ny, length, half, symmetric, ka, kb, alpha_p,
                alpha_j, d, clip):
    """Significant entries of the probability-matrix rows tile[0]..tile[1]-1 (one task).

    ``cxt`` (bins x units, CSR) and ``cy`` (units x bins, CSC) are the sparse binned
    matrices whose coincidences are counted; ``px``, ``py`` the spike probabilities.
    """
    r0, r1 = tile
    a, b = max(0, r0 - half), min(nx, r1 - half + length)
    c_hi = min(b, ny) if symmetric else ny
    counts = (cxt[a:b] @ cy[:, :c_hi]).toarray()
    pm = kernels.poisson_cdf_below(counts, px[:, a:b].T @ py[:, :c_hi])
    if symmetric:
        diag = np.arange(a, min(b, c_hi))
        pm[diag - a, diag] = 0.5
    i, j = np.nonzero(pm[r0 - a:r1 - a] > alpha_p)
    i = i + r0
    valid = ((i - half >= 0) & (i - half + length <= nx) & (j - half >= 0))
    valid &= (j <= i - length) if symmetric else (j - half + length <= ny)
    i, j = i[valid].astype(np.int64), j[valid].astype(np.int64)
    jv = kernels.jmat_at(np.ascontiguousarray(pm), a, i, j, ka, kb, half, d, clip)
    keep = jv > alpha_j
    return {"rows": i[keep], "cols": j[keep], "pmat": pm[i[keep] - a, j[keep]],
            "jmat": jv[keep]}


def _move_spikes(times, t_start, t_stop, dither, method, rng):
    """Surrogate spike times: dithered by U(-dither, dither), or jittered inside windows."""
    if method == "jitter_spikes":
        # window k is [t_start + k * dither, ...), the last one cut at t_stop (as Elephant
        # shrinks its last bin), so that no spike is lost; a spike on a window's edge
        # belongs to the window it starts (within the binning tolerance)
        lo = t_start + _floor_with_tolerance((times - t_start) / dither) * dither
        width = np.minimum(dither, t_stop - lo)
        return lo + rng.random(times.size) * width
    return times + rng.uniform(-dither, dither, times.size)


def _surrogate_block(children, datasets, dither, bin_size, binary, symmetric, observed,
                     method="dither_spikes"):
    """How often each entry's surrogate coincidence count is below ``observed`` (int32).

    One batch of surrogates (see ``Asset.probability_matrix_montecarlo``), each seeded by
    its ``SeedSequence`` child.
    """
    acc = np.zeros(observed.shape, dtype=np.int32)
    for child in children:
        rng = np.random.default_rng(child)
        binned = []
        for times, unit_of, n_units, t_start, t_stop in datasets:
            moved = _move_spikes(times, t_start, t_stop, dither, method, rng)
            inside = (moved > t_start) & (moved < t_stop)
            units = unit_of[inside]
            counts = np.bincount(units, minlength=n_units)
            surr = SpikeTrains(_sorted_within_units(moved[inside], units),
                               np.concatenate([[0], np.cumsum(counts)]), t_start, t_stop,
                               copy=False)  # private surrogate arrays
            b = surr.bin(bin_size)
            binned.append((b > 0).astype(np.int64) if binary else b.astype(np.int64))
        for r0, r1, counts in _product_rows(binned[0], binned[0 if symmetric else 1]):
            acc[r0:r1] += counts < observed[r0:r1]
    return acc


def _add_into(acc, counts):
    """Fold of the surrogate batches' counts, in place (the first batch's array)."""
    acc += counts
    return acc


def _sorted_within_units(times, units):
    """Times sorted within each unit (units already grouped in ascending order)."""
    order = np.lexsort((times, units))
    return times[order]
