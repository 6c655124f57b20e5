"""SPOTDisClust: exactness against a brute-force Wasserstein computation, the grid kernel
against the continuous one, ground truth on the Fig 1 simulations, caching, bad input."""

import numpy as np
import pytest
from scipy.stats import wasserstein_distance

from analysis import SpikeTrains, simulate
from analysis.spotdis import SpotDis, SpotDisClust, detect_sampling_period, spotdis
from analysis.spotdis.epochs import _Epochs


# ----------------------------------------------------------------- plain reference
def brute_spotdis(data):
    """Every neuron pair and epoch pair with scipy's 1-D Wasserstein distance / (2 T)."""
    M, N = len(data.epochs), data.n_units
    T = float(np.max(data.epochs.duration))
    per_epoch = [data.epoch_spikes(k) for k in range(M)]

    def delays(k, i, j):
        t, o = per_epoch[k]
        return np.subtract.outer(t[o[j]:o[j + 1]], t[o[i]:o[i + 1]]).ravel()

    matrix = np.zeros((M, M))
    counts = np.zeros((M, M), dtype=np.int64)
    for k in range(M):
        for m in range(k + 1, M):
            values = [wasserstein_distance(delays(k, i, j), delays(m, i, j)) / (2 * T)
                      for i in range(N) for j in range(i + 1, N)
                      if delays(k, i, j).size and delays(m, i, j).size]
            counts[k, m] = counts[m, k] = len(values)
            matrix[k, m] = matrix[m, k] = np.mean(values) if values else 1.0
    return matrix, counts


def from_epoch_lists(epochs, lengths=None, t_gap=0.0, sample=None):
    """A recording from per-epoch spike lists ``epochs[k][i]`` (times within the epoch, s)."""
    M, N = len(epochs), len(epochs[0])
    lengths = np.full(M, 1.0) if lengths is None else np.asarray(lengths, dtype=float)
    starts = np.concatenate([[0.0], np.cumsum(lengths + t_gap)[:-1]])
    times, units = [], []
    for k, per_unit in enumerate(epochs):
        for i, ts in enumerate(per_unit):
            times += [starts[k] + t for t in ts]
            units += [i] * len(ts)
    t_stop = float(starts[-1] + lengths[-1])
    ann = {} if sample is None else {"sample_time": sample}
    return SpikeTrains.from_spikes(times, units, t_start=0.0, t_stop=t_stop,
                                   unit_ids=list(range(N)), annotations=ann,
                                   epochs={"start": starts, "stop": starts + lengths})


def random_epochs(rng, M, N, max_spikes, grid=None):
    """Random spike lists; on ``grid`` samples of the unit epoch when given."""
    out = []
    for _ in range(M):
        per_unit = []
        for _ in range(N):
            n = int(rng.integers(0, max_spikes + 1))
            if grid:
                per_unit.append(sorted(rng.choice(grid, n, replace=False) / grid))
            else:
                per_unit.append(sorted(rng.uniform(0, 1, n)))
        out.append(per_unit)
    return out


@pytest.fixture(scope="module")
def tricky():
    """Silent neurons, single spikes, identical epochs, no common pair, an empty epoch,
    a shorter epoch and a spike at the recording's (closed) end."""
    rng = np.random.default_rng(7)
    ep = random_epochs(rng, 6, 5, 3)
    ep[0][4] = []                                    # silent neuron
    ep[1] = [[0.5], [0.25], [0.75, 0.875], [], [0.125]]   # single spikes
    ep.append([list(u) for u in ep[1]])              # epoch 6 repeats epoch 1
    ep.append([[0.1, 0.2], [0.3], [], [], []])       # epoch 7: only units 0, 1 fire
    ep.append([[], [], [0.4], [0.5, 0.6], []])       # epoch 8: only units 2, 3: no pair
    ep.append([[], [], [], [], []])                  # epoch 9: empty
    ep.append([[0.05], [0.1, 0.3], [0.2], [0.0, 0.5], [0.25]])  # epoch 10, shorter
    ep.append([[0.3], [1.0], [0.2, 0.9], [0.6], [0.4]])         # ends at t_stop (closed)
    lengths = [1.0] * 10 + [0.5, 1.0]
    return from_epoch_lists(ep, lengths)


