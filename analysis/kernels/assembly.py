"""numba kernels for assembly-neuron identification (Berger et al. 2010).

A surrogate moves the spikes of one neuron only, so everything about the other neurons is
computed once: the population count z_t per bin and, per bin, the list of neurons firing
in it (CSR). A surrogate of neuron i then costs O(n_i * neurons per bin) for CSF and O(n_i)
for CPC instead of a pass over the whole N x T matrix; neurons are independent and run in
parallel (``prange``).

Random numbers: neuron i's surrogates come from numba's generator seeded with
``seeds[i]`` at the start of that neuron's work, so results do not depend on how neurons
are spread over threads. ``unit_surrogate_bins`` runs the same per-neuron code for one
neuron and also returns the bins each surrogate drew (for tests against a plain reference).
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


@njit(cache=True)
def _cpc_sum(bins, z_pow, z_minus_pow, own):
    """Sum over ``bins`` of (z_t - own_t)^r, own_t = 1 where neuron i fired originally.

    ``z_pow`` and ``z_minus_pow`` hold z_t^r and (z_t - 1)^r, computed once per run.
    """
    total = 0.0
    for k in range(bins.shape[0]):
        t = bins[k]
        total += z_minus_pow[t] if own[t] else z_pow[t]
    return total


@njit(cache=True)
def _csf(bins, i, bin_ptr, bin_units, n_i, expected, power, normalized, coinc, touched,
         dense):
    """CSF of neuron i placed at ``bins``: the average over j != i of
    max(0, c_ij - e_ij)^power (Berger et al. 2010, Sec. 3.2).

    ``expected[j]`` = e_ij = n_i n_j / T. ``dense``: most neurons share a bin with i, so
    sum over all of them rather than keep a list of the neurons touched (a branch per
    coincidence); the two cases are separate loops so the inner one has no branch.
    """
    n_touched = 0
    if dense:
        for k in range(bins.shape[0]):
            t = bins[k]
            for p in range(bin_ptr[t], bin_ptr[t + 1]):
                coinc[bin_units[p]] += 1
        coinc[i] = 0  # neuron i's own bins are not coincidences
        n_touched = coinc.shape[0]
    else:
        for k in range(bins.shape[0]):
            t = bins[k]
            for p in range(bin_ptr[t], bin_ptr[t + 1]):
                j = bin_units[p]
                if coinc[j] == 0:
                    touched[n_touched] = j
                    n_touched += 1
                coinc[j] += 1
    total = 0.0
    for q in range(n_touched):
        j = q if dense else touched[q]
        c = coinc[j]
        coinc[j] = 0
        if j == i or c == 0:
            continue
        e = expected[j]
        excess = c - e
        if excess > 0:
            term = excess * excess if power == 2.0 else excess ** power
            total += term / e if normalized else term
    return total / max(coinc.shape[0] - 1, 1)  # the average over the other N - 1 neurons


# Surrogate bins are drawn into a packed bitmap (T bits: 12.5 KB for 1e5 bins, resident in
# the L1 cache), which rejects repeats for free, and are then read out in ascending order.
# Visiting bins in order lets the CSR lookups of the other neurons stream through memory
# instead of jumping at random; at 1000 units x 1e5 bins this is several times faster.
_DEBRUIJN = np.uint64(0x03F79D71B4CA8B09)
_DEBRUIJN_TABLE = np.zeros(64, dtype=np.int64)
for _bit in range(64):
    _DEBRUIJN_TABLE[((1 << _bit) * 0x03F79D71B4CA8B09 % 2 ** 64) >> 58] = _bit


@njit(cache=True)
def _set_bit(mask, t):
    """Set bit t; return False if it was set already."""
    w = t >> 6
    bit = np.uint64(1) << np.uint64(t & 63)
    if mask[w] & bit:
        return False
    mask[w] |= bit
    return True


@njit(cache=True)
def _collect_sorted(mask, out, table):
    """Write the set bits of ``mask`` to ``out`` in ascending order and clear the mask."""
    k = 0
    one = np.uint64(1)
    for w in range(mask.shape[0]):
        word = mask[w]
        if word == 0:
            continue
        while word != 0:
            low = word & (~word + one)
            out[k] = w * 64 + table[(low * _DEBRUIJN) >> np.uint64(58)]
            k += 1
            word ^= low
        mask[w] = 0


@njit(cache=True)
def _uniform_bins(n_i, n_bins, mask):
    """n_i distinct bins drawn uniformly, marked in ``mask``."""
    k = 0
    while k < n_i:
        t = min(int(np.random.random() * n_bins), n_bins - 1)
        if _set_bit(mask, t):
            k += 1


@njit(cache=True)
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


@njit(cache=True)
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


@njit(cache=True)
def _move_to(target, t, bins, pos):
    """Swap bin t to index ``target`` of ``bins``, keeping ``pos`` in step."""
    p = pos[t]
    other = bins[target]
    bins[p] = other
    pos[other] = p
    bins[target] = t
    pos[t] = target


@njit(cache=True)
def _weighted_groups(k, n_i, drawn, z, own, baseline, start, bins, pos, taken, mask):
    """Draw the bins ``k..n_i-1`` of a weighted surrogate exactly, without rejection.

    All bins of a group v (z_t^(-i) = v) weigh v + b, so the next bin is drawn in two
    steps: a group with probability proportional to its undrawn mass (undrawn bins times
    v + b), then a bin uniformly among the group's undrawn ones. Each group keeps its drawn
    bins at the front (``taken[v]`` of them: a partial Fisher-Yates shuffle), so both steps
    cost O(groups) and O(1) whatever the weights. The bins ``drawn[:k]`` from the rejection
    phase are moved to the front first; ``taken`` is cleared at the end.
    """
    n_groups = taken.shape[0]
    for j in range(k):
        t = drawn[j]
        v = z[t] - (1 if own[t] else 0)
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
        _move_to(first, t, bins, pos)
        taken[chosen] += 1
        _set_bit(mask, t)
        drawn[k] = t
        k += 1
    taken[:] = 0


@njit(cache=True)
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


@njit(cache=True)
def _random_order(perm, seen, distinct):
    """A uniformly random trial order other than the identity (Fisher-Yates); with
    ``distinct``, also one not drawn before for this neuron (recorded in ``seen`` by its
    mixed-radix code, which the Fisher-Yates choices spell out)."""
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
            return


@njit(cache=True)
def _trial_bins(bins, trial_bins, perm, mask):
    """Neuron i's bins with trial ``k`` moved to trial ``perm[k]``."""
    for k in range(bins.shape[0]):
        trial = bins[k] // trial_bins
        _set_bit(mask, perm[trial] * trial_bins + bins[k] % trial_bins)


