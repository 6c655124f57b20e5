"""Tests of the seeded simulators (analysis/simulate.py).

Statistical checks use fixed seeds and tolerances of about 4 standard errors of the
estimate (derived in a comment next to each check), so they test the promised statistics
without being flaky: with a fixed seed the outcome is deterministic, and a correct simulator
would fail a 4-sigma check for fewer than 1 in 10^4 seeds.
"""

import json
import time
from functools import reduce

import numpy as np
import pytest

from analysis import SpikeTrains
from analysis import simulate as sim


def _coincident(data, units):
    """Spike times shared exactly by all the given units."""
    return reduce(np.intersect1d, [data[int(u)] for u in units])


def _pair_coincidences(data, a, b):
    return np.intersect1d(data[a], data[b]).size


# ====================================================================== registry, seeds
def test_registry_and_defaults_are_quick_demos():
    assert set(sim.SIMULATORS) == {"poisson", "sip", "mip", "msip", "synfire_chain",
                                   "spot_patterns", "embedded_sequences"}
    for name, func in sim.SIMULATORS.items():
        t0 = time.perf_counter()
        data = func(seed=0)
        elapsed = time.perf_counter() - t0
        assert isinstance(data, SpikeTrains)
        assert data.n_spikes > 1000, name
        assert data.annotations["simulator"] == name
        assert data.annotations["seed"] == 0
        json.dumps(data.annotations)            # JSON-friendly parameters
        assert elapsed < 2.0, f"{name} default demo took {elapsed:.2f} s"


@pytest.mark.parametrize("name", sorted(sim.SIMULATORS))
def test_same_seed_identical_different_seed_differs(name):
    func = sim.SIMULATORS[name]
    a, b, c = func(seed=7), func(seed=7), func(seed=8)
    assert a.equals(b)
    assert not a.equals(c)
    # a Generator is used as given: default_rng(7) reproduces seed=7
    assert func(seed=np.random.default_rng(7)).equals(
        a.replace(annotations={**a.annotations, "seed": None}))


def test_simulated_times_lie_in_bounds_and_sorted():
    for data in (sim.poisson(t_start=2.5, t_stop=4.0, seed=1),
                 sim.sip(t_start=1.0, t_stop=3.0, jitter=0.01, seed=1),
                 sim.synfire_chain(seed=1), sim.spot_patterns(seed=1)):
        assert data.times.min() >= data.t_start and data.times.max() <= data.t_stop
        for train in data:
            assert np.all(np.diff(train) >= 0)


# ====================================================================== Poisson
def test_poisson_rate_and_count_statistics():
    n, rate, T = 400, 10.0, 50.0
    data = sim.poisson(n_units=n, rate=rate, t_stop=T, seed=11)
    counts = data.spike_counts
    # pooled rate: total count ~ Poisson(n*rate*T) = 2e5, s.e. of the mean rate
    # sqrt(rate / (n*T)) = 0.0224 Hz; allow 4 s.e.
    assert abs(counts.mean() / T - rate) < 4 * np.sqrt(rate / (n * T))
    # Poisson counts have Fano factor 1; the sample variance/mean ratio over n units has
    # s.e. ~ sqrt(2 / (n - 1)) = 0.071; allow 4 s.e.
    assert abs(counts.var(ddof=1) / counts.mean() - 1) < 4 * np.sqrt(2 / (n - 1))
    # exponential ISIs: CV = 1; pooled over ~2e5 intervals the s.e. of the CV is ~0.003
    isi = np.concatenate([np.diff(t) for t in data])
    assert abs(isi.std() / isi.mean() - 1) < 0.02


def test_poisson_per_unit_rates_and_t_start():
    rates = np.linspace(0.0, 40.0, 81)
    T = 30.0
    data = sim.poisson(n_units=rates.size, rate=rates, t_start=5.0, t_stop=5.0 + T, seed=3)
    assert data.t_start == 5.0 and data.t_stop == 35.0
    assert data.spike_counts[0] == 0                      # rate 0: silent
    expected = rates[1:] * T
    z = (data.spike_counts[1:] - expected) / np.sqrt(expected)
    # each count ~ Poisson(rate*T): |z| < 4.5 for all 80 units (P(any) ~ 5e-4)
    assert np.all(np.abs(z) < 4.5)
    assert data.annotations["rate"] == rates.tolist()


def test_refractory_no_short_isi_and_rate_preserved():
    n, rate, ref, T = 300, 50.0, 0.005, 20.0
    data = sim.poisson(n_units=n, rate=rate, t_stop=T, refractory=ref, seed=5)
    isi = np.concatenate([np.diff(t) for t in data])
    assert isi.min() >= ref - 1e-12
    # dead-time Poisson: count variance ~ CV^2 * mean with CV = 1 - rate*ref = 0.75, so the
    # s.e. of the pooled mean rate is 0.75 * sqrt(rate / (n*T)) = 0.068 Hz; allow 4 s.e.
    assert abs(data.spike_counts.mean() / T - rate) < 4 * 0.75 * np.sqrt(rate / (n * T))
    assert abs(isi.mean() - 1 / rate) < 0.01 / rate


def test_refractory_process_is_stationary_from_t_start():
    # Many short trains: the count in the first 5 ms must equal rate * 5 ms per unit.
    # Expected 20000 * 50 * 0.005 = 5000, Poisson s.e. <= sqrt(5000) = 71 (a dead-time
    # process counts less variably); allow 4 s.e. = 283. Starting the renewal process
    # without its equilibrium first interval would give ~5670 (rate' = 66.7 Hz at first).
    n, rate, ref = 20000, 50.0, 0.005
    data = sim.poisson(n_units=n, rate=rate, t_stop=0.02, refractory=ref, seed=9)
    early = np.sum(data.times < 0.005)
    assert abs(early - n * rate * 0.005) < 4 * np.sqrt(n * rate * 0.005)


def test_poisson_is_fast_enough():
    t0 = time.perf_counter()
    data = sim.poisson(n_units=1000, rate=10.0, t_stop=100.0, seed=1)
    assert data.n_spikes > 900_000
    assert time.perf_counter() - t0 < 5.0          # ~0.1 s here; generous for busy CI


