"""The sample grid spike times lie on, found from the times themselves.

Recordings are sampled (1/30000 s for most extracellular systems, 1 ms for many simulators),
so spike times are usually whole multiples of one period; kernels with a grid path (SPOTDis)
then work on exact integer sample counts. The period is rarely stored with the data: CSV
tables, neo SpikeTrains and NWB units tables carry the times only. ``detect_period`` finds
it from the times, and never claims a grid that is not there: every spike must be within
float64 rounding of a multiple.
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["detect_period", "COMMON_RATES", "MIN_PERIOD", "ULP_TOLERANCE"]

#: Finest grid reported (s). No recording system samples spikes faster than 1 MHz, and a
#: finer grid would give no kernel an advantage (its lag tables would be longer than the
#: delay lists they replace).
MIN_PERIOD = 1e-6

#: A time t passes as sample n when |t - n p| <= ULP_TOLERANCE * eps * max(|t|, 1 s):
#: times made as n / rate, n * period or t_start + n * period, or converted from ms, are
#: within a few units in the last place of a multiple; jittered times almost never are.
ULP_TOLERANCE = 16.0

#: Sampling rates (Hz) of common recording systems and simulators, coarsest grid first.
COMMON_RATES = (1000.0, 2000.0, 10000.0, 20000.0, 24000.0, 24414.0625, 25000.0, 30000.0,
                32000.0, 40000.0, 48000.0, 50000.0, 100000.0)

_SAMPLE = 256            # times taken, spread over the recording, for the first estimate
_REFINE_ROUNDS = 8       # times found off the estimate that are added to the sample


@njit(cache=True, nogil=True)
def _first_off_grid(times, period, tol):
    """Index of the first time farther than ``tol`` (s) from a multiple of ``period``;
    -1 if none. Serial with an early exit: data off the grid fails on its first spikes."""
    for q in range(times.shape[0]):
        t = times[q]
        if abs(t - np.rint(t / period) * period) > tol:
            return q
    return -1


def _gcd(a, b, tol):
    """Greatest common divisor of two positive numbers, Euclid with remainders to the
    nearest multiple (so rounding below a multiple does not leave a near-b remainder)."""
    a, b = max(a, b), min(a, b)
    while b > tol:
        r = abs(a - np.rint(a / b) * b)
        a, b = b, r
    return a


def detect_period(times, hint=None):
    """The sampling period (s) all ``times`` are whole multiples of, or None.

    Parameters
    ----------
    times : float64 array (s)
    hint : float, optional
        A period to try first (an annotation such as ``sampling_period``); taken when the
        times fit it, else the period is found from the times.

    Returns
    -------
    float or None
        The largest period p >= ``MIN_PERIOD`` such that every time is within float64
        rounding (``ULP_TOLERANCE``) of a multiple of p; None when there is none, when
        there are fewer than two distinct non-zero times, or when the grid would be finer
        than ``MIN_PERIOD``.
    """
    t = np.ascontiguousarray(times, dtype=np.float64)
    nonzero = t[t != 0]
    if nonzero.size == 0:
        return None
    scale = max(float(np.max(np.abs(nonzero))), 1.0)
    tol = ULP_TOLERANCE * np.finfo(np.float64).eps * scale
    if hint is not None and hint >= MIN_PERIOD and _first_off_grid(t, float(hint), tol) < 0:
        return float(hint)
    pick = np.unique(np.abs(nonzero[np.linspace(0, nonzero.size - 1,
                                                min(_SAMPLE, nonzero.size)).astype(np.int64)]))
    if pick.size < 2:
        return None   # one distinct time fits any period that divides it: no evidence
    implied = _implied(pick, 1e-9 * scale)
    for _ in range(_REFINE_ROUNDS):
        if implied is None:
            break
        bad = -1
        for period in dict.fromkeys((_nice(implied), implied)):
            bad = _first_off_grid(t, period, tol)
            if bad < 0:
                return period
        # the sample missed a finer step of the grid: add the time that showed it
        pick = np.union1d(pick, [abs(float(t[bad]))])
        implied = _implied(pick, 1e-9 * scale)
    # long recordings at fine grids can defeat the estimate (rounding grows with the
    # quotients); the usual rates, coarsest first, are tried exactly
    for rate in COMMON_RATES:
        if _first_off_grid(t, 1.0 / rate, tol) < 0:
            return 1.0 / rate
    return None


def _implied(values, tol):
    """The greatest common divisor of sorted positive ``values`` (None below MIN_PERIOD).

    Euclid's remainders carry the rounding of every step, amplified by the quotients. So
    the values are taken in ascending order and after each the divisor is re-anchored on
    the value itself (an exact multiple: ``x / round(x / g)`` is the period to within the
    rounding of x), which keeps the error at a few units in the last place.
    """
    g = 0.0
    for x in values:
        g = x if g == 0.0 else _gcd(g, x, tol)
        if g < MIN_PERIOD:
            return None
        g = x / np.rint(x / g)
    return g


def _nice(period):
    """``1 / rate`` when the rate is a whole number of Hz within rounding (1/30000, not
    3.3333333333333335e-05 plus an ulp), else the period as estimated."""
    rate = 1.0 / period
    whole = np.rint(rate)
    return 1.0 / whole if abs(rate - whole) <= 1e-9 * rate else period
