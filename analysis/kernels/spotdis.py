"""numba kernels for SPOTDis (Grossberger, Battaglia & Vinck 2018).

Grossberger L, Battaglia FP, Vinck M (2018), "Unsupervised clustering of temporal patterns
in high-dimensional neuronal ensembles using a novel dissimilarity measure", PLoS Comput
Biol 14(7): e1006283.

For epochs k, m and neurons i < j the kernels compare the multisets of delays
``t_j - t_i`` (all spikes of i and j in the epoch, each delay with mass 1/n) by the 1-D
earth mover's (Wasserstein-1) distance, the integral of |F_k - F_m| over the lag axis.
They return, per epoch pair, the *sum* of these distances over the neuron pairs that fire
in both epochs and how many such pairs there are; normalisation (2 T) and the mean are
applied by the caller (``analysis.spotdis``).

Two exact kernels:

* continuous time (``continuous_rows``): every epoch's sorted active neurons and each
  active pair's sorted delays are built once (``epoch_delays``; pairs indexed by their
  position in the upper triangle of the epoch's active list, which halves the offsets);
  an epoch pair intersects the two sorted active lists and visits only the pairs of
  common neurons, each by one pass over two sorted arrays (``w1_sorted``). Cost per epoch
  pair grows with the common pairs' delays, never with N^2, which keeps sparse
  recordings cheap. Memory: 8 bytes per delay, sum over epochs of (spikes^2 / 2).
* sample grid (``grid_pairs``): when spike times are multiples of a sampling period the
  delays are whole numbers of samples, and per neuron pair and epoch the cumulative count
  ``C(lag) = #{delays <= lag}`` over the pair's lag range gives
  ``W1 * n_k * n_m = sum_lag |C_k(lag) n_m - C_m(lag) n_k|`` in exact integer arithmetic.
  The loop runs pair by pair (the pair's table stays in cache) over the epoch pairs where
  the pair is active in both; its innermost lag loop is a plain integer loop that LLVM
  vectorizes, in int32 lanes wherever the sum cannot overflow (``_lag_sum``; numba alone
  would widen it to int64), over lag ranges padded to whole vectors, two partners of an
  epoch per pass (``_lag_sums2``).

Blocks of work are one call: a set of epoch rows (continuous) or a range of neuron pairs
(grid), so the caller can report progress between blocks.
"""

from __future__ import annotations

import numpy as np
from llvmlite import ir
from numba import njit, prange, types
from numba.extending import intrinsic


# ---------------------------------------------------------------------------- epochs
@njit(cache=True, nogil=True)
def _first_at_least(a, lo, hi, x):
    """First index in [lo, hi) with a[index] >= x (hi if none); a sorted."""
    while lo < hi:
        mid = (lo + hi) >> 1
        if a[mid] < x:
            lo = mid + 1
        else:
            hi = mid
    return lo


@njit(cache=True, nogil=True)
def _first_above(a, lo, hi, x):
    """First index in [lo, hi) with a[index] > x (hi if none); a sorted."""
    while lo < hi:
        mid = (lo + hi) >> 1
        if a[mid] <= x:
            lo = mid + 1
        else:
            hi = mid
    return lo


@njit(cache=True, parallel=True, nogil=True)
def epoch_counts(times, offsets, starts, stops, closed):
    """First spike index and spike count of every unit in every epoch.

    Epoch k is [starts[k], stops[k]) (closed at the stop where ``closed[k]``), the same
    rule as ``SpikeTrains.epoch_spikes``.

    Returns
    -------
    first : int64 (M x N), counts : int64 (M x N)
    """
    n_ep = starts.shape[0]
    n_units = offsets.shape[0] - 1
    first = np.empty((n_ep, n_units), dtype=np.int64)
    counts = np.empty((n_ep, n_units), dtype=np.int64)
    for k in prange(n_ep):
        for i in range(n_units):
            a, b = offsets[i], offsets[i + 1]
            lo = _first_at_least(times, a, b, starts[k])
            if closed[k]:
                hi = _first_above(times, lo, b, stops[k])
            else:
                hi = _first_at_least(times, lo, b, stops[k])
            first[k, i] = lo
            counts[k, i] = hi - lo
    return first, counts