# ----------------------------------------------------------------- exactness
def test_epoch_split_matches_epoch_spikes(tricky):
    ep = _Epochs(tricky)
    for k in range(len(tricky.epochs)):
        t, o = tricky.epoch_spikes(k)
        t2, o2 = ep.epoch(k)
        np.testing.assert_array_equal(o, o2)
        np.testing.assert_array_equal(t, t2)


@pytest.mark.parametrize("method", ["continuous", "auto"])
def test_equals_brute_force_on_tricky_cases(tricky, method):
    ref, ref_counts = brute_spotdis(tricky)
    d = spotdis(tricky, method=method)
    assert d.method == "continuous"
    np.testing.assert_allclose(d.matrix, ref, rtol=0, atol=1e-12)
    off = ~np.eye(len(ref), dtype=bool)
    np.testing.assert_array_equal(d.counts[off], ref_counts[off])
    # identical epochs: distance 0
    assert d.matrix[1, 6] < 1e-12 and d.counts[1, 6] > 0
    # no common pair: undefined, 1.0 and counted; the empty epoch's row is undefined
    assert d.undefined[7, 8] and d.matrix[7, 8] == 1.0 and d.counts[7, 8] == 0
    assert d.undefined[9, np.arange(12) != 9].all()
    assert not d.undefined.diagonal().any()
    assert d.n_undefined == int(np.sum(np.triu(ref_counts == 0, 1)))
    active = [np.count_nonzero(np.diff(tricky.epoch_spikes(k)[1])) for k in range(12)]
    assert d.n_empty_epochs == sum(a < 2 for a in active) >= 1
    # the spike at t_stop belongs to the last (closed) epoch
    assert d.counts[11, 11] == 10
    assert d.normalization == 2.0


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_equals_brute_force_random(seed):
    rng = np.random.default_rng(seed)
    data = from_epoch_lists(random_epochs(rng, 7, 6, 4), t_gap=0.25)
    ref, ref_counts = brute_spotdis(data)
    d = spotdis(data)
    np.testing.assert_allclose(d.matrix, ref, rtol=0, atol=1e-12)
    off = ~np.eye(7, dtype=bool)
    np.testing.assert_array_equal(d.counts[off], ref_counts[off])


def test_grid_kernel_equals_brute_force_and_continuous():
    rng = np.random.default_rng(3)
    data = from_epoch_lists(random_epochs(rng, 8, 6, 4, grid=64), sample=1 / 64)
    ref, _ = brute_spotdis(data)
    grid = spotdis(data, method="grid")
    cont = spotdis(data, method="continuous")
    assert grid.method == "grid" and grid.sampling_period == 1 / 64
    assert cont.method == "continuous" and cont.sampling_period is None
    np.testing.assert_allclose(grid.matrix, ref, rtol=0, atol=1e-12)
    np.testing.assert_allclose(grid.matrix, cont.matrix, rtol=0, atol=1e-12)
    np.testing.assert_array_equal(grid.counts, cont.counts)
    np.testing.assert_array_equal(grid.undefined, cont.undefined)


@pytest.mark.parametrize("max_spikes, dtype", [(30, "uint16"), (250, "uint16"),
                                               (400, "int32")])
def test_grid_kernel_exact_with_many_spikes(max_spikes, dtype):
    """Dense epochs: wide count types, and lag sums past int32 next to ones within it (the
    kernel sums in int32 lanes only where nothing can overflow, pairs of partners too)."""
    from analysis.spotdis.tiles import count_dtype
    rng = np.random.default_rng(max_spikes)
    epochs = random_epochs(rng, 6, 3, max_spikes, grid=1000)
    epochs[0][0], epochs[0][1] = [0.5], [0.25, 0.75]         # tiny counts beside huge ones
    data = from_epoch_lists(epochs, sample=1 / 1000)
    assert count_dtype(_Epochs(data)) == np.dtype(dtype)
    n = np.array([[len(u) for u in e] for e in epochs])
    delays = n[:, 0] * n[:, 1]                               # neuron pair (0, 1)
    products = np.outer(delays, delays)[np.triu_indices(6, 1)] * 2000   # x lags
    if max_spikes > 30:
        assert products.min() < 2 ** 31 <= products.max()
    ref, ref_counts = brute_spotdis(data)
    grid = spotdis(data, method="grid")
    np.testing.assert_allclose(grid.matrix, ref, rtol=0, atol=1e-12)
    off = ~np.eye(6, dtype=bool)
    np.testing.assert_array_equal(grid.counts[off], ref_counts[off])
    np.testing.assert_allclose(grid.matrix, spotdis(data, method="continuous").matrix,
                               rtol=0, atol=1e-12)


