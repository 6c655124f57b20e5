"""numba kernels for ASSET (Torre et al. 2016): rates, joint probability, stretched distance.

Pure functions on arrays. Written here rather than taken from Elephant because Elephant's
joint-probability step enumerates every non-increasing index sequence (47,838 terms per
matrix entry for filter (11, 3) and n_largest 3) and needs about 20 minutes for a
1,667-bin matrix on 2 cores; the recursion below gives the same probability in O(d^3)
operations per entry.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange


def boxcar_rates(binary, k):
    """Expected spike count per bin from a boxcar of ``k`` bins over binary spike trains.

    ``r[t] = (1/k) * sum(binary[t - k//2 : t + (k - 1)//2 + 1])`` with zeros outside the
    recording, then the first and last ``k//2`` bins take the value of the nearest bin
    whose window lies inside (Torre et al. 2016, Methods "Analytical probability matrix";
    the same edge rule as Elephant, except that k = 1 needs no edge fill).

    Parameters
    ----------
    binary : array (units x bins) of 0/1
    k : int >= 1, number of bins of the boxcar (at most the number of bins)
    """
    binary = np.asarray(binary, dtype=np.float64)
    n_units, n_bins = binary.shape
    csum = np.zeros((n_units, n_bins + 1))
    np.cumsum(binary, axis=1, out=csum[:, 1:])
    t = np.arange(n_bins)
    lo = np.clip(t - k // 2, 0, n_bins)
    hi = np.clip(t + (k - 1) // 2 + 1, 0, n_bins)
    rates = (csum[:, hi] - csum[:, lo]) / k
    k2 = k // 2
    if k2 > 0:
        rates[:, :k2] = rates[:, [k2]]
        rates[:, n_bins - k2:] = rates[:, [n_bins - k2 - 1]]
    return rates


def band_kernel_offsets(length, width):
    """Cells (a, b) of an l x l window with |a - b| <= w: the band along the 45° direction."""
    a, b = np.nonzero(np.abs(np.subtract.outer(np.arange(length), np.arange(length))) <= width)
    return a.astype(np.int64), b.astype(np.int64)


@njit(cache=True, nogil=True)
def _binom_pmf(r, c, q):
    """Binomial probability of c successes in r trials of probability q (0**0 = 1)."""
    log_comb = math.lgamma(r + 1) - math.lgamma(c + 1) - math.lgamma(r - c + 1)
    return math.exp(log_comb) * q ** c * (1.0 - q) ** (r - c)


@njit(cache=True, nogil=True)
def top_d_survival(u, n):
    """P(k-th largest of n iid U(0,1) >= u[k-1] for k = 1..d); ``u`` non-increasing.

    Torre et al. (2016), Methods "Joint probability matrix": the joint p-value of the d
    largest of n neighbouring entries. Computed by a recursion over the intervals
    [u_1, 1], [u_2, u_1), ..., tracking how many samples lie above the current threshold
    (capped at d, where every remaining constraint holds): O(d^3) per call, float64.
    """
    d = u.shape[0]
    prob = np.zeros(d + 1)  # prob[m]: m samples above the threshold so far (m = d: success)
    q = 1.0 - u[0]
    rest = 1.0
    for c in range(d):
        p = _binom_pmf(n, c, q)
        prob[c] += p
        rest -= p
    prob[d] += max(rest, 0.0)
    prob[0] = 0.0  # the largest must lie above u[0]
    for k in range(1, d):
        new = np.zeros(d + 1)
        new[d] = prob[d]
        q = 1.0 if u[k - 1] <= 0.0 else (u[k - 1] - u[k]) / u[k - 1]
        for m in range(k, d):
            if prob[m] == 0.0:
                continue
            r = n - m
            rest = 1.0
            for c in range(d - m):
                p = _binom_pmf(r, c, q)
                new[m + c] += prob[m] * p
                rest -= p
            new[d] += prob[m] * max(rest, 0.0)
        for m in range(k + 1):
            new[m] = 0.0  # at least k + 1 samples must lie above u[k]
        prob = new
    return prob[d]


@njit(cache=True, nogil=True)
def _jmat_entry(pmat, y0, x0, ka, kb, d, clip):
    top = np.zeros(d)  # d largest so far, descending
    for c in range(ka.shape[0]):
        v = pmat[y0 + ka[c], x0 + kb[c]]
        if v > top[d - 1]:
            pos = d - 1
            while pos > 0 and top[pos - 1] < v:
                top[pos] = top[pos - 1]
                pos -= 1
            top[pos] = v
    for c in range(d):
        if top[c] > clip:
            top[c] = clip
    return 1.0 - top_d_survival(top, ka.shape[0])


@njit(parallel=True, cache=True, nogil=True)
def jmat_at(pmat, row_offset, rows, cols, ka, kb, half, d, clip):
    """Joint-probability values at the centres (rows[k], cols[k]).

    ``pmat`` holds the probability-matrix rows ``row_offset .. row_offset + pmat.shape[0]``
    (a tile with its halo); each centre's window is ``l x l`` starting ``half`` cells above
    and left of it, restricted to the band cells ``(ka, kb)``; the d largest values are
    clipped at ``clip`` = 1 - min_p_value. Returns 1 - P (large = significant).
    """
    out = np.empty(rows.shape[0])
    for k in prange(rows.shape[0]):
        out[k] = _jmat_entry(pmat, rows[k] - half - row_offset, cols[k] - half, ka, kb, d,
                             clip)
    return out


@njit(cache=True, nogil=True)
def stretched_distances(rows, cols, pair_i, pair_j, stretch):
    """Distance between matrix entries, stretched away from the 45° direction.

    Torre et al. (2016), Methods "Clustering": the Euclidean distance times
    ``1 + (stretch - 1) * |sin(pi/4 - theta)|``, theta the angle of the displacement
    (rows as x, columns as y), so entries along a diagonal stripe are close and entries
    across it are ``stretch`` times farther. Never smaller than the Euclidean distance.
    """
    out = np.empty(pair_i.shape[0])
    quarter = math.pi / 4.0
    for k in range(pair_i.shape[0]):
        dx = float(rows[pair_i[k]] - rows[pair_j[k]])
        dy = float(cols[pair_i[k]] - cols[pair_j[k]])
        e = math.sqrt(dx * dx + dy * dy)
        if e == 0.0:
            out[k] = 0.0
            continue
        theta = math.atan2(dy, dx)
        out[k] = e * (1.0 + (stretch - 1.0) * abs(math.sin(quarter - theta)))
    return out


@njit(parallel=True, cache=True, nogil=True)
def poisson_cdf_below(counts, mu):
    """P(Poisson(mu) < counts) elementwise (0 where counts is 0), for 2-D arrays.

    Le Cam's approximation of the probability matrix (Torre et al. 2016): the sum of the
    first ``counts`` Poisson terms, each formed in log space so large means do not
    underflow. Coincidence counts are small integers, so this is faster than the
    incomplete-gamma route of scipy's ``pdtr`` and agrees with it to rounding error.
    """
    out = np.empty(counts.shape)
    for r in prange(counts.shape[0]):
        for c in range(counts.shape[1]):
            k = counts[r, c]
            m = mu[r, c]
            if k <= 0:
                out[r, c] = 0.0
            elif m <= 0.0:
                out[r, c] = 1.0
            else:
                log_m = math.log(m)
                total = 0.0
                for j in range(k):
                    total += math.exp(j * log_m - m - math.lgamma(j + 1.0))
                out[r, c] = min(total, 1.0)
    return out