# ====================================================================== SIP / MIP / mSIP
def test_sip_continuous_coincidences():
    T, c = 100.0, 2.0
    data = sim.sip(n_units=30, assembly_size=10, rate=15.0, coincidence_rate=c, t_stop=T,
                   seed=21)
    member = data.truth["assembly_membership"]
    assert member.shape == (1, 30) and member[0, :10].all() and not member[0, 10:].any()
    n_mother = data.annotations["n_coincidences"][0]
    # the mother count is Poisson(c*T = 200): s.e. 14.1, allow 4 s.e.
    assert abs(n_mother - c * T) < 4 * np.sqrt(c * T)
    # with copy_prob 1 and no jitter every mother spike is an exact 10-fold coincidence;
    # background spikes never coincide exactly in continuous time
    assert _coincident(data, range(10)).size == n_mother
    assert all(_pair_coincidences(data, a, a + 1) == 0 for a in range(10, 29))
    # total rates: members and non-members fire at 15 Hz; pooled over 10 (20) units the
    # s.e. of the mean rate is <= sqrt(15 / (10*T)) = 0.12 Hz (members' counts are
    # correlated through the shared 2 Hz: s.e. <= sqrt(13/(10T) + 2/T) = 0.18); 4 s.e.
    rates = data.rates
    assert abs(rates[:10].mean() - 15.0) < 4 * np.sqrt(13 / (10 * T) + 2 / T)
    assert abs(rates[10:].mean() - 15.0) < 4 * np.sqrt(15 / (20 * T))


def test_sip_binned():
    T, dt, c, rate = 100.0, 0.001, 2.0, 15.0
    data = sim.sip(n_units=30, assembly_size=10, rate=rate, coincidence_rate=c, t_stop=T,
                   bin_size=dt, seed=22)
    # spikes sit on bin left edges, at most one per unit and bin
    k = data.times / dt
    assert np.allclose(k, np.round(k), atol=1e-6)
    b = data.bin(dt).toarray()
    assert b.max() == 1 and b.sum() == data.n_spikes
    # bins where all 10 members fire: Binomial(1e5, c*dt) ~ 200 (chance (15 ms^-1)^10 is
    # negligible): s.e. 14.1; allow 4 s.e.
    all_fire = np.sum(b[:10].sum(axis=0) == 10)
    assert all_fire == data.annotations["n_coincidences"][0]
    assert abs(all_fire - c * T) < 4 * np.sqrt(c * T)
    # non-members show no excess: pairwise coincidences at chance (rate*dt)^2 per bin =
    # 22.5 per pair over 1e5 bins; the mean over 190 disjoint-ish pairs has s.e. about
    # sqrt(22.5 / 190) * 2 = 0.69 (pairs share units, hence the factor 2); allow 4 s.e.
    nm = b[10:].astype(np.int64)
    pair = (nm @ nm.T)[np.triu_indices(20, 1)]
    chance = (rate * dt) ** 2 * b.shape[1]
    assert abs(pair.mean() - chance) < 4 * 2 * np.sqrt(chance / pair.size)
    # members: excess c*T = 200 per pair on top of chance
    mm = b[:10].astype(np.int64)
    mpair = (mm @ mm.T)[np.triu_indices(10, 1)]
    assert mpair.mean() > c * T - 4 * np.sqrt(c * T)
    # exact per-bin probability rate*dt: mean rate s.e. <= 0.18 Hz as above; 4 s.e.
    assert abs(data.rates[:10].mean() - rate) < 4 * np.sqrt(13 / (10 * T) + 2 / T)
    assert abs(data.rates[10:].mean() - rate) < 4 * np.sqrt(rate / (20 * T))


def test_mip_pairwise_coincidences():
    T, c, p = 200.0, 4.0, 0.5
    data = sim.mip(n_units=20, assembly_size=10, rate=15.0, coincidence_rate=c,
                   copy_prob=p, t_stop=T, seed=31)
    n_mother = data.annotations["n_coincidences"][0]
    # mother count ~ Poisson(c*T = 800): s.e. 28; allow 4 s.e.
    assert abs(n_mother - c * T) < 4 * np.sqrt(c * T)
    pairs = [_pair_coincidences(data, a, b) for a in range(10) for b in range(a + 1, 10)]
    # given the mother count, a pair's coincidences ~ Binomial(n_mother, p^2): mean
    # n_mother/4 = ~200, s.d. sqrt(n_mother * p^2 (1 - p^2)) = 12.2; the mean over 45
    # pairs varies less, so 4 s.d. of a single pair is a conservative bound
    assert abs(np.mean(pairs) - n_mother * p * p) < 4 * np.sqrt(n_mother * p * p * (1 - p * p))
    # and unconditionally ~ c * p^2 * T = 200 (add the mother's Poisson spread p^2 * 28)
    assert abs(np.mean(pairs) - c * p * p * T) < 4 * (np.sqrt(c * p * p * T) + p * p * 28)
    # members still fire at 15 Hz in total (s.e. <= sqrt(15/T) = 0.27 Hz; 4 s.e.)
    assert abs(data.rates[:10].mean() - 15.0) < 4 * np.sqrt(15.0 / T)
    assert data.annotations["simulator"] == "mip"


def test_msip_overlap_and_membership():
    T = 100.0
    data = sim.msip(n_units=40, n_assemblies=3, assembly_size=10, overlap=2, rate=15.0,
                    coincidence_rate=2.0, t_stop=T, seed=41)
    m = data.truth["assembly_membership"]
    assert m.shape == (3, 40)
    assert [np.flatnonzero(r).tolist() for r in m] == [
        list(range(0, 10)), list(range(8, 18)), list(range(16, 26))]
    # units 8, 9 belong to assemblies 0 and 1: each assembly's coincidences are exact
    for a, units in enumerate([range(0, 10), range(8, 18), range(16, 26)]):
        assert _coincident(data, units).size == data.annotations["n_coincidences"][a]
    # the shared units still fire at 15 Hz (their background is 11 Hz): 4 units, s.e.
    # <= sqrt(15 / (4*T)) * 2 (shared copies correlate them) = 0.39 Hz
    shared = data.rates[[8, 9, 16, 17]]
    assert abs(shared.mean() - 15.0) < 4 * 2 * np.sqrt(15.0 / (4 * T))