def test_grid_equals_continuous_on_simulated_patterns():
    data = simulate.spot_patterns(n_patterns=3, epochs_per_pattern=8, n_noise_epochs=10,
                                  n_units=20, epoch_samples=100, pulse_samples=10, seed=5)
    grid = spotdis(data, method="grid")
    cont = spotdis(data, method="continuous")
    assert spotdis(data).method == "grid"           # detected from annotations
    np.testing.assert_allclose(grid.matrix, cont.matrix, rtol=0, atol=1e-12)
    np.testing.assert_array_equal(grid.counts, cont.counts)


def test_grid_kernel_in_many_tiles_equals_continuous(monkeypatch):
    """A small cache budget cuts 40 epochs into many tiles: groups that pair row blocks
    r and R - 1 - r (two runs of epoch pairs each), the full matrix and candidate lists."""
    from analysis.spotdis import graph, tiles
    data = simulate.spot_patterns(n_patterns=3, epochs_per_pattern=8, n_noise_epochs=16,
                                  n_units=12, epoch_samples=100, pulse_samples=10, seed=6)
    cont = spotdis(data, method="continuous")
    rows, cols = np.triu_indices(40, 1)
    pick = np.random.default_rng(0).choice(rows.size, 300, replace=False)
    messages = []
    monkeypatch.setattr(tiles, "CACHE_BUDGET", 4 * 1024)
    grid = spotdis(data, method="grid", progress=lambda f, m: messages.append(m))
    k, m, v, n = graph.spotdis_pairs(data, rows[pick], cols[pick], method="grid")
    assert "SPOTDis: 15 tiles of 8 epochs, uint8 counts (grid kernel)" in messages   # R = 5
    np.testing.assert_allclose(grid.matrix, cont.matrix, rtol=0, atol=1e-12)
    np.testing.assert_array_equal(grid.counts, cont.counts)
    np.testing.assert_allclose(v, cont.matrix[k, m], rtol=0, atol=1e-12)
    np.testing.assert_array_equal(n, cont.counts[k, m])


def test_grid_equals_continuous_on_sparse_grid_data():
    # about 0.5 spikes per neuron and epoch: mostly single delays (fast paths)
    rng = np.random.default_rng(11)
    data = from_epoch_lists(random_epochs(rng, 40, 60, 1, grid=200), sample=1 / 200)
    grid = spotdis(data, method="grid")
    cont = spotdis(data, method="continuous")
    np.testing.assert_allclose(grid.matrix, cont.matrix, rtol=0, atol=1e-12)
    np.testing.assert_array_equal(grid.counts, cont.counts)