@njit(cache=True, nogil=True)
def _gallop(a, lo, hi, x, above):
    """First index in [lo, hi) with a[index] >= x (``above``: > x), hi if none; a sorted.
    Steps 1, 2, 4, ... from lo, then a binary search: O(log distance), so a walk over
    increasing x costs about one step per spike or per x, whichever is more."""
    step = 1
    while lo + step <= hi - 1 and (a[lo + step - 1] <= x if above else a[lo + step - 1] < x):
        lo += step
        step *= 2
    top = min(lo + step, hi)
    if above:
        return _first_above(a, lo, top, x)
    return _first_at_least(a, lo, top, x)


@njit(cache=True, parallel=True, nogil=True)
def epoch_counts_sorted(times, offsets, starts, stops, closed):
    """``epoch_counts`` for epochs whose starts and stops both never decrease (trials in
    time order, sliding windows): per unit, one galloping walk over its spikes instead of
    two binary searches per epoch (Allen example, 200 epochs x 990 units: 3.7 -> about
    1 ms). Same results."""
    n_ep = starts.shape[0]
    n_units = offsets.shape[0] - 1
    first = np.empty((n_ep, n_units), dtype=np.int64)
    counts = np.empty((n_ep, n_units), dtype=np.int64)
    for i in prange(n_units):
        b = offsets[i + 1]
        lo = offsets[i]
        hi = lo
        for k in range(n_ep):
            lo = _gallop(times, lo, b, starts[k], False)
            hi = _gallop(times, max(hi, lo), b, stops[k], closed[k])
            first[k, i] = lo
            counts[k, i] = hi - lo
    return first, counts


@njit(cache=True, parallel=True, nogil=True)
def gather_epochs(times, first, ep_offsets, starts):
    """Spike times relative to their epoch's start, epoch-major then unit (CSR).

    Unit i of epoch k owns ``out[ep_offsets[k * N + i]:ep_offsets[k * N + i + 1]]``.
    """
    n_ep, n_units = first.shape
    out = np.empty(ep_offsets[-1], dtype=np.float64)
    for k in prange(n_ep):
        s = starts[k]
        for i in range(n_units):
            p0 = ep_offsets[k * n_units + i]
            p1 = ep_offsets[k * n_units + i + 1]
            f = first[k, i]
            for q in range(p1 - p0):
                out[p0 + q] = times[f + q] - s
    return out


@njit(cache=True, parallel=True, nogil=True)
def off_grid_count(rel, absolute, period, rel_tol):
    """Number of spikes whose relative time is not a multiple of ``period``.

    A time passes when ``|x - round(x)| <= rel_tol * max(1, |t_abs| / period)`` with
    ``x = t_rel / period``: a relative tolerance on the spike's own time, which absorbs
    the rounding of ``t_abs - epoch_start``.
    """
    bad = 0
    for q in prange(rel.shape[0]):
        x = rel[q] / period
        tol = rel_tol * max(1.0, abs(absolute[q]) / period)
        if abs(x - np.rint(x)) > tol:
            bad += 1
    return bad


# ------------------------------------------------------------------- active neurons
@njit(cache=True, nogil=True)
def _tri(a, b, n):
    """Index of the pair (a, b), a < b, among the n (n - 1) / 2 pairs of n items."""
    return a * n - (a * (a + 1)) // 2 + (b - a - 1)


@njit(cache=True, parallel=True, nogil=True)
def epoch_active(ep_offsets, n_units, act_ptr):
    """Sorted active neuron indices of every epoch, concatenated (``act_ptr`` CSR)."""
    n_ep = act_ptr.shape[0] - 1
    act = np.empty(act_ptr[-1], dtype=np.int64)
    for k in prange(n_ep):
        p = act_ptr[k]
        for i in range(n_units):
            if ep_offsets[k * n_units + i + 1] > ep_offsets[k * n_units + i]:
                act[p] = i
                p += 1
    return act


@njit(cache=True, nogil=True)
def _sort_small(a):
    """Sort in place: insertion sort for the short arrays of sparse data, else numpy's."""
    n = a.shape[0]
    if n > 16:
        a.sort()
        return
    for q in range(1, n):
        v = a[q]
        r = q - 1
        while r >= 0 and a[r] > v:
            a[r + 1] = a[r]
            r -= 1
        a[r + 1] = v


