"""The grid kernel's work in cache-sized tiles of epoch pairs (full matrix and graph alike).

Per neuron pair and epoch the grid kernel keeps a row of cumulative delay counts, one
entry per lag (2 T / period + 1 of them: 601 for the paper's 300 ms at 1 ms). Walking all
epoch pairs of one neuron pair, as a first version did, touches M such rows at random: 300
epochs x 601 lags x 4 bytes is 0.7 MiB, which fits a large L2 cache and spills a 1 MiB one
once the M x M accumulators are added, and then every lag sum waits for memory (2.1 s on
one machine, 41-50 s on another with the same code). So the epoch pairs are cut into
tiles: a tile's rows are a run of epochs and its columns their partners, and per neuron
pair only the tile's rows of counts are built, in the narrowest integer type that holds
them, so that they and the tile's sums fit ``CACHE_BUDGET`` while every pair of the tile
is walked. A count row is built once per tile instead of once per recording, which costs
little next to the pairs it serves.
"""

from __future__ import annotations

import numba
import numpy as np

from ..kernels import spotdis as kernels
from ..parallel import map_blocks
from .epochs import _blocks

#: Bytes of count rows and sums one thread works on at a time. 256 KiB fits the L2
#: cache of every current x86-64 and ARM core (256 KiB to 2 MiB) with room for the rest;
#: the machine's own sizes are printed by ``benchmarks/spotdis.py``.
CACHE_BUDGET = 256 * 1024

_SUM_BYTES = 12          # per epoch pair: float64 sum and int32 count


def all_pairs(M):
    """Every epoch pair (k < m) as candidates in CSR by k, in ``np.triu_indices`` order."""
    ptr = np.zeros(M + 1, dtype=np.int64)
    np.cumsum(np.arange(M - 1, -1, -1), out=ptr[1:])
    ks = np.repeat(np.arange(M), M - 1 - np.arange(M))
    return ptr, (np.arange(ptr[-1]) - ptr[ks] + ks + 1).astype(np.int64)


def count_dtype(ep):
    """The narrowest integer type that holds every epoch's delay count n_i n_j."""
    if ep.counts.shape[1] < 2:
        return np.uint8
    top = -np.partition(-ep.counts, 1, axis=1)[:, :2]
    most = int(np.max(top[:, 0] * top[:, 1])) if top.size else 0
    for dtype in (np.uint8, np.uint16, np.int32):
        if most <= np.iinfo(dtype).max:
            return dtype
    raise AssertionError("counts beyond int32 are refused by _grid_unsuitable")


def _rows_per_tile(width, itemsize, partners, square):
    """Rows of a tile whose count rows and sums fit ``CACHE_BUDGET`` (at least 1).

    A square tile of B rows has at most 2 B epochs and B^2 pairs; a row tile (candidate
    lists) at most B (1 + c) epochs and B c pairs, c partners per row.
    """
    row = width * itemsize
    best = 1
    for b in range(1, 4097):
        if square:
            need = 2 * b * row + _SUM_BYTES * b * b
        else:
            need = b * (1 + partners) * row + _SUM_BYTES * b * partners
        if need > CACHE_BUDGET:
            break
        best = b
    return best


def plan(M, cand_ptr, width, itemsize, square):
    """Tiles ``(r0, r1, c0, c1)`` covering every candidate pair once, row blocks in order.

    ``square``: all pairs (the full matrix), cut into row block x column block tiles on
    and above the diagonal; else candidate lists (the graph), cut into row blocks.
    """
    partners = int(np.max(np.diff(cand_ptr))) if M else 0
    b = _rows_per_tile(width, itemsize, partners, square)
    starts = np.arange(0, M, b)
    tiles = []
    for r0 in starts:
        r1 = min(M, r0 + b)
        if square:
            tiles += [(r0, r1, c0, min(M, c0 + b)) for c0 in starts[starts >= r0]]
        else:
            tiles.append((r0, r1, 0, M))
    return np.array(tiles, dtype=np.int64).reshape(-1, 4), b


