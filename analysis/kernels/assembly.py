"""numba kernels for assembly-neuron identification (Berger et al. 2010).

A surrogate moves the spikes of one neuron only, so everything about the other neurons is
computed once: the list of neurons firing in each bin (CSR; its row lengths are the
population counts z_t). A surrogate of neuron i then costs O(n_i * neurons per bin) instead
of a pass over the whole N x T matrix.

Work items: one item is a range of surrogates of one neuron, so no call does more than a
bounded amount of work (progress and Cancel act between calls); items run in parallel
(``prange``).

Random numbers: surrogate s of neuron i comes from numba's generator seeded with a hash of
(``seeds[i]``, s) at its start, so results do not depend on how the surrogates are split
into items or spread over threads. The state that links surrogates of one neuron is kept
out of the items: trial shuffling's distinct random orders are drawn beforehand, neuron by
neuron in surrogate order (``distinct_trial_orders``), and weighted shuffling's per-group
bin lists are put back in order after each surrogate. ``unit_surrogate_bins`` runs the same code for one
neuron and also returns the bins each surrogate drew (for tests against a plain reference).

Cache blocking (the working set, not the arithmetic, limits speed: at N = 1,000 and T = 10^5
the bin lists take 2.8 MB, beyond a 1 MiB L2): an item draws a chunk of surrogates (sorted
bins, coincidence counters: ``CHUNK_BYTES``) and visits the bins tile by tile, each tile's
part of the bin lists ``TILE_BYTES``, so every surrogate of the chunk reuses a tile while it
is in L2. The per-bin population term of CPC comes from the same lookup (row length minus
neuron i's own bit, from a T-bit mask that stays in L1), so CPC adds no memory traffic.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

UNIFORM, WEIGHTED, TRIAL = 0, 1, 2

#: Weighted shuffling draws bins by rejection (alias draw from the population weights,
#: acceptance for neuron i's own weights and for bins not drawn yet) until a surrogate has
#: rejected more than this many proposals per spike; the rest of that surrogate is then
#: drawn group by group (see ``_weighted_groups``), so a tiny baseline cannot make a
#: surrogate take ~1/b proposals. Both ways draw from the same distribution, and the switch
#: depends only on draws already made, so the surrogate's law is unchanged.
REJECT_FACTOR = 4.0

#: Trial shuffling: with at most this many trials, random trial orders are drawn without
#: repetition (each order's mixed-radix code fits an int64: 20! < 2^63).
MAX_TRIALS_DISTINCT = 20


#: Bytes of one item's per-chunk arrays (each surrogate's sorted bins and its coincidence
#: counters and touched list): half of a 1 MiB L2 cache
CHUNK_BYTES = 512 * 1024
#: Bytes of the bin lists (pointers and unit ids) of one tile of bins: a quarter of L2
TILE_BYTES = 256 * 1024
#: Most surrogates in one chunk
MAX_CHUNK = 64


@njit(cache=True, nogil=True)
def surrogate_seed(seed, s):
    """Seed of surrogate ``s`` of the neuron whose seed is ``seed`` (< 2^32): the splitmix64
    finaliser of (seed, s), 31 bits."""
    x = (np.uint64(seed) << np.uint64(32)) ^ np.uint64(s)
    x += np.uint64(0x9E3779B97F4A7C15)
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    x = x ^ (x >> np.uint64(31))
    return np.int64(x >> np.uint64(33))


@njit(cache=True, nogil=True)
def _scan(surr, n_chunk, n_i, i, bin_ptr, bin_units, own, tile, n_bins, pow_table, coinc,
          touched, n_touched, dense, zsum):
    """Coincidences of neuron i placed at each row of ``surr`` (sorted bins) with every
    other neuron (``coinc[c, j]``; sparse: the neurons met listed in ``touched[c]``) and the
    sum of (z_t^(-i))^r over those bins (``zsum[c]``), for the first ``n_chunk`` rows.

    Bins are visited tile by tile (``tile`` bins), every row within a tile before the next
    tile, so a tile's part of ``bin_ptr`` and ``bin_units`` is read from the cache by all
    rows. z_t^(-i) is the row length of bin t minus neuron i's bit in ``own``.
    """
    cursor = np.zeros(n_chunk, dtype=np.int64)
    for c in range(n_chunk):
        zsum[c] = 0.0
        n_touched[c] = 0
    for end in range(tile, n_bins + tile, tile):
        for c in range(n_chunk):
            k = cursor[c]
            total = 0.0
            while k < n_i and surr[c, k] < end:
                t = surr[c, k]
                first, last = bin_ptr[t], bin_ptr[t + 1]
                mine = (own[t >> 6] >> np.uint64(t & 63)) & np.uint64(1)
                total += pow_table[last - first - np.int64(mine)]
                if dense:
                    for p in range(first, last):
                        coinc[c, bin_units[p]] += 1
                else:
                    for p in range(first, last):
                        j = bin_units[p]
                        if coinc[c, j] == 0:
                            touched[c, n_touched[c]] = j
                            n_touched[c] += 1
                        coinc[c, j] += 1
                k += 1
            cursor[c] = k
            zsum[c] += total


@njit(cache=True, nogil=True)
def _csf_row(counts_c, touched_c, n_touched, i, expected, power, normalized, dense):
    """CSF from one row of coincidence counts (cleared on the way): the average over the
    N - 1 other neurons j of max(0, c_ij - e_ij)^r, each term over e_ij if ``normalized``
    (Berger et al. 2010, Sec. 3.2)."""
    n_units = counts_c.shape[0]
    counts_c[i] = 0  # neuron i's own bins are not coincidences
    total = 0.0
    n = n_units if dense else n_touched
    for q in range(n):
        j = q if dense else touched_c[q]
        c = counts_c[j]
        if c == 0:
            continue
        counts_c[j] = 0
        excess = c - expected[j]
        if excess > 0:
            term = excess * excess if power == 2.0 else excess ** power
            total += term / expected[j] if normalized else term
    return total / max(n_units - 1, 1)


# Surrogate bins are drawn into a packed bitmap (T bits: 12.5 KB for 1e5 bins, resident in
# the L1 cache), which rejects repeats for free, and are then read out in ascending order.
# Visiting bins in order lets the CSR lookups of the other neurons stream through memory
# instead of jumping at random; at 1000 units x 1e5 bins this is several times faster.
_DEBRUIJN = np.uint64(0x03F79D71B4CA8B09)
_DEBRUIJN_TABLE = np.zeros(64, dtype=np.int64)
for _bit in range(64):
    _DEBRUIJN_TABLE[((1 << _bit) * 0x03F79D71B4CA8B09 % 2 ** 64) >> 58] = _bit


@njit(cache=True, nogil=True)
def _set_bit(mask, t):
    """Set bit t; return False if it was set already."""
    w = t >> 6
    bit = np.uint64(1) << np.uint64(t & 63)
    if mask[w] & bit:
        return False
    mask[w] |= bit
    return True


@njit(cache=True, nogil=True)
def _collect_sorted(mask, out):
    """Write the set bits of ``mask`` to ``out`` in ascending order and clear the mask.

    The De Bruijn table is a global, which numba compiles in as a constant. (It was once a
    default argument of the kernels; numba keys an omitted argument's type on the value,
    so the on-disk cache never matched and every new process compiled the kernel again.)
    """
    k = 0
    one = np.uint64(1)
    for w in range(mask.shape[0]):
        word = mask[w]
        if word == 0:
            continue
        while word != 0:
            low = word & (~word + one)
            out[k] = w * 64 + _DEBRUIJN_TABLE[(low * _DEBRUIJN) >> np.uint64(58)]
            k += 1
            word ^= low
        mask[w] = 0


@njit(cache=True, nogil=True)
def _uniform_bins(n_i, n_bins, mask):
    """n_i distinct bins drawn uniformly, marked in ``mask``."""
    k = 0
    while k < n_i:
        t = min(int(np.random.random() * n_bins), n_bins - 1)
        if _set_bit(mask, t):
            k += 1


@njit(cache=True, nogil=True)
def _weighted_reject(n_i, alias_prob, alias_idx, accept, mask, drawn, max_rejected):
    """Draw bins one at a time, bin t with probability proportional to the neuron's weight
    w_t among the bins not drawn yet (successive sampling without replacement).

    Proposes t from the population weights z_t + b by the alias method, accepts with
    ``accept[t]`` = w_t / (z_t + b) (neuron i's own spikes removed from z) and rejects bins
    already drawn. Stops early once more than ``max_rejected`` proposals were rejected.
    Returns the number of bins drawn (into ``drawn`` and ``mask``).
    """
    n_bins = alias_prob.shape[0]
    rejected = 0
    k = 0
    while k < n_i and rejected <= max_rejected:
        t = min(int(np.random.random() * n_bins), n_bins - 1)
        if np.random.random() >= alias_prob[t]:
            t = alias_idx[t]
        if accept[t] < 1.0 and np.random.random() >= accept[t]:
            rejected += 1
        elif _set_bit(mask, t):
            drawn[k] = t
            k += 1
        else:
            rejected += 1
    return k


@njit(cache=True, nogil=True)
def _group_bins(z, own, n_groups):
    """Bins sorted by their weight group v = z_t^(-i) (counting sort).

    Returns ``start`` (group v holds ``bins[start[v]:start[v + 1]]``), ``bins`` and
    ``pos`` (the index of bin t in ``bins``).
    """
    n_bins = z.shape[0]
    start = np.zeros(n_groups + 1, dtype=np.int64)
    for t in range(n_bins):
        start[z[t] - (1 if own[t] else 0) + 1] += 1
    for v in range(n_groups):
        start[v + 1] += start[v]
    fill = start[:-1].copy()
    bins = np.empty(n_bins, dtype=np.int64)
    pos = np.empty(n_bins, dtype=np.int64)
    for t in range(n_bins):
        v = z[t] - (1 if own[t] else 0)
        bins[fill[v]] = t
        pos[t] = fill[v]
        fill[v] += 1
    return start, bins, pos


@njit(cache=True, nogil=True)
def _move_to(target, t, bins, pos):
    """Swap bin t to index ``target`` of ``bins``, keeping ``pos`` in step."""
    p = pos[t]
    other = bins[target]
    bins[p] = other
    pos[other] = p
    bins[target] = t
    pos[t] = target


@njit(cache=True, nogil=True)
def _weighted_groups(k, n_i, drawn, z, own, baseline, start, bins, pos, taken, mask, undo):
    """Draw the bins ``k..n_i-1`` of a weighted surrogate exactly, without rejection.

    All bins of a group v (z_t^(-i) = v) weigh v + b, so the next bin is drawn in two
    steps: a group with probability proportional to its undrawn mass (undrawn bins times
    v + b), then a bin uniformly among the group's undrawn ones. Each group keeps its drawn
    bins at the front (``taken[v]`` of them: a partial Fisher-Yates shuffle), so both steps
    cost O(groups) and O(1) whatever the weights. The bins ``drawn[:k]`` from the rejection
    phase are moved to the front first. At the end ``taken`` is cleared and every swap is
    undone (``undo``: n_i x 2 positions), so the next surrogate starts from the same bin
    order whichever surrogates came before it (results do not depend on the work items).
    """
    n_groups = taken.shape[0]
    for j in range(k):
        t = drawn[j]
        v = z[t] - (1 if own[t] else 0)
        undo[j, 0], undo[j, 1] = start[v] + taken[v], pos[t]
        _move_to(start[v] + taken[v], t, bins, pos)
        taken[v] += 1
    while k < n_i:
        total = 0.0
        for v in range(n_groups):
            total += (start[v + 1] - start[v] - taken[v]) * (v + baseline)
        u = np.random.random() * total
        chosen = -1
        for v in range(n_groups):
            mass = (start[v + 1] - start[v] - taken[v]) * (v + baseline)
            if mass > 0:
                chosen = v  # the last group with mass, should rounding run past the end
                if u < mass:
                    break
                u -= mass
        if chosen < 0:
            raise ValueError("weighted shuffling: no bin with positive weight left")
        left = start[chosen + 1] - start[chosen] - taken[chosen]
        first = start[chosen] + taken[chosen]
        t = bins[first + min(int(np.random.random() * left), left - 1)]
        undo[k, 0], undo[k, 1] = first, pos[t]
        _move_to(first, t, bins, pos)
        taken[chosen] += 1
        _set_bit(mask, t)
        drawn[k] = t
        k += 1
    taken[:] = 0
    for j in range(n_i - 1, -1, -1):  # a swap is its own inverse: undo in reverse order
        _move_to(undo[j, 1], bins[undo[j, 0]], bins, pos)


@njit(cache=True, nogil=True)
def _insert(seen, code):
    """Insert ``code`` (>= 0) into the open-addressing set ``seen`` (-1: empty slot, size a
    power of two); return False if it was there already."""
    size_mask = seen.shape[0] - 1
    h = code & size_mask
    while seen[h] != -1:
        if seen[h] == code:
            return False
        h = (h + 1) & size_mask
    seen[h] = code
    return True


@njit(cache=True, nogil=True)
def _random_order(perm, seen, distinct):
    """A uniformly random trial order other than the identity (Fisher-Yates); with
    ``distinct``, also one not drawn before for this neuron (recorded in ``seen`` by its
    mixed-radix code, which the Fisher-Yates choices spell out). Returns that code."""
    n = perm.shape[0]
    while True:
        for k in range(n):
            perm[k] = k
        code = 0
        radix = 1
        for k in range(n - 1, 0, -1):
            m = min(int(np.random.random() * (k + 1)), k)
            perm[k], perm[m] = perm[m], perm[k]
            code += m * radix
            radix *= k + 1
        identity = True
        for k in range(n):
            if perm[k] != k:
                identity = False
                break
        if identity:
            continue
        if not distinct or _insert(seen, code):
            return code


@njit(cache=True, nogil=True)
def _order_from_code(code, perm):
    """The trial order whose Fisher-Yates choices ``_random_order`` coded as ``code``."""
    n = perm.shape[0]
    for k in range(n):
        perm[k] = k
    for k in range(n - 1, 0, -1):
        m = code % (k + 1)
        code //= k + 1
        perm[k], perm[m] = perm[m], perm[k]


@njit(parallel=True, cache=True, nogil=True)
def distinct_trial_orders(seeds, n_trials, first, count, seen, codes):
    """Distinct random trial orders (never the identity) of surrogates ``first .. first +
    count - 1`` of some neurons, one row each, continuing the orders drawn before.

    Row q is the neuron whose seed is ``seeds[q]``; surrogate s draws with numba's generator
    seeded by ``surrogate_seed(seeds[q], s)`` and redraws an order already drawn for that
    neuron, so the orders, written to ``codes[q, s]`` as ``_random_order``'s codes, depend
    neither on how the surrogates are split over calls nor on the threads. ``seen[q]`` (an
    open-addressing set, -1 where empty, a power of two at least 2 x the surrogates) holds
    the codes of surrogates 0 .. first - 1 and receives the new ones.

    Drawing the orders here once, before the statistics, spares the statistics' work items
    from replaying the orders of every earlier surrogate of their neuron (quadratic in the
    surrogates: 200,000 surrogates of 10 trials took 3x the time of uniform shuffling).
    """
    for q in prange(codes.shape[0]):
        perm = np.empty(n_trials, dtype=np.int64)
        for s in range(first, first + count):
            np.random.seed(surrogate_seed(seeds[q], s))
            codes[q, s] = _random_order(perm, seen[q], True)


@njit(cache=True, nogil=True)
def _trial_bins(bins, trial_bins, perm, mask):
    """Neuron i's bins with trial ``k`` moved to trial ``perm[k]``."""
    for k in range(bins.shape[0]):
        trial = bins[k] // trial_bins
        _set_bit(mask, perm[trial] * trial_bins + bins[k] % trial_bins)


@njit(cache=True, nogil=True)
def _item(i, seed, first, count, unit_ptr, unit_bins, bin_ptr, bin_units, z, n_bins, power,
          normalized, kind, alias_prob, alias_idx, z_weight, baseline, reject_factor,
          trial_bins, trial_perms, trial_codes, pow_table, total_zr, z_max, counts, tile,
          cpc_surr, csf_surr, record):
    """Surrogates ``first .. first + count - 1`` of neuron i: CPC and CSF written to
    ``cpc_surr`` and ``csf_surr``; the original CPC and CSF are returned when ``first`` is 0
    (else NaN). ``trial_codes``: trial shuffling with distinct random orders, the codes of
    neuron i's orders (``distinct_trial_orders``), else empty. With a non-empty ``record``
    (count x n_i), also the sorted bins of each surrogate. NaN throughout for a silent
    neuron."""
    n_units = unit_ptr.shape[0] - 1
    bins = unit_bins[unit_ptr[i]:unit_ptr[i + 1]]
    n_i = bins.shape[0]
    if n_i == 0:
        return np.nan, np.nan
    own = np.zeros((n_bins + 63) // 64, dtype=np.uint64)
    own_bool = np.zeros(n_bins, dtype=np.bool_) if kind == WEIGHTED else \
        np.zeros(0, dtype=np.bool_)
    # mean over all bins of (z_t^(-i))^r: fixed for this neuron
    all_mean = total_zr
    for k in range(n_i):
        t = bins[k]
        _set_bit(own, t)
        all_mean -= pow_table[z[t]] - pow_table[z[t] - 1]
        if kind == WEIGHTED:
            own_bool[t] = True
    all_mean /= n_bins
    expected = counts * (n_i / n_bins)
    # expected coincidence visits per surrogate against the number of neurons
    dense = n_i * (bin_units.shape[0] / n_bins) > n_units / 4
    chunk = max(1, min(MAX_CHUNK, count, CHUNK_BYTES // (8 * n_i + 8 * n_units)))
    surr = np.empty((chunk, n_i), dtype=np.int64)
    coinc = np.zeros((chunk, n_units), dtype=np.int32)
    touched = np.empty((chunk, 0 if dense else n_units), dtype=np.int32)
    n_touched = np.zeros(chunk, dtype=np.int64)
    zsum = np.empty(chunk)
    cpc, csf = np.nan, np.nan
    if first == 0:
        surr[0, :] = bins
        _scan(surr, 1, n_i, i, bin_ptr, bin_units, own, tile, n_bins, pow_table, coinc,
              touched, n_touched, dense, zsum)
        cpc = zsum[0] / n_i - all_mean
        csf = _csf_row(coinc[0], touched[0], n_touched[0], i, expected, power, normalized,
                       dense)
    mask = np.zeros((n_bins + 63) // 64, dtype=np.uint64)
    # weighted shuffling: neuron i's weights, the rejection phase's stopping mass, and the
    # per-group bin lists of the exact phase (built the first time they are needed)
    accept = np.ones(0)
    drawn = np.empty(n_i, dtype=np.int64)
    undo = np.empty((n_i, 2), dtype=np.int64)
    max_rejected = reject_factor * n_i if reject_factor >= 0 else -1.0
    n_groups = z_max + 1
    g_start = np.zeros(1, dtype=np.int64)
    g_bins = np.zeros(1, dtype=np.int64)
    g_pos = np.zeros(1, dtype=np.int64)
    g_taken = np.zeros(1, dtype=np.int64)
    if kind == WEIGHTED:
        accept = np.ones(n_bins)
        for k in range(n_i):  # remove neuron i's own spikes from the weights
            t = bins[k]
            accept[t] = (z_weight[t] - 1.0) / z_weight[t] if z_weight[t] > 0 else 0.0
    # trial shuffling: given orders (all of them), orders drawn before (distinct), or random
    # ones drawn here
    n_trials = n_bins // trial_bins if trial_bins > 0 else 1
    perm = np.empty(n_trials, dtype=np.int64)
    exact = trial_perms.shape[0] > 0
    coded = trial_codes.shape[0] > 0
    no_seen = np.empty(0, dtype=np.int64)
    for start in range(first, first + count, chunk):
        n_chunk = min(chunk, first + count - start)
        for c in range(n_chunk):
            s = start + c
            if not (kind == TRIAL and (exact or coded)):  # those draw nothing here
                np.random.seed(surrogate_seed(seed, s))
            if kind == UNIFORM:
                _uniform_bins(n_i, n_bins, mask)
            elif kind == WEIGHTED:
                k = _weighted_reject(n_i, alias_prob, alias_idx, accept, mask, drawn,
                                     max_rejected)
                if k < n_i:
                    if g_taken.shape[0] != n_groups:
                        g_start, g_bins, g_pos = _group_bins(z, own_bool, n_groups)
                        g_taken = np.zeros(n_groups, dtype=np.int64)
                    _weighted_groups(k, n_i, drawn, z, own_bool, baseline, g_start, g_bins,
                                     g_pos, g_taken, mask, undo)
            elif exact:
                _trial_bins(bins, trial_bins, trial_perms[s], mask)
            else:
                if coded:
                    _order_from_code(trial_codes[s], perm)
                else:
                    _random_order(perm, no_seen, False)
                _trial_bins(bins, trial_bins, perm, mask)
            _collect_sorted(mask, surr[c])
            if record.shape[0] > 0:
                record[s - first, :] = surr[c]
        _scan(surr, n_chunk, n_i, i, bin_ptr, bin_units, own, tile, n_bins, pow_table,
              coinc, touched, n_touched, dense, zsum)
        for c in range(n_chunk):
            cpc_surr[start - first + c] = zsum[c] / n_i - all_mean
            csf_surr[start - first + c] = _csf_row(coinc[c], touched[c], n_touched[c], i,
                                                   expected, power, normalized, dense)
    return cpc, csf


@njit(cache=True, nogil=True)
def _prepare(z, power, bin_units, n_bins):
    """v^r for v = 0 .. max z_t, the sum of z_t^r, the largest z_t and the tile width
    (bins whose pointers and unit ids take about ``TILE_BYTES``), once per call."""
    z_max = 0
    for t in range(n_bins):
        z_max = max(z_max, z[t])
    pow_table = np.empty(z_max + 1)
    for v in range(z_max + 1):
        pow_table[v] = float(v) ** power
    total_zr = 0.0
    for t in range(n_bins):
        total_zr += pow_table[z[t]]
    per_bin = 8.0 + bin_units.itemsize * bin_units.shape[0] / max(n_bins, 1)
    tile = max(64, int(TILE_BYTES / per_bin))
    return pow_table, total_zr, z_max, tile


@njit(parallel=True, cache=True, nogil=True)
def assembly_statistics(unit_ptr, unit_bins, bin_ptr, bin_units, z, n_bins, power,
                        normalized, kind, seeds, alias_prob, alias_idx, z_weight, baseline,
                        reject_factor, trial_bins, trial_perms, trial_codes, item_units,
                        item_first, item_count):
    """CPC and CSF of ranges of surrogates of neurons (Berger et al. 2010, Secs. 3.1-3.3).

    Parameters
    ----------
    unit_ptr, unit_bins : CSR of each neuron's (distinct, sorted) spike bins
    bin_ptr, bin_units : CSR of the neurons firing in each bin
    z : int array, population count per bin
    kind : UNIFORM, WEIGHTED or TRIAL
    seeds : one seed (< 2^32) per neuron (all neurons, indexed by neuron)
    alias_prob, alias_idx : alias table of the weights z_t + baseline (WEIGHTED)
    z_weight : float array z_t + baseline (WEIGHTED)
    reject_factor : WEIGHTED, see ``REJECT_FACTOR`` (inf: rejection only; < 0: group-wise
        only)
    trial_bins : bins per trial (TRIAL)
    trial_perms : (n_surrogates, trials) int array: the trial orders to use, one per
        surrogate (exact enumeration); (0, trials): random orders (TRIAL)
    trial_codes : (neurons, n_surrogates) int array: each neuron's distinct random trial
        orders (``distinct_trial_orders``); (neurons, 0): none, orders are drawn
        independently (TRIAL with random orders)
    item_units, item_first, item_count : the work items: surrogates
        ``item_first[q] .. item_first[q] + item_count[q] - 1`` of neuron ``item_units[q]``

    Returns
    -------
    cpc, csf : (items,) original statistics of items that start at surrogate 0, else NaN
    cpc_surr, csf_surr : (items, max(item_count)), NaN beyond each item's count
    """
    m = item_units.shape[0]
    width = 0
    for q in range(m):
        width = max(width, item_count[q])
    cpc = np.full(m, np.nan)
    csf = np.full(m, np.nan)
    cpc_surr = np.full((m, width), np.nan)
    csf_surr = np.full((m, width), np.nan)
    counts = np.diff(unit_ptr).astype(np.float64)
    pow_table, total_zr, z_max, tile = _prepare(z, power, bin_units, n_bins)
    no_record = np.zeros((0, 0), dtype=np.int64)
    for q in prange(m):
        i = item_units[q]
        cpc[q], csf[q] = _item(i, seeds[i], item_first[q], item_count[q], unit_ptr,
                               unit_bins, bin_ptr, bin_units, z, n_bins, power, normalized,
                               kind, alias_prob, alias_idx, z_weight, baseline,
                               reject_factor, trial_bins, trial_perms, trial_codes[i],
                               pow_table, total_zr, z_max, counts, tile, cpc_surr[q],
                               csf_surr[q], no_record)
    return cpc, csf, cpc_surr, csf_surr


@njit(cache=True, nogil=True)
def unit_surrogate_bins(unit_ptr, unit_bins, bin_ptr, bin_units, z, n_bins, power,
                        normalized, kind, n_surrogates, seed, alias_prob, alias_idx,
                        z_weight, baseline, reject_factor, trial_bins, trial_perms,
                        trial_codes, unit):
    """The same per-neuron work as ``assembly_statistics`` for all surrogates of one neuron
    (``seed`` is its seed there, ``trial_codes`` its row there), also returning the bins of
    each surrogate (n_surrogates x n_i, sorted).

    Returns cpc, csf, cpc_surr, csf_surr, bins.
    """
    counts = np.diff(unit_ptr).astype(np.float64)
    pow_table, total_zr, z_max, tile = _prepare(z, power, bin_units, n_bins)
    n_i = unit_ptr[unit + 1] - unit_ptr[unit]
    record = np.zeros((n_surrogates if n_i > 0 else 0, n_i), dtype=np.int64)
    cpc_surr = np.full(n_surrogates, np.nan)
    csf_surr = np.full(n_surrogates, np.nan)
    cpc, csf = _item(unit, seed, 0, n_surrogates, unit_ptr, unit_bins, bin_ptr, bin_units, z,
                     n_bins, power, normalized, kind, alias_prob, alias_idx, z_weight,
                     baseline, reject_factor, trial_bins, trial_perms, trial_codes, pow_table,
                     total_zr, z_max, counts, tile, cpc_surr, csf_surr, record)
    return cpc, csf, cpc_surr, csf_surr, record


def alias_table(weights):
    """Walker's alias table for drawing index t with probability weights[t] / sum."""
    weights = np.asarray(weights, dtype=np.float64)
    return _alias_table(weights * weights.size / weights.sum())


@njit(cache=True, nogil=True)
def _alias_table(scaled):
    """Vose's construction on ``scaled`` (weights scaled to mean 1; consumed), compiled: a
    million bins take milliseconds instead of a second of Python between two progress
    reports. Small and large entries are stacks, as the lists of the first version were,
    so the table is the same."""
    n = scaled.shape[0]
    prob = np.ones(n)
    alias = np.arange(n)
    small = np.empty(n, dtype=np.int64)
    large = np.empty(n, dtype=np.int64)
    n_small = n_large = 0
    for k in range(n):
        if scaled[k] < 1.0:
            small[n_small] = k
            n_small += 1
        else:
            large[n_large] = k
            n_large += 1
    while n_small > 0 and n_large > 0:
        n_small -= 1
        n_large -= 1
        s, g = small[n_small], large[n_large]
        prob[s] = scaled[s]
        alias[s] = g
        scaled[g] = scaled[g] + scaled[s] - 1.0
        if scaled[g] < 1.0:
            small[n_small] = g
            n_small += 1
        else:
            large[n_large] = g
            n_large += 1
    return prob, alias


def trial_orders(n_trials):
    """Every order of ``n_trials`` trials except the identity, as a (n_trials! - 1,
    n_trials) int array (lexicographic order)."""
    from itertools import islice, permutations

    orders = np.array(list(islice(permutations(range(n_trials)), 1, None)), dtype=np.int64)
    return orders.reshape(-1, n_trials)