@njit(cache=True, parallel=True, nogil=True)
def epoch_delays(rel, ep_offsets, n_units, act_ptr, act, pair_base, delay_base, pair_off,
                 delays):
    """Sorted delays of every active neuron pair of every epoch, in one flat buffer.

    Epoch k's active pair (a, b), a < b local positions in its active list (so neuron
    act[a] < act[b]), has global index ``g = pair_base[k] + _tri(a, b, n_active_k)`` and
    owns ``delays[pair_off[g]:pair_off[g + 1]]``: all ``t_j - t_i`` (s), sorted.

    ``pair_off`` (pair_base[-1] + 1 entries; int32 halves it when the delays allow) and
    ``delays`` (delay_base[-1] entries, float64) are filled in place.
    """
    n_ep = act_ptr.shape[0] - 1
    total_pairs = pair_base[-1]
    pair_off[total_pairs] = delay_base[-1]
    for k in prange(n_ep):
        a0 = act_ptr[k]
        na = act_ptr[k + 1] - a0
        g = pair_base[k]
        d = delay_base[k]
        for a in range(na):
            i = act[a0 + a]
            i0 = ep_offsets[k * n_units + i]
            i1 = ep_offsets[k * n_units + i + 1]
            for b in range(a + 1, na):
                j = act[a0 + b]
                j0 = ep_offsets[k * n_units + j]
                j1 = ep_offsets[k * n_units + j + 1]
                pair_off[g] = d
                start = d
                if j1 - j0 == 1:
                    # one spike of j: t_j - t_i falls as t_i rises, so walk i backwards
                    tj = rel[j0]
                    for q in range(i1 - 1, i0 - 1, -1):
                        delays[d] = tj - rel[q]
                        d += 1
                else:
                    for q in range(i0, i1):
                        ti = rel[q]
                        for r in range(j0, j1):
                            delays[d] = rel[r] - ti
                            d += 1
                    if i1 - i0 > 1:
                        _sort_small(delays[start:d])
                g += 1


# ------------------------------------------------------------------- continuous kernel
@njit(cache=True, nogil=True)
def w1_sorted(x, x0, x1, y, y0, y1):
    """Wasserstein-1 distance of two non-empty sorted samples with uniform masses.

    Quantile form, ``W1 = integral over u in (0, 1) of |Q_x(u) - Q_y(u)|``: the quantile
    functions step at u = i / n and u = j / m, so on the integer axis [0, n m] the
    breakpoints are i m and j n, and between consecutive ones x[i] faces y[j]. The walk
    over breakpoints depends on n and m only, never on the values, so the loads are off
    the loop's critical path (about 2.5x faster here than merging by value). Equal sizes
    reduce to the mean of |x[i] - y[i]|, and a single point to its mean distance from the
    other sample.
    """
    n = x1 - x0
    m = y1 - y0
    xs = x[x0:x1]
    ys = y[y0:y1]
    acc = 0.0
    if n == m:
        for i in range(n):
            acc += abs(xs[i] - ys[i])
        return acc / n
    if n == 1:
        v = xs[0]
        for j in range(m):
            acc += abs(v - ys[j])
        return acc / m
    if m == 1:
        v = ys[0]
        for i in range(n):
            acc += abs(xs[i] - v)
        return acc / n
    total = n * m
    i = 0
    j = 0
    pos = 0
    next_i = m
    next_j = n
    while pos < total:
        nxt = min(next_i, next_j)
        acc += abs(xs[i] - ys[j]) * (nxt - pos)
        pos = nxt
        if next_i == nxt:
            i += 1
            next_i += m
        if next_j == nxt:
            j += 1
            next_j += n
    return acc / total


@njit(cache=True, nogil=True)
def _row(k, n_ep, act_ptr, act, pair_base, pair_off, delays, out_sum, out_cnt, q):
    a0 = act_ptr[k]
    na = act_ptr[k + 1] - a0
    if na < 2:
        return
    pk = np.empty(na, dtype=np.int64)
    pm = np.empty(na, dtype=np.int64)
    for m in range(k + 1, n_ep):
        b0 = act_ptr[m]
        nb = act_ptr[m + 1] - b0
        if nb < 2:
            continue
        # common active neurons: two pointers over the sorted lists
        c = 0
        a = 0
        b = 0
        while a < na and b < nb:
            ia = act[a0 + a]
            ib = act[b0 + b]
            if ia == ib:
                pk[c] = a
                pm[c] = b
                c += 1
                a += 1
                b += 1
            elif ia < ib:
                a += 1
            else:
                b += 1
        if c < 2:
            continue
        s = 0.0
        gk0 = pair_base[k]
        gm0 = pair_base[m]
        for u in range(c - 1):
            au = pk[u]
            bu = pm[u]
            rk = gk0 + au * na - (au * (au + 1)) // 2 - au - 1
            rm = gm0 + bu * nb - (bu * (bu + 1)) // 2 - bu - 1
            for v in range(u + 1, c):
                gk = rk + pk[v]
                gm = rm + pm[v]
                x0 = pair_off[gk]
                x1 = pair_off[gk + 1]
                y0 = pair_off[gm]
                y1 = pair_off[gm + 1]
                if x1 - x0 == 1 and y1 - y0 == 1:   # single spikes: sparse recordings
                    s += abs(delays[x0] - delays[y0])
                else:
                    s += w1_sorted(delays, x0, x1, delays, y0, y1)
        out_sum[q, m] = s
        out_cnt[q, m] = c * (c - 1) // 2


