"""numba kernels for SpikeShip (Sotomayor-Gómez, Battaglia & Vinck 2023).

Sotomayor-Gómez B, Battaglia FP, Vinck M (2023), "SpikeShip: A method for fast,
unsupervised discovery of high-dimensional neural spiking patterns", PLoS Comput Biol
e1011335.

For epochs k, m and a neuron that fires in both, its n spikes in k (mass 1/n each) are
moved onto its n' spikes in m (mass 1/n' each) by the optimal transport on the line, the
monotone coupling of the two sorted lists: on u in (0, 1) the i-th spike of k owns
(i/n, (i+1)/n), the j-th of m owns (j/n', (j+1)/n'), and every overlap is one *flow* of
value ``t_k[i] - t_m[j]`` (s) whose mass is the overlap's length. A neuron's flows have
mass 1 in all: each neuron counts equally. The coupling depends on n and n' only, never on
the times, so it is a walk over the breakpoints i n' and j n of the integer axis
[0, n n'] with at most n + n' - 1 flows.

The *global shift* g(k, m) is the weighted median of all flows of all common neurons (the
translation of epoch k against m that leaves the least transport), and the transport that
is left is ``sum over flows of mass * |flow - g|``. The kernels return per epoch pair that
sum, g and the number of common neurons; the normalisation is applied by the caller
(``analysis.spotdis.spikeship``).

Cost per epoch pair: for a row k, a table neuron -> k's active entry is filled once; each
later epoch m walks its own active list against it, writes the common neurons' flows
(about the two epochs' spike counts), finds the weighted median by a bucket pass plus a
quickselect inside one bucket (``bucket_median``; no sort) and sums the transport: linear in
the spikes. Memory: the spikes of every epoch (``analysis.spotdis.epochs``) and a few
scratch arrays of the two largest epochs' spike counts per thread.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

#: Ties of the weighted median: a cumulative mass within this fraction of the total of
#: exactly half the total counts as half (float sums of masses such as 1/3 are not exact).
TIE_TOLERANCE = 1e-11


@njit(cache=True, nogil=True)
def coupling_size(n, m):
    """Number of flows of the monotone coupling of n and m equal masses."""
    if n == m:
        return n
    total = n * m
    count = 0
    pos = 0
    next_i = m
    next_j = n
    while pos < total:
        nxt = min(next_i, next_j)
        count += 1
        pos = nxt
        if next_i == nxt:
            next_i += m
        if next_j == nxt:
            next_j += n
    return count


@njit(cache=True, nogil=True)
def coupling(n, m):
    """The monotone (optimal) coupling of n equal masses with m equal masses on a line.

    Returns ``(i, j, mass)``: flow q takes ``mass[q]`` from the i[q]-th of the n sorted
    points to the j[q]-th of the m sorted points; the masses sum to 1.
    """
    size = coupling_size(n, m)
    ii = np.empty(size, dtype=np.int64)
    jj = np.empty(size, dtype=np.int64)
    mass = np.empty(size, dtype=np.float64)
    if n == m:
        for q in range(n):
            ii[q] = q
            jj[q] = q
            mass[q] = 1.0 / n
        return ii, jj, mass
    total = n * m
    i = 0
    j = 0
    pos = 0
    next_i = m
    next_j = n
    q = 0
    while pos < total:
        nxt = min(next_i, next_j)
        ii[q] = i
        jj[q] = j
        mass[q] = (nxt - pos) / total
        q += 1
        pos = nxt
        if next_i == nxt:
            i += 1
            next_i += m
        if next_j == nxt:
            j += 1
            next_j += n
    return ii, jj, mass


@njit(cache=True, nogil=True, inline="always")
def neuron_flows(x, x0, x1, y, y0, y1, value, mass, p):
    """One neuron's flows between epochs, written to ``value``/``mass`` from index p.

    ``x[x0:x1]`` are its sorted spike times in epoch k, ``y[y0:y1]`` in epoch m (both
    non-empty). Flow values are ``t_k - t_m`` (s); the masses sum to 1. Returns
    ``(index after the last flow written, smallest value, largest value)`` (at most
    p + n + m - 1 flows).

    One walk for every (n, m), equal counts included (each step then moves both): on the
    Allen example special cases for n = m, n = 1 and m = 1 cost more in mispredicted
    branches between them than they saved (1 thread: 0.40 s against 0.32 s for the flows).
    """
    n = x1 - x0
    m = y1 - y0
    total = n * m
    inv = 1.0 / total
    i = 0
    j = 0
    pos = 0
    next_i = m
    next_j = n
    lo = np.inf
    hi = -np.inf
    while pos < total:
        nxt = min(next_i, next_j)
        v = x[x0 + i] - y[y0 + j]
        value[p] = v
        mass[p] = (nxt - pos) * inv
        lo = min(lo, v)
        hi = max(hi, v)
        p += 1
        pos = nxt
        if next_i == nxt:
            i += 1
            next_i += m
        if next_j == nxt:
            j += 1
            next_j += n
    return p, lo, hi


@njit(cache=True, nogil=True)
def _swap(value, mass, a, b):
    v = value[a]
    value[a] = value[b]
    value[b] = v
    w = mass[a]
    mass[a] = mass[b]
    mass[b] = w


@njit(cache=True, nogil=True)
def _select(value, mass, lo, hi, half, tol):
    """Where the cumulative mass of ``value[lo:hi]`` (in value order) reaches ``half``.

    Returns ``(a, b)``: a is the smallest value whose cumulative mass (values <= a) is at
    least ``half - tol``; b = a when that mass exceeds ``half + tol``, else (a tie: exactly
    half the mass lies at or below a) the next larger value, or +inf when there is none in
    the range. Quickselect with a three-way partition around a median-of-three pivot:
    expected time linear in hi - lo. Reorders ``value`` and ``mass`` in place.
    """
    while True:
        a = value[lo]
        b = value[(lo + hi - 1) >> 1]
        c = value[hi - 1]
        pivot = max(min(a, b), min(max(a, b), c))   # median of three
        lt = lo
        i = lo
        gt = hi
        below = 0.0
        equal = 0.0
        while i < gt:
            v = value[i]
            if v < pivot:
                below += mass[i]
                _swap(value, mass, lt, i)
                lt += 1
                i += 1
            elif v > pivot:
                gt -= 1
                _swap(value, mass, i, gt)
            else:
                equal += mass[i]
                i += 1
        if below > half + tol:
            hi = lt
            continue
        if below >= half - tol and lt > lo:
            # half the mass lies below the pivot: [largest of those, pivot]
            top = value[lo]
            for q in range(lo + 1, lt):
                top = max(top, value[q])
            return top, pivot
        if below + equal > half + tol:
            return pivot, pivot
        if below + equal >= half - tol:
            # half the mass lies at or below the pivot: [pivot, smallest above it]
            if gt == hi:
                return pivot, np.inf
            bottom = value[gt]
            for q in range(gt + 1, hi):
                bottom = min(bottom, value[q])
            return pivot, bottom
        half -= below + equal
        lo = gt


@njit(cache=True, nogil=True)
def weighted_median(value, mass, lo, hi, total):
    """Weighted median of ``value[lo:hi]`` with masses ``mass[lo:hi]`` summing to ``total``.

    The minimisers of ``sum mass * |value - g|`` form an interval [a, b]: a is the smallest
    value whose cumulative mass (values <= a) reaches half the total, and b = a unless that
    cumulative mass is exactly half, in which case b is the next larger value. Returns the
    midpoint (a + b) / 2, so that swapping the two epochs negates the shift exactly (with
    equal masses this is numpy's median). Cumulative masses within ``TIE_TOLERANCE * total``
    of half count as half. Expected time linear in hi - lo (``_select``); reorders
    ``value`` and ``mass`` in place.
    """
    a, b = _select(value, mass, lo, hi, 0.5 * total, TIE_TOLERANCE * total)
    return a if b == np.inf else 0.5 * (a + b)


#: Buckets of ``bucket_median``'s first pass, and the fewest flows it is used for.
N_BUCKETS = 512
BUCKET_MIN_FLOWS = 64


@njit(cache=True, nogil=True)
def bucket_median(value, mass, p, total, lo, hi, bucket_mass, sub_v, sub_w, sub_i):
    """``weighted_median(value, mass, 0, p, total)`` by a bucket pass, then quickselect
    within the one bucket that holds the median.

    ``lo``/``hi`` are the smallest and largest of ``value[:p]`` (the flow walk tracks
    them). Pass 1 puts each flow into one of ``N_BUCKETS`` equal buckets over [lo, hi] (a
    monotone map: bucket order is value order) and sums the masses per bucket; pass 2
    copies the bucket where the cumulative mass reaches half to ``sub_v``/``sub_w`` and
    notes the smallest value above that bucket (a tie at its top takes it); ``_select``
    finds the median in the copy. Two plain passes instead of quickselect's swaps over
    all flows; the same number. ``bucket_mass`` (``N_BUCKETS``) is scratch, left reset,
    ``sub_i`` (int32, p) scratch for each flow's bucket; ``value`` and ``mass`` are not
    changed.
    """
    if not hi > lo:
        return lo
    scale = N_BUCKETS / (hi - lo)
    top = N_BUCKETS - 1
    for q in range(p):
        b = min(int((value[q] - lo) * scale), top)
        sub_i[q] = b   # kept for pass 2 (3-4% of the pair on the Allen example)
        bucket_mass[b] += mass[q]
    tol = TIE_TOLERANCE * total
    half = 0.5 * total
    below = 0.0
    found = top
    for b in range(N_BUCKETS):
        if below + bucket_mass[b] >= half - tol:
            found = b
            break
        below += bucket_mass[b]
    n = 0
    above = np.inf
    for q in range(p):
        v = value[q]
        b = sub_i[q]
        if b == found:
            sub_v[n] = v
            sub_w[n] = mass[q]
            n += 1
        above = min(above, v if b > found else np.inf)   # no branch: half the flows
    a, b = _select(sub_v, sub_w, 0, n, half - below, tol)
    if b == np.inf:
        b = above if above < np.inf else a
    bucket_mass[:] = 0.0
    return 0.5 * (a + b)


@njit(cache=True, parallel=True, nogil=True)
def active_spans(ep_offsets, n_units, act_ptr, act):
    """Where each active neuron's spikes start in the epoch-major spike array.

    Every spike belongs to an active neuron, and an epoch's active neurons are listed in
    unit order, which is the order of their spikes: so entry a of ``act`` (epoch k, neuron
    ``act[a]``) owns ``rel[span[a]:span[a + 1]]``, with ``span[-1]`` the number of spikes.
    """
    n_ep = act_ptr.shape[0] - 1
    span = np.empty(act.shape[0] + 1, dtype=np.int64)
    span[act.shape[0]] = ep_offsets[-1]
    for k in prange(n_ep):
        for a in range(act_ptr[k], act_ptr[k + 1]):
            span[a] = ep_offsets[k * n_units + act[a]]
    return span


@njit(cache=True, nogil=True)
def _mark(where, act, a0, a1, on):
    """``where[neuron] = its entry in act[a0:a1]`` (``on``), or back to -1."""
    for a in range(a0, a1):
        where[act[a]] = a if on else -1


@njit(cache=True, nogil=True)
def _pair_flows(b0, b1, act, span, where, rel, value, mass, owner, start):
    """Flows of the neurons active in epoch m (entries ``act[b0:b1]``) that also fire in
    the epoch marked in ``where`` (k): neuron ``owner[u]`` has
    ``value[start[u]:start[u + 1]]``. Returns (common neurons, flows, smallest flow,
    largest flow)."""
    p = 0
    c = 0
    lo = np.inf
    hi = -np.inf
    for b in range(b0, b1):
        i = act[b]
        a = where[i]
        if a >= 0:
            owner[c] = i
            start[c] = p
            p, l, h = neuron_flows(rel, span[a], span[a + 1], rel, span[b], span[b + 1],
                                   value, mass, p)
            lo = min(lo, l)
            hi = max(hi, h)
            c += 1
    start[c] = p
    return c, p, lo, hi


@njit(cache=True, nogil=True)
def _max_active(act_ptr):
    best = 0
    for k in range(act_ptr.shape[0] - 1):
        best = max(best, act_ptr[k + 1] - act_ptr[k])
    return best


@njit(cache=True, nogil=True)
def _scratch(max_flows, max_active, n_units):
    """One thread's scratch: flows (value, mass), neuron entries (two int arrays),
    ``where`` (all -1), the median's copy (sub_v, sub_w), its bucket masses (zero) and
    each flow's bucket (sub_i)."""
    value = np.empty(max_flows, dtype=np.float64)
    mass = np.empty(max_flows, dtype=np.float64)
    ia = np.empty(max_active + 1, dtype=np.int64)
    ib = np.empty(max_active + 1, dtype=np.int64)
    where = np.full(n_units, -1, dtype=np.int64)
    sub_v = np.empty(max_flows, dtype=np.float64)
    sub_w = np.empty(max_flows, dtype=np.float64)
    bucket_mass = np.zeros(N_BUCKETS, dtype=np.float64)
    sub_i = np.empty(max_flows, dtype=np.int32)
    return value, mass, ia, ib, where, sub_v, sub_w, bucket_mass, sub_i


@njit(cache=True, nogil=True)
def _pair_cost(b0, b1, act, span, where, rel, value, mass, ia, ib, sub_v, sub_w,
               bucket_mass, sub_i):
    """(transport left, global shift, common neurons) of epoch m (active entries
    ``act[b0:b1]``) against the epoch marked in ``where``; shift NaN and transport 0
    without a common neuron. Reorders the scratch flows.

    The common neurons are first listed without a branch (``ia``/``ib``: their entries in
    k and m; about 60% of the active neurons are common on the Allen example, a branch the
    processor cannot predict), then walked.
    """
    c = 0
    for b in range(b0, b1):
        a = where[act[b]]
        ia[c] = a
        ib[c] = b
        c += a >= 0
    if c == 0:
        return 0.0, np.nan, 0
    p = 0
    lo = np.inf
    hi = -np.inf
    for u in range(c):
        a = ia[u]
        b = ib[u]
        p, l, h = neuron_flows(rel, span[a], span[a + 1], rel, span[b], span[b + 1],
                               value, mass, p)
        lo = min(lo, l)
        hi = max(hi, h)
    if p < BUCKET_MIN_FLOWS:   # reorders the flows: the sum does not mind
        g = weighted_median(value, mass, 0, p, float(c))
    else:
        g = bucket_median(value, mass, p, float(c), lo, hi, bucket_mass, sub_v, sub_w,
                          sub_i)
    return _transport(value, mass, p, g), g, c


@njit(cache=True, nogil=True, fastmath=True)
def _transport(value, mass, p, g):
    """``sum mass * |value - g|`` over the first p flows. fastmath lets the sum run four
    at a time (about 6% of the pair on the Allen example); the order of the sum depends
    on p only, so the result is the same on every run and thread count."""
    s = 0.0
    for f in range(p):
        s += mass[f] * abs(value[f] - g)
    return s


@njit(cache=True, parallel=True, nogil=True)
def spikeship_rows(rows, n_ep, act_ptr, act, span, rel, n_units, max_flows, n_threads):
    """Transport cost, global shift and common neurons for rows x all later epochs.

    Parameters
    ----------
    rows : int64 array of epoch indices (the work of row k falls with k: pass rows paired
        as (k, M - 1 - k, ...) for even threads)
    n_ep : number of epochs M
    act_ptr, act : sorted active neurons of each epoch (CSR)
    span : ``active_spans``: entry a of ``act`` owns ``rel[span[a]:span[a + 1]]``
    rel : spike times relative to their epoch's start, epoch-major, sorted per neuron
    n_units : N
    max_flows : at least the largest spike count of one epoch plus that of another
    n_threads : threads to share the rows; thread t takes the pairs of rows 2j, 2j + 1
        with j = t modulo n_threads (so folded rows give every thread the same work)

    Returns
    -------
    cost : float64 (len(rows) x M), shift : float64 (len(rows) x M, NaN without a common
        neuron), common : int64 (len(rows) x M); entries with m <= row are 0 (shift NaN).
    """
    n = rows.shape[0]
    cost = np.zeros((n, n_ep), dtype=np.float64)
    shift = np.full((n, n_ep), np.nan, dtype=np.float64)
    common = np.zeros((n, n_ep), dtype=np.int64)
    max_active = _max_active(act_ptr)
    for t in prange(n_threads):
        value, mass, ia, ib, where, sub_v, sub_w, bucket_mass, sub_i = _scratch(
            max_flows, max_active, n_units)
        for q in range(n):
            if (q // 2) % n_threads != t:
                continue
            k = rows[q]
            _mark(where, act, act_ptr[k], act_ptr[k + 1], True)
            for m in range(k + 1, n_ep):
                s, g, c = _pair_cost(act_ptr[m], act_ptr[m + 1], act, span, where, rel,
                                     value, mass, ia, ib, sub_v, sub_w, bucket_mass, sub_i)
                common[q, m] = c
                cost[q, m] = s
                shift[q, m] = g
            _mark(where, act, act_ptr[k], act_ptr[k + 1], False)
    return cost, shift, common


@njit(cache=True, parallel=True, nogil=True)
def spikeship_candidates(ptr, partners, act_ptr, act, span, rel, n_units, max_flows,
                         n_chunks):
    """Transport cost, global shift and common neurons of listed epoch pairs.

    The pairs are given by first epoch (CSR): epoch k is paired with
    ``partners[ptr[k]:ptr[k + 1]]``. The epochs are cut into ``n_chunks`` ranges of about
    equal numbers of pairs, run in parallel; each marks its row's neurons once and walks
    the partners (``_pair_cost``, as ``spikeship_rows``). Memory: the three outputs (one
    entry per pair) and per chunk scratch of ``max_flows`` flows. Other arguments as
    ``spikeship_rows``.

    Returns
    -------
    cost : float64 (P,), shift : float64 (P,; NaN without a common neuron),
    common : int64 (P,), in the order of ``partners``.
    """
    n_ep = ptr.shape[0] - 1
    P = partners.shape[0]
    cost = np.zeros(P, dtype=np.float64)
    shift = np.full(P, np.nan, dtype=np.float64)
    common = np.zeros(P, dtype=np.int64)
    max_active = _max_active(act_ptr)
    # chunk c takes the rows whose pairs start in [c P / n_chunks, (c + 1) P / n_chunks)
    bounds = np.searchsorted(ptr[:n_ep], (np.arange(n_chunks + 1) * P) // n_chunks)
    bounds[n_chunks] = n_ep
    for ch in prange(n_chunks):
        value, mass, ia, ib, where, sub_v, sub_w, bucket_mass, sub_i = _scratch(
            max_flows, max_active, n_units)
        for k in range(bounds[ch], bounds[ch + 1]):
            if ptr[k + 1] == ptr[k]:
                continue
            _mark(where, act, act_ptr[k], act_ptr[k + 1], True)
            for q in range(ptr[k], ptr[k + 1]):
                m = partners[q]
                s, g, c = _pair_cost(act_ptr[m], act_ptr[m + 1], act, span, where, rel,
                                     value, mass, ia, ib, sub_v, sub_w, bucket_mass, sub_i)
                common[q] = c
                cost[q] = s
                shift[q] = g
            _mark(where, act, act_ptr[k], act_ptr[k + 1], False)
    return cost, shift, common


@njit(cache=True, parallel=True, nogil=True)
def neuron_flow_sums(ks, ms, act_ptr, act, span, rel, n_units, max_flows, n_chunks):
    """Per-neuron flows summed over the epoch pairs (ks[q], ms[q]).

    For each pair and each common neuron i: its residual ``r_i = sum over its flows of
    mass * (flow - g)`` (the neuron's mean shift beyond the global one, s; positive: it
    fires later in ks[q] than in ms[q]) and its transport ``c_i = sum mass * |flow - g|``.
    The pairs are cut into ``n_chunks`` fixed ranges summed in order, so the result does
    not depend on the number of threads. Arguments as ``spikeship_rows``.

    Returns
    -------
    shift : float64 (P,), global shift of each pair (NaN without a common neuron)
    cost : float64 (P,), transport left after the shift
    common : int64 (P,), common neurons
    r_sum, r_sq, c_sum : float64 (N,), sums over pairs of r_i, r_i ** 2 and c_i
    n_pairs : int64 (N,), pairs in which neuron i fires in both epochs
    """
    P = ks.shape[0]
    shift = np.full(P, np.nan, dtype=np.float64)
    cost = np.zeros(P, dtype=np.float64)
    common = np.zeros(P, dtype=np.int64)
    part_r = np.zeros((n_chunks, n_units), dtype=np.float64)
    part_r2 = np.zeros((n_chunks, n_units), dtype=np.float64)
    part_c = np.zeros((n_chunks, n_units), dtype=np.float64)
    part_n = np.zeros((n_chunks, n_units), dtype=np.int64)
    max_active = _max_active(act_ptr)
    for ch in prange(n_chunks):
        value, mass, owner, start, where, sub_v, sub_w, bucket_mass, sub_i = _scratch(
            max_flows, max_active, n_units)
        for q in range(ch * P // n_chunks, (ch + 1) * P // n_chunks):
            k = ks[q]
            m = ms[q]
            _mark(where, act, act_ptr[k], act_ptr[k + 1], True)
            c, p, lo, hi = _pair_flows(act_ptr[m], act_ptr[m + 1], act, span, where, rel,
                                       value, mass, owner, start)
            _mark(where, act, act_ptr[k], act_ptr[k + 1], False)
            common[q] = c
            if c == 0:
                continue
            if p < BUCKET_MIN_FLOWS:   # the flows stay in order for the sums below
                sub_v[:p] = value[:p]
                sub_w[:p] = mass[:p]
                g = weighted_median(sub_v, sub_w, 0, p, float(c))
            else:
                g = bucket_median(value, mass, p, float(c), lo, hi, bucket_mass, sub_v,
                                  sub_w, sub_i)
            shift[q] = g
            total = 0.0
            for u in range(c):
                i = owner[u]
                r = 0.0
                a = 0.0
                for f in range(start[u], start[u + 1]):
                    d = value[f] - g
                    r += mass[f] * d
                    a += mass[f] * abs(d)
                total += a
                part_r[ch, i] += r
                part_r2[ch, i] += r * r
                part_c[ch, i] += a
                part_n[ch, i] += 1
            cost[q] = total
    r_sum = np.zeros(n_units, dtype=np.float64)
    r_sq = np.zeros(n_units, dtype=np.float64)
    c_sum = np.zeros(n_units, dtype=np.float64)
    n_pairs = np.zeros(n_units, dtype=np.int64)
    for ch in range(n_chunks):
        for i in range(n_units):
            r_sum[i] += part_r[ch, i]
            r_sq[i] += part_r2[ch, i]
            c_sum[i] += part_c[ch, i]
            n_pairs[i] += part_n[ch, i]
    return shift, cost, common, r_sum, r_sq, c_sum, n_pairs
