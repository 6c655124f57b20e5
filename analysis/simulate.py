"""Seeded simulators of parallel spike trains with ground truth.

Every simulator returns a :class:`~analysis.spiketrains.SpikeTrains` whose ``truth`` holds
the planted structure and whose ``annotations`` hold the simulator's name
(``annotations["simulator"]``) and its parameters (JSON-friendly values), so a saved file
says how it was made. Times are seconds, rates Hz, unless a docstring says otherwise.

Randomness: ``seed`` is an int, ``None`` (fresh entropy) or a ``numpy.random.Generator``
(used as it is, so its state advances). The same int seed gives identical output.

Parameters are validated; a bad value raises ``ValueError`` whose message starts with the
parameter's name, e.g. ``"rate: must be >= 0 Hz, got -1"``.

Simulators
----------
poisson        stationary Poisson, optionally with an absolute refractory period (dead time)
assemblies     SIP / MIP assemblies (Kuhn et al. 2003; Berger et al. 2010), in continuous or
               binned (Bernoulli) time, with an optional common rate profile
sip, mip, msip convenience wrappers around :func:`assemblies`
synfire_chain  a synfire chain embedded in a Poisson background (Torre et al. 2016, ASSET)
spot_patterns  epochs of pulse patterns and noise (Grossberger, Battaglia & Vinck 2018)
embedded_sequences  spike sequences embedded at known times in a continuous Poisson
               recording (the ground truth of sliding-window SPOTDis / SpikeShip)

``SIMULATORS`` maps the names used by the CLI and the dashboard to these functions.
"""

from __future__ import annotations

import inspect
import numbers
from dataclasses import dataclass, field

import numpy as np

from .spiketrains import Epochs, SpikeTrains, n_bins_for

__all__ = ["poisson", "assemblies", "sip", "mip", "msip", "synfire_chain", "spot_patterns",
           "embedded_sequences", "pattern_intervals", "SIMULATORS", "SPOT_VARIANTS"]

#: Upper bound on the number of random numbers drawn in one block (memory ~ 8 bytes each).
_BLOCK = 2_000_000


# ====================================================================== validation helpers
def _rng(seed):
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is None or isinstance(seed, np.random.SeedSequence):
        return np.random.default_rng(seed)
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, numbers.Integral):
        raise ValueError(f"seed: must be an int, None or a numpy.random.Generator, "
                         f"got {seed!r}")
    if seed < 0:
        raise ValueError(f"seed: must be >= 0, got {seed}")
    return np.random.default_rng(int(seed))


def _seed_note(seed):
    """The seed as a JSON-friendly annotation (None when a Generator was passed)."""
    if isinstance(seed, numbers.Integral) and not isinstance(seed, (bool, np.bool_)):
        return int(seed)
    return None


def _count(name, value, minimum=0, maximum=None):
    """A whole number >= minimum (floats that are whole, like 10.0, are accepted)."""
    if isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{name}: must be an integer, got {value!r}")
    if isinstance(value, numbers.Real) and not isinstance(value, numbers.Integral):
        if not (np.isfinite(value) and float(value).is_integer()):
            raise ValueError(f"{name}: must be an integer, got {value}")
        value = int(value)
    if not isinstance(value, numbers.Integral):
        raise ValueError(f"{name}: must be an integer, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name}: must be >= {minimum}, got {value}")
    if maximum is not None and value > maximum:
        raise ValueError(f"{name}: must be <= {maximum}, got {value}")
    return int(value)


def _number(name, value, unit="", lo=None, hi=None, lo_open=False, hi_open=False):
    """A finite float within [lo, hi] (open ends where asked)."""
    if isinstance(value, (bool, np.bool_, str, bytes)) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name}: must be a number{_u(unit, ' of')}, got {value!r}")
    x = float(value)
    if not np.isfinite(x):
        raise ValueError(f"{name}: must be finite, got {value}")
    u = _u(unit)
    if lo is not None and (x <= lo if lo_open else x < lo):
        raise ValueError(f"{name}: must be {'>' if lo_open else '>='} {lo:g}{u}, got {value}")
    if hi is not None and (x >= hi if hi_open else x > hi):
        raise ValueError(f"{name}: must be {'<' if hi_open else '<='} {hi:g}{u}, got {value}")
    return x


def _u(unit, prefix=""):
    return f"{prefix} {unit}" if unit else ""


def _per_item(name, value, n, what, unit="", lo=None, hi=None, lo_open=False, hi_open=False):
    """A scalar or one value per item (``what``: 'unit', 'assembly'), as a float array."""
    if np.ndim(value) == 0:
        x = _number(name, value, unit, lo, hi, lo_open, hi_open)
        return np.full(n, x), x
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{name}: must be a number or one number per {what}, got {value!r}")
    if arr.shape != (n,):
        raise ValueError(f"{name}: must be a number or one value per {what} ({n}), "
                         f"got shape {arr.shape}")
    for i, v in enumerate(arr):
        try:
            _number(name, v, unit, lo, hi, lo_open, hi_open)
        except ValueError as exc:
            raise ValueError(f"{exc} ({what} {i})") from None
    return arr, arr.tolist()


def _span(t_start, t_stop):
    t_start = _number("t_start", t_start, "s")
    t_stop = _number("t_stop", t_stop, "s")
    if t_stop <= t_start:
        raise ValueError(f"t_stop: must be > t_start ({t_start:g} s), got {t_stop}")
    return t_start, t_stop


def _build(times, units, n_units, t_start, t_stop, presorted=False, **kwargs):
    """SpikeTrains from flat (times, units); sorts by unit, then time, unless presorted."""
    # t_start + (an offset < duration) can round a hair past t_stop; clip that rounding
    times = np.clip(np.asarray(times, dtype=np.float64), t_start, t_stop)
    units = np.asarray(units, dtype=np.int64)
    if not presorted and times.size:
        order = np.lexsort((times, units))
        times, units = times[order], units[order]
    counts = np.bincount(units, minlength=n_units) if units.size else np.zeros(n_units, int)
    offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    # np.clip made private arrays: hand them over without another copy
    return SpikeTrains(times, offsets, t_start, t_stop, copy=False, **kwargs)