def test_jittered_sip_wraps_and_keeps_near_coincidences():
    T, jit = 50.0, 0.002
    data = sim.sip(n_units=12, assembly_size=10, t_stop=T, jitter=jit, seed=51)
    n_mother = data.annotations["n_coincidences"][0]
    assert _coincident(data, range(10)).size == 0          # no longer exact
    # every mother event leaves all 10 members within +-jitter of it, so the spike of unit 0
    # from a mother has all 9 other members within 2*jitter. Candidate spikes of unit 0 with
    # that property, merged when closer than 4*jitter (one event), count the mother events;
    # a candidate far from any mother needs 9 background spikes within 4 ms (~(15 Hz *
    # 4 ms)^9: never), but mothers closer than ~12 ms merge into one event: Poisson with
    # mean ~100 * 2 Hz * 12 ms = 2.4, so 0..9 events go missing (P(> 9) < 1e-3)
    cand = np.array([t for t in data[0]
                     if all(np.any(np.abs(data[u] - t) <= 2 * jit) for u in range(1, 10))])
    events = 1 + np.sum(np.diff(cand) > 4 * jit) if cand.size else 0
    assert n_mother - 9 <= events <= n_mother
    # jittered copies wrap around the edges: all spikes stay inside [0, T]
    assert data.times.min() >= 0 and data.times.max() <= T


def test_rate_profile_modulates_background_and_preserves_mean():
    T, n = 20.0, 200
    # factors (1, 3) over the two halves are normalised to (0.5, 1.5)
    data = sim.assemblies(n_units=n, members=[range(10)], rate=15.0, coincidence_rate=2.0,
                          t_stop=T, rate_profile=([0.0, 10.0], [1.0, 3.0]), seed=61)
    assert data.annotations["rate_profile"]["factors"] == [0.5, 1.5]
    bg = data.select_units(np.arange(10, n))
    first = np.sum(bg.times < 10.0) / (bg.n_units * 10.0)
    second = np.sum(bg.times >= 10.0) / (bg.n_units * 10.0)
    # expected 7.5 and 22.5 Hz; s.e. sqrt(22.5 / (190 * 10)) = 0.11 Hz; allow 4 s.e.
    assert abs(first - 7.5) < 4 * np.sqrt(7.5 / (190 * 10))
    assert abs(second - 22.5) < 4 * np.sqrt(22.5 / (190 * 10))
    # members: only their 13 Hz background is modulated, the 2 Hz coincidences are not
    mem = data.select_units(np.arange(10))
    m_second = np.sum(mem.times >= 10.0) / (10 * 10.0)
    assert abs(m_second - (13 * 1.5 + 2)) < 4 * np.sqrt(21.5 / 100 + 2 / 10)
    # binned mode follows the same profile
    binned = sim.sip(n_units=n, assembly_size=10, t_stop=T, bin_size=0.002,
                     rate_profile=([0.0, 10.0], [0.5, 1.5]), seed=62)
    bgb = binned.select_units(np.arange(10, n))
    assert abs(np.sum(bgb.times < 10.0) / (190 * 10.0) - 7.5) < 4 * np.sqrt(7.5 / 1900)


# ====================================================================== synfire chain
def test_synfire_chain_structure_timing_and_ordering():
    G, S, n = 10, 50, 600
    delay, jit = 0.005, 0.0005
    data = sim.synfire_chain(n_units=n, n_groups=G, group_size=S, t_stop=5.0, rate=15.0,
                             delay=delay, jitter=jit, n_activations=3, seed=71)
    group = data.truth["chain_group"]
    order = data.truth["ordering"]
    assert np.array_equal(np.sort(order), np.arange(n))       # a permutation
    layout = np.concatenate([np.repeat(np.arange(G), S), np.full(n - G * S, -1)])
    assert np.array_equal(group[order], layout)               # reveals the chain
    assert not np.array_equal(group, layout)                  # shuffle did permute
    revealed = data.select_units(order)
    assert np.array_equal(revealed.truth["chain_group"], layout)
    assert np.array_equal(revealed.truth["ordering"], np.arange(n))

    onsets = np.asarray(data.annotations["onsets"])
    span = (G - 1) * delay
    assert onsets.size == 3 and np.all(np.diff(onsets) >= span + delay - 1e-12)
    assert onsets[0] >= 0 and onsets[-1] + span <= 5.0
    # group g fires at onset + g*delay: the nearest spike of every member lies within
    # 5 s.d. of jitter (P(|N(0,1)| > 5) = 6e-7 per spike, 1500 spikes), and the median of
    # the absolute deviations estimates 0.6745 * jitter with relative s.e.
    # 1 / (2 * 0.636 * 0.6745 * sqrt(1500)) = 3 %; allow 15 % (4 s.e. plus the ~1.5 %
    # pull of background spikes that happen to be nearer)
    dev = []
    for onset in onsets:
        for u in range(n):
            g = group[u]
            if g < 0:
                continue
            train = data[u]
            dev.append(np.min(np.abs(train - (onset + g * delay))))
    dev = np.asarray(dev)
    assert dev.size == 3 * G * S and dev.max() < 5 * jit
    assert abs(np.median(dev) / (0.6745 * jit) - 1) < 0.15
    # rates: chain members 15 Hz in total (background lowered by 3/5 Hz), background
    # units 15 Hz; s.e. sqrt(15 / (500*5)) = 0.077 Hz and sqrt(15 / (100*5)) = 0.17 Hz
    r = data.rates
    assert abs(r[group >= 0].mean() - 15.0) < 4 * np.sqrt(15.0 / (500 * 5))
    assert abs(r[group < 0].mean() - 15.0) < 4 * np.sqrt(15.0 / (100 * 5))