def test_symmetric_zero_diagonal_in_range(tricky):
    d = spotdis(tricky)
    np.testing.assert_array_equal(d.matrix, d.matrix.T)
    np.testing.assert_array_equal(d.counts, d.counts.T)
    assert np.all(d.matrix.diagonal() == 0)
    assert np.all((d.matrix >= 0) & (d.matrix <= 1))
    active = np.array([np.count_nonzero(np.diff(tricky.epoch_spikes(k)[1]))
                       for k in range(len(tricky.epochs))])
    np.testing.assert_array_equal(d.counts.diagonal(), active * (active - 1) // 2)


def test_invariant_to_a_common_shift_within_an_epoch():
    rng = np.random.default_rng(4)
    ep = random_epochs(rng, 6, 5, 3)
    ep = [[[0.5 * t for t in u] for u in e] for e in ep]     # spikes in [0, 0.5)
    shifted = [list(e) for e in ep]
    shifted[2] = [[t + 0.37 for t in u] for u in ep[2]]     # every spike of epoch 2
    a = spotdis(from_epoch_lists(ep))
    b = spotdis(from_epoch_lists(shifted))
    np.testing.assert_allclose(a.matrix, b.matrix, rtol=0, atol=1e-12)
    np.testing.assert_array_equal(a.counts, b.counts)


# ----------------------------------------------------------------- grid detection
def test_sampling_period_detection_and_checks():
    rng = np.random.default_rng(5)
    on_grid = from_epoch_lists(random_epochs(rng, 4, 4, 3, grid=50), sample=0.02)
    assert detect_sampling_period(on_grid) == 0.02
    off_grid = from_epoch_lists(random_epochs(rng, 4, 4, 3), sample=0.02)
    assert detect_sampling_period(off_grid) is None
    assert spotdis(off_grid).method == "continuous"
    with pytest.raises(ValueError, match="^sampling_period"):
        spotdis(off_grid, sampling_period=0.02)
    with pytest.raises(ValueError, match="^method"):
        spotdis(off_grid, method="grid")
    # a given sampling period on grid data selects the grid kernel
    assert spotdis(on_grid, sampling_period=0.01).method == "grid"
    # fine grids with few delays per pair go to the continuous kernel in auto mode
    fine = from_epoch_lists(random_epochs(rng, 4, 4, 1, grid=20000), sample=1 / 20000)
    assert spotdis(fine).method == "continuous"
    assert spotdis(fine, method="grid").method == "grid"


# ----------------------------------------------------------------- ground truth
@pytest.mark.slow
@pytest.mark.parametrize("noise", ["homogeneous", "patterned"])
def test_fig1_patterns_are_recovered(noise):
    """Fig 1 setting: 5 patterns x 30 epochs + 150 noise epochs, 50 neurons, 300 samples.

    Defaults min_cluster_size 10 and min_samples min(10, 4) = 4.
    """
    data = simulate.spot_patterns(seed=0, noise=noise)
    obj = SpotDisClust(data=data)
    result = obj.run()
    assert result.spotdis.method == "grid"
    assert result.spotdis.n_undefined == 0
    assert result.scores["ari"] >= 0.95
    assert result.scores["n_clusters"] >= 5
    assert result.embedding.shape == (300, 2) and np.all(np.isfinite(result.embedding))
    # patterns are closer within than between
    truth = data.truth["epoch_labels"]
    same = (truth[:, None] == truth[None, :]) & (truth[:, None] >= 0)
    np.fill_diagonal(same, False)
    other = (truth[:, None] != truth[None, :]) & (truth[:, None] >= 0) & (truth[None, :] >= 0)
    assert result.spotdis.matrix[same].mean() < result.spotdis.matrix[other].mean()


# ----------------------------------------------------------------- object
@pytest.fixture(scope="module")
def small_patterns():
    return simulate.spot_patterns(n_patterns=3, epochs_per_pattern=15, n_noise_epochs=20,
                                  n_units=20, epoch_samples=100, pulse_samples=10, seed=2)


def test_steps_are_cached(small_patterns):
    messages = []
    obj = SpotDisClust(data=small_patterns, min_cluster_size=8,
                       progress=lambda f, m: messages.append((f, m)))
    labels = obj.cluster()
    emb = obj.embed()
    assert obj.computations == {"spotdis": 1, "cluster": 1, "embed": 1}
    assert all(0 <= f <= 1 for f, _ in messages) and messages
    obj.min_cluster_size = 6
    obj.cluster()
    obj.perplexity = 10
    emb2 = obj.embed()
    assert obj.computations == {"spotdis": 1, "cluster": 2, "embed": 2}
    assert emb2.shape == emb.shape == (65, 2)
    obj.perplexity = 30
    np.testing.assert_array_equal(SpotDisClust(data=small_patterns).embed(), emb)  # seeded
    obj.method = "continuous"
    obj.spotdis()
    assert obj.computations["spotdis"] == 2
    assert labels.shape == (65,)


def test_scores(small_patterns):
    obj = SpotDisClust(data=small_patterns, min_cluster_size=8)
    truth = small_patterns.truth["epoch_labels"]
    s = obj.scores(labels=truth)
    assert s["ari"] == 1.0 and s["n_clusters"] == 3 and s["n_noise"] == 20
    assert 0 < s["silhouette"] <= 1
    none = obj.scores(labels=np.full(65, -1))
    assert np.isnan(none["silhouette"]) and none["n_clusters"] == 0
    one = obj.scores(labels=np.zeros(65, dtype=int))
    assert np.isnan(one["silhouette"])
    # noise is a cluster of its own for the ARI
    relabelled = np.where(truth < 0, 7, truth)
    assert obj.scores(labels=relabelled)["ari"] == 1.0
    with pytest.raises(ValueError, match="^labels"):
        obj.scores(labels=np.zeros(3))
    no_truth = small_patterns.replace(truth={})
    assert np.isnan(SpotDisClust(data=no_truth).scores(labels=truth)["ari"])


def test_empty_epochs_are_allowed_and_reported():
    ep = [[[0.1], [0.2], [0.3]], [[], [], []], [[0.2], [0.1], [0.5]], [[0.4], [], []]]
    data = from_epoch_lists(ep)
    d = SpotDisClust(data=data, min_cluster_size=2).spotdis()
    assert d.n_empty_epochs == 2
    assert d.n_undefined == 5
    assert d.undefined[1].sum() == 3 and d.undefined[3].sum() == 3
    np.testing.assert_array_equal(d.matrix[1, [0, 2, 3]], 1.0)
    assert d.matrix[0, 2] < 1
    result = SpotDisClust(data=data, min_cluster_size=2).run()   # tiny: random t-SNE start
    assert result.embedding.shape == (4, 2) and np.all(np.isfinite(result.embedding))
    assert result.labels.shape == (4,)


def test_result_roundtrip(tmp_path, tricky):
    d = spotdis(tricky)
    d.save(tmp_path / "spotdis.npz")
    back = SpotDis.load(tmp_path / "spotdis.npz")
    np.testing.assert_array_equal(back.matrix, d.matrix)
    np.testing.assert_array_equal(back.counts, d.counts)
    np.testing.assert_array_equal(back.undefined, d.undefined)
    assert (back.n_undefined, back.method, back.sampling_period) == \
        (d.n_undefined, d.method, d.sampling_period)


# ----------------------------------------------------------------- bad input
def test_bad_input(tricky):
    with pytest.raises(ValueError, match="^data"):
        SpotDisClust().spotdis()
    no_epochs = tricky.replace(epochs=None)
    with pytest.raises(ValueError, match="^data"):
        SpotDisClust(data=no_epochs).spotdis()
    one = from_epoch_lists([[[0.1], [0.2]]])
    with pytest.raises(ValueError, match="^data"):
        spotdis(one)
    with pytest.raises(ValueError, match="^min_cluster_size"):
        SpotDisClust(data=tricky, min_cluster_size=13).cluster()
    with pytest.raises(ValueError, match="^min_samples"):
        SpotDisClust(data=tricky, min_cluster_size=5, min_samples=12).cluster()
    with pytest.raises(ValueError, match="^method"):
        spotdis(tricky, method="exact")
    with pytest.raises(ValueError, match="^sampling_period"):
        spotdis(tricky, sampling_period=-1.0)
    with pytest.raises(ValueError):
        SpotDisClust(min_cluster_size=1)
    with pytest.raises(ValueError):
        SpotDisClust(cluster_selection="dbscan")


def test_result_does_not_depend_on_threads():
    import numba

    data = simulate.spot_patterns(n_patterns=2, epochs_per_pattern=6, n_noise_epochs=6,
                                  n_units=12, epoch_samples=60, pulse_samples=8, seed=8)
    before = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        one = [spotdis(data, method=m).matrix for m in ("grid", "continuous")]
        numba.set_num_threads(min(2, numba.config.NUMBA_NUM_THREADS))
        two = [spotdis(data, method=m).matrix for m in ("grid", "continuous")]
    finally:
        numba.set_num_threads(before)
    for a, b in zip(one, two):
        np.testing.assert_array_equal(a, b)
