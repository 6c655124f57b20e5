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
    # as many blocks as the cache needs, of equal size: a short last block would leave a
    # core idle (120 epochs: 60 + 60 rather than 77 + 43)
    b = -(-M // -(-M // b)) if M else b
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
    ``map_blocks`` in groups of whole row blocks (``fold``), so each group's pairs are one
    or two ranges.
    """
    M, N = ep.n_epochs, ep.n_units
    act_ptr = np.zeros(M + 1, dtype=np.int64)
    np.cumsum(ep.n_active, out=act_ptr[1:])
    act = kernels.epoch_active(ep.offsets, N, act_ptr)
    pair_i, pair_j, _, _ = kernels.pair_epoch_lists(act_ptr, act, N)
    dtype = count_dtype(ep)
    width = 2 * int(np.ceil(ep.duration / period)) + 3   # the widest lag range of a pair
    width += -width % kernels.LAG_BLOCK
    tiles, rows = plan(M, cand_ptr, width, np.dtype(dtype).itemsize, square)
    report(0.04, f"SPOTDis: {tiles.shape[0]} tiles of {rows} epochs, "
                 f"{np.dtype(dtype).name} counts (grid kernel)")
    groups = fold(tiles)
    sums = np.zeros(int(cand_ptr[-1]))
    counts = np.zeros(sums.size, dtype=np.int64)

    def put(acc, result):
        for q0, s, c in result:
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


def fold(tiles, n_groups=20):
    """Tiles in at most ``n_groups`` groups (tasks) of equal work, whole row blocks each.

    The threads of a task meet at its end, so a task's work must split evenly into its
    tiles. Row block r of a square plan has R - r tiles (R blocks): in order, a group of
    the last blocks holds one or two tiles and leaves a core idle (Fig 1 of the paper at 2
    threads: 4 blocks, 80 % of the time busy). Block r goes with block R - 1 - r instead,
    as the continuous kernel pairs its rows: every group then holds about R + 1 tiles.
    """
    start = np.flatnonzero(np.r_[True, tiles[1:, 0] != tiles[:-1, 0]])
    edges = np.r_[start, tiles.shape[0]]
    R = start.size
    pairs = [sorted({g, R - 1 - g}) for g in range((R + 1) // 2)]
    groups = []
    for a, b in _blocks(len(pairs), n_groups):
        blocks = sorted(r for pair in pairs[a:b] for r in pair)
        groups.append(np.concatenate([tiles[edges[r]:edges[r + 1]] for r in blocks]))
    return groups


def _tile_group(tiles, cand_ptr, cand_m, pair_i, pair_j, samples, ep_offsets, n_units,
                proto):
    """The sums of one group of tiles (one task): ``[(q0, sums, counts), ...]``, one per run
    of consecutive row blocks."""
    # runs of row blocks that follow each other: their pairs are one range of q
    rows = np.unique(tiles[:, :2], axis=0)
    new_run = np.r_[True, rows[1:, 0] != rows[:-1, 1]]
    run_q0 = cand_ptr[rows[new_run, 0]]
    run_q1 = cand_ptr[rows[np.r_[new_run[1:], True], 1]]
    run_base = np.r_[0, np.cumsum(run_q1 - run_q0)]
    run = np.searchsorted(rows[new_run, 0], tiles[:, 0], side="right") - 1
    q_shift = (run_q0 - run_base[:-1])[run]
    out_sum = np.zeros(run_base[-1])
    out_cnt = np.zeros(run_base[-1], dtype=np.int32)
    # the biggest tiles first and one tile at a time per thread: the diagonal tiles hold
    # half the pairs of the others, and a static split would leave a core idle
    size = np.array([_tile_pairs(t, cand_ptr, cand_m) for t in tiles])
    order = np.argsort(-size, kind="stable")
    with numba.parallel_chunksize(1):
        kernels.grid_tiles(np.ascontiguousarray(tiles[order]), cand_ptr, cand_m, pair_i,
                           pair_j, samples, ep_offsets, n_units, proto,
                           np.ascontiguousarray(q_shift[order]), out_sum, out_cnt)
    return [(int(q0), out_sum[a:b], out_cnt[a:b].astype(np.int64))
            for q0, a, b in zip(run_q0, run_base[:-1], run_base[1:])]


def _tile_pairs(tile, cand_ptr, cand_m):
    r0, r1, c0, c1 = (int(x) for x in tile)
    return sum(int(np.searchsorted(cand_m[cand_ptr[k]:cand_ptr[k + 1]], c1)
                   - np.searchsorted(cand_m[cand_ptr[k]:cand_ptr[k + 1]], c0))
               for k in range(r0, r1))
