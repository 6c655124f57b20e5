"""SpikeShip: exactness against a brute-force implementation of the definition (linear
programming per neuron, the global shift by exhaustive search and by an exact weighted
median), hand-computed cases, a whole-pattern shift, undefined pairs, the flows, and
clustering through SpotDisClust."""

import sys
from fractions import Fraction

import numba
import numpy as np
import pytest
from scipy.optimize import linprog

from analysis import SpikeTrains, simulate
from analysis.errors import MemoryBudgetError
from analysis.kernels.spikeship import N_BUCKETS, bucket_median, weighted_median
from analysis.spotdis import (SpotDisClust, SpotDisClustResult, neuron_flows, pair_flows,
                              spikeship, spotdis)
from analysis.spotdis.spikeship import spikeship_knn, spikeship_pairs

SCALE = 0.7   # the normalisation's constant, written out here on purpose


# ----------------------------------------------------------------- plain reference
def transport_plan(x, y):
    """Optimal transport of x (mass 1/n each) onto y (1/m each) by linear programming.

    The cost (x_i - y_j)^2 is strictly convex, so its optimal plan is unique: the monotone
    one, which is also optimal for |x_i - y_j| (checked). Masses come back as fractions
    (they are multiples of 1/(n m))."""
    n, m = len(x), len(y)
    if n == 1 or m == 1:   # one side is a single point: the only plan
        return [(xi, yj, Fraction(1, n * m)) for xi in x for yj in y]
    diff = np.subtract.outer(np.asarray(x), np.asarray(y))
    a_eq = np.zeros((n + m, n * m))
    for i in range(n):
        a_eq[i, i * m:(i + 1) * m] = 1.0
    for j in range(m):
        a_eq[n + j, j::m] = 1.0
    b_eq = np.concatenate([np.full(n, 1.0 / n), np.full(m, 1.0 / m)])
    sol = linprog((diff ** 2).ravel(), A_eq=a_eq, b_eq=b_eq, bounds=(0, None),
                  method="highs")
    assert sol.status == 0
    w1 = linprog(np.abs(diff).ravel(), A_eq=a_eq, b_eq=b_eq, bounds=(0, None),
                 method="highs")
    assert abs(w1.fun - np.abs(diff).ravel() @ sol.x) <= 1e-12
    plan = []
    for q, mass in enumerate(sol.x):
        frac = Fraction(float(mass)).limit_denominator(n * m)
        if frac > 0:
            plan.append((x[q // m], y[q % m], frac))
    assert sum(f for _, _, f in plan) == 1
    return plan


def exact_median(values, masses):
    """Midpoint of the weighted medians' interval, by sorting, with exact masses."""
    distinct = np.unique(values)
    at = [sum((w for v, w in zip(values, masses) if v == d), Fraction(0)) for d in distinct]
    half = sum(at) / 2
    cum = Fraction(0)
    for q, d in enumerate(distinct):
        cum += at[q]
        if cum == half:
            return 0.5 * (d + distinct[q + 1])
        if cum > half:
            return float(d)
    raise AssertionError("unreachable")


def brute_pair(tk, ok, tm, om):
    """(SpikeShip, global shift, common neurons, residual per neuron) of two epochs."""
    values, masses, owner = [], [], []
    for i in range(len(ok) - 1):
        x, y = tk[ok[i]:ok[i + 1]], tm[om[i]:om[i + 1]]
        if x.size and y.size:
            for a, b, w in transport_plan(list(x), list(y)):
                values.append(a - b)
                masses.append(w)
                owner.append(i)
    common = len(set(owner))
    if common == 0:
        return np.nan, np.nan, 0, {}
    values = np.asarray(values)
    weights = np.array([float(w) for w in masses])
    # the cost is convex and piecewise linear: its minimum lies at one of the flows
    least = min(float(weights @ np.abs(values - g)) for g in values)
    g = exact_median(values, masses)
    assert float(weights @ np.abs(values - g)) == pytest.approx(least, rel=1e-12, abs=1e-15)
    owner = np.asarray(owner)
    residual = {i: float(weights[owner == i] @ (values[owner == i] - g)) for i in set(owner)}
    value = SCALE * least / (common - 1) if common >= 2 else np.nan
    return value, g, common, residual


def brute_spikeship(data):
    M = len(data.epochs)
    per_epoch = [data.epoch_spikes(k) for k in range(M)]
    matrix = np.zeros((M, M))
    shift = np.zeros((M, M))
    common = np.zeros((M, M), dtype=np.int64)
    for k in range(M):
        for m in range(k + 1, M):
            v, g, c, _ = brute_pair(*per_epoch[k], *per_epoch[m])
            matrix[k, m] = matrix[m, k] = v
            shift[k, m], shift[m, k] = g, -g
            common[k, m] = common[m, k] = c
    return matrix, shift, common


def from_epoch_lists(epochs, length=1.0):
    """A recording from per-epoch spike lists ``epochs[k][i]`` (times within the epoch)."""
    M, N = len(epochs), len(epochs[0])
    starts = np.arange(M) * length
    times, units = [], []
    for k, per_unit in enumerate(epochs):
        for i, ts in enumerate(per_unit):
            times += [starts[k] + t for t in ts]
            units += [i] * len(ts)
    return SpikeTrains.from_spikes(times, units, t_start=0.0, t_stop=M * length,
                                   unit_ids=list(range(N)),
                                   epochs={"start": starts, "stop": starts + length})


def allen_like(seed, M=10, N=150, T=0.25):
    """Epochs laid out like the authors' Allen V1 example: many neurons, 0-3 spikes per
    neuron and epoch, two stimuli that set each neuron's latency, jitter."""
    rng = np.random.default_rng(seed)
    latency = rng.uniform(0.02, 0.2, (2, N))
    epochs = []
    for k in range(M):
        stim = k % 2
        per_unit = []
        for i in range(N):
            n = int(rng.choice(4, p=[0.4, 0.35, 0.15, 0.1]))
            t = latency[stim, i] + rng.normal(0, 0.01, n) + 0.02 * np.arange(n)
            per_unit.append(sorted(np.clip(t, 0.0, T * 0.999)))
        epochs.append(per_unit)
    return from_epoch_lists(epochs, T)


def check_against_brute(data):
    r = spikeship(data)
    matrix, shift, common = brute_spikeship(data)
    iu = np.triu_indices(len(data.epochs), 1)
    defined = common[iu] >= 2
    np.testing.assert_array_equal(r.counts[iu], common[iu])
    np.testing.assert_array_equal(r.undefined[iu], ~defined)
    np.testing.assert_allclose(r.matrix[iu][defined], matrix[iu][defined], rtol=1e-9,
                               atol=1e-15)
    has_shift = common >= 1
    np.fill_diagonal(has_shift, False)
    np.testing.assert_allclose(r.shift[has_shift], shift[has_shift], rtol=1e-9, atol=1e-15)
    assert np.isnan(r.shift[(common == 0) & ~np.eye(common.shape[0], dtype=bool)]).all()
    return r


# ----------------------------------------------------------------- exactness
def test_equals_brute_force_on_simulated_patterns():
    data = simulate.spot_patterns(n_patterns=2, epochs_per_pattern=4, n_noise_epochs=4,
                                  n_units=8, epoch_samples=100, pulse_samples=20,
                                  rate_in=0.25, rate_out=0.02, seed=3)
    r = check_against_brute(data)
    assert r.counts.max() >= 2 and (r.matrix > 0).any()
    # several spikes per neuron and epoch: flows with unequal masses are exercised
    assert np.diff(data.epoch_spikes(0)[1]).max() >= 3


@pytest.mark.parametrize("seed", [0, 1])
def test_equals_brute_force_on_sparse_allen_like_epochs(seed):
    data = allen_like(seed)
    check_against_brute(data)


def test_weighted_median_is_the_midpoint_of_the_minimisers():
    rng = np.random.default_rng(5)
    for _ in range(300):
        n = int(rng.integers(1, 12))
        values = rng.integers(-4, 5, n).astype(np.float64)   # ties on purpose
        masses = rng.integers(1, 4, n)
        total = float(masses.sum())
        g = weighted_median(values.copy(), masses.astype(np.float64), 0, n, total)
        assert g == exact_median(values, [Fraction(int(w)) for w in masses])
        assert weighted_median(-values, masses.astype(np.float64), 0, n, total) == -g


def test_bucket_median_equals_quickselect():
    rng = np.random.default_rng(6)
    mass_b = np.zeros(N_BUCKETS)
    cases = [(np.r_[np.zeros(10), np.full(10, 100.0)], np.ones(20)),   # tie across buckets
             (np.r_[np.zeros(10), np.full(5, 1.0), np.full(5, 100.0)], np.ones(20)),
             (np.full(70, 3.0), np.ones(70))]                           # one value
    for _ in range(300):
        n = int(rng.integers(1, 400))
        centre = rng.integers(-1000, 1000, n) // int(rng.choice([1, 50, 1000]))
        values = (centre + rng.integers(-3, 4, n) * (rng.random(n) < 0.1)).astype(float)
        cases.append((values, rng.integers(1, 4, n).astype(float)))
    for values, masses in cases:
        n, total = values.size, float(masses.sum())
        expected = weighted_median(values.copy(), masses.copy(), 0, n, total)
        got = bucket_median(values, masses, n, total, values.min(), values.max(), mass_b,
                            np.empty(n), np.empty(n), np.empty(n, np.int32))
        assert got == expected
        assert not mass_b.any()   # scratch left reset
    assert bucket_median(*cases[0], 20, 20.0, 0.0, 100.0, mass_b, np.empty(20),
                         np.empty(20), np.empty(20, np.int32)) == 50
    # the tie's upper end is the smallest value above the median's bucket, not the next
    # bucket's first value in memory order
    assert bucket_median(*cases[1], 20, 20.0, 0.0, 100.0, mass_b, np.empty(20),
                         np.empty(20), np.empty(20, np.int32)) == 0.5


# ----------------------------------------------------------------- hand-computed
@pytest.mark.parametrize("epochs, value, shift", [
    # two neurons, one spike each: flows -0.1 and -0.2, any shift between them leaves 0.1
    ([[[0.1], [0.3]], [[0.2], [0.5]]], SCALE * 0.1 / 1, -0.15),
    # three neurons: flows -0.1, 0, 0.3; the median 0 leaves 0.4, over N - 1 = 2
    ([[[0.1], [0.4], [0.6]], [[0.2], [0.4], [0.3]]], SCALE * 0.4 / 2, 0.0),
    # neuron 0 splits 2 spikes onto 1 (flows -0.1, 0.1, mass 1/2 each), neuron 1 stays
    ([[[0.1, 0.3], [0.4]], [[0.2], [0.4]]], SCALE * 0.1, 0.0),
    # half the mass at or below 0.1: the minimisers are [0.1, 0.3], shift their midpoint
    ([[[0.0, 0.2], [0.5]], [[0.1], [0.2]]], SCALE * 0.3, 0.2),
])
def test_hand_computed_pairs(epochs, value, shift):
    r = spikeship(from_epoch_lists(epochs))
    assert r.matrix[0, 1] == pytest.approx(value, rel=1e-12)
    assert r.matrix[1, 0] == r.matrix[0, 1]
    assert r.shift[0, 1] == pytest.approx(shift, abs=1e-12)
    assert r.shift[1, 0] == -r.shift[0, 1]
    assert r.counts[0, 1] == len(epochs[0])
    assert r.n_undefined == 0


def test_a_whole_pattern_shifted_is_at_distance_zero():
    rng = np.random.default_rng(2)
    first = [sorted(rng.uniform(0.0, 0.6, int(rng.integers(1, 4)))) for _ in range(12)]
    shifted = [[t + 0.25 for t in ts] for ts in first]
    late = [list(ts) for ts in first]
    late[3] = [t + 0.1 for t in late[3]]     # one neuron of 12 fires 0.1 s later
    data = from_epoch_lists([first, shifted, late])
    r = spikeship(data)
    assert r.matrix[0, 1] == pytest.approx(0.0, abs=1e-12)
    assert r.shift[1, 0] == pytest.approx(0.25, abs=1e-12)   # epoch 1 is 0.25 s later
    assert r.shift[0, 1] == -r.shift[1, 0]
    # one neuron moved: its 0.1 s is all the transport left, over N - 1 = 11
    assert r.matrix[0, 2] == pytest.approx(SCALE * 0.1 / 11, rel=1e-9)
    assert r.shift[0, 2] == pytest.approx(0.0, abs=1e-12)
    # SPOTDis ignores a common shift too
    assert spotdis(data, method="continuous").matrix[0, 1] == pytest.approx(0.0, abs=1e-12)


def test_undefined_pairs_are_counted_and_set_to_the_maximum():
    data = from_epoch_lists([
        [[0.1], [0.2], [], []],        # 0: units 0, 1
        [[0.3], [], [], []],           # 1: one active neuron
        [[], [], [0.4], [0.5]],        # 2: units 2, 3, none in common with 0
        [[0.2], [0.6], [], []],        # 3: units 0, 1 again
    ], length=0.8)
    r = spikeship(data)
    assert r.n_undefined == 5 and r.n_empty_epochs == 1
    assert r.fill_value == pytest.approx(2 * SCALE * 0.8)
    expected = np.ones((4, 4), dtype=bool)
    expected[0, 3] = expected[3, 0] = False
    np.fill_diagonal(expected, False)
    np.testing.assert_array_equal(r.undefined, expected)
    assert np.all(r.matrix[expected] == r.fill_value)
    assert r.matrix[0, 3] == pytest.approx(SCALE * 0.3)   # flows -0.1 and -0.4
    # one common neuron still has a shift; none has not
    assert r.shift[0, 1] == pytest.approx(-0.2) and np.isnan(r.shift[0, 2])
    np.testing.assert_array_equal(np.diag(r.counts), [2, 1, 2, 2])
    # the fill value is the least upper bound: two neurons swap the epoch's two ends (a
    # spike at the stop belongs to the next epoch but in the recording's last one)
    ends = spikeship(from_epoch_lists([[[0.0], [0.8 - 1e-9]], [[0.8], [0.0]]], length=0.8))
    assert ends.matrix[0, 1] == pytest.approx(ends.fill_value, rel=1e-8)
    assert ends.matrix[0, 1] <= ends.fill_value


def test_symmetric_and_does_not_depend_on_threads_or_blocks(monkeypatch):
    data = allen_like(4, M=30, N=80)
    r = spikeship(data)
    np.testing.assert_array_equal(r.matrix, r.matrix.T)
    np.testing.assert_array_equal(r.shift, -r.shift.T)
    assert np.all(np.diag(r.matrix) == 0)
    before = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        one = spikeship(data)
    finally:
        numba.set_num_threads(before)
    np.testing.assert_array_equal(one.matrix, r.matrix)
    np.testing.assert_array_equal(one.shift, r.shift)
    # small problems run as one block; progress comes between blocks
    module = sys.modules["analysis.spotdis.spikeship"]   # (the package's name is the function)
    monkeypatch.setattr(module, "_FLOWS_PER_BLOCK", 1000.0)
    steps = []
    blocks = spikeship(data, progress=lambda f, m: steps.append(f))
    assert steps[-1] == 1.0 and len(steps) > 20 and steps == sorted(steps)
    np.testing.assert_array_equal(blocks.matrix, r.matrix)
    np.testing.assert_array_equal(blocks.shift, r.shift)


def test_memory_budget_is_checked_first():
    with pytest.raises(MemoryBudgetError, match="memory_budget: the SpikeShip matrix"):
        spikeship(allen_like(0, M=4, N=5), memory_budget=100)


# ----------------------------------------------------------------- flows
def test_flows_of_a_pair_and_of_a_cluster():
    data = allen_like(1, M=6, N=40)
    per_epoch = [data.epoch_spikes(k) for k in range(6)]
    r = spikeship(data)
    plan = pair_flows(data, 0, 1)
    assert plan.attrs["spikeship"] == pytest.approx(r.matrix[0, 1], rel=1e-12)
    assert plan.attrs["shift"] == pytest.approx(r.shift[0, 1], abs=1e-15)
    np.testing.assert_allclose(plan.groupby("unit")["mass"].sum(), 1.0, rtol=1e-12)
    np.testing.assert_allclose(plan["flow"], plan["t_k"] - plan["t_m"])
    residual = brute_pair(*per_epoch[0], *per_epoch[1])[3]
    got = (plan["mass"] * plan["residual"]).groupby(plan["unit"]).sum()
    np.testing.assert_allclose(got.to_numpy(), [residual[i] for i in got.index], atol=1e-12)

    f = neuron_flows(data, [0, 2], reference=[1, 3, 2])
    assert f.shift.shape == (2, 3) and np.isnan(f.shift[1, 2])
    assert f.shift[0, 0] == pytest.approx(r.shift[0, 1], abs=1e-15)
    pairs = [(0, 1), (0, 3), (0, 2), (2, 1), (2, 3)]
    sums = {}
    for k, m in pairs:
        for i, value in brute_pair(*per_epoch[k], *per_epoch[m])[3].items():
            sums.setdefault(i, []).append(value)
    for i in range(data.n_units):
        values = sums.get(i, [])
        assert f.n_pairs[i] == len(values)
        if values:
            assert f.mean_flow[i] == pytest.approx(np.mean(values), abs=1e-12)
        if len(values) > 1:
            assert f.sd_flow[i] == pytest.approx(np.std(values, ddof=1), abs=1e-9)
    table = f.to_frame()
    active = table[table["n_pairs"] > 0]["mean_flow"].to_numpy()
    assert np.all(np.diff(active) >= 0)   # leading neurons first
    with pytest.raises(ValueError, match="^epochs: epoch indices"):
        neuron_flows(data, [7])


def test_flows_show_the_neuron_that_lags_in_a_cluster():
    rng = np.random.default_rng(8)
    base = rng.uniform(0.1, 0.5, 10)
    epochs = []
    for k in range(12):
        lag = 0.2 if k < 6 else 0.0          # neuron 4 fires 0.2 s later in epochs 0-5
        shift = rng.uniform(0, 0.2)          # and each epoch is shifted as a whole
        epochs.append([[base[i] + shift + (lag if i == 4 else 0.0)
                        + rng.normal(0, 0.002)] for i in range(10)])
    data = from_epoch_lists(epochs)
    f = neuron_flows(data, range(6))
    assert f.order()[-1] == 4
    assert f.mean_flow[4] == pytest.approx(0.2, abs=0.01)
    others = np.delete(f.mean_flow, 4)
    assert np.all(np.abs(others) < 0.01)


# ----------------------------------------------------------------- SpotDisClust
@pytest.fixture(scope="module")
def patterns():
    return simulate.spot_patterns(n_patterns=3, epochs_per_pattern=15, n_noise_epochs=15,
                                  n_units=20, seed=1)


def test_spotdisclust_with_spikeship_recovers_the_patterns(patterns, tmp_path):
    clust = SpotDisClust(data=patterns, dissimilarity="spikeship", min_cluster_size=8)
    result = clust.run()
    assert result.scores["ari"] >= 0.9
    assert result.spotdis is None and result.dissimilarity_name == "SpikeShip"
    np.testing.assert_array_equal(result.dissimilarity, result.spikeship.matrix)
    # changing the SPOTDis kernel does not recompute SpikeShip, nor recluster
    clust.method = "continuous"
    clust.run()
    assert clust.computations["spikeship"] == 1 and clust.computations["cluster"] == 1
    assert "spotdis" not in clust.computations
    back = SpotDisClustResult.load(result.save(tmp_path / "ship.npz"))
    np.testing.assert_array_equal(back.spikeship.shift, result.spikeship.shift)
    assert back.spikeship.n_undefined == result.spikeship.n_undefined
    assert back.dissimilarity_name == "SpikeShip"
    members = np.flatnonzero(result.labels == result.labels[0])
    assert clust.flows(members).n_pairs.max() > 0


# ----------------------------------------------------------------- graph mode
@pytest.mark.parametrize("make", [lambda: allen_like(3, M=40, N=60),
                                  lambda: simulate.spot_patterns(
                                      n_patterns=3, epochs_per_pattern=10,
                                      n_noise_epochs=10, n_units=20, seed=2)])
def test_pairs_equal_the_full_matrix(make):
    """SpikeShip on listed pairs (any order, repeats, both directions) equals the full
    matrix's entries, shifts and counts; undefined pairs get the same fill value."""
    data = make()
    full = spikeship(data)
    M = full.n_epochs
    rng = np.random.default_rng(0)
    rows, cols = rng.integers(0, M, 900), rng.integers(0, M, 900)
    k, m, v, g, c = spikeship_pairs(data, rows, cols)
    keep = rows != cols
    expect = np.unique(np.minimum(rows, cols)[keep] * M + np.maximum(rows, cols)[keep])
    np.testing.assert_array_equal(k * M + m, expect)
    np.testing.assert_allclose(v, full.matrix[k, m], rtol=0, atol=1e-12)
    np.testing.assert_allclose(g, full.shift[k, m], rtol=0, atol=1e-12, equal_nan=True)
    np.testing.assert_array_equal(c, full.counts[k, m])
    assert np.all((c < 2) == full.undefined[k, m])


def test_pairs_with_undefined_pairs_and_bad_input():
    data = from_epoch_lists([[[0.1], [0.2], [], []], [[0.3], [], [0.1], []],
                             [[], [], [], []], [[0.5], [0.1], [0.2], [0.3]]])
    full = spikeship(data)
    k, m, v, g, c = spikeship_pairs(data, [0, 0, 0, 1, 1, 2], [1, 2, 3, 2, 3, 3])
    assert list(c) == [1, 0, 2, 0, 2, 0]
    np.testing.assert_array_equal(v, full.matrix[k, m])
    assert v[0] == full.fill_value and np.isnan(g[1])
    with pytest.raises(ValueError, match="^pairs: epoch indices must lie in 0..3"):
        spikeship_pairs(data, [0], [4])
    with pytest.raises(ValueError, match="^pairs: rows and cols differ in length"):
        spikeship_pairs(data, [0, 1], [2])


def test_pairs_do_not_depend_on_the_number_of_threads():
    data = allen_like(5, M=30, N=50)
    rows, cols = np.triu_indices(30, 1)
    one = spikeship_pairs(data, rows, cols)
    previous = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        other = spikeship_pairs(data, rows, cols)
    finally:
        numba.set_num_threads(previous)
    for a, b in zip(one, other):
        np.testing.assert_array_equal(a, b)


def test_knn_with_all_candidates_is_the_exact_knn():
    data = allen_like(6, M=30, N=60)
    full = spikeship(data)
    g = spikeship_knn(data, n_neighbors=5, n_candidates=29)
    assert g.dissimilarity == "spikeship" and g.fill_value == full.fill_value
    assert g.n_pairs == 30 * 29 // 2
    assert g.n_undefined == full.n_undefined
    d = full.matrix + np.diag(np.full(30, np.inf))
    np.testing.assert_allclose(g.distances, np.sort(d, axis=1)[:, :5], rtol=0, atol=1e-12)
    np.testing.assert_allclose(np.take_along_axis(full.matrix, g.neighbors, axis=1),
                               g.distances, rtol=0, atol=1e-12)
    with pytest.raises(ValueError, match="^n_candidates: must be a whole number >= "
                                         "n_neighbors"):
        spikeship_knn(data, n_neighbors=5, n_candidates=3)
    with pytest.raises(MemoryBudgetError, match="SpikeShip neighbour graph"):
        spikeship_knn(data, n_neighbors=5, memory_budget=1000)


def test_candidates_find_the_true_neighbours_on_fig1():
    """Fig 1 (300 epochs): the 10 nearest epochs found through 30 candidates from the
    quartile vectors are the true 10 nearest by SpikeShip for about 98 % of the entries
    (measured 0.981), and the 10th distances are on average within 1 % of the true ones
    (measured 0.06 %)."""
    data = simulate.spot_patterns(seed=0)
    full = spikeship(data).matrix.copy()
    np.fill_diagonal(full, np.inf)
    true = np.argsort(full, axis=1, kind="stable")[:, :10]
    g = spikeship_knn(data, n_neighbors=10, n_candidates=30)
    recall = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(true, g.neighbors)])
    assert recall >= 0.95
    tenth = np.sort(full, axis=1)[:, 9]
    assert np.all(g.distances[:, -1] >= tenth - 1e-15)     # exact values: never closer
    assert np.mean(g.distances[:, -1] / tenth) <= 1.01
    assert g.n_pairs < 300 * 30   # candidates only, not every pair


def test_graph_mode_clusters_like_full_mode(patterns, tmp_path):
    full = SpotDisClust(data=patterns, dissimilarity="spikeship", min_cluster_size=8)
    graph = SpotDisClust(data=patterns, dissimilarity="spikeship", min_cluster_size=8,
                         max_full_epochs=20, perplexity=5)
    assert graph.graph_mode()
    result = graph.run()
    s_full = full.scores()
    assert result.spikeship is None and result.spotdis is None
    assert result.dissimilarity is None
    assert result.graph.dissimilarity == "spikeship"
    assert result.dissimilarity_name == "SpikeShip"
    assert result.scores["ari"] >= 0.9 and abs(result.scores["ari"] - s_full["ari"]) < 0.05
    # the sample covers every clustered epoch here: the silhouette is the full one's
    assert result.scores["silhouette"] == pytest.approx(
        full.scores(result.labels)["silhouette"], abs=1e-9)
    assert np.isfinite(result.embedding).all() and result.embedding.shape == (60, 2)
    assert graph.n_undefined() == result.graph.n_undefined
    result.save(tmp_path / "graph.npz")
    back = SpotDisClustResult.load(tmp_path / "graph.npz")
    assert back.dissimilarity_name == "SpikeShip" and back.graph.fill_value == \
        result.graph.fill_value
    with pytest.raises(ValueError, match="^max_full_epochs: the SpikeShip matrix of 60 "
                                         "epochs.*nearest-neighbour graph"):
        graph.spikeship()
    graph.dissimilarity = "rate"   # the rate vectors' full matrix too; they have a graph
    with pytest.raises(ValueError, match="^max_full_epochs: the rate-vector matrix.*"
                                         "nearest-neighbour graph"):
        graph.rate_vectors()
    assert graph.cluster().shape == (60,) and graph.graph().dissimilarity == "rate"


def test_window_sweep_counts_spikeship_undefined_pairs(patterns):
    from analysis.spotdis import window_sweep

    table = window_sweep(patterns, [0.005, 0.3], dissimilarity="spikeship",
                         min_cluster_size=8)
    short, full = table["n_undefined"]
    assert short > full == 0   # 5 ms windows: few neurons fire, many pairs undefined
    assert table["ari"].iloc[1] >= 0.9