@njit(cache=True, parallel=True, nogil=True)
def continuous_rows(rows, n_ep, act_ptr, act, pair_base, pair_off, delays):
    """Sum of W1 (s) over common active pairs, and their number, for rows x all m > row.

    Parameters
    ----------
    rows : int64 array of epoch indices; the work of row k falls with k, so pass rows
        paired as (k, M - 1 - k, ...) for even threads.
    n_ep : number of epochs M
    act_ptr, act, pair_base, pair_off, delays : from ``epoch_active`` / ``epoch_delays``

    Returns
    -------
    out_sum : float64 (len(rows) x M), out_cnt : int64 (len(rows) x M); entries with
        m <= row are 0.
    """
    n = rows.shape[0]
    out_sum = np.zeros((n, n_ep), dtype=np.float64)
    out_cnt = np.zeros((n, n_ep), dtype=np.int64)
    for q in prange(n):
        _row(rows[q], n_ep, act_ptr, act, pair_base, pair_off, delays, out_sum, out_cnt, q)
    return out_sum, out_cnt


# ------------------------------------------------------------------------- grid kernel
@njit(cache=True, nogil=True)
def pair_epoch_lists(act_ptr, act, n_units):
    """For every neuron pair active in >= 2 epochs: the epochs where both fire.

    Returns ``(pair_i, pair_j, ptr, epochs)``: pair p = (pair_i[p], pair_j[p]) is active in
    ``epochs[ptr[p]:ptr[p + 1]]`` (ascending). Uses two N (N - 1) / 2 int32 arrays
    (N < 65536).
    """
    n_ep = act_ptr.shape[0] - 1
    n_all = n_units * (n_units - 1) // 2
    count = np.zeros(n_all, dtype=np.int32)
    for k in range(n_ep):
        a0 = act_ptr[k]
        na = act_ptr[k + 1] - a0
        for a in range(na):
            i = act[a0 + a]
            base = i * n_units - (i * (i + 1)) // 2 - i - 1
            for b in range(a + 1, na):
                count[base + act[a0 + b]] += 1
    n_pairs = 0
    n_entries = 0
    for g in range(n_all):
        if count[g] >= 2:
            n_pairs += 1
            n_entries += count[g]
    slot = np.full(n_all, -1, dtype=np.int32)
    pair_i = np.empty(n_pairs, dtype=np.int64)
    pair_j = np.empty(n_pairs, dtype=np.int64)
    ptr = np.empty(n_pairs + 1, dtype=np.int64)
    p = 0
    e = 0
    for i in range(n_units):
        for j in range(i + 1, n_units):
            g = _tri(i, j, n_units)
            if count[g] >= 2:
                slot[g] = p
                pair_i[p] = i
                pair_j[p] = j
                ptr[p] = e
                e += count[g]
                p += 1
    ptr[n_pairs] = e
    fill = ptr[:-1].copy()
    epochs = np.empty(n_entries, dtype=np.int64)
    for k in range(n_ep):
        a0 = act_ptr[k]
        na = act_ptr[k + 1] - a0
        for a in range(na):
            i = act[a0 + a]
            base = i * n_units - (i * (i + 1)) // 2 - i - 1
            for b in range(a + 1, na):
                s = slot[base + act[a0 + b]]
                if s >= 0:
                    epochs[fill[s]] = k
                    fill[s] += 1
    return pair_i, pair_j, ptr, epochs


