"""SPOTDis: the full M x M matrix between all epochs of a recording (see the package's
docstring for the definition and the choices made)."""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from ..errors import available_memory, check_memory
from ..kernels import spotdis as kernels
from ..parallel import map_blocks
from .epochs import _blocks, _kernel_name, _prepare
from .tiles import all_pairs, grid_sums

__all__ = ["SpotDis", "spotdis"]


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
    ep, period, samples = _prepare(data, sampling_period, method)
    use_grid = period is not None
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
        total, count = _grid_sums(ep, period, samples, report, scheduler)
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


def _delay_bytes(ep):
    """Bytes the continuous kernel stores: every active pair's delays in every epoch."""
    n_delays = float(ep.n_delays.sum())
    off = 4 if n_delays < 2 ** 31 - 1 else 8
    return 8.0 * n_delays + off * float(ep.n_pairs.sum())


def _matrix_bytes(ep, use_grid):
    """Estimated peak bytes of ``spotdis``: the M x M results and their temporaries (about
    49 bytes an entry), plus the grid kernel's pair list, sums and counts (36 bytes per
    epoch pair k < m, 18 an entry) or the continuous kernel's stored delays."""
    M2 = float(ep.n_epochs) ** 2
    if use_grid:
        return 49.0 * M2 + 18.0 * M2
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


def _grid_sums(ep, period, samples, report, scheduler=None):
    """Sums (in samples) and counts of all epoch pairs, as M x M upper triangles."""
    M = ep.n_epochs
    cand_ptr, cand_m = all_pairs(M)
    s, c = grid_sums(ep, period, samples, cand_ptr, cand_m, True, report, scheduler)
    total = np.zeros((M, M))
    count = np.zeros((M, M), dtype=np.int64)
    iu = np.triu_indices(M, 1)
    total[iu] = s
    count[iu] = c
    return total, count