def test_synfire_chain_defaults_unshuffled_and_participation():
    data = sim.synfire_chain(shuffle=False, seed=72)
    assert data.n_units == 500 and data.duration == 5.0
    assert np.array_equal(data.truth["ordering"], np.arange(500))
    assert np.array_equal(data.truth["chain_group"], np.repeat(np.arange(10), 50))
    # participation 0.5: per activation and member, P(chain spike) = 0.5 plus the chance of
    # a background spike within 5*jitter: 15 Hz * 5 ms = 0.0375 -> ~0.519; over 1500
    # trials the s.e. is 0.013; allow 4 s.e.
    part = sim.synfire_chain(shuffle=False, participation=0.5, seed=73)
    onsets = part.annotations["onsets"]
    hits = [np.any(np.abs(part[u] - (o + (u // 50) * 0.005)) < 5 * 0.0005)
            for o in onsets for u in range(500)]
    expected = 0.5 + 0.5 * 15 * 10 * 0.0005
    assert abs(np.mean(hits) - expected) < 4 * np.sqrt(0.25 / len(hits))


def test_synfire_chain_refractory():
    ref = 0.003
    data = sim.synfire_chain(n_units=600, refractory=ref, t_stop=5.0, seed=74)
    isi = np.concatenate([np.diff(t) for t in data])
    assert isi.min() >= ref - 1e-9
    # rates compensated on average: s.e. as above (0.077 Hz); allow 5 s.e. for the
    # approximate compensation
    r = data.rates[data.truth["chain_group"] >= 0]
    assert abs(r.mean() - 15.0) < 5 * np.sqrt(15.0 / 2500)


# ====================================================================== SPOTDis patterns
def _grid(data):
    """Dense (epochs, units, samples) spike indicator of a spot_patterns recording."""
    ann = data.annotations
    S, dt = ann["epoch_samples"], ann["sample_time"]
    E = len(data.epochs)
    g = np.rint(data.times / dt).astype(np.int64)
    assert np.allclose(g * dt, data.times, rtol=0, atol=1e-9)   # on the sample grid
    grid = np.zeros((E, data.n_units, S), dtype=bool)
    grid[g // S, data.units, g % S] = True
    assert grid.sum() == data.n_spikes                          # <= one spike per sample
    return grid


def _windows(onsets, L, S):
    """(epochs, units, samples) mask of the pulse windows starting at ``onsets``."""
    s = np.arange(S)
    o = np.asarray(onsets)[..., None]
    return (s >= o) & (s < o + L)


def _rate(grid, mask):
    return grid[mask].sum() / mask.sum()


def test_spot_patterns_layout_and_labels():
    data = sim.spot_patterns(seed=81)
    ann = data.annotations
    labels = data.truth["epoch_labels"]
    assert len(data.epochs) == 300 and data.n_units == 50
    assert np.array_equal(np.bincount(labels + 1), [150, 30, 30, 30, 30, 30])
    assert not np.all(np.diff(labels) >= 0)                      # shuffled
    assert np.array_equal(data.epochs.label,
                          np.where(labels < 0, "noise", labels.astype(str)))
    T = 300 * 0.001
    np.testing.assert_allclose(data.epochs.start, np.arange(300) * T, atol=1e-12)
    np.testing.assert_allclose(data.epochs.stop, (np.arange(300) + 1) * T, atol=1e-12)
    assert data.t_stop == pytest.approx(300 * T)
    assert np.asarray(ann["pattern_onsets"]).shape == (5, 50)
    ordered = sim.spot_patterns(shuffle=False, seed=81)
    assert np.all(np.diff(ordered.truth["epoch_labels"][:150]) >= 0)


def test_spot_patterns_rates_inside_outside_and_homogeneous_noise():
    data = sim.spot_patterns(seed=82)
    grid, labels = _grid(data), data.truth["epoch_labels"]
    onsets = np.asarray(data.annotations["pattern_onsets"])
    pat = labels >= 0
    inside = _windows(onsets[labels[pat]], 30, 300)
    g = grid[pat]
    # 150 epochs * 50 units * 30 samples = 225000 Bernoulli(0.2): s.e. 8.4e-4
    assert abs(_rate(g, inside) - 0.2) < 4 * np.sqrt(0.2 * 0.8 / inside.sum())
    # 2.025e6 Bernoulli(0.02) outside: s.e. 9.8e-5
    assert abs(_rate(g, ~inside) - 0.02) < 4 * np.sqrt(0.02 * 0.98 / (~inside).sum())
    # homogeneous noise: every sample at the mean (30*0.2 + 270*0.02)/300 = 0.038, also
    # inside any pattern's windows (no pulse structure): s.e. 1.3e-4 and 4e-4
    noise = grid[~pat]
    mean = (30 * 0.2 + 270 * 0.02) / 300
    assert abs(noise.mean() - mean) < 4 * np.sqrt(mean * (1 - mean) / noise.size)
    for p in range(5):
        w = np.broadcast_to(_windows(onsets[p], 30, 300), noise.shape)
        assert abs(_rate(noise, w) - mean) < 4 * np.sqrt(mean * (1 - mean) / w.sum())


def _max_window_count(grid, L):
    c = np.concatenate([np.zeros(grid.shape[:-1] + (1,)), np.cumsum(grid, axis=-1)], -1)
    return (c[..., L:] - c[..., :-L]).max(axis=-1)


def test_spot_patterned_noise_has_own_non_repeating_pulses():
    hom = sim.spot_patterns(seed=83)
    pat = sim.spot_patterns(noise="patterned", seed=83)
    gh = _grid(hom)[hom.truth["epoch_labels"] < 0]
    gp = _grid(pat)[pat.truth["epoch_labels"] < 0]
    # a pulse puts ~6 spikes in one 30-sample window of each noise epoch; homogeneous noise
    # (1.14 expected per window) rarely reaches that: the mean over 7500 (epoch, unit)
    # maxima differs by ~2.5 spikes, far above its s.e. (~0.02)
    assert _max_window_count(gp, 30).mean() > _max_window_count(gh, 30).mean() + 1.5
    # but the pulses do not repeat: pooled over noise epochs, no pattern's windows are
    # favoured. Onsets are uniform in 0..S-L, so sample s lies in a pulse with probability
    # cover(s) = #{onsets covering s} / (S - L + 1) (lower near the epoch edges): the
    # expected rate in a window is the mean of 0.02 + 0.18 * cover over the window. Spikes
    # cluster within an epoch (a pulse overlaps the window or not), so the s.e. comes from
    # the spread of the 7500 per-(epoch, unit) window counts; allow 4 s.e.
    onsets = np.asarray(pat.annotations["pattern_onsets"])
    s = np.arange(300)
    cover = (np.minimum(s, 270) - np.maximum(s - 29, 0) + 1) / 271
    assert abs(gp.mean() - 0.038) < 4 * np.sqrt(0.038 / gp.size)
    for p in range(5):
        win = _windows(onsets[p], 30, 300)                   # (units, samples)
        expected = np.mean((0.02 + 0.18 * cover)[None, :].repeat(50, 0)[win])
        counts = (gp & win).sum(-1)                          # (epochs, units)
        se = counts.std() / np.sqrt(counts.size) / 30
        assert abs(counts.mean() / 30 - expected) < 4 * se


def test_spot_variant_bimodal():
    data = sim.spot_patterns(variant="bimodal", seed=84)
    grid, labels = _grid(data), data.truth["epoch_labels"]
    a = np.asarray(data.annotations["pattern_onsets"])[labels[labels >= 0]]
    b = np.asarray(data.annotations["pattern_onsets_alt"])[labels[labels >= 0]]
    g = grid[labels >= 0]
    sep = np.abs(a - b) >= 30                         # windows that do not overlap
    ca = (g & _windows(a, 30, 300)).sum(-1)[sep]
    cb = (g & _windows(b, 30, 300)).sum(-1)[sep]
    # each window is hot half the time: mean count 30 * (0.2 + 0.02) / 2 = 3.3, s.e.
    # sqrt(var ~ 10 / n) with n ~ 6000 -> 0.04; allow 0.2
    assert abs(ca.mean() - 3.3) < 0.2 and abs(cb.mean() - 3.3) < 0.2
    # exactly one of the two is hot per epoch: strongly anti-correlated (~ -0.7)
    assert np.corrcoef(ca, cb)[0, 1] < -0.5


def test_spot_variant_deactivation():
    data = sim.spot_patterns(variant="deactivation", seed=85)
    grid, labels = _grid(data), data.truth["epoch_labels"]
    onsets = np.asarray(data.annotations["pattern_onsets"])
    g = grid[labels >= 0]
    inside = _windows(onsets[labels[labels >= 0]], 30, 300)
    assert g[inside].sum() == 0                       # silent inside the window
    # outside: 2.025e6 Bernoulli(0.1): s.e. 2.1e-4
    assert abs(_rate(g, ~inside) - 0.1) < 4 * np.sqrt(0.09 / (~inside).sum())
    assert data.annotations["variant_options"] == {"active_rate": 0.1}


def test_spot_variant_coarse_fine():
    data = sim.spot_patterns(n_patterns=6, variant="coarse_fine", n_coarse=2, fine_shift=8,
                             seed=86)
    ann = data.annotations
    labels = data.truth["epoch_labels"]
    coarse_of = np.asarray(ann["coarse_of_pattern"])
    assert coarse_of.tolist() == [0, 1, 0, 1, 0, 1]
    onsets = np.asarray(ann["pattern_onsets"])
    coarse = np.asarray(ann["coarse_onsets"])
    assert np.all(np.abs(onsets - coarse[coarse_of]) <= 8)
    assert ann["epoch_coarse_labels"] == np.where(
        labels < 0, -1, coarse_of[np.maximum(labels, 0)]).tolist()
    grid = _grid(data)
    inside = _windows(onsets[labels[labels >= 0]], 30, 300)
    g = grid[labels >= 0]
    assert abs(_rate(g, inside) - 0.2) < 4 * np.sqrt(0.16 / inside.sum())


def test_spot_variant_sync_subsets():
    data = sim.spot_patterns(variant="sync_subsets", subset_fraction=0.4, n_subsets=2,
                             seed=87)
    ann = data.annotations
    onsets, group = np.asarray(ann["pattern_onsets"]), np.asarray(ann["pattern_subsets"])
    assert group.shape == (5, 50) and set(np.unique(group)) <= {-1, 0, 1}
    assert 0.3 < np.mean(group >= 0) < 0.5
    # the members of a group share one pulse time
    for p in range(5):
        for g in (0, 1):
            assert np.unique(onsets[p, group[p] == g]).size <= 1
    grid, labels = _grid(data), data.truth["epoch_labels"]
    pat = labels >= 0
    g = grid[pat]
    inside = _windows(onsets[labels[pat]], 30, 300)
    member = (group[labels[pat]] >= 0)[:, :, None]
    # members fire at rate_in in their pulse, everything else at rate_out
    n_in = (inside & member).sum()
    assert abs(_rate(g, inside & member) - 0.2) < 4 * np.sqrt(0.16 / n_in)
    n_out = (~(inside & member)).sum()
    assert abs(_rate(g, ~(inside & member)) - 0.02) < 4 * np.sqrt(0.02 * 0.98 / n_out)


@pytest.mark.parametrize("variant", ["rate_scaling_global", "rate_scaling_group"])
def test_spot_variant_rate_scaling_keeps_labels(variant):
    base = sim.spot_patterns(seed=88)
    data = sim.spot_patterns(variant=variant, seed=88)
    labels = data.truth["epoch_labels"]
    assert np.array_equal(np.bincount(labels + 1), np.bincount(base.truth["epoch_labels"] + 1))
    scale = np.asarray(data.annotations["epoch_scale"])
    assert scale.min() >= 0.5 and scale.max() <= 2.0
    grid = _grid(data)
    if variant == "rate_scaling_global":
        assert scale.shape == (300,)
        counts = grid.sum(axis=(1, 2))
        # every epoch expects 50 * 11.4 = 570 * scale spikes (noise epochs too); count/
        # scale has variance <= 570 / 0.5 = 1140, so the mean over 300 epochs has s.e.
        # <= 1.95; allow 4 s.e.
        assert abs(np.mean(counts / scale) - 570) < 4 * 1.95
        assert np.corrcoef(counts, scale)[0, 1] > 0.9
    else:
        groups = np.asarray(data.annotations["neuron_groups"])
        assert scale.shape == (300, 2) and groups.tolist() == [0] * 25 + [1] * 25
        for k in range(2):
            counts = grid[:, groups == k].sum(axis=(1, 2))
            assert abs(np.mean(counts / scale[:, k]) - 285) < 4 * np.sqrt(570 / 300)
            assert np.corrcoef(counts, scale[:, k])[0, 1] > 0.85


def test_spot_variant_jittered_onset():
    data = sim.spot_patterns(variant="jittered_onset", pattern_samples=120, seed=89)
    ann = data.annotations
    labels = data.truth["epoch_labels"]
    assert ann["pattern_length"] == pytest.approx(0.12)
    start = ann["pattern_onset"]
    assert all((s is None) == (lab < 0) for s, lab in zip(start, labels))
    start = np.array([0 if s is None else round(s / 0.001) for s in start])
    assert start.max() <= 300 - 120 and len(np.unique(start[labels >= 0])) > 20
    rel = np.asarray(ann["pattern_onsets"])
    assert rel.max() <= 120 - 30
    grid = _grid(data)
    g = grid[labels >= 0]
    inside = _windows(rel[labels[labels >= 0]] + start[labels >= 0, None], 30, 300)
    assert abs(_rate(g, inside) - 0.2) < 4 * np.sqrt(0.16 / inside.sum())
    assert abs(_rate(g, ~inside) - 0.02) < 4 * np.sqrt(0.0196 / (~inside).sum())


def test_spot_epoch_boundaries():
    data = sim.spot_patterns(n_patterns=2, epochs_per_pattern=5, n_noise_epochs=3,
                             epoch_samples=100, pulse_samples=10, seed=90)
    assert len(data.epochs) == 13
    S, dt = 100, 0.001
    k = np.rint(data.times / dt).astype(int)
    # every spike belongs to exactly one epoch: samples 0..S-1 of epoch k // S
    ep = k // S
    assert np.all(data.times >= data.epochs.start[ep] - 1e-12)
    assert np.all(data.times <= data.epochs.start[ep] + (S - 1) * dt + 1e-12)


# ====================================================================== validation
BAD = [
    (sim.poisson, {"rate": -1}, "rate"),
    (sim.poisson, {"rate": [1.0, 2.0]}, "rate"),
    (sim.poisson, {"n_units": 0}, "n_units"),
    (sim.poisson, {"n_units": 2.5}, "n_units"),
    (sim.poisson, {"t_stop": 0.0}, "t_stop"),
    (sim.poisson, {"t_stop": float("nan")}, "t_stop"),
    (sim.poisson, {"refractory": -0.001}, "refractory"),
    (sim.poisson, {"rate": 100.0, "refractory": 0.01}, "refractory"),
    (sim.poisson, {"seed": "abc"}, "seed"),
    (sim.poisson, {"seed": -3}, "seed"),
    (sim.sip, {"coincidence_rate": 20.0}, "coincidence_rate"),
    (sim.sip, {"coincidence_rate": -1.0}, "coincidence_rate"),
    (sim.sip, {"assembly_size": 1}, "assembly_size"),
    (sim.sip, {"assembly_size": 101}, "assembly_size"),
    (sim.sip, {"bin_size": 0.0}, "bin_size"),
    (sim.sip, {"bin_size": 0.1}, "rate"),                        # 15 Hz * 0.1 s > 1
    (sim.sip, {"jitter": -0.1}, "jitter"),
    (sim.sip, {"rate_profile": ([1.0], [1.0])}, "rate_profile"),
    (sim.sip, {"rate_profile": ([0.0, 5.0], [1.0, -1.0])}, "rate_profile"),
    (sim.sip, {"rate_profile": "flat"}, "rate_profile"),
    (sim.mip, {"copy_prob": 0.0}, "copy_prob"),
    (sim.mip, {"copy_prob": 1.5}, "copy_prob"),
    (sim.msip, {"n_assemblies": 20}, "n_units"),
    (sim.msip, {"overlap": 10}, "overlap"),
    (sim.assemblies, {"members": [[0, 200]]}, "members"),
    (sim.assemblies, {"members": [[0, 0, 1]]}, "members"),
    (sim.assemblies, {"members": []}, "members"),
    (sim.synfire_chain, {"n_units": 100}, "n_units"),
    (sim.synfire_chain, {"delay": 0.0}, "delay"),
    (sim.synfire_chain, {"participation": 0.0}, "participation"),
    (sim.synfire_chain, {"n_activations": 200}, "n_activations"),
    (sim.synfire_chain, {"shuffle": "yes"}, "shuffle"),
    (sim.synfire_chain, {"jitter": -1.0}, "jitter"),
    (sim.spot_patterns, {"rate_in": 1.5}, "rate_in"),
    (sim.spot_patterns, {"rate_out": -0.1}, "rate_out"),
    (sim.spot_patterns, {"pulse_samples": 301}, "pulse_samples"),
    (sim.spot_patterns, {"noise": "pink"}, "noise"),
    (sim.spot_patterns, {"variant": "nope"}, "variant"),
    (sim.spot_patterns, {"sample_time": 0.0}, "sample_time"),
    (sim.spot_patterns, {"variant": "bimodal", "fine_shift": 3}, "fine_shift"),
    (sim.spot_patterns, {"variant": "coarse_fine", "fine_shift": 200}, "fine_shift"),
    (sim.spot_patterns, {"variant": "rate_scaling_global", "scale_range": (0.5, 10.0)},
     "scale_range"),
    (sim.spot_patterns, {"variant": "jittered_onset", "pattern_samples": 10},
     "pattern_samples"),
]


@pytest.mark.parametrize("func, kwargs, name", BAD,
                         ids=[f"{f.__name__}-{n}-{i}" for i, (f, _, n) in enumerate(BAD)])
def test_invalid_parameters_raise_value_error_naming_the_parameter(func, kwargs, name):
    with pytest.raises(ValueError, match=rf"^{name}: "):
        func(**kwargs)


def test_error_message_format():
    with pytest.raises(ValueError, match=r"^rate: must be >= 0 Hz, got -1$"):
        sim.poisson(rate=-1)


# ====================================================================== spot variants, frozen
#: small spot_patterns runs: every variant with both kinds of noise, and with options other
#: than the defaults
_SPOT_SMALL = dict(n_patterns=3, epochs_per_pattern=4, n_noise_epochs=5, n_units=12,
                   epoch_samples=100, pulse_samples=10)
_SPOT_OPTIONS = {"bimodal": dict(mode_prob=0.3), "deactivation": dict(active_rate=0.2),
                 "coarse_fine": dict(n_coarse=3, fine_shift=3),
                 "sync_subsets": dict(subset_fraction=0.8, n_subsets=2),
                 "rate_scaling_global": dict(scale_range=(0.8, 1.5)),
                 "rate_scaling_group": dict(scale_range=(0.8, 1.5), n_groups=3),
                 "jittered_onset": dict(pattern_samples=60)}
SPOT_RUNS = ([(variant, noise, seed, {}) for variant in sim.SPOT_VARIANTS
              for noise in ("homogeneous", "patterned") for seed in (0, 1)]
             + [(variant, noise, 0, options) for variant, options in _SPOT_OPTIONS.items()
                for noise in ("homogeneous", "patterned")])


def _spot_digest(variant, noise, seed, options):
    """sha256 of everything spot_patterns returns: spikes, epochs, truth, annotations."""
    import hashlib

    data = sim.spot_patterns(**_SPOT_SMALL, noise=noise, variant=variant, seed=seed,
                             **options)
    h = hashlib.sha256()
    for array in (data.times, data.offsets, data.epochs.start, data.epochs.stop,
                  data.epochs.label.astype("U"), *(data.truth[k] for k in sorted(data.truth))):
        h.update(np.ascontiguousarray(array).tobytes())
    h.update(json.dumps(data.annotations, sort_keys=True, default=repr).encode())
    return h.hexdigest()


#: _spot_digest of each run of SPOT_RUNS, recorded from spot_patterns before its variants
#: became separate functions (issue 13): the refactoring must not change a single spike
SPOT_DIGESTS = [
    ((None, 'homogeneous', 0, {}),
     '5d2a2b2703f5284df6406bfb39625a840b45868ecb8bc0c6c8f57a8640e7b2c6'),
    ((None, 'homogeneous', 1, {}),
     '7930d021d961f469f2f049a3813e8363a84a7832ed4430dd1f149d636a790d39'),
    ((None, 'patterned', 0, {}),
     '8148a4b6f7310c3c47832f4fcdfac8937d416e405767e29bcb3f86da2826ce2a'),
    ((None, 'patterned', 1, {}),
     'cc3cee766eac6763c8d479bcbdd523d3644caf388a9d16e381f9ba065af6dce9'),
    (('bimodal', 'homogeneous', 0, {}),
     '85dffa9b3e137964d11c4d4a21f3c103e6ff4990e42b40c968f1aa680e355c1a'),
    (('bimodal', 'homogeneous', 1, {}),
     '355f320fb85fc22d1d88de9353f0cc15134758d0516b4bca658b807b5b4a6a78'),
    (('bimodal', 'patterned', 0, {}),
     '457d8052184b00f79a71ba70026f2255d10a3d16bd7958868634305179b038e3'),
    (('bimodal', 'patterned', 1, {}),
     '7a41d0487d9aecced280508fcc35e8fa86007c861aae225047c7d849e21c7b9f'),
    (('deactivation', 'homogeneous', 0, {}),
     '205ff59902917c5fdb5256cdb89b2dd627ed42a97445ec88a912c169d25af458'),
    (('deactivation', 'homogeneous', 1, {}),
     '5af4d09c1c1ed880f58c18979f8d55a10ca6c9a9440beec2faad6710a0df8111'),
    (('deactivation', 'patterned', 0, {}),
     'd0adfa64582b3278961135f0057a2a4cce7326a92ccc5d38e7fd6b4fa0b8a3d7'),
    (('deactivation', 'patterned', 1, {}),
     '33256b5d7a88728bdd47606b2861f189ebdf9e6da8f8abd54ce26fd94256a439'),
    (('coarse_fine', 'homogeneous', 0, {}),
     '4f6ea03784b47d87e07745ed02fe0b1158dc6b1c375db313a93a2e723e3466c1'),
    (('coarse_fine', 'homogeneous', 1, {}),
     '1b465ff832c6be8ae4cd89234a1b1cc27a22a6e793c677cd8e1b8c5783af9934'),
    (('coarse_fine', 'patterned', 0, {}),
     '8591ab92571dc318b6fbe47d8ee496b3d7477b500e44c933d8052109d3115c67'),
    (('coarse_fine', 'patterned', 1, {}),
     'ced3f9c2ca15238c612e5139f8699805371ee97184a83cd9d06de19b15e3210a'),
    (('sync_subsets', 'homogeneous', 0, {}),
     '8340aab705cc304864f1148f9b1dfaf1bb833668c30c49a6255bc7e54de9113c'),
    (('sync_subsets', 'homogeneous', 1, {}),
     'a5b47cc54bbc35031d6c3628313e25df9f931abb2604b4242eaccbf96a8476af'),
    (('sync_subsets', 'patterned', 0, {}),
     '03b941a3d6480ef91f4fbe07ebf26d2dd02a9a02d65ab1afc06f863c678914d8'),
    (('sync_subsets', 'patterned', 1, {}),
     '31c9bcd6876a48297a07443857cf2166a6d8683caba0e9c7f06efa092395d061'),
    (('rate_scaling_global', 'homogeneous', 0, {}),
     '1f7ac3b38223f55186fec05c815d7851a64be68fe714c9d0cd2cc22fe2f6fbc1'),
    (('rate_scaling_global', 'homogeneous', 1, {}),
     '0af2f2231dca310ee9f4754bbe71032b1cc8a27a42caea00f578047423ceb4ed'),
    (('rate_scaling_global', 'patterned', 0, {}),
     '815f11da55b6832e38ab190496412460d468af5bf0bc8f333ae94902ad373094'),
    (('rate_scaling_global', 'patterned', 1, {}),
     '009057c8210d097c982dda8994d3a3d0b52fe29e91798ffe4b788f4cfd56ed46'),
    (('rate_scaling_group', 'homogeneous', 0, {}),
     '621fef8da9ec43f7904d85259b13dc97321cea7b4e4ca21c372d202661da5b1b'),
    (('rate_scaling_group', 'homogeneous', 1, {}),
     '332d0058312ca8f81ac280149babfb6955ebedfb78ab00c22bc32b6a876feecd'),
    (('rate_scaling_group', 'patterned', 0, {}),
     'f7eaf67f1b3b23afb197de78ada7b8caad6c70bf0e24556ddfed585869f63e4e'),
    (('rate_scaling_group', 'patterned', 1, {}),
     '5215ceea1f96861a861d127562d56f4c5e8e877c7b1d0d70d91b861e0de239d7'),
    (('jittered_onset', 'homogeneous', 0, {}),
     'ac2e4bf269cdb9b4745523c3c7f90299b6acb74575241336d663967073545446'),
    (('jittered_onset', 'homogeneous', 1, {}),
     '52cb6a76514b0c76b8b4ed6532863fcc19f0be55705d19f9fa6d1ab0c7f8f172'),
    (('jittered_onset', 'patterned', 0, {}),
     'f2301e0ea795694f2a9e22ebb4d57aaacbd0528c2d800b49a62b1eaf374cd2e7'),
    (('jittered_onset', 'patterned', 1, {}),
     'f2963a244c867e27f0278d4989346747848fcd61096c6e3e1394d3380f6994d5'),
    (('bimodal', 'homogeneous', 0, {'mode_prob': 0.3}),
     '4985870c1957fea96dafe9fabf8e1fc6ed0202431213c19078897c26d861d6d6'),
    (('bimodal', 'patterned', 0, {'mode_prob': 0.3}),
     '766af6242970adb1aaf3d3c556c36016a5436a2a7fd13e3a7aa50b2b3a2ebaa5'),
    (('deactivation', 'homogeneous', 0, {'active_rate': 0.2}),
     '0e577cbf0482d13807fc976b011f2035ae2f7954f8fe24abdc3218a95d44a20a'),
    (('deactivation', 'patterned', 0, {'active_rate': 0.2}),
     '468b8748934838346b02d3830380d0ad7491e3e576c5c7746d0e22a7227f0ff6'),
    (('coarse_fine', 'homogeneous', 0, {'n_coarse': 3, 'fine_shift': 3}),
     'f3b6873fabbb5dba6a42781bf2670b9850d94cd74e78197ffeb748120999df04'),
    (('coarse_fine', 'patterned', 0, {'n_coarse': 3, 'fine_shift': 3}),
     '3dae2d3cb9ac22410bc05e58a7ed086f5fae3cf57ff472590f34c301943d9582'),
    (('sync_subsets', 'homogeneous', 0, {'subset_fraction': 0.8, 'n_subsets': 2}),
     '08f857de9f56b869dca335a14c4945f52b1c0230483a5f35fb8d1921ef04df7b'),
    (('sync_subsets', 'patterned', 0, {'subset_fraction': 0.8, 'n_subsets': 2}),
     'a985e28964135e1b73bf77f4f99e088171402c751b2af61102722c6990eae410'),
    (('rate_scaling_global', 'homogeneous', 0, {'scale_range': (0.8, 1.5)}),
     'c6ea0409543970a24c084c620ad3ac543c9262001d0af6e362d714cdd068501a'),
    (('rate_scaling_global', 'patterned', 0, {'scale_range': (0.8, 1.5)}),
     '3328ee7c44fcdff30f00414bf68d387b65d8ad93ee23219bf9429ecdd5c4cacb'),
    (('rate_scaling_group', 'homogeneous', 0, {'scale_range': (0.8, 1.5), 'n_groups': 3}),
     '720c5fa5dfbb01c1e56ff78bc0e73cabe3717483f6ce49cef394eb9ac01d1d4e'),
    (('rate_scaling_group', 'patterned', 0, {'scale_range': (0.8, 1.5), 'n_groups': 3}),
     'f74502ef33156e74c9dda6b77a703eaba13bc7966c3f46805a480235ec48f664'),
    (('jittered_onset', 'homogeneous', 0, {'pattern_samples': 60}),
     'b973feda4d79af44e5ab5d634164636f54e2bd81b4172ee0b8a67032b03de231'),
    (('jittered_onset', 'patterned', 0, {'pattern_samples': 60}),
     '900eab12e6cd0fe9f4af4d84ecffff981961e55a5a3e22b912eed60dcba5bd1d'),
]


@pytest.mark.parametrize("run, digest", SPOT_DIGESTS,
                         ids=[" ".join(map(str, run)) for run, _ in SPOT_DIGESTS])
def test_spot_patterns_variants_give_the_recorded_results(run, digest):
    assert _spot_digest(*run) == digest


# ====================================================================== embedded sequences
def test_embedded_sequences_truth_and_spikes():
    data = sim.embedded_sequences(n_units=12, n_patterns=2, occurrences=5, t_stop=20.0,
                                  rate=0.0, jitter=0.0, members=0.5, seed=4)
    iv = sim.pattern_intervals(data)
    assert len(iv) == 10 and np.all(np.diff(iv["start"]) > 0)
    assert np.all(iv["start"].to_numpy()[1:] - iv["stop"].to_numpy()[:-1] >= 0.4 - 1e-12)
    assert sorted(np.bincount(iv["label"])) == [5, 5]
    seq = data.truth["sequence_times"]
    assert seq.shape == (2, 12) and np.all(np.isfinite(seq).sum(axis=1) == 6)
    # without background or jitter every spike is a member's, at its time (1 ms grid)
    for row in iv.itertuples():
        for u in np.flatnonzero(np.isfinite(seq[row.label])):
            t = data[u]
            hit = t[(t >= row.start - 1e-9) & (t <= row.stop + 1e-9)]
            assert hit.size == 1
            assert abs(hit[0] - row.start - seq[row.label, u]) <= 0.0006
    assert data.n_spikes == 10 * 6


def test_embedded_sequences_errors():
    with pytest.raises(ValueError, match="^t_stop: 60 occurrences"):
        sim.embedded_sequences(t_stop=10.0)
    with pytest.raises(ValueError, match="^members: must be > 0"):
        sim.embedded_sequences(members=0.0)
    with pytest.raises(ValueError, match="^data: no embedded pattern times"):
        sim.pattern_intervals(sim.poisson(seed=0))