# numba types every integer operation at 64 bits at least (int32 * int32 is int64), so a
# lag loop written in int32 is still vectorized as 8 int64 lanes with vpmullq, whatever
# truncations surround it (LLVM does not narrow the multiplications back). These two
# intrinsics emit i32 arithmetic directly: 16 lanes of vpmulld per AVX-512 register, 1.7x
# faster per lag on the development machine. Callers make sure nothing overflows.
@intrinsic
def _abs_cross_i32(typingctx, a, nb, b, na):
    """|a nb - b na| in int32 arithmetic (no overflow: the caller bounds the operands)."""
    sig = types.int32(types.int32, types.int32, types.int32, types.int32)

    def codegen(context, builder, signature, args):
        a, nb, b, na = args
        d = builder.sub(builder.mul(a, nb), builder.mul(b, na))
        negative = builder.icmp_signed("<", d, ir.Constant(d.type, 0))
        return builder.select(negative, builder.neg(d), d)

    return sig, codegen


@intrinsic
def _add_i32(typingctx, a, b):
    """a + b in int32 arithmetic (no overflow: the caller bounds the sum)."""
    sig = types.int32(types.int32, types.int32)

    def codegen(context, builder, signature, args):
        return builder.add(args[0], args[1])

    return sig, codegen


#: Lag ranges are widened to multiples of this many lags (count tables are padded to
#: match): the vectorized loop then never leaves a scalar remainder (16 int32 lanes).
LAG_BLOCK = 16

_I32_LIMIT = 2 ** 31 - 1


@njit(cache=True, nogil=True)
def _lag_sum(ta, tb, na, nb, l0, l1):
    """sum over lags l0..l1-1 of |ta[l] nb - tb[l] na| (int64).

    ta, tb are cumulative counts (ta[l] <= na, tb[l] <= nb), so every term is at most
    na nb and the sum at most (l1 - l0) na nb: below 2^31 the loop runs in int32 lanes
    (``_abs_cross_i32``), twice as many per vector as int64; else in int64.
    """
    # slices indexed from 0 let LLVM drop numba's negative-index wraparound, which
    # otherwise turns the loop into gathers (20x slower)
    a = ta[l0:l1]
    b = tb[l0:l1]
    n = a.shape[0]
    nab = na * nb                   # < 2^62: each of them is below 2^31
    if nab <= _I32_LIMIT and nab * n <= _I32_LIMIT:
        na32 = np.int32(na)
        nb32 = np.int32(nb)
        s32 = np.int32(0)
        for l in range(n):
            s32 = _add_i32(s32, _abs_cross_i32(np.int32(a[l]), nb32, np.int32(b[l]), na32))
        return np.int64(s32)
    s = np.int64(0)
    for l in range(n):
        s += abs(np.int64(a[l]) * nb - np.int64(b[l]) * na)
    return s


@njit(cache=True, nogil=True)
def _lag_sums2(ta, tb, tc, na, nb, nc, l0, l1):
    """``_lag_sum`` of (ta, tb) and of (ta, tc) in one pass over ta.

    Loads ta once for both and pays the loop's fixed costs (the exit branch, whose trip
    count varies from pair to pair, and the final horizontal sums) once: about 10 % per
    pair on the development machine. int32 lanes when both sums fit, else one by one.
    """
    a = ta[l0:l1]
    b = tb[l0:l1]
    c = tc[l0:l1]
    n = a.shape[0]
    nab = na * nb
    nac = na * nc
    if nab > _I32_LIMIT or nac > _I32_LIMIT or max(nab, nac) * n > _I32_LIMIT:
        return _lag_sum(ta, tb, na, nb, l0, l1), _lag_sum(ta, tc, na, nc, l0, l1)
    na32 = np.int32(na)
    nb32 = np.int32(nb)
    nc32 = np.int32(nc)
    sb = np.int32(0)
    sc = np.int32(0)
    for l in range(n):
        x = np.int32(a[l])
        sb = _add_i32(sb, _abs_cross_i32(x, nb32, np.int32(b[l]), na32))
        sc = _add_i32(sc, _abs_cross_i32(x, nc32, np.int32(c[l]), na32))
    return np.int64(sb), np.int64(sc)