# ====================================================================== point-process kernels
def _blocked_events(scale, horizon, draw):
    """Event positions in [0, horizon) of independent renewal processes, one per row.

    ``scale[i]`` is row i's expected number of events in the horizon (0: no events);
    ``draw(rows, width, first)`` returns a (len(rows), width) array of increments (the
    first column being the first event's position when ``first``). Rows are processed in
    blocks of about ``_BLOCK`` numbers, sorted by their expected count so that blocks are
    not padded for a few busy rows; rows that run short are extended. Returns (positions,
    rows), grouped by row in blocks and time-ordered within each row's pieces.
    """
    scale = np.asarray(scale, dtype=np.float64)
    order = np.argsort(-scale, kind="stable")
    order = order[scale[order] > 0]
    pos_out, row_out = [], []
    i = 0
    while i < order.size:
        m = scale[order[i]]                       # the busiest row of this block
        width = int(np.ceil(m + 6.0 * np.sqrt(m) + 10))
        n_rows = max(1, _BLOCK // width)
        rows = order[i:i + n_rows]
        i += rows.size
        pos = np.cumsum(draw(rows, width, True), axis=1)
        while True:
            keep = pos < horizon
            pos_out.append(pos[keep])
            row_out.append(np.broadcast_to(rows[:, None], pos.shape)[keep])
            short = pos[:, -1] < horizon
            if not short.any():
                break
            rows, last = rows[short], pos[short, -1]
            pos = last[:, None] + np.cumsum(draw(rows, width, False), axis=1)
    if not pos_out:
        return np.empty(0), np.empty(0, dtype=np.int64)
    return np.concatenate(pos_out), np.concatenate(row_out).astype(np.int64)


def _dead_time_poisson(rates, dead, duration, rng):
    """Stationary Poisson processes with dead time ``dead`` (s) and output rates ``rates``.

    Inter-spike intervals are ``dead + Exp(lam)`` with ``lam = rate / (1 - rate * dead)``,
    so that the mean interval is ``1 / rate``. The first spike follows the equilibrium
    forward-recurrence distribution (with probability ``rate * dead`` uniform in
    [0, dead), else ``dead + Exp(lam)``), so the process is stationary from time 0.
    Returns spike times in [0, duration) and unit indices.
    """
    rates = np.asarray(rates, dtype=np.float64)
    lam = np.where(rates > 0, rates / np.maximum(1.0 - rates * dead, 1e-300), 0.0)

    def draw(rows, width, first):
        inc = dead + rng.standard_exponential((rows.size, width)) / lam[rows, None]
        if first:
            if dead > 0:
                in_dead = rng.random(rows.size) < rates[rows] * dead
                inc[:, 0] = np.where(in_dead, rng.random(rows.size) * dead, inc[:, 0])
            else:
                inc[:, 0] -= dead
        return inc

    return _blocked_events(rates * duration, duration, draw)


def _bernoulli_bins(probs, n_bins, rng):
    """Independent Bernoulli trials in ``n_bins`` bins with per-row probability ``probs``.

    Uses geometric skipping, so the cost is proportional to the number of successes.
    Returns (bin indices, rows).
    """
    probs = np.asarray(probs, dtype=np.float64)

    def draw(rows, width, first):
        inc = rng.geometric(probs[rows, None], size=(rows.size, width)).astype(np.float64)
        if first:
            inc[:, 0] -= 1.0
        return inc

    pos, rows = _blocked_events(probs * n_bins, n_bins, draw)
    return pos.astype(np.int64), rows


# ====================================================================== rate profile
def _rate_profile(rate_profile, t_start, t_stop):
    """Validate (times, factors); return segment starts and factors of time-weighted mean 1."""
    try:
        times, factors = rate_profile
        times = np.asarray(times, dtype=np.float64).ravel()
        factors = np.asarray(factors, dtype=np.float64).ravel()
    except (TypeError, ValueError):
        raise ValueError("rate_profile: must be a pair (times, factors) of equal-length "
                         "sequences of numbers") from None
    if times.size == 0 or times.size != factors.size:
        raise ValueError(f"rate_profile: times and factors must be non-empty and of equal "
                         f"length, got {times.size} and {factors.size}")
    if not (np.all(np.isfinite(times)) and np.all(np.isfinite(factors))):
        raise ValueError("rate_profile: times and factors must be finite")
    if abs(times[0] - t_start) > 1e-12 or np.any(np.diff(times) <= 0) or times[-1] >= t_stop:
        raise ValueError(f"rate_profile: times must rise strictly from t_start ({t_start:g} s) "
                         f"and stay below t_stop ({t_stop:g} s), got {times.tolist()}")
    if np.any(factors < 0):
        raise ValueError(f"rate_profile: factors must be >= 0, got {factors.tolist()}")
    widths = np.diff(np.append(times, t_stop))
    mean = float(np.sum(factors * widths) / (t_stop - t_start))
    if mean <= 0:
        raise ValueError("rate_profile: factors must not all be 0")
    return times, factors / mean


def _profile_at(edges, factors, t):
    return factors[np.clip(np.searchsorted(edges, t, side="right") - 1, 0, factors.size - 1)]


# ====================================================================== 1. Poisson
def poisson(n_units=100, rate=10.0, t_stop=10.0, t_start=0.0, refractory=0.0, seed=None):
    """Independent stationary Poisson spike trains, optionally with dead time.

    The independent background / null model of all three methods: ASSET (Torre et al.
    2016, PLoS Comput. Biol. 12: e1004939, test data), assembly-neuron detection (Berger
    et al. 2010, Comput. Intell. Neurosci. 2010: 439648, simulated data) and SPOTDisClust
    (Grossberger et al. 2018, PLoS Comput. Biol. 14: e1006283, noise). The dead-time
    variant is the "Poisson process with dead time" of Deger et al. (2012, J. Comput.
    Neurosci. 32: 443) used by Elephant's ``StationaryPoissonProcess(refractory_period=)``.

    Parameters
    ----------
    n_units : int
        Number of units (>= 1).
    rate : float or array of float
        Firing rate in Hz, one value for all units or one per unit (>= 0).
    t_stop, t_start : float
        Recording bounds in s.
    refractory : float
        Absolute refractory period in s (>= 0). The trains are then Poisson processes with
        dead time: intervals are ``refractory + Exp(rate')`` with
        ``rate' = rate / (1 - rate * refractory)``, so the output rate still equals
        ``rate``; needs ``rate * refractory < 1``. The first spike is drawn from the
        stationary (equilibrium) distribution, so rates are flat from ``t_start``.
    seed : int, None or numpy.random.Generator

    Returns
    -------
    SpikeTrains
        No ground truth; ``annotations`` hold the parameters.
    """
    n_units = _count("n_units", n_units, 1)
    t_start, t_stop = _span(t_start, t_stop)
    rates, rate_note = _per_item("rate", rate, n_units, "unit", "Hz", lo=0)
    refractory = _number("refractory", refractory, "s", lo=0)
    if refractory > 0 and np.any(rates * refractory >= 1):
        i = int(np.argmax(rates * refractory))
        raise ValueError(f"refractory: rate * refractory must be < 1, got "
                         f"{rates[i]:g} Hz * {refractory:g} s = {rates[i] * refractory:g}")
    rng = _rng(seed)
    t, u = _dead_time_poisson(rates, refractory, t_stop - t_start, rng)
    order = np.argsort(u, kind="stable")          # pieces of a unit are already in time order
    annotations = {"simulator": "poisson", "n_units": n_units, "rate": rate_note,
                   "t_start": t_start, "t_stop": t_stop, "refractory": refractory,
                   "seed": _seed_note(seed)}
    return _build(t_start + t[order], u[order], n_units, t_start, t_stop, presorted=True,
                  annotations=annotations)


# ====================================================================== 2. assemblies
def _membership(members, n_units):
    """Bool (A, N) membership from index lists or a bool array."""
    arr = None
    if isinstance(members, np.ndarray) and members.dtype == bool:
        arr = np.atleast_2d(members)
        if arr.ndim != 2 or arr.shape[1] != n_units:
            raise ValueError(f"members: a boolean array must be (assemblies, {n_units}), "
                             f"got shape {members.shape}")
        arr = arr.copy()
    else:
        try:
            groups = [np.asarray(list(m)) for m in members]
        except TypeError:
            raise ValueError("members: must be a sequence of sequences of unit indices "
                             f"(or a boolean array), got {members!r}") from None
        arr = np.zeros((len(groups), n_units), dtype=bool)
        for a, g in enumerate(groups):
            if g.size and not np.issubdtype(g.dtype, np.integer):
                raise ValueError(f"members: assembly {a} must list integer unit indices")
            if g.size and (g.min() < 0 or g.max() >= n_units):
                raise ValueError(f"members: assembly {a} has a unit index outside "
                                 f"0..{n_units - 1}")
            if np.unique(g).size != g.size:
                raise ValueError(f"members: assembly {a} lists a unit twice")
            arr[a, g.astype(np.int64)] = True
    if arr.shape[0] == 0:
        raise ValueError("members: need at least one assembly")
    sizes = arr.sum(axis=1)
    if np.any(sizes < 2):
        raise ValueError(f"members: assembly {int(np.argmax(sizes < 2))} needs at least 2 "
                         f"units, got {int(sizes.min())}")
    return arr


def assemblies(n_units=100, members=(range(10),), rate=15.0, coincidence_rate=2.0,
               copy_prob=1.0, t_stop=20.0, bin_size=None, jitter=0.0, rate_profile=None,
               t_start=0.0, seed=None):
    """Poisson units with injected synchronous assembly activity (SIP / MIP).

    Follows the single- and multiple-interaction processes (SIP, MIP) of Kuhn, Aertsen &
    Rotter (2003, Neural Comput. 15: 67-101, "models of correlated input") as used in the
    simulated data of Berger et al. (2010, "Efficient identification of assembly neurons
    within massively parallel spike trains", Comput. Intell. Neurosci. 2010: 439648).

    Convention: each assembly ``a`` has a hidden *mother* Poisson process of rate
    ``coincidence_rate[a]``; every mother spike is copied into each member independently
    with probability ``copy_prob[a]`` (SIP when 1, MIP when < 1). A member therefore
    receives injected spikes at ``coincidence_rate * copy_prob``; two members share
    coincidences at ``coincidence_rate * copy_prob**2``; all members fire together at
    ``coincidence_rate * copy_prob**size``. Units may belong to several assemblies
    (overlap) and receive copies from each. Every unit also fires background Poisson
    spikes whose rate is lowered so that its total expected rate equals ``rate``.

    Parameters
    ----------
    n_units : int
        Number of units.
    members : sequence of sequences of int, or bool array (assemblies, n_units)
        Unit indices of each assembly (at least 2 units each).
    rate : float or array of float
        Total firing rate of each unit in Hz (scalar or one per unit).
    coincidence_rate : float or array of float
        Mother-process rate of each assembly in Hz (scalar or one per assembly).
    copy_prob : float or array of float
        Probability in (0, 1] that a mother spike is copied into a member.
    t_stop, t_start : float
        Recording bounds in s.
    bin_size : float or None
        ``None``: continuous time; copies sit exactly at the mother time (plus jitter).
        A bin size in s: binned Bernoulli processes, as in the binned analyses of Berger
        et al.: the mother fires in a bin with probability ``coincidence_rate * bin_size``,
        each unit spikes at most once per bin, at the bin's left edge
        ``t_start + k * bin_size``; the background probability per bin is chosen so that
        the total probability per bin is exactly ``rate * bin_size`` (with no jitter).
    jitter : float
        Each copy is shifted by an independent uniform offset in [-jitter, +jitter] s
        (as Elephant's ``single_interaction_process``); in binned mode by a uniform whole
        number of bins in [-round(jitter / bin_size), +round(jitter / bin_size)]. Copies
        shifted past an edge wrap around to the other end, so rates stay stationary.
    rate_profile : (times, factors) or None
        A common non-stationary modulation of all units' *background* rates: a
        piecewise-constant multiplier, ``factors[k]`` from ``times[k]`` (s; ``times[0]``
        must equal ``t_start``) to the next time or ``t_stop``. Factors are rescaled to a
        time-weighted mean of 1 so that mean rates are preserved. Generated by thinning.
        Co-varying rates like this make uniform-shuffling surrogates give false positives
        (the caveat discussed by Berger et al. 2010).
    seed : int, None or numpy.random.Generator

    Returns
    -------
    SpikeTrains
        ``truth["assembly_membership"]``: bool (assemblies, n_units).
        ``annotations["n_coincidences"]``: number of mother spikes per assembly.
    """
    return _assemblies(n_units, members, rate, coincidence_rate, copy_prob, t_stop, bin_size,
                       jitter, rate_profile, t_start, seed, "assemblies", None)


def _assemblies(n_units, members, rate, coincidence_rate, copy_prob, t_stop, bin_size,
                jitter, rate_profile, t_start, seed, name, extra):
    n_units = _count("n_units", n_units, 2)
    t_start, t_stop = _span(t_start, t_stop)
    duration = t_stop - t_start
    member = _membership(members, n_units)
    n_asm = member.shape[0]
    rates, rate_note = _per_item("rate", rate, n_units, "unit", "Hz", lo=0)
    coinc, coinc_note = _per_item("coincidence_rate", coincidence_rate, n_asm, "assembly",
                                  "Hz", lo=0)
    copy, copy_note = _per_item("copy_prob", copy_prob, n_asm, "assembly", lo=0, hi=1,
                                lo_open=True)
    jitter = _number("jitter", jitter, "s", lo=0)
    if bin_size is not None:
        bin_size = _number("bin_size", bin_size, "s", lo=0, lo_open=True)
        if bin_size > duration:
            raise ValueError(f"bin_size: must be <= the duration ({duration:g} s), "
                             f"got {bin_size}")
    profile = None if rate_profile is None else _rate_profile(rate_profile, t_start, t_stop)
    injected = (coinc * copy) @ member                      # Hz per unit
    rng = _rng(seed)

    if bin_size is None:
        background = rates - injected
        _check_background(background, rates, injected)
        background = np.maximum(background, 0.0)
        fmax = 1.0 if profile is None else float(profile[1].max())
        t, u = _dead_time_poisson(background * fmax, 0.0, duration, rng)
        t = t + t_start
        if profile is not None:
            keep = rng.random(t.size) * fmax < _profile_at(*profile, t)
            t, u = t[keep], u[keep]
        times, units, n_coinc = [t], [u], []
        for a in range(n_asm):
            mother = np.sort(rng.random(rng.poisson(coinc[a] * duration)) * duration)
            mem = np.flatnonzero(member[a])
            hit = rng.random((mother.size, mem.size)) < copy[a]
            ci, mi = np.nonzero(hit)
            ct = mother[ci]
            if jitter > 0:
                ct = np.mod(ct + rng.uniform(-jitter, jitter, ct.size), duration)
            times.append(t_start + ct)
            units.append(mem[mi])
            n_coinc.append(int(mother.size))
        data_t, data_u = np.concatenate(times), np.concatenate(units)
    else:
        nb = n_bins_for(t_start, t_stop, bin_size)
        p_tot = rates * bin_size
        if np.any(p_tot > 1):
            i = int(np.argmax(p_tot))
            raise ValueError(f"rate: rate * bin_size must be <= 1, got {rates[i]:g} Hz * "
                             f"{bin_size:g} s (unit {i})")
        q = coinc * bin_size
        if np.any(q > 1):
            raise ValueError(f"coincidence_rate: coincidence_rate * bin_size must be <= 1, "
                             f"got {coinc.max():g} Hz * {bin_size:g} s")
        # P(no copy in a bin) per unit; background p_b so that 1 - (1 - p_b) Q = rate * dt
        no_copy = np.prod(np.where(member, 1.0 - (q * copy)[:, None], 1.0), axis=0)
        with np.errstate(divide="ignore", invalid="ignore"):
            p_b = np.nan_to_num(1.0 - (1.0 - p_tot) / no_copy, nan=0.0)
        _check_background(p_b / bin_size, rates, injected)
        p_b = np.clip(p_b, 0.0, 1.0)
        fmax = 1.0
        if profile is not None:
            fmax = float(profile[1].max())
            if np.any(p_b * fmax > 1):
                raise ValueError(f"rate_profile: background probability per bin times the "
                                 f"largest factor ({fmax:g}) exceeds 1")
        bins, u = _bernoulli_bins(p_b * fmax, nb, rng)
        if profile is not None:
            f = _profile_at(profile[0], profile[1], t_start + bins * bin_size)
            keep = rng.random(bins.size) * fmax < f
            bins, u = bins[keep], u[keep]
        keys, n_coinc = [u * nb + bins], []
        shift = int(round(jitter / bin_size))
        for a in range(n_asm):
            mother, _ = _bernoulli_bins(np.array([q[a]]), nb, rng)
            mem = np.flatnonzero(member[a])
            hit = rng.random((mother.size, mem.size)) < copy[a]
            ci, mi = np.nonzero(hit)
            cb = mother[ci]
            if shift > 0:
                cb = np.mod(cb + rng.integers(-shift, shift + 1, cb.size), nb)
            keys.append(mem[mi] * nb + cb)
            n_coinc.append(int(mother.size))
        keys = np.unique(np.concatenate(keys))               # one spike per unit and bin
        data_u, bins = np.divmod(keys, nb)
        data_t = t_start + bins * bin_size

    annotations = {"simulator": name, "n_units": n_units,
                   "members": [np.flatnonzero(m).tolist() for m in member],
                   "rate": rate_note, "coincidence_rate": coinc_note, "copy_prob": copy_note,
                   "t_start": t_start, "t_stop": t_stop, "bin_size": bin_size,
                   "jitter": jitter,
                   "rate_profile": None if profile is None else
                   {"times": profile[0].tolist(), "factors": profile[1].tolist()},
                   "n_coincidences": n_coinc, "seed": _seed_note(seed)}
    annotations.update(extra or {})
    return _build(data_t, data_u, n_units, t_start, t_stop, annotations=annotations,
                  truth={"assembly_membership": member})


def _check_background(background, rates, injected):
    bad = np.flatnonzero(background < -1e-9)
    if bad.size:
        i = int(bad[0])
        raise ValueError(f"coincidence_rate: injected coincidences ({injected[i]:g} Hz) "
                         f"exceed the rate of unit {i} ({rates[i]:g} Hz); lower "
                         f"coincidence_rate or copy_prob, or raise rate")


def sip(n_units=100, assembly_size=10, rate=15.0, coincidence_rate=2.0, t_stop=20.0,
        bin_size=None, jitter=0.0, rate_profile=None, t_start=0.0, seed=None):
    """One SIP assembly (units ``0 .. assembly_size - 1``) in a Poisson population.

    Single interaction process (Kuhn et al. 2003; Berger et al. 2010, simulations): all
    members fire together at ``coincidence_rate`` Hz; every unit fires at ``rate`` Hz in
    total. See :func:`assemblies` for the parameters.
    """
    n_units = _count("n_units", n_units, 2)
    assembly_size = _count("assembly_size", assembly_size, 2, n_units)
    return _assemblies(n_units, [range(assembly_size)], rate, coincidence_rate, 1.0, t_stop,
                       bin_size, jitter, rate_profile, t_start, seed, "sip",
                       {"assembly_size": assembly_size})


def mip(n_units=100, assembly_size=10, rate=15.0, coincidence_rate=4.0, copy_prob=0.5,
        t_stop=20.0, bin_size=None, jitter=0.0, rate_profile=None, t_start=0.0, seed=None):
    """One MIP assembly (units ``0 .. assembly_size - 1``) in a Poisson population.

    Multiple interaction process (Kuhn et al. 2003): the mother process fires at
    ``coincidence_rate`` Hz and each spike is copied into each member with probability
    ``copy_prob``, so a member receives ``coincidence_rate * copy_prob`` Hz of injected
    spikes (2 Hz with the defaults, as the SIP default) and a pair shares coincidences at
    ``coincidence_rate * copy_prob**2`` Hz. See :func:`assemblies`.
    """
    n_units = _count("n_units", n_units, 2)
    assembly_size = _count("assembly_size", assembly_size, 2, n_units)
    return _assemblies(n_units, [range(assembly_size)], rate, coincidence_rate, copy_prob,
                       t_stop, bin_size, jitter, rate_profile, t_start, seed, "mip",
                       {"assembly_size": assembly_size})


def msip(n_units=100, n_assemblies=3, assembly_size=10, overlap=0, rate=15.0,
         coincidence_rate=2.0, copy_prob=1.0, t_stop=20.0, bin_size=None, jitter=0.0,
         rate_profile=None, t_start=0.0, seed=None):
    """Several SIP assemblies, consecutive blocks of units, optionally overlapping.

    Assembly ``a`` holds units ``a * (assembly_size - overlap)`` up to
    ``a * (assembly_size - overlap) + assembly_size - 1``, so neighbouring assemblies share
    ``overlap`` units (overlapping assemblies, as in Berger et al. 2010). Shared units
    receive copies from both mothers; their background is lowered accordingly. With
    ``copy_prob < 1`` the assemblies are MIPs. See :func:`assemblies`.
    """
    n_units = _count("n_units", n_units, 2)
    n_assemblies = _count("n_assemblies", n_assemblies, 1)
    assembly_size = _count("assembly_size", assembly_size, 2, n_units)
    overlap = _count("overlap", overlap, 0, assembly_size - 1)
    step = assembly_size - overlap
    needed = (n_assemblies - 1) * step + assembly_size
    if needed > n_units:
        raise ValueError(f"n_units: {n_assemblies} assemblies of {assembly_size} units "
                         f"overlapping by {overlap} need {needed} units, got {n_units}")
    members = [range(a * step, a * step + assembly_size) for a in range(n_assemblies)]
    return _assemblies(n_units, members, rate, coincidence_rate, copy_prob, t_stop, bin_size,
                       jitter, rate_profile, t_start, seed, "msip",
                       {"n_assemblies": n_assemblies, "assembly_size": assembly_size,
                        "overlap": overlap})


# ====================================================================== 3. synfire chain
def synfire_chain(n_units=500, n_groups=10, group_size=50, t_stop=5.0, rate=15.0,
                  delay=0.005, jitter=0.0005, n_activations=3, participation=1.0,
                  shuffle=True, refractory=0.0, t_start=0.0, seed=None):
    """A synfire chain embedded in a Poisson background, like the ASSET tutorial data.

    Setting of the ASSET paper's test data (Torre et al. 2016, PLoS Comput. Biol. 12:
    e1004939: synfire chains embedded in Poisson background activity) and
    Elephant's ASSET tutorial: 500 units of which 10 groups of 50 form a chain, 5 s.
    Each of ``n_activations`` activations starts at a random onset; group ``g`` fires at
    ``onset + g * delay``: each of its members spikes with probability ``participation``
    at that time plus Gaussian jitter (s.d. ``jitter``). Activations do not overlap: each
    lasts ``(n_groups - 1) * delay`` and consecutive ones are at least one ``delay``
    apart; all lie at least ``4 * jitter`` inside the recording.

    All units also fire background Poisson spikes at ``rate``; the background of chain
    members is lowered by ``n_activations * participation / duration`` so their total
    rate stays ``rate`` (if that would be negative it is 0, and members fire faster;
    ``annotations["chain_background_rate"]`` says which).

    Parameters
    ----------
    n_units : int
        Total number of units (chain and background), >= n_groups * group_size.
    n_groups, group_size : int
        Chain length and neurons per group.
    t_stop, t_start : float
        Recording bounds in s.
    rate : float
        Total firing rate of every unit in Hz.
    delay : float
        Time between consecutive groups' activation in s (> 0).
    jitter : float
        Standard deviation of each chain spike around its group's time in s (>= 0).
    n_activations : int
        Number of chain activations (>= 1).
    participation : float
        Probability in (0, 1] that a member spikes in an activation of its group.
    shuffle : bool
        Permute the unit rows randomly (so the chain is hidden); unit ids are the new
        positions.
    refractory : float
        Absolute refractory period in s for the background (a dead-time Poisson process);
        background spikes closer than this to a chain spike of the same unit are removed,
        and the members' background rate is raised to make up for them (on average).
    seed : int, None or numpy.random.Generator

    Returns
    -------
    SpikeTrains
        ``truth["chain_group"]``: per unit its group 0..n_groups-1, or -1 (background).
        ``truth["ordering"]``: unit indices of the chain, group by group in chain order,
        then the background units; ``data.select_units(truth["ordering"])`` reveals the
        chain. ``annotations["onsets"]``: activation onsets in s.
    """
    n_units = _count("n_units", n_units, 1)
    n_groups = _count("n_groups", n_groups, 1)
    group_size = _count("group_size", group_size, 1)
    if n_groups * group_size > n_units:
        raise ValueError(f"n_units: the chain needs n_groups * group_size = "
                         f"{n_groups * group_size} units, got {n_units}")
    t_start, t_stop = _span(t_start, t_stop)
    duration = t_stop - t_start
    rate = _number("rate", rate, "Hz", lo=0)
    delay = _number("delay", delay, "s", lo=0, lo_open=True)
    jitter = _number("jitter", jitter, "s", lo=0)
    n_activations = _count("n_activations", n_activations, 1)
    participation = _number("participation", participation, lo=0, hi=1, lo_open=True)
    if not isinstance(shuffle, (bool, np.bool_)):
        raise ValueError(f"shuffle: must be True or False, got {shuffle!r}")
    refractory = _number("refractory", refractory, "s", lo=0)
    if refractory * rate >= 1:
        raise ValueError(f"refractory: rate * refractory must be < 1, got "
                         f"{rate:g} Hz * {refractory:g} s")
    span = (n_groups - 1) * delay
    margin = 4.0 * jitter
    slack = duration - 2 * margin - n_activations * span - (n_activations - 1) * delay
    if slack < 0:
        raise ValueError(f"n_activations: {n_activations} activations of "
                         f"{span:g} s (spaced by >= {delay:g} s) do not fit in "
                         f"{duration:g} s")
    rng = _rng(seed)
    onsets = (t_start + margin + np.sort(rng.random(n_activations)) * slack
              + np.arange(n_activations) * (span + delay))

    n_chain = n_groups * group_size
    group = np.full(n_units, -1, dtype=np.int64)
    group[:n_chain] = np.repeat(np.arange(n_groups), group_size)
    injected = n_activations * participation / duration
    # each chain spike deletes background spikes within +-refractory (2 * refractory * b)
    lost = 2.0 * refractory * n_activations * participation / duration
    chain_bg = max(0.0, (rate - injected) / (1.0 - lost)) if lost < 1 else 0.0
    if refractory * chain_bg >= 1:
        chain_bg = max(0.0, 0.999 / refractory)
    bg = np.where(group >= 0, chain_bg, rate)
    t, u = _dead_time_poisson(bg, refractory, duration, rng)
    t = t + t_start

    # chain spikes: activation k, unit i (of group g) at onset_k + g * delay + jitter
    fire = rng.random((n_activations, n_chain)) < participation
    k, i = np.nonzero(fire)
    ct = onsets[k] + group[i] * delay
    if jitter > 0:
        ct = ct + rng.normal(0.0, jitter, ct.size)
    ct = np.clip(ct, t_start, t_stop)
    times = np.concatenate([t, ct])
    units = np.concatenate([u, i])
    is_chain = np.concatenate([np.zeros(t.size, bool), np.ones(ct.size, bool)])
    order = np.lexsort((times, units))
    times, units, is_chain = times[order], units[order], is_chain[order]
    if refractory > 0 and ct.size:
        drop = np.zeros(times.size, bool)
        c = np.flatnonzero(is_chain)
        for side in (-1, 1):                    # a dead-time background has at most one
            nb = c + side                       # spike within refractory on each side
            ok = (nb >= 0) & (nb < times.size)
            nb, cc = nb[ok], c[ok]
            close = ((units[nb] == units[cc]) & ~is_chain[nb]
                     & (np.abs(times[nb] - times[cc]) < refractory))
            drop[nb[close]] = True
        times, units = times[~drop], units[~drop]

    if shuffle:
        perm = rng.permutation(n_units)          # new row j holds old unit perm[j]
    else:
        perm = np.arange(n_units)
    new_pos = np.empty(n_units, dtype=np.int64)
    new_pos[perm] = np.arange(n_units)
    units = new_pos[units]
    truth = {"chain_group": group[perm], "ordering": new_pos}
    annotations = {"simulator": "synfire_chain", "n_units": n_units, "n_groups": n_groups,
                   "group_size": group_size, "t_start": t_start, "t_stop": t_stop,
                   "rate": rate, "delay": delay, "jitter": jitter,
                   "n_activations": n_activations, "participation": participation,
                   "shuffle": bool(shuffle), "refractory": refractory,
                   "onsets": onsets.tolist(), "chain_background_rate": chain_bg,
                   "seed": _seed_note(seed)}
    return _build(times, units, n_units, t_start, t_stop, annotations=annotations,
                  truth=truth)


# ====================================================================== 4. SPOTDis patterns
@dataclass(frozen=True)
class _SpotLayout:
    """The settings of a spot_patterns call that every variant reads (validated)."""

    n_units: int
    n_patterns: int
    epochs_per_pattern: int
    n_noise_epochs: int
    epoch_samples: int
    pulse_samples: int
    rate_in: float
    rate_out: float
    noise: str
    sample_time: float

    @property
    def n_pattern_epochs(self):
        return self.n_patterns * self.epochs_per_pattern

    @property
    def n_epochs(self):
        return self.n_pattern_epochs + self.n_noise_epochs

    @property
    def labels(self):
        """Pattern id of each epoch in canonical order (pattern 0's epochs first, ...,
        noise last as -1)."""
        return np.concatenate([np.repeat(np.arange(self.n_patterns), self.epochs_per_pattern),
                               np.full(self.n_noise_epochs, -1)]).astype(np.int64)

    @property
    def patterned_noise(self):
        return self.noise == "patterned" and self.n_noise_epochs > 0

    @property
    def structured(self):
        """Epochs with pulse structure: all but homogeneous noise epochs."""
        structured = np.ones(self.n_epochs, dtype=bool)
        if self.noise == "homogeneous":
            structured[self.n_pattern_epochs:] = False
        return structured


@dataclass
class _SpotPlan:
    """What a variant draws, epochs in canonical order: each neuron's pulse onset (sample)
    and spike probabilities inside and outside the pulse (epochs x neurons), the patterns'
    onsets (patterns x neurons), the variant's options as used, its annotations, and its
    per-epoch annotations (lists in canonical order, put in time order by the caller)."""

    onset: np.ndarray
    p_in: np.ndarray
    p_out: np.ndarray
    pattern_onsets: np.ndarray
    options: dict
    annotations: dict = field(default_factory=dict)
    epoch_annotations: dict = field(default_factory=dict)


def _uniform_onsets(rng, spot, k, span=None):
    """Onsets of k patterns: each neuron's pulse lies uniformly inside ``span`` samples
    (default: the epoch)."""
    span = spot.epoch_samples if span is None else span
    return rng.integers(0, span - spot.pulse_samples + 1, size=(k, spot.n_units))


def _epoch_rows(spot, patterns, draw_noise, fills=None):
    """The patterns' arrays (patterns x neurons each) per epoch (epochs x neurons): each
    pattern epoch gets its pattern's row; each noise epoch, for patterned noise, the row of
    a fresh pattern from ``draw_noise(k)`` (a tuple like ``patterns``), else ``fills``
    (default 0)."""
    noise = draw_noise(spot.n_noise_epochs) if spot.patterned_noise else None
    labels = spot.labels[:spot.n_pattern_epochs]
    rows = []
    for k, (values, fill) in enumerate(zip(patterns, fills or (0,) * len(patterns))):
        row = np.full((spot.n_epochs, spot.n_units), fill, dtype=np.int64)
        row[:spot.n_pattern_epochs] = values[labels]
        if noise is not None:
            row[spot.n_pattern_epochs:] = noise[k]
        rows.append(row)
    return rows


def _rates(spot, p_in=None, p_out=None):
    """Spike probabilities (epochs x neurons; default rate_in and rate_out) in which a
    homogeneous-noise epoch has each neuron's mean per-sample probability over the pattern
    epochs, so noise differs from the patterns in timing only."""
    shape = (spot.n_epochs, spot.n_units)
    p_in = np.full(shape, spot.rate_in) if p_in is None else p_in
    p_out = np.full(shape, spot.rate_out) if p_out is None else p_out
    structured = spot.structured
    if not structured.all():
        n, L, S = spot.n_pattern_epochs, spot.pulse_samples, spot.epoch_samples
        mean = ((L * p_in[:n] + (S - L) * p_out[:n]) / S).mean(axis=0)
        p_in[~structured] = mean
        p_out[~structured] = mean
    return p_in, p_out


# Variants: ``_<name>(rng, spot, *, options)``, described in spot_patterns' docstring. Each
# checks its options, then draws in a fixed order (the order fixes what a seed gives).
def _basic(rng, spot):
    def draw(k):
        return (_uniform_onsets(rng, spot, k),)
    onsets, = draw(spot.n_patterns)
    onset, = _epoch_rows(spot, (onsets,), draw)
    return _SpotPlan(onset, *_rates(spot), onsets, {})


def _bimodal(rng, spot, *, mode_prob=0.5):
    mode_prob = _number("mode_prob", mode_prob, lo=0, hi=1)

    def draw(k):
        return _uniform_onsets(rng, spot, k), _uniform_onsets(rng, spot, k)
    first, second = draw(spot.n_patterns)
    onset, alt = _epoch_rows(spot, (first, second), draw)
    use_first = rng.random(onset.shape) < mode_prob
    return _SpotPlan(np.where(use_first, onset, alt), *_rates(spot), first,
                     {"mode_prob": mode_prob}, {"pattern_onsets_alt": second.tolist()})


def _deactivation(rng, spot, *, active_rate=0.1):
    active_rate = _number("active_rate", active_rate, "per sample", lo=0, hi=1)
    plan = _basic(rng, spot)
    shape = plan.onset.shape
    plan.p_in, plan.p_out = _rates(spot, np.zeros(shape), np.full(shape, active_rate, float))
    plan.options = {"active_rate": active_rate}
    return plan


def _coarse_fine(rng, spot, *, n_coarse=2, fine_shift=None):
    n_coarse = _count("n_coarse", n_coarse, 1)
    L, S, N = spot.pulse_samples, spot.epoch_samples, spot.n_units
    fs = _count("fine_shift", L // 2 if fine_shift is None else fine_shift, 0)
    if S - L - 2 * fs < 0:
        raise ValueError(f"fine_shift: pulses of {L} samples shifted by up to +-{fs} "
                         f"do not fit in epochs of {S} samples")
    # uniform onsets drawn and not used: they keep the random stream (and so what a seed
    # gives) as it was when every variant started from the basic patterns' draw
    _uniform_onsets(rng, spot, spot.n_patterns)
    coarse = rng.integers(fs, S - L - fs + 1, size=(n_coarse, N))
    coarse_of = np.arange(spot.n_patterns) % n_coarse
    onsets = coarse[coarse_of] + rng.integers(-fs, fs + 1, size=(spot.n_patterns, N))
    # patterned noise: fresh uniform patterns, unrelated to the coarse ones
    onset, = _epoch_rows(spot, (onsets,), lambda k: (_uniform_onsets(rng, spot, k),))
    labels = spot.labels
    return _SpotPlan(onset, *_rates(spot), onsets, {"n_coarse": n_coarse, "fine_shift": fs},
                     {"coarse_of_pattern": coarse_of.tolist(),
                      "coarse_onsets": coarse.tolist()},
                     {"epoch_coarse_labels": np.where(
                         labels < 0, -1, coarse_of[np.maximum(labels, 0)]).tolist()})


def _sync_subsets(rng, spot, *, subset_fraction=0.6, n_subsets=3):
    subset_fraction = _number("subset_fraction", subset_fraction, lo=0, hi=1)
    G = _count("n_subsets", n_subsets, 1)
    L, S, N = spot.pulse_samples, spot.epoch_samples, spot.n_units

    def draw(k):
        _uniform_onsets(rng, spot, k)  # not used: keeps what a seed gives (see coarse_fine)
        group = np.where(rng.random((k, N)) < subset_fraction,
                         rng.integers(0, G, size=(k, N)), -1)
        times = rng.integers(0, S - L + 1, size=(k, G))
        return np.take_along_axis(times, np.maximum(group, 0), axis=1), group
    onsets, groups = draw(spot.n_patterns)
    onset, member = _epoch_rows(spot, (onsets, groups), draw, fills=(0, -1))
    p_in = np.where(member >= 0, spot.rate_in, spot.rate_out)
    return _SpotPlan(onset, *_rates(spot, p_in), onsets,
                     {"subset_fraction": subset_fraction, "n_subsets": G},
                     {"pattern_subsets": groups.tolist()})


def _scale_range(spot, scale_range):
    try:
        lo, hi = scale_range
    except (TypeError, ValueError):
        raise ValueError(f"scale_range: must be a pair (low, high), "
                         f"got {scale_range!r}") from None
    lo = _number("scale_range", lo, lo=0)
    hi = _number("scale_range", hi, lo=lo)
    top = max(spot.rate_in, spot.rate_out)
    if top * hi > 1:
        raise ValueError(f"scale_range: the largest factor ({hi:g}) times the largest "
                         f"rate ({top:g}) exceeds 1 per sample")
    return [lo, hi]


def _rate_scaling_global(rng, spot, *, scale_range=(0.5, 2.0)):
    scale_range = _scale_range(spot, scale_range)
    plan = _basic(rng, spot)
    # drawn for every epoch, noise included, so the scale is no cue for telling them apart
    scale = rng.uniform(*scale_range, size=spot.n_epochs)
    plan.p_in, plan.p_out = plan.p_in * scale[:, None], plan.p_out * scale[:, None]
    plan.options = {"scale_range": scale_range}
    plan.epoch_annotations["epoch_scale"] = scale.tolist()
    return plan


def _rate_scaling_group(rng, spot, *, scale_range=(0.5, 2.0), n_groups=2):
    scale_range = _scale_range(spot, scale_range)
    G = _count("n_groups", n_groups, 1, spot.n_units)
    plan = _basic(rng, spot)
    group = np.arange(spot.n_units) * G // spot.n_units
    scale = rng.uniform(*scale_range, size=(spot.n_epochs, G))
    plan.p_in, plan.p_out = plan.p_in * scale[:, group], plan.p_out * scale[:, group]
    plan.options = {"scale_range": scale_range, "n_groups": G}
    plan.annotations["neuron_groups"] = group.tolist()
    plan.epoch_annotations["epoch_scale"] = scale.tolist()
    return plan


def _jittered_onset(rng, spot, *, pattern_samples=None):
    S = spot.epoch_samples
    span = _count("pattern_samples", S // 2 if pattern_samples is None else pattern_samples,
                  spot.pulse_samples, S)

    def draw(k):
        return (_uniform_onsets(rng, spot, k, span),)
    onsets, = draw(spot.n_patterns)
    onset, = _epoch_rows(spot, (onsets,), draw)
    start = rng.integers(0, S - span + 1, size=spot.n_epochs)
    return _SpotPlan(onset + start[:, None], *_rates(spot), onsets,
                     {"pattern_samples": span},
                     {"pattern_length": span * spot.sample_time},
                     {"pattern_onset": [float(s * spot.sample_time) if structured else None
                                        for s, structured in zip(start, spot.structured)]})


#: variant name -> the function that draws it
SPOT_VARIANT_FUNCTIONS = {
    None: _basic,
    "bimodal": _bimodal,
    "deactivation": _deactivation,
    "coarse_fine": _coarse_fine,
    "sync_subsets": _sync_subsets,
    "rate_scaling_global": _rate_scaling_global,
    "rate_scaling_group": _rate_scaling_group,
    "jittered_onset": _jittered_onset,
}

#: Variants of :func:`spot_patterns` and their options with defaults (from the functions'
#: keyword-only arguments).
SPOT_VARIANTS = {
    name: {p.name: p.default for p in inspect.signature(func).parameters.values()
           if p.kind is inspect.Parameter.KEYWORD_ONLY}
    for name, func in SPOT_VARIANT_FUNCTIONS.items()}


def spot_patterns(n_patterns=5, epochs_per_pattern=30, n_noise_epochs=150, n_units=50,
                  epoch_samples=300, pulse_samples=30, rate_in=0.2, rate_out=0.02,
                  noise="homogeneous", variant=None, sample_time=0.001, shuffle=True,
                  seed=None, **variant_options):
    """Epochs of spatio-temporal pulse patterns and noise, for SPOTDisClust.

    Follows the simulations of Grossberger, Battaglia & Vinck (2018, PLoS Comput. Biol.
    14(7): e1006283), Fig 1 (basic patterns, homogeneous or patterned noise) and the
    complex patterns of Figs 3, 4 and 7 (the ``variant`` s below).

    Time is discrete (samples of ``sample_time`` s). A *pattern* gives every neuron a
    pulse onset, drawn uniformly so the pulse of ``pulse_samples`` samples lies inside the
    epoch. In an epoch of that pattern a neuron spikes in each sample independently
    (Bernoulli) with probability ``rate_in`` inside its pulse and ``rate_out`` outside.
    Spike times lie on the sample grid, ``(epoch_start_sample + sample) * sample_time``.

    Noise epochs: ``noise="homogeneous"``: every sample at the neuron's mean per-sample
    probability over the pattern epochs (no temporal structure, same rate);
    ``noise="patterned"``: each noise epoch is an epoch of a fresh random pattern of its
    own (the same variant), so it has pulse structure that never repeats.

    Epochs are laid end to end: epoch ``k`` is [k T, (k + 1) T] with
    ``T = epoch_samples * sample_time``; pattern and noise epochs are interleaved in
    random order when ``shuffle`` (default). Note that a spike at sample 0 of epoch k + 1
    lies at the (closed) stop time of epoch k.

    Parameters
    ----------
    n_patterns : int
        Number of distinct patterns (>= 1).
    epochs_per_pattern : int
        Epochs per pattern (>= 1).
    n_noise_epochs : int
        Number of noise epochs (>= 0). Default 150: as many noise as pattern epochs, our
        reading of the paper's "M/2 noise epochs" with M the number of all epochs.
    n_units : int
        Neurons (>= 1).
    epoch_samples : int
        Samples per epoch (T = epoch_samples * sample_time s).
    pulse_samples : int
        Pulse (activation window) length in samples, 1..epoch_samples.
    rate_in, rate_out : float
        Spike probability per sample inside and outside the pulse, in [0, 1].
    noise : {"homogeneous", "patterned"}
    variant : str or None
        ``None``: the basic pulse patterns of Fig 1. Complex patterns (options with
        defaults in ``SPOT_VARIANTS``; pass them as keyword arguments):

        - ``"bimodal"``: each pattern gives each neuron two candidate onsets; in each epoch
          the neuron's pulse sits at the first with probability ``mode_prob`` (0.5), else
          at the second (independently per neuron and epoch).
        - ``"deactivation"``: a neuron fires at ``active_rate`` (0.1 per sample) outside
          its window and is silent inside it (the pattern is a sequence of pauses).
        - ``"coarse_fine"``: ``n_coarse`` (2) coarse patterns; pattern ``p`` belongs to
          coarse pattern ``p % n_coarse`` and shifts each neuron's coarse onset by a
          uniform whole number of samples in [-fine_shift, fine_shift] (default
          ``pulse_samples // 2``). Truth labels the fine patterns;
          ``annotations["coarse_of_pattern"]`` and ``["epoch_coarse_labels"]`` (-1 for
          noise) give the coarse ones.
        - ``"sync_subsets"``: a pattern is ``n_subsets`` (3) groups of neurons that fire
          synchronously: each neuron belongs to a group with probability
          ``subset_fraction`` (0.6; the group drawn uniformly), each group has one pulse
          time shared by its members, and in the pattern's epochs the members fire at
          ``rate_in`` in their group's pulse, the others stay at ``rate_out``. Patterns
          differ in their groups and pulse times. ``annotations["pattern_subsets"]``
          (patterns x neurons: group index, -1 for none).
        - ``"rate_scaling_global"``: every epoch (noise included) has its probabilities
          multiplied by a factor drawn uniformly from ``scale_range`` ((0.5, 2.0));
          ``annotations["epoch_scale"]``. Labels do not change.
        - ``"rate_scaling_group"``: the neurons form ``n_groups`` (2) contiguous groups and
          each group gets its own factor per epoch; ``annotations["epoch_scale"]``
          (epochs x groups) and ``["neuron_groups"]``.
        - ``"jittered_onset"``: a pattern spans ``pattern_samples`` samples (default
          ``epoch_samples // 2``) and starts at a uniform random sample offset inside the
          longer epoch (rate_out elsewhere); ``annotations["pattern_onset"]`` gives the
          onset per epoch in s relative to the epoch start (None for homogeneous noise)
          and ``["pattern_length"]`` the pattern length in s.
    sample_time : float
        Sample duration in s (> 0).
    shuffle : bool
        Interleave the epochs in random order (else pattern 0's epochs first, ..., noise
        last).
    seed : int, None or numpy.random.Generator

    Returns
    -------
    SpikeTrains
        ``epochs``: one per epoch, label the pattern id as a string or ``"noise"``.
        ``truth["epoch_labels"]``: pattern id per epoch, -1 for noise.
        ``annotations["pattern_onsets"]``: onset sample of every neuron in every pattern
        (patterns x neurons; relative to the pattern start for ``jittered_onset``; for
        ``bimodal`` also ``["pattern_onsets_alt"]``).

    Notes
    -----
    Deviations: neither the paper's methods text nor simulation code (its repository,
    LGro/spot, ships only the dissimilarity) was at hand when this was written, so the
    variants follow their descriptions in words; the option values above (mode_prob,
    active_rate, fine_shift, subset_fraction, scale_range, pattern_samples) are this
    module's choices. Rate scaling is applied to noise epochs too, so that it is no cue for
    telling noise from patterns. Pulse onsets are uniform, so samples near the epoch edges
    lie in a pulse less often than central ones (also for patterned noise).
    """
    n_patterns = _count("n_patterns", n_patterns, 1)
    epochs_per_pattern = _count("epochs_per_pattern", epochs_per_pattern, 1)
    n_noise_epochs = _count("n_noise_epochs", n_noise_epochs, 0)
    n_units = _count("n_units", n_units, 1)
    S = _count("epoch_samples", epoch_samples, 1)
    L = _count("pulse_samples", pulse_samples, 1, S)
    rate_in = _number("rate_in", rate_in, "per sample", lo=0, hi=1)
    rate_out = _number("rate_out", rate_out, "per sample", lo=0, hi=1)
    if noise not in ("homogeneous", "patterned"):
        raise ValueError(f"noise: must be 'homogeneous' or 'patterned', got {noise!r}")
    if variant not in SPOT_VARIANTS:
        raise ValueError(f"variant: must be None or one of "
                         f"{', '.join(repr(v) for v in SPOT_VARIANTS if v)}, got {variant!r}")
    sample_time = _number("sample_time", sample_time, "s", lo=0, lo_open=True)
    if not isinstance(shuffle, (bool, np.bool_)):
        raise ValueError(f"shuffle: must be True or False, got {shuffle!r}")
    unknown = set(variant_options) - set(SPOT_VARIANTS[variant])
    if unknown:
        key = sorted(unknown)[0]
        known = ", ".join(SPOT_VARIANTS[variant]) or "none"
        raise ValueError(f"{key}: not an option of variant {variant!r} (options: {known})")
    spot = _SpotLayout(n_units, n_patterns, epochs_per_pattern, n_noise_epochs, S, L,
                       rate_in, rate_out, noise, sample_time)
    rng = _rng(seed)
    plan = SPOT_VARIANT_FUNCTIONS[variant](rng, spot, **variant_options)

    # ---- lay the epochs out in time
    E = spot.n_epochs
    slot_of = rng.permutation(E) if shuffle else np.arange(E)   # canonical epoch -> slot
    by_slot = np.argsort(slot_of)                               # slot -> canonical epoch
    slot_labels = spot.labels[by_slot]
    ep, un, sa = _pulse_spikes(rng, plan.onset[by_slot], plan.p_in[by_slot],
                               plan.p_out[by_slot], L, S)
    times = (ep * S + sa) * sample_time
    starts = np.arange(E) * S * sample_time
    stops = (np.arange(E) + 1) * S * sample_time
    epochs = Epochs(starts, stops,
                    np.where(slot_labels < 0, "noise", slot_labels.astype(str)))

    annotations = {"simulator": "spot_patterns", "n_patterns": n_patterns,
                   "epochs_per_pattern": epochs_per_pattern, "n_noise_epochs": n_noise_epochs,
                   "n_units": n_units, "epoch_samples": S, "pulse_samples": L,
                   "rate_in": rate_in, "rate_out": rate_out, "noise": noise,
                   "variant": variant, "variant_options": plan.options,
                   "sample_time": sample_time, "shuffle": bool(shuffle),
                   "epoch_duration": S * sample_time,
                   "pattern_onsets": plan.pattern_onsets.tolist(), "seed": _seed_note(seed),
                   **plan.annotations}
    for name, values in plan.epoch_annotations.items():
        annotations[name] = [values[k] for k in by_slot]
    return _build(times, un, n_units, 0.0, E * S * sample_time, presorted=True,
                  annotations=annotations, epochs=epochs, truth={"epoch_labels": slot_labels})


def _pulse_spikes(rng, onset, p_in, p_out, L, S):
    """Bernoulli spikes of epochs laid end to end, drawn in blocks of epochs: (epoch, unit,
    sample) of each spike, sorted by unit (epochs in order within a unit)."""
    samples = np.arange(S)
    E, N = onset.shape
    chunk = max(1, _BLOCK // (N * S))
    ep_list, unit_list, samp_list = [], [], []
    for e0 in range(0, E, chunk):
        e1 = min(E, e0 + chunk)
        o = onset[e0:e1, :, None]
        inside = (samples >= o) & (samples < o + L)
        p = np.where(inside, p_in[e0:e1, :, None], p_out[e0:e1, :, None])
        e, n, s = np.nonzero(rng.random(p.shape) < p)
        ep_list.append(e + e0)
        unit_list.append(n)
        samp_list.append(s)
    ep, un, sa = (np.concatenate(x) for x in (ep_list, unit_list, samp_list))
    order = np.argsort(un, kind="stable")       # nonzero is (epoch, unit, sample)-ordered
    return ep[order], un[order], sa[order]


# ====================================================================== embedded sequences
def embedded_sequences(n_units=30, n_patterns=3, occurrences=20, t_stop=120.0, rate=2.0,
                       sequence_length=0.1, members=0.8, jitter=0.001, min_gap=0.4,
                       sample_time=0.001, seed=None):
    """Spike sequences embedded at known times in a continuous Poisson recording.

    The ground truth of sliding windows (``analysis.spotdis.windows``): a recording without
    trials in which a few fixed spike sequences recur at random times, as the patterns
    SPOTDisClust (Grossberger, Battaglia & Vinck 2018) and SpikeShip (Sotomayor-Gómez,
    Battaglia & Vinck 2023) are meant to find in whole recordings. Each pattern has its
    member neurons (a random ``members`` fraction of the units) and, for each member, a
    fixed time in ``[0, sequence_length)``; at every occurrence each member fires one spike
    at the occurrence's start plus its time plus Gaussian jitter (kept inside the
    occurrence). Occurrences do not overlap and lie at least ``min_gap`` apart (and from
    the recording's ends); their order is a random permutation of the patterns. All units
    also fire as independent Poisson processes at ``rate`` throughout.

    Parameters
    ----------
    n_units : int
        Units (>= 2).
    n_patterns : int
        Distinct sequences (>= 1).
    occurrences : int
        Occurrences of each sequence (>= 1).
    t_stop : float
        Recording length in s (starts at 0).
    rate : float
        Background Poisson rate per unit in Hz (>= 0).
    sequence_length : float
        Span of a sequence in s (> 0): the true interval of an occurrence.
    members : float
        Fraction of the units in each sequence, (0, 1]; at least 2 units.
    jitter : float
        Standard deviation of a member's spike around its time, s (>= 0).
    min_gap : float
        Least time between occurrences, and before the first and after the last, s (>= 0).
    sample_time : float
        Spike times are put on this sample grid (s, > 0), as a recording's would be.
    seed : int, None or numpy.random.Generator

    Returns
    -------
    SpikeTrains
        No epochs. ``truth["pattern_start"]``, ``["pattern_stop"]`` (s) and
        ``["pattern_label"]`` (0..n_patterns-1): every occurrence in time order (see
        ``pattern_intervals``); ``truth["sequence_times"]``: (n_patterns x n_units) each
        member's time in its sequence (s), NaN for non-members.

    Raises
    ------
    ValueError
        Naming the parameter, e.g. a ``t_stop`` too short for the occurrences and gaps.
    """
    n_units = _count("n_units", n_units, 2)
    n_patterns = _count("n_patterns", n_patterns, 1)
    occurrences = _count("occurrences", occurrences, 1)
    t_stop = _number("t_stop", t_stop, "s", lo=0, lo_open=True)
    rate = _number("rate", rate, "Hz", lo=0)
    sequence_length = _number("sequence_length", sequence_length, "s", lo=0, lo_open=True)
    members = _number("members", members, "", lo=0, hi=1, lo_open=True)
    jitter = _number("jitter", jitter, "s", lo=0)
    min_gap = _number("min_gap", min_gap, "s", lo=0)
    sample_time = _number("sample_time", sample_time, "s", lo=0, lo_open=True)
    n_members = max(2, int(round(members * n_units)))
    K = n_patterns * occurrences
    free = t_stop - K * sequence_length - (K + 1) * min_gap
    if free < 0:
        raise ValueError(f"t_stop: {K} occurrences of {sequence_length:g} s with gaps of "
                         f"{min_gap:g} s need at least {t_stop - free:g} s, got {t_stop:g}")
    rng = _rng(seed)
    seq = np.full((n_patterns, n_units), np.nan)
    for p in range(n_patterns):
        who = rng.choice(n_units, n_members, replace=False)
        seq[p, who] = rng.uniform(0.0, sequence_length, n_members)
    # occurrence starts: sorted uniform slack, then each occurrence and gap laid after it
    slack = np.sort(rng.uniform(0.0, free, K))
    start = slack + min_gap + np.arange(K) * (sequence_length + min_gap)
    label = rng.permutation(np.repeat(np.arange(n_patterns), occurrences))
    stop = start + sequence_length
    # the sequences' spikes
    occ_t, occ_u = [], []
    for k in range(K):
        who = np.flatnonzero(np.isfinite(seq[label[k]]))
        t = seq[label[k], who] + rng.normal(0.0, jitter, who.size) if jitter > 0 else \
            seq[label[k], who].copy()
        occ_t.append(start[k] + np.clip(t, 0.0, sequence_length))
        occ_u.append(who)
    bg = poisson(n_units, rate, t_stop, seed=rng)
    times = np.concatenate([bg.times, *occ_t])
    units = np.concatenate([bg.units, *occ_u]).astype(np.int64)
    times = np.clip(np.round(times / sample_time) * sample_time, 0.0, t_stop)
    # one spike per unit and sample (a background spike on a sequence's sample merges),
    # sorted by unit, then time
    n_samples = int(np.ceil(t_stop / sample_time)) + 1
    key = np.unique(units * n_samples + np.round(times / sample_time).astype(np.int64))
    units, samples = key // n_samples, key % n_samples
    times = np.minimum(samples * sample_time, t_stop)
    annotations = {"simulator": "embedded_sequences", "n_units": n_units,
                   "n_patterns": n_patterns, "occurrences": occurrences, "t_stop": t_stop,
                   "rate": rate, "sequence_length": sequence_length, "members": members,
                   "jitter": jitter, "min_gap": min_gap, "sample_time": sample_time,
                   "seed": _seed_note(seed)}
    return _build(times, units, n_units, 0.0, t_stop, presorted=True,
                  annotations=annotations,
                  truth={"pattern_start": start, "pattern_stop": stop,
                         "pattern_label": label.astype(np.int64), "sequence_times": seq})


def pattern_intervals(data):
    """The embedded occurrences of ``data`` (from ``embedded_sequences``) as a DataFrame:
    ``start``, ``stop`` (s) and ``label``, in time order; ValueError without them."""
    import pandas as pd

    truth = getattr(data, "truth", {}) or {}
    missing = [k for k in ("pattern_start", "pattern_stop", "pattern_label") if k not in truth]
    if missing:
        raise ValueError(f"data: no embedded pattern times (truth {missing[0]!r} missing)")
    return pd.DataFrame({"start": np.asarray(truth["pattern_start"], dtype=np.float64),
                         "stop": np.asarray(truth["pattern_stop"], dtype=np.float64),
                         "label": np.asarray(truth["pattern_label"], dtype=np.int64)})


SIMULATORS = {
    "poisson": poisson,
    "sip": sip,
    "mip": mip,
    "msip": msip,
    "synfire_chain": synfire_chain,
    "spot_patterns": spot_patterns,
    "embedded_sequences": embedded_sequences,
}
