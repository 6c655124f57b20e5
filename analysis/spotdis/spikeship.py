"""SpikeShip: the transport between two epochs that is left after one common time shift.

Sotomayor-Gómez B, Battaglia FP, Vinck M (2023), "SpikeShip: A method for fast,
unsupervised discovery of high-dimensional neural spiking patterns", PLoS Comput Biol
e1011335: the transport cost of making all relative spike timings of two epochs identical,
computed per neuron and decomposed into a global translation and neuron-specific flows.
No equation numbers are cited here: the details below (the monotone coupling, the weighted
median, the normalisation, the undefined pairs) follow the authors' public code
(bsotomayorg/SpikeShip), against which ``benchmarks/spikeship.py`` checks the numbers.

Definition, as computed here, for epochs k and m (spike times relative to each epoch's
start, as ``SpikeTrains.epoch_spikes`` gives them):

1. *Flows.* For each neuron i firing in both epochs (n spikes in k, n' in m), each spike in
   k has mass 1/n and each in m mass 1/n'. The optimal transport between the two on the
   time axis is the monotone coupling of the sorted lists; each pair (a spike of k, a spike
   of m) it couples is a flow of value ``f = t_k - t_m`` (s) and mass ``w`` (the masses of a
   neuron's flows sum to 1, so every neuron weighs the same, whatever its rate).
2. *Global shift.* ``g(k, m)`` is the weighted median of all flows of all N common neurons,
   the one translation of epoch k against m that minimises ``sum w |f - g|``. Where the
   minimisers form an interval, g is its midpoint, so ``g(m, k) = -g(k, m)`` exactly.
   Positive g: epoch k's spikes come later than m's.
3. *Neuron-specific flows.* ``f - g``; per neuron, ``r_i = sum over its flows of w (f - g)``
   is its mean shift beyond the common one (positive: i fires later in k than in m, relative
   to the others).
4. *SpikeShip.* ``SpikeShip(k, m) = SCALE / (N - 1) * sum over all flows of w |f - g|``
   with ``SCALE = 0.7`` (seconds; no division by the epoch length). This normalisation,
   including the constant 7/10 and the division by N - 1 rather than N, is the one of the
   authors' public code (bsotomayorg/SpikeShip, ``SpikeShip_value``), against which the
   benchmark checks the numbers; the constant changes no clustering, embedding or
   silhouette. With N = 1 the normalisation divides by zero; the authors' code leaves such
   pairs undefined, as here.

Undefined pairs: fewer than two neurons fire in both epochs (the authors' code returns NaN
there). They are counted (``n_undefined``), marked (``undefined``) and set to the largest
value SpikeShip can take on these epochs, ``2 * SCALE * T`` (T the longest epoch; with
N = 2 and one spike each at opposite ends of both epochs), for clustering and embedding,
as SPOTDis sets its undefined entries to its maximum 1.

A common shift of all spikes of an epoch changes g and nothing else: SpikeShip is 0
between an epoch and a shifted copy of it (so is SPOTDis).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numba
import numpy as np

from ..errors import available_memory, check_memory
from ..kernels import spikeship as kernels
from ..kernels import spotdis as spotdis_kernels
from ..parallel import map_blocks
from .epochs import _blocks, _check_data, _Epochs
from .graph import (QUARTILES, SpotDisGraph, _candidate_csr, _features,
                    _nearest, candidate_neighbours, search_rows)

__all__ = ["SpikeShip", "NeuronFlows", "spikeship", "neuron_flows", "pair_flows", "SCALE",
           "spikeship_pairs", "spikeship_knn"]

#: The constant of SpikeShip's normalisation, ``SCALE / (N - 1)`` (the authors' code's).
SCALE = 0.7
#: Fixed number of accumulators of ``neuron_flows`` (deterministic sums).
_FLOW_CHUNKS = 16
#: Blocks of epoch rows (progress is reported between them): about this many flows each
#: (about 0.2 s on one core; the Allen example is one block), at most ``_MAX_BLOCKS``.
#: Every block is a
#: parallel region whose threads wait for each other at its end, which costs much more
#: than the work of a small problem on a machine shared with other jobs.
_FLOWS_PER_BLOCK = 4e7
_MAX_BLOCKS = 20


@dataclass
class SpikeShip:
    """The SpikeShip matrix of a recording's epochs, the global shifts and what is behind
    each entry (see the module's docstring for the definition).

    Attributes
    ----------
    matrix : float64 (M x M)
        SpikeShip (s), symmetric, diagonal 0; undefined entries are ``fill_value``.
    shift : float64 (M x M)
        Global shift g(k, m) (s), antisymmetric: epoch k against epoch m, positive when k's
        spikes come later. Defined with one common neuron or more (NaN without), diagonal 0.
    counts : int64 (M x M)
        Neurons firing in both epochs; the diagonal holds each epoch's active neurons.
    undefined : bool (M x M)
        Entries with fewer than two common neurons (never on the diagonal).
    n_undefined : int
        Undefined epoch pairs (k < m).
    n_empty_epochs : int
        Epochs with fewer than two active neurons (their rows are undefined).
    fill_value : float
        The value of undefined entries, ``2 * SCALE * T`` (s), T the longest epoch.
    seconds : float
        Wall time of the computation.
    """

    matrix: np.ndarray
    shift: np.ndarray
    counts: np.ndarray
    undefined: np.ndarray
    n_undefined: int
    n_empty_epochs: int
    fill_value: float
    seconds: float = 0.0

    @property
    def n_epochs(self):
        return self.matrix.shape[0]


def _matrix_bytes(M):
    """Estimated peak bytes of ``spikeship``: the M x M results (matrix, shift, counts,
    undefined) and their temporaries, about 60 bytes an entry."""
    return 60.0 * float(M) ** 2


def _epoch_layout(data):
    """Spikes per epoch (``_Epochs``), the active neurons of each epoch (``act_ptr``,
    ``act``) with their spikes' positions (``span``), and the scratch size per pair."""
    ep = _Epochs(data)
    act_ptr = np.zeros(ep.n_epochs + 1, dtype=np.int64)
    np.cumsum(ep.n_active, out=act_ptr[1:])
    act = spotdis_kernels.epoch_active(ep.offsets, ep.n_units, act_ptr)
    span = kernels.active_spans(ep.offsets, ep.n_units, act_ptr, act)
    spikes = ep.counts.sum(axis=1) if ep.counts.size else np.zeros(ep.n_epochs, np.int64)
    max_flows = max(1, 2 * int(spikes.max(initial=0)))
    return ep, act_ptr, act, span, max_flows


def spikeship(data, progress=None, scheduler=None, memory_budget=None):
    """The SpikeShip matrix and global shifts between all epochs of a recording.

    Sotomayor-Gómez, Battaglia & Vinck (2023): per neuron firing in both epochs, the
    optimal transport of its spikes with masses 1/n; the global shift is the weighted median
    of all flows; SpikeShip is ``0.7 / (N - 1)`` times the transport left after that shift,
    N the neurons firing in both epochs (see ``analysis.spotdis.spikeship`` for the full
    definition and the choices made). Cost per epoch pair about linear in the two epochs'
    spike counts.

    Parameters
    ----------
    data : SpikeTrains with epochs (at least 2)
        Spikes of epoch k are those in [start, stop) (closed at the recording's end), as in
        ``SpikeTrains.epoch_spikes``; epochs may differ in length and may overlap.
    progress : callable(fraction, message), optional
        Called between blocks of epoch rows.
    scheduler : str, optional
        Address of a dask scheduler for the blocks (see ``analysis.parallel``); None:
        ``$SPIKELENS_SCHEDULER``, else local. Same numbers on every backend.
    memory_budget : float, optional
        Bytes the computation may use (None: a quarter of the available memory); a larger
        estimate (about 60 bytes per matrix entry) is refused before anything is computed
        (``MemoryBudgetError``).

    Returns
    -------
    SpikeShip
    """
    t0 = time.perf_counter()
    report = progress or (lambda f, m: None)
    _check_data(data, "SpikeShip")
    report(0.0, "SpikeShip: splitting spikes into epochs")
    M = len(data.epochs)
    budget = available_memory() / 4 if memory_budget is None else float(memory_budget)
    check_memory(f"the SpikeShip matrix of {M} epochs", _matrix_bytes(M), budget,
                 "use fewer epochs or raise memory_budget")
    ep, act_ptr, act, span, max_flows = _epoch_layout(data)
    n_empty = int(np.sum(ep.n_active < 2))
    if n_empty:
        report(0.02, f"SpikeShip: {n_empty} of {M} epochs have fewer than 2 active neurons "
                     f"(undefined rows)")
    # row k has M - 1 - k partners: pair rows (k, M - 1 - k) so every block and thread
    # gets the same work
    folded = np.empty(M, dtype=np.int64)
    folded[0::2] = np.arange((M + 1) // 2)
    folded[1::2] = M - 1 - np.arange(M // 2)
    cost = np.zeros((M, M))
    shift = np.full((M, M), np.nan)
    count = np.zeros((M, M), dtype=np.int64)

    def put(acc, result):
        rows, s, g, c = result
        cost[rows] = s
        shift[rows] = g
        count[rows] = c
        return acc

    # every epoch's spikes take part in M - 1 pairs, each time about once as flows
    work = float(ep.counts.sum()) * (M - 1)
    n_blocks = int(np.clip(np.ceil(work / _FLOWS_PER_BLOCK), 1, _MAX_BLOCKS))
    blocks = [folded[r0:r1] for r0, r1 in _blocks(M, n_blocks)]
    map_blocks(_rows_block, blocks, backend="serial", scheduler=scheduler,
               shared={"n_ep": M, "act_ptr": act_ptr, "act": act, "span": span, "rel": ep.rel,
                       "n_units": ep.n_units, "max_flows": max_flows},
               reduce=put, initial=None, label="epoch-row block",
               progress=lambda f, m: report(0.05 + 0.95 * f, f"SpikeShip: {m}"))
    iu = np.triu_indices(M, 1)
    cost[iu[1], iu[0]] = cost[iu]
    count[iu[1], iu[0]] = count[iu]
    shift[iu[1], iu[0]] = -shift[iu]
    undefined = count < 2
    np.fill_diagonal(undefined, False)
    fill = 2.0 * SCALE * ep.duration
    with np.errstate(invalid="ignore", divide="ignore"):
        matrix = np.where(undefined, fill, SCALE * cost / np.maximum(count - 1, 1))
    np.fill_diagonal(matrix, 0.0)
    np.fill_diagonal(shift, 0.0)
    np.fill_diagonal(count, ep.n_active)
    n_undefined = int(np.sum(undefined[iu]))
    report(1.0, f"SpikeShip: {M} epochs, {n_undefined} undefined epoch pairs")
    return SpikeShip(matrix, shift, count, undefined, n_undefined, n_empty, fill,
                     time.perf_counter() - t0)


def _rows_block(rows, n_ep, act_ptr, act, span, rel, n_units, max_flows):
    """SpikeShip sums of epoch rows ``rows`` against all later epochs (one task)."""
    s, g, c = kernels.spikeship_rows(rows, n_ep, act_ptr, act, span, rel, n_units,
                                     max_flows, numba.get_num_threads())
    return rows, s, g, c


# ============================================================================ graph mode
#: Fixed number of pair ranges of ``spikeship_pairs`` (more than threads: the ranges are
#: handed out as threads come free, which evens out a machine shared with other jobs).
_PAIR_CHUNKS = 64


def spikeship_pairs(data, rows, cols, progress=None, _layout=None):
    """Exact SpikeShip for the given epoch pairs only.

    The same definition, normalisation and undefined-pair rule as ``spikeship``, for the
    unique pairs ``{(min(r, c), max(r, c))}`` with ``r != c``: one parallel pass over the
    pairs (``kernels.spikeship_candidates``), time about linear in the pairs' spikes,
    memory linear in the epochs' spikes plus the pairs.

    Parameters
    ----------
    data : SpikeTrains with epochs
    rows, cols : int arrays of the same length, epoch indices

    Returns
    -------
    (k, m, values, shift, counts) : the unique pairs (k < m, sorted by k then m), their
        SpikeShip (s; ``2 * SCALE * T`` where undefined), global shift g(k, m) (s; NaN
        without a common neuron) and common neurons (fewer than 2: undefined).
    """
    report = progress or (lambda f, m: None)
    if _layout is None:
        _check_data(data, "SpikeShip")
        _layout = _epoch_layout(data)
    ep, act_ptr, act, span, max_flows = _layout
    ptr, partners, firsts = _candidate_csr(rows, cols, ep.n_epochs)
    report(0.0, f"SpikeShip: {partners.size} epoch pairs")
    cost, shift, count = kernels.spikeship_candidates(
        ptr, partners, act_ptr, act, span, ep.rel, ep.n_units, max_flows, _PAIR_CHUNKS)
    fill = 2.0 * SCALE * ep.duration
    values = np.where(count < 2, fill, SCALE * cost / np.maximum(count - 1, 1))
    report(1.0, f"SpikeShip: {partners.size} epoch pairs done")
    return firsts, partners, values, shift, count


def spikeship_knn(data, n_neighbors=90, n_candidates=None, progress=None,
                  memory_budget=None):
    """Exact SpikeShip to each epoch's nearest epochs, found through candidates.

    Graph mode for SpikeShip, as ``analysis.spotdis.graph.spotdis_knn`` for SPOTDis: each
    epoch's ``n_candidates`` nearest epochs by the distance of its shift-free quartile
    vectors (each active neuron's spike-time quartiles minus the epoch's mean median; a
    neuron's W1 distance between two epochs is the mean |difference| of its quantiles, so
    near quartile vectors mean a small SpikeShip), exact SpikeShip on the union of those
    pairs (``spikeship_pairs``), and each epoch's ``n_neighbors`` nearest by the exact
    values. Every distance used downstream is exact; the approximation only chooses which
    ones are computed.

    Parameters
    ----------
    data : SpikeTrains with epochs
    n_neighbors : int
        Neighbours kept per epoch.
    n_candidates : int, optional
        Candidates per epoch (default ``n_neighbors``).
    progress : callable(fraction, message), optional
    memory_budget : float, optional
        Bytes it may use (None: a quarter of the available memory); a larger estimate
        (``spikeship_graph_bytes``) is refused before anything is computed.

    Returns
    -------
    SpotDisGraph with ``dissimilarity="spikeship"`` and ``method="spikeship"``.
    """
    report = progress or (lambda f, m: None)
    t0 = time.perf_counter()
    _check_data(data, "SpikeShip")
    if not isinstance(n_neighbors, (int, np.integer)) or n_neighbors < 1:
        raise ValueError(f"n_neighbors: must be a whole number >= 1, got {n_neighbors!r}")
    n_candidates = n_neighbors if n_candidates is None else n_candidates
    if not isinstance(n_candidates, (int, np.integer)) or n_candidates < n_neighbors:
        raise ValueError(f"n_candidates: must be a whole number >= n_neighbors "
                         f"({n_neighbors}), got {n_candidates!r}")
    M = len(data.epochs)
    budget = available_memory() / 4 if memory_budget is None else float(memory_budget)
    check_memory(f"the SpikeShip neighbour graph of {M} epochs ({n_candidates} candidates "
                 f"each)", spikeship_graph_bytes(M, data.n_units, data.n_spikes,
                                                 n_candidates), budget,
                 "lower n_candidates / n_neighbors (or the perplexity), use fewer epochs, or "
                 "raise memory_budget")
    layout = _epoch_layout(data)
    ep = layout[0]
    k = int(min(n_neighbors, M - 1))
    report(0.0, "candidates: quartile vectors")
    cand = candidate_neighbours(_features(ep), n_candidates,
                                progress=lambda f, m: report(0.4 * f, m))
    t1 = time.perf_counter()
    rows = np.repeat(np.arange(M), cand.shape[1])
    first, second, values, _, counts = spikeship_pairs(
        data, rows, cand.ravel(), progress=lambda f, m: report(0.4 + 0.5 * f, m),
        _layout=layout)
    del cand, rows
    t2 = time.perf_counter()
    report(0.95, "nearest neighbours")
    fill = 2.0 * SCALE * ep.duration
    neighbors, distances = _nearest(first, second, values, M, k, fill)
    n_undefined = int(np.sum(counts < 2))
    report(1.0, f"SpikeShip: {first.size} epoch pairs exact, {n_undefined} undefined")
    return SpotDisGraph(neighbors, distances, int(first.size), n_undefined,
                        int(np.sum(ep.n_active < 2)), "spikeship", 1.0,
                        {"candidates": t1 - t0, "exact": t2 - t1,
                         "graph": time.perf_counter() - t2},
                        dissimilarity="spikeship", fill_value=fill)


def spikeship_graph_bytes(M, N, n_spikes, n_candidates):
    """Estimated peak bytes of ``spikeship_knn``: the epochs' spikes (relative times and
    CSR, about 3 copies of 8 bytes a spike), the quartile vectors, the candidate search's
    row block (distances and argpartition's indices), and per candidate pair its indices,
    key, value, shift and count and the neighbour sort (about 120 bytes)."""
    Q = float(M) * n_candidates
    spikes = 24.0 * float(n_spikes) + 16.0 * float(M) * (N + 1)
    features = float(M) * N * len(QUARTILES) * 12.0
    search = search_rows(M) * float(M) * 16.0
    return spikes + features + search + Q * 120.0


# ============================================================================ flows
@dataclass
class NeuronFlows:
    """Neuron-specific flows of epochs ``epochs`` against epochs ``reference``: which
    neurons lead or lag, beyond the common shift of each epoch pair.

    For each pair (k in ``epochs``, m in ``reference``, k != m) and each neuron i firing in
    both, ``r_i(k, m)`` is the neuron's mean flow minus the pair's global shift (s):
    positive when i fires later in k than in m relative to the other neurons (it lags in
    ``epochs``), negative when it fires earlier (it leads).

    Attributes
    ----------
    epochs, reference : int64 arrays of epoch indices
    unit_ids : str array (N,)
    mean_flow : float64 (N,)
        Mean of r_i over the pairs where i fires in both epochs (NaN where never).
    sd_flow : float64 (N,)
        Its standard deviation over those pairs (NaN with none).
    mean_cost : float64 (N,)
        Mean of the neuron's transport left after the shift, ``sum w |f - g|`` (s): its part
        of SpikeShip before the normalisation.
    n_pairs : int64 (N,)
        Pairs in which the neuron fires in both epochs.
    shift : float64 (len(epochs) x len(reference))
        Global shift g(k, m) of each pair (s; NaN for k == m or without a common neuron).
    """

    epochs: np.ndarray
    reference: np.ndarray
    unit_ids: np.ndarray
    mean_flow: np.ndarray
    sd_flow: np.ndarray
    mean_cost: np.ndarray
    n_pairs: np.ndarray
    shift: np.ndarray

    def order(self):
        """Neurons from the most leading (most negative mean flow) to the most lagging;
        neurons without a pair last."""
        key = np.where(self.n_pairs > 0, self.mean_flow, np.inf)
        return np.lexsort((np.arange(key.size), key))

    def to_frame(self):
        """One row per neuron in ``order()``: ``unit``, ``unit_id``, ``mean_flow``,
        ``sd_flow``, ``mean_cost`` (s) and ``n_pairs`` (pandas DataFrame)."""
        import pandas as pd

        o = self.order()
        return pd.DataFrame({"unit": o, "unit_id": self.unit_ids[o],
                             "mean_flow": self.mean_flow[o], "sd_flow": self.sd_flow[o],
                             "mean_cost": self.mean_cost[o], "n_pairs": self.n_pairs[o]})


def _epoch_list(name, values, M):
    arr = np.atleast_1d(np.asarray(values)).ravel()
    if arr.size == 0:
        raise ValueError(f"{name}: give at least one epoch")
    if arr.dtype == bool or not np.issubdtype(arr.dtype, np.number) \
            or not np.all(np.equal(np.mod(arr, 1), 0)):
        raise ValueError(f"{name}: expected epoch indices (integers)")
    arr = arr.astype(np.int64)
    if arr.min() < 0 or arr.max() >= M:
        raise ValueError(f"{name}: epoch indices must lie in 0..{M - 1}")
    return arr


def neuron_flows(data, epochs, reference=None, memory_budget=None):
    """Which neurons lead or lag in ``epochs`` against ``reference``, beyond the global shift.

    Sotomayor-Gómez, Battaglia & Vinck (2023), the neuron-specific flows: for every pair
    (k in ``epochs``, m in ``reference``, k != m), each common neuron's mean flow minus the
    pair's global shift, averaged per neuron over the pairs (``NeuronFlows``). With a
    cluster as ``epochs`` and the other epochs as ``reference`` (the default), positive
    values are neurons that fire late in the cluster's pattern compared with the others,
    negative ones early; with one epoch on each side it is that pair's flows.

    Parameters
    ----------
    data : SpikeTrains with epochs
    epochs : sequence of int
    reference : sequence of int, optional; default all epochs not in ``epochs``
    memory_budget : float, optional; bytes for the shift table (None: a quarter of the
        available memory)

    Returns
    -------
    NeuronFlows
    """
    _check_data(data, "SpikeShip")
    M = len(data.epochs)
    a = _epoch_list("epochs", epochs, M)
    if reference is None:
        b = np.setdiff1d(np.arange(M), a)
        if b.size == 0:
            raise ValueError("reference: every epoch is in epochs; give the reference epochs")
    else:
        b = _epoch_list("reference", reference, M)
    budget = available_memory() / 4 if memory_budget is None else float(memory_budget)
    check_memory(f"the flows of {a.size} x {b.size} epoch pairs", 24.0 * a.size * b.size,
                 budget, "give fewer epochs or reference epochs")
    ep, act_ptr, act, span, max_flows = _epoch_layout(data)
    ks = np.repeat(a, b.size)
    ms = np.tile(b, a.size)
    keep = ks != ms
    shift_k, _, _, r_sum, r_sq, c_sum, n = kernels.neuron_flow_sums(
        ks[keep], ms[keep], act_ptr, act, span, ep.rel, ep.n_units, max_flows,
        _FLOW_CHUNKS)
    shift = np.full(ks.size, np.nan)
    shift[keep] = shift_k
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(n > 0, r_sum / np.maximum(n, 1), np.nan)
        var = (r_sq - n * np.where(n > 0, mean, 0.0) ** 2) / np.maximum(n - 1, 1)
        sd = np.where(n > 1, np.sqrt(np.maximum(var, 0.0)), np.nan)
        cost = np.where(n > 0, c_sum / np.maximum(n, 1), np.nan)
    return NeuronFlows(a, b, np.asarray(data.unit_ids).astype(str), mean, sd, cost,
                       n.astype(np.int64), shift.reshape(a.size, b.size))


def pair_flows(data, k, m):
    """The transport plan of one epoch pair, flow by flow (a table to plot).

    Returns a pandas DataFrame with one row per flow of every neuron firing in both epochs:
    ``unit``, ``unit_id``, ``t_k`` and ``t_m`` (the coupled spikes' times from their epoch's
    start, s), ``mass`` (a neuron's masses sum to 1), ``flow`` (``t_k - t_m``) and
    ``residual`` (``flow - g``, g the pair's global shift, in ``attrs["shift"]``).
    ``attrs["spikeship"]`` holds SpikeShip(k, m) (NaN when undefined).
    """
    import pandas as pd

    _check_data(data, "SpikeShip")
    M = len(data.epochs)
    k = int(_epoch_list("k", k, M)[0])
    m = int(_epoch_list("m", m, M)[0])
    tk, ok = data.epoch_spikes(k)
    tm, om = data.epoch_spikes(m)
    units, ids = [], []
    parts = {"t_k": [], "t_m": [], "mass": []}
    unit_ids = np.asarray(data.unit_ids).astype(str)
    for i in range(data.n_units):
        x, y = tk[ok[i]:ok[i + 1]], tm[om[i]:om[i + 1]]
        if x.size == 0 or y.size == 0:
            continue
        ii, jj, mass = kernels.coupling(x.size, y.size)
        parts["t_k"].append(x[ii])
        parts["t_m"].append(y[jj])
        parts["mass"].append(mass)
        units.append(np.full(mass.size, i))
        ids.append(np.full(mass.size, unit_ids[i]))
    cat = {key: np.concatenate(v) if v else np.empty(0) for key, v in parts.items()}
    n_common = len(units)
    flow = cat["t_k"] - cat["t_m"]
    if n_common:
        g = kernels.weighted_median(flow.copy(), cat["mass"].copy(), 0, flow.size,
                                    float(n_common))
    else:
        g = np.nan
    frame = pd.DataFrame({
        "unit": np.concatenate(units) if units else np.empty(0, np.int64),
        "unit_id": np.concatenate(ids) if ids else np.empty(0, str),
        **cat, "flow": flow, "residual": flow - g})
    frame.attrs["shift"] = float(g)
    cost = float(np.sum(cat["mass"] * np.abs(flow - g))) if n_common else 0.0
    frame.attrs["spikeship"] = SCALE * cost / (n_common - 1) if n_common >= 2 else np.nan
    return frame