def grid_sums(ep, period, samples, cand_ptr, cand_m, square, report, scheduler=None):
    """W1 sums (in samples) and neuron-pair counts of the candidate pairs, grid kernel.

    Returns float64 (Q,) and int64 (Q,) in the order of ``cand_m``. Tiles go to
    ``map_blocks`` in groups of whole row blocks, so each group's pairs are one range.
    """
    M, N = ep.n_epochs, ep.n_units
    act_ptr = np.zeros(M + 1, dtype=np.int64)
    np.cumsum(ep.n_active, out=act_ptr[1:])
    act = kernels.epoch_active(ep.offsets, N, act_ptr)
    pair_i, pair_j, _, _ = kernels.pair_epoch_lists(act_ptr, act, N)
    dtype = count_dtype(ep)
    width = 2 * int(np.ceil(ep.duration / period)) + 3   # the widest lag range of a pair
    tiles, rows = plan(M, cand_ptr, width, np.dtype(dtype).itemsize, square)
    report(0.04, f"SPOTDis: {tiles.shape[0]} tiles of {rows} epochs, "
                 f"{np.dtype(dtype).name} counts (grid kernel)")
    block_start = np.flatnonzero(np.r_[True, tiles[1:, 0] != tiles[:-1, 0]])
    block_edges = np.r_[block_start, tiles.shape[0]]
    groups = [tiles[block_edges[a]:block_edges[b]]
              for a, b in _blocks(block_start.size, 20)]
    sums = np.zeros(int(cand_ptr[-1]))
    counts = np.zeros(sums.size, dtype=np.int64)

    def put(acc, result):
        q0, s, c = result
        sums[q0:q0 + s.size] = s
        counts[q0:q0 + c.size] = c
        return acc

    map_blocks(_tile_group, groups, backend="serial", scheduler=scheduler,
               shared=dict(cand_ptr=cand_ptr, cand_m=cand_m, pair_i=pair_i, pair_j=pair_j,
                           samples=samples, ep_offsets=ep.offsets, n_units=N,
                           proto=np.empty(0, dtype=dtype)),
               reduce=put, initial=None, label="tile group",
               progress=lambda f, m: report(0.05 + 0.95 * f, f"SPOTDis: {m} (grid kernel)"))
    return sums, counts


def _tile_group(tiles, cand_ptr, cand_m, pair_i, pair_j, samples, ep_offsets, n_units,
                proto):
    """The sums of one group of tiles (one task): ``(q0, sums, counts)`` of its pairs."""
    q0 = int(cand_ptr[tiles[0, 0]])
    q1 = int(cand_ptr[tiles[-1, 1]])
    out_sum = np.zeros(q1 - q0)
    out_cnt = np.zeros(q1 - q0, dtype=np.int32)
    # the biggest tiles first and one tile at a time per thread: the diagonal tiles hold
    # half the pairs of the others, and a static split would leave a core idle
    size = np.array([_tile_pairs(t, cand_ptr, cand_m) for t in tiles])
    order = np.argsort(-size, kind="stable")
    with numba.parallel_chunksize(1):
        kernels.grid_tiles(np.ascontiguousarray(tiles[order]), cand_ptr, cand_m, pair_i,
                           pair_j, samples, ep_offsets, n_units, proto, q0, out_sum, out_cnt)
    return q0, out_sum, out_cnt.astype(np.int64)


def _tile_pairs(tile, cand_ptr, cand_m):
    r0, r1, c0, c1 = (int(x) for x in tile)
    return sum(int(np.searchsorted(cand_m[cand_ptr[k]:cand_ptr[k + 1]], c1)
                   - np.searchsorted(cand_m[cand_ptr[k]:cand_ptr[k + 1]], c0))
               for k in range(r0, r1))