@njit(cache=True)
def _prepare(z, power):
    """z_t^r, (z_t - 1)^r (0 where z_t = 0), the sum of z_t^r and the largest z_t, once
    per run."""
    n_bins = z.shape[0]
    z_pow = np.empty(n_bins)
    z_minus_pow = np.empty(n_bins)
    total_zr = 0.0
    z_max = 0
    for t in range(n_bins):
        z_pow[t] = z[t] ** power
        z_minus_pow[t] = (z[t] - 1.0) ** power if z[t] > 0 else 0.0
        total_zr += z_pow[t]
        z_max = max(z_max, z[t])
    return z_pow, z_minus_pow, total_zr, z_max


@njit(cache=True)
def _unit(i, seed, unit_ptr, unit_bins, bin_ptr, bin_units, z, n_bins, power, normalized,
          kind, alias_prob, alias_idx, z_weight, baseline, reject_factor, trial_bins,
          trial_perms, z_pow, z_minus_pow, total_zr, z_max, counts, table, cpc_surr,
          csf_surr, record):
    """Original CPC and CSF of neuron i (returned) and of its surrogates (written to
    ``cpc_surr`` and ``csf_surr``, one entry per surrogate); with a non-empty ``record``
    (surrogates x n_i), also the sorted bins of each surrogate. NaN for a silent neuron."""
    n_units = unit_ptr.shape[0] - 1
    bins = unit_bins[unit_ptr[i]:unit_ptr[i + 1]]
    n_i = bins.shape[0]
    if n_i == 0:
        return np.nan, np.nan
    n_surrogates = cpc_surr.shape[0]
    np.random.seed(seed)
    own = np.zeros(n_bins, dtype=np.bool_)
    for k in range(n_i):
        own[bins[k]] = True
    # mean over all bins of (z_t^(-i))^power: fixed for this neuron
    all_mean = total_zr
    for k in range(n_i):
        t = bins[k]
        all_mean -= z_pow[t] - z_minus_pow[t]
    all_mean /= n_bins
    coinc = np.zeros(n_units, dtype=np.int32)
    touched = np.empty(n_units, dtype=np.int32)
    # expected coincidence visits per surrogate against the number of neurons
    dense = n_i * (bin_units.shape[0] / n_bins) > n_units / 4
    cpc = _cpc_sum(bins, z_pow, z_minus_pow, own) / n_i - all_mean
    expected = counts * (n_i / n_bins)
    csf = _csf(bins, i, bin_ptr, bin_units, n_i, expected, power, normalized, coinc,
               touched, dense)
    mask = np.zeros((n_bins + 63) // 64, dtype=np.uint64)
    surr = np.empty(n_i, dtype=np.int64)
    # weighted shuffling: neuron i's weights, the rejection phase's stopping mass, and the
    # per-group bin lists of the exact phase (built the first time they are needed)
    accept = np.ones(0)
    drawn = np.empty(n_i, dtype=np.int64)
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
    # trial shuffling: given orders (all of them), or random ones, distinct when they can be
    n_trials = n_bins // trial_bins if trial_bins > 0 else 1
    perm = np.empty(n_trials, dtype=np.int64)
    exact = trial_perms.shape[0] > 0
    distinct = kind == TRIAL and not exact and n_trials <= MAX_TRIALS_DISTINCT
    if distinct:  # only while there are more orders than surrogates (else: exact)
        n_orders = 1
        for k in range(2, n_trials + 1):
            n_orders *= k
        distinct = n_orders - 1 > n_surrogates
    size = 1
    if distinct:
        while size < 2 * (n_surrogates + 1):
            size *= 2
    seen = np.full(size, -1, dtype=np.int64)
    for s in range(n_surrogates):
        if kind == UNIFORM:
            _uniform_bins(n_i, n_bins, mask)
        elif kind == WEIGHTED:
            k = _weighted_reject(n_i, alias_prob, alias_idx, accept, mask, drawn,
                                 max_rejected)
            if k < n_i:
                if g_taken.shape[0] != n_groups:
                    g_start, g_bins, g_pos = _group_bins(z, own, n_groups)
                    g_taken = np.zeros(n_groups, dtype=np.int64)
                _weighted_groups(k, n_i, drawn, z, own, baseline, g_start, g_bins, g_pos,
                                 g_taken, mask)
        elif exact:
            _trial_bins(bins, trial_bins, trial_perms[s], mask)
        else:
            _random_order(perm, seen, distinct)
            _trial_bins(bins, trial_bins, perm, mask)
        _collect_sorted(mask, surr, table)
        if record.shape[0] > 0:
            record[s, :] = surr
        cpc_surr[s] = _cpc_sum(surr, z_pow, z_minus_pow, own) / n_i - all_mean
        csf_surr[s] = _csf(surr, i, bin_ptr, bin_units, n_i, expected, power, normalized,
                           coinc, touched, dense)
    return cpc, csf


@njit(parallel=True, cache=True)
def assembly_statistics(unit_ptr, unit_bins, bin_ptr, bin_units, z, n_bins, power,
                        normalized, kind, n_surrogates, seeds, alias_prob, alias_idx,
                        z_weight, baseline, reject_factor, trial_bins, trial_perms, units,
                        table=_DEBRUIJN_TABLE):
    """CPC and CSF of each neuron in ``units`` and of its surrogates.

    Parameters
    ----------
    unit_ptr, unit_bins : CSR of each neuron's (distinct, sorted) spike bins
    bin_ptr, bin_units : CSR of the neurons firing in each bin
    z : int array, population count per bin
    kind : UNIFORM, WEIGHTED or TRIAL
    seeds : one seed per entry of ``units``
    alias_prob, alias_idx : alias table of the weights z_t + baseline (WEIGHTED)
    z_weight : float array z_t + baseline (WEIGHTED)
    reject_factor : WEIGHTED, see ``REJECT_FACTOR`` (inf: rejection only; < 0: group-wise
        only)
    trial_bins : bins per trial (TRIAL)
    trial_perms : (n_surrogates, trials) int array: the trial orders to use, one per
        surrogate (exact enumeration); (0, trials): draw random orders (TRIAL)

    Returns
    -------
    cpc, csf : (len(units),) original statistics
    cpc_surr, csf_surr : (len(units), n_surrogates)
    """
    m = units.shape[0]
    cpc = np.full(m, np.nan)
    csf = np.full(m, np.nan)
    cpc_surr = np.full((m, n_surrogates), np.nan)
    csf_surr = np.full((m, n_surrogates), np.nan)
    counts = np.diff(unit_ptr).astype(np.float64)
    z_pow, z_minus_pow, total_zr, z_max = _prepare(z, power)
    no_record = np.zeros((0, 0), dtype=np.int64)
    for q in prange(m):
        cpc[q], csf[q] = _unit(units[q], seeds[q], unit_ptr, unit_bins, bin_ptr, bin_units,
                               z, n_bins, power, normalized, kind, alias_prob, alias_idx,
                               z_weight, baseline, reject_factor, trial_bins, trial_perms,
                               z_pow, z_minus_pow, total_zr, z_max, counts, table, cpc_surr[q],
                               csf_surr[q], no_record)
    return cpc, csf, cpc_surr, csf_surr


@njit(cache=True)
def unit_surrogate_bins(unit_ptr, unit_bins, bin_ptr, bin_units, z, n_bins, power,
                        normalized, kind, n_surrogates, seed, alias_prob, alias_idx,
                        z_weight, baseline, reject_factor, trial_bins, trial_perms, unit,
                        table=_DEBRUIJN_TABLE):
    """The same per-neuron work as ``assembly_statistics`` for one neuron (``seed`` is its
    seed there), also returning the bins of each surrogate (n_surrogates x n_i, sorted).

    Returns cpc, csf, cpc_surr, csf_surr, bins.
    """
    counts = np.diff(unit_ptr).astype(np.float64)
    z_pow, z_minus_pow, total_zr, z_max = _prepare(z, power)
    n_i = unit_ptr[unit + 1] - unit_ptr[unit]
    record = np.zeros((n_surrogates if n_i > 0 else 0, n_i), dtype=np.int64)
    cpc_surr = np.full(n_surrogates, np.nan)
    csf_surr = np.full(n_surrogates, np.nan)
    cpc, csf = _unit(unit, seed, unit_ptr, unit_bins, bin_ptr, bin_units, z, n_bins, power,
                     normalized, kind, alias_prob, alias_idx, z_weight, baseline,
                     reject_factor, trial_bins, trial_perms, z_pow, z_minus_pow, total_zr,
                     z_max, counts, table, cpc_surr, csf_surr, record)
    return cpc, csf, cpc_surr, csf_surr, record


def alias_table(weights):
    """Walker's alias table for drawing index t with probability weights[t] / sum."""
    weights = np.asarray(weights, dtype=np.float64)
    n = weights.size
    scaled = weights * n / weights.sum()
    prob = np.ones(n)
    alias = np.arange(n)
    small = [k for k in range(n) if scaled[k] < 1.0]
    large = [k for k in range(n) if scaled[k] >= 1.0]
    while small and large:
        s, g = small.pop(), large.pop()
        prob[s] = scaled[s]
        alias[s] = g
        scaled[g] = scaled[g] + scaled[s] - 1.0
        (small if scaled[g] < 1.0 else large).append(g)
    return prob, alias.astype(np.int64)


def trial_orders(n_trials):
    """Every order of ``n_trials`` trials except the identity, as a (n_trials! - 1,
    n_trials) int array (lexicographic order)."""
    from itertools import islice, permutations

    orders = np.array(list(islice(permutations(range(n_trials)), 1, None)), dtype=np.int64)
    return orders.reshape(-1, n_trials)