@njit(cache=True, nogil=True)
def _running_counts(row):
    """Running sums of a row of counts in place, 64 bits at a time (SWAR).

    A plain ``row[l] += row[l - 1]`` loop is a chain of dependent adds, one element a cycle,
    and was a third of the grid kernel's table building. Here a word of 8 / itemsize
    lanes times ``ones`` (1 in every lane) holds the lanes' running sums (lane k gets
    lanes 0..k; nothing carries between lanes, as every running sum is at most the row's
    total, which the row's dtype holds), and only the words' totals form a chain.
    ``row`` is contiguous and a whole number of 8-byte words long.
    """
    words = row.view(np.uint64)
    bits = 8 * row.itemsize
    ones = np.uint64(0)
    for lane in range(8 // row.itemsize):
        ones |= np.uint64(1) << np.uint64(bits * lane)
    top = np.uint64(64 - bits)
    run = np.uint64(0)
    for t in range(words.shape[0]):
        w = words[t] * ones
        words[t] = w + run * ones
        run += w >> top


@njit(cache=True, nogil=True)
def _grid_tile(r0, r1, c0, c1, cand_ptr, cand_m, pair_i, pair_j, samples, ep_offsets,
               n_units, proto, q0, out_sum, out_cnt):
    """Exact W1 sums (in samples) of the candidate pairs (k, m), r0 <= k < r1, c0 <= m < c1.

    The tile's epochs are its rows and their partners. Per neuron pair, each of them where
    both neurons fire gets one row of cumulative delay counts, ``table[e, l - lmin] =
    #{delays <= l}``, in the dtype of ``proto`` (the narrowest that holds the counts); then
    every candidate pair of the tile where the neuron pair fires in both epochs adds
    ``sum_l |C_k(l) n_m - C_m(l) n_k| / (n_k n_m)``. The caller sizes tiles so that these
    rows stay in cache while all the tile's pairs are walked.
    """
    n_rows = r1 - r0
    # each row's slice of partners in [c0, c1) (partners are sorted)
    qa = np.empty(n_rows, dtype=np.int64)
    qb = np.empty(n_rows, dtype=np.int64)
    n_q = 0
    for r in range(n_rows):
        k = r0 + r
        qa[r] = cand_ptr[k] + np.searchsorted(cand_m[cand_ptr[k]:cand_ptr[k + 1]], c0)
        qb[r] = cand_ptr[k] + np.searchsorted(cand_m[cand_ptr[k]:cand_ptr[k + 1]], c1)
        n_q += qb[r] - qa[r]
    if n_q == 0:
        return
    # the tile's epochs, sorted and unique, and the table row of every row and partner
    eps = np.empty(n_rows + n_q, dtype=np.int64)
    e = 0
    for r in range(n_rows):
        eps[e] = r0 + r
        e += 1
        for q in range(qa[r], qb[r]):
            eps[e] = cand_m[q]
            e += 1
    eps = np.unique(eps)
    E = eps.shape[0]
    row_slot = np.searchsorted(eps, np.arange(r0, r1))
    partner_slot = np.empty(n_q, dtype=np.int64)
    e = 0
    for r in range(n_rows):
        for q in range(qa[r], qb[r]):
            partner_slot[e] = np.searchsorted(eps, cand_m[q])
            e += 1
    lo = np.empty(E, dtype=np.int64)
    hi = np.empty(E, dtype=np.int64)
    nn = np.zeros(E, dtype=np.int64)
    buf = np.empty(0, dtype=proto.dtype)
    for p in range(pair_i.shape[0]):
        i = pair_i[p]
        j = pair_j[p]
        lmin = np.int64(1) << 62
        lmax = -lmin
        n_active = 0
        for s in range(E):
            k = eps[s]
            i0 = ep_offsets[k * n_units + i]
            i1 = ep_offsets[k * n_units + i + 1]
            j0 = ep_offsets[k * n_units + j]
            j1 = ep_offsets[k * n_units + j + 1]
            if i1 == i0 or j1 == j0:
                nn[s] = 0
                continue
            lo[s] = samples[j0] - samples[i1 - 1]
            hi[s] = samples[j1 - 1] - samples[i0]
            nn[s] = (i1 - i0) * (j1 - j0)
            lmin = min(lmin, lo[s])
            lmax = max(lmax, hi[s])
            n_active += 1
        if n_active < 2:
            continue
        # padded to whole lag blocks: past lmax every count is complete and the terms 0
        width = -(-(lmax - lmin + 1) // LAG_BLOCK) * LAG_BLOCK
        if buf.shape[0] < E * width:
            buf = np.empty(E * width, dtype=proto.dtype)
        table = buf[:E * width].reshape((E, width))
        for s in range(E):
            if nn[s] == 0:
                continue
            k = eps[s]
            i0 = ep_offsets[k * n_units + i]
            i1 = ep_offsets[k * n_units + i + 1]
            j0 = ep_offsets[k * n_units + j]
            j1 = ep_offsets[k * n_units + j + 1]
            row = table[s]
            row[:] = 0
            for q in range(i0, i1):
                si = samples[q] + lmin
                for r in range(j0, j1):
                    row[samples[r] - si] += 1
            _running_counts(row)
        e = 0
        for r in range(n_rows):
            sk = row_slot[r]
            nk = nn[sk]
            if nk == 0:
                e += qb[r] - qa[r]
                continue
            tk = table[sk]
            # partners two at a time: one pass over tk for both (see _lag_sums2)
            held = -1
            for q in range(qa[r], qb[r]):
                sm = partner_slot[e]
                e += 1
                nm = nn[sm]
                if nm == 0:
                    continue
                if held < 0:
                    held, sh = q, sm
                    continue
                nh = nn[sh]
                # from the first lag where any count is nonzero to the last max(hi), where
                # all are complete, widened to whole lag blocks (terms outside are 0)
                l0 = (min(lo[sk], lo[sh], lo[sm]) - lmin) // LAG_BLOCK * LAG_BLOCK
                l1 = -(-(max(hi[sk], hi[sh], hi[sm]) - lmin) // LAG_BLOCK) * LAG_BLOCK
                x, y = _lag_sums2(tk, table[sh], table[sm], nk, nh, nm, l0, l1)
                out_sum[held - q0] += x / (nk * nh)
                out_cnt[held - q0] += 1
                out_sum[q - q0] += y / (nk * nm)
                out_cnt[q - q0] += 1
                held = -1
            if held >= 0:
                nh = nn[sh]
                l0 = (min(lo[sk], lo[sh]) - lmin) // LAG_BLOCK * LAG_BLOCK
                l1 = -(-(max(hi[sk], hi[sh]) - lmin) // LAG_BLOCK) * LAG_BLOCK
                out_sum[held - q0] += _lag_sum(tk, table[sh], nk, nh, l0, l1) / (nk * nh)
                out_cnt[held - q0] += 1


@njit(cache=True, parallel=True, nogil=True)
def grid_tiles(tiles, cand_ptr, cand_m, pair_i, pair_j, samples, ep_offsets, n_units, proto,
               q_shift, out_sum, out_cnt):
    """The grid kernel: exact W1 sums (in samples) of candidate epoch pairs, tile by tile.

    Parameters
    ----------
    tiles : int64 (T x 4)
        Rows ``(r0, r1, c0, c1)``: tile t holds the candidate pairs (k, m) with
        r0 <= k < r1 and c0 <= m < c1. No two tiles may share a pair.
    cand_ptr (M + 1), cand_m : candidate partners of each epoch k, ascending, m > k
        (pair q = (k, cand_m[q]) for cand_ptr[k] <= q < cand_ptr[k + 1])
    pair_i, pair_j : the neuron pairs to visit (both fire in at least 2 epochs)
    samples : int64, spike times in samples laid out like the epoch CSR (only differences
        within an epoch are used, so each epoch may have its own origin)
    ep_offsets : int64 (M N + 1), epoch-major CSR offsets
    n_units : N
    proto : empty array whose dtype holds every epoch's delay count n_i n_j
    q_shift : int64 (T,)
        Where tile t's sums go: ``out_*[q - q_shift[t]]`` holds its pair q (the outputs may
        hold several runs of pairs, one shift per run).
    out_sum : float64, out_cnt : int32
        Added to at the tiles' pairs. Each pair belongs to one tile and is summed over the
        neuron pairs in order, so the result depends neither on the number of threads nor
        on how tiles are grouped into calls.
    """
    for t in prange(tiles.shape[0]):
        _grid_tile(tiles[t, 0], tiles[t, 1], tiles[t, 2], tiles[t, 3], cand_ptr, cand_m,
                   pair_i, pair_j, samples, ep_offsets, n_units, proto, q_shift[t], out_sum,
                   out_cnt)


# ------------------------------------------------------- candidate epoch pairs (sparse)
# For tens of thousands of epochs the M x M matrix is out of reach, and so are the
# continuous kernel's stored delays (8 bytes x 160,000 delays x 30,000 epochs at the
# paper's Fig 2 size). On a grid, ``grid_tiles`` takes any list of candidate pairs; in
# continuous time ``candidate_pairs`` goes neuron pair by neuron pair: each neuron pair's
# sorted delays are built once for all epochs where it fires and reused by every
# candidate pair of those epochs. Candidates are in CSR by their first epoch k: partners
# ``cand_m[cand_ptr[k]:cand_ptr[k + 1]]`` (m > k); sums go to position q.

@njit(cache=True, nogil=True)
def _candidate_walk(eps, slot, cand_ptr, cand_m, delays, dptr, acc_sum, acc_cnt):
    """Add one neuron pair's W1 to every candidate pair where it fires in both epochs."""
    A = eps.shape[0]
    for a in range(A):
        slot[eps[a]] = a
    for a in range(A):
        k = eps[a]
        for q in range(cand_ptr[k], cand_ptr[k + 1]):
            b = slot[cand_m[q]]
            if b < 0:
                continue
            x0, x1, y0, y1 = dptr[a], dptr[a + 1], dptr[b], dptr[b + 1]
            if x1 - x0 == 1 and y1 - y0 == 1:
                acc_sum[q] += abs(delays[x0] - delays[y0])
            else:
                acc_sum[q] += w1_sorted(delays, x0, x1, delays, y0, y1)
            acc_cnt[q] += 1
    for a in range(A):
        slot[eps[a]] = -1


@njit(cache=True, nogil=True)
def _sorted_delays(i, j, eps, rel, ep_offsets, n_units):
    """Sorted delays of pair (i, j) in each epoch of ``eps``, concatenated (CSR)."""
    A = eps.shape[0]
    dptr = np.zeros(A + 1, dtype=np.int64)
    for a in range(A):
        k = eps[a]
        ni = ep_offsets[k * n_units + i + 1] - ep_offsets[k * n_units + i]
        nj = ep_offsets[k * n_units + j + 1] - ep_offsets[k * n_units + j]
        dptr[a + 1] = dptr[a] + ni * nj
    delays = np.empty(dptr[A], dtype=np.float64)
    for a in range(A):
        k = eps[a]
        i0 = ep_offsets[k * n_units + i]
        i1 = ep_offsets[k * n_units + i + 1]
        j0 = ep_offsets[k * n_units + j]
        j1 = ep_offsets[k * n_units + j + 1]
        d = dptr[a]
        for q in range(i0, i1):
            ti = rel[q]
            for r in range(j0, j1):
                delays[d] = rel[r] - ti
                d += 1
        if i1 - i0 > 1:
            _sort_small(delays[dptr[a]:d])
    return delays, dptr


@njit(cache=True, parallel=True, nogil=True)
def candidate_pairs(p0, p1, pair_i, pair_j, ptr, epochs, rel, ep_offsets, n_units, cand_ptr,
                    cand_m, acc_sum, acc_cnt):
    """Add the W1 (s) of neuron pairs p0..p1-1 to the candidate pairs' chunk accumulators.

    Parameters
    ----------
    pair_i, pair_j, ptr, epochs : from ``pair_epoch_lists``
    rel : float64 spike times relative to their epoch's start (s)
    cand_ptr (M + 1), cand_m : candidate partners of each epoch, m > k
    acc_sum : float64 (C x Q), acc_cnt : int32 (C x Q); chunk c takes the pairs
        p0 + c, p0 + c + C, ..., so the sums do not depend on the number of threads.
    """
    n_chunks = acc_sum.shape[0]
    n_ep = cand_ptr.shape[0] - 1
    for c in prange(n_chunks):
        slot = np.full(n_ep, -1, dtype=np.int64)
        for p in range(p0 + c, p1, n_chunks):
            eps = epochs[ptr[p]:ptr[p + 1]]
            delays, dptr = _sorted_delays(pair_i[p], pair_j[p], eps, rel, ep_offsets, n_units)
            _candidate_walk(eps, slot, cand_ptr, cand_m, delays, dptr, acc_sum[c], acc_cnt[c])


@njit(cache=True, parallel=True, nogil=True)
def epoch_quantiles(rel, ep_offsets, n_ep, n_units, levels):
    """Quantiles (linear interpolation) of each unit's relative spike times in each epoch.

    Returns float64 (M x N x len(levels)); NaN where the unit is silent.
    """
    L = levels.shape[0]
    out = np.full((n_ep, n_units, L), np.nan)
    for k in prange(n_ep):
        for i in range(n_units):
            a = ep_offsets[k * n_units + i]
            b = ep_offsets[k * n_units + i + 1]
            n = b - a
            if n == 0:
                continue
            for l in range(L):
                x = levels[l] * (n - 1)
                f = int(np.floor(x))
                g = min(f + 1, n - 1)
                w = x - f
                out[k, i, l] = rel[a + f] * (1.0 - w) + rel[a + g] * w
    return out
