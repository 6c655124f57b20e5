"""The rate-vector baseline in graph mode (``rate_knn``): exact L1 values on candidate
pairs, and SpotDisClust's baseline, window sweep and sliding windows above
max_full_epochs (before: refused, or a full matrix whatever max_full_epochs said)."""

import numpy as np
import pytest

from analysis import simulate
from analysis.spotdis import SlidingWindows, SpotDisClust
from analysis.spotdis.clust import rate_knn, rate_vector_dissimilarity
from analysis.spotdis.graph import SpotDisGraph


@pytest.fixture(scope="module")
def patterns():
    return simulate.spot_patterns(n_patterns=3, epochs_per_pattern=12, n_noise_epochs=18,
                                  n_units=20, seed=1)


def _with_empty_epoch(data):
    """``data`` with one more epoch, past the last, that holds no spike."""
    from analysis.spiketrains import Epochs

    ep = data.epochs
    last = float(ep.stop[-1])
    epochs = Epochs(np.append(ep.start, last + 1.0), np.append(ep.stop, last + 1.1),
                    np.append(ep.label, "empty"))
    truth = {k: v for k, v in data.truth.items() if k != "epoch_labels"}
    return data.replace(epochs=epochs, truth=truth, t_stop=last + 1.2)


def test_rate_knn_is_exact_and_its_candidate_search_uses_exact_values(patterns):
    data = _with_empty_epoch(patterns)
    D = rate_vector_dissimilarity(data)
    M, k = D.shape[0], 8
    off = D + np.diag(np.full(M, np.inf))
    true = np.sort(off, axis=1)[:, :k]
    rows = np.repeat(np.arange(M), k)
    # without n_candidates: every pair, the true k nearest (the empty epoch at 2.0 from
    # all, as in the matrix)
    g = rate_knn(data, k)
    assert isinstance(g, SpotDisGraph) and g.dissimilarity == "rate" and g.fill_value == 2.0
    assert g.neighbors.shape == (M, k) and g.n_empty_epochs == 1
    assert g.n_pairs == M * (M - 1) // 2 and g.n_undefined == M - 1
    assert np.allclose(g.distances, true, rtol=0, atol=1e-12)
    assert np.allclose(g.distances.ravel(), D[rows, g.neighbors.ravel()], rtol=0, atol=1e-12)
    assert np.all(g.neighbors != np.arange(M)[:, None]) and np.all(g.distances[M - 1] == 2.0)
    # candidates: fewer pairs, every value used is exact
    few = rate_knn(data, k, n_candidates=k)
    assert few.n_pairs < g.n_pairs and few.n_undefined >= 1
    assert np.allclose(few.distances.ravel(), D[rows, few.neighbors.ravel()], rtol=0,
                       atol=1e-12)
    assert np.all(few.distances >= true - 1e-12)
    # with every other epoch a candidate, the k nearest are the true k nearest
    full = rate_knn(data, k, n_candidates=M - 1)
    assert full.n_pairs == M * (M - 1) // 2
    assert np.allclose(full.distances, true, rtol=0, atol=1e-12)


def test_rate_knn_checks_its_settings_and_memory(patterns):
    with pytest.raises(ValueError, match="^n_candidates: must be a whole number >= "):
        rate_knn(patterns, 10, n_candidates=5)
    with pytest.raises(ValueError, match="^n_neighbors: "):
        rate_knn(patterns, 0)
    with pytest.raises(MemoryError, match="rate-vector neighbour graph"):
        rate_knn(patterns, 10, memory_budget=1000.0)


def test_baseline_and_window_sweep_take_graph_mode(patterns):
    c = SpotDisClust(data=patterns, min_cluster_size=8, max_full_epochs=20, n_neighbors=12,
                     dissimilarity="spikeship")
    base = c.baseline()
    assert base.graph is not None and base.graph.dissimilarity == "rate"
    assert base.dissimilarity is None and base.dissimilarity_name == "rate vectors"
    assert base.graph.neighbors.shape == (len(patterns.epochs), 12)
    assert base.labels.shape == (len(patterns.epochs),) and base.embedding.shape[1] == 2
    assert np.isfinite(base.scores["ari"])   # (rates alone find no patterns here)
    twin = c._baseline_twin
    assert twin.computations.get("rate", 0) == 0   # no full matrix
    sweep = c.window_sweep([0.1, 0.2])
    assert sweep["graph_mode"].tolist() == [True, True]
    assert (sweep["n_clusters"] >= 1).all()
    # at or below max_full_epochs: the full matrices, as before
    small = SpotDisClust(data=patterns, min_cluster_size=8, dissimilarity="spikeship")
    assert small.baseline().graph is None
    assert not small.window_sweep([0.2])["graph_mode"].any()


def test_sliding_windows_with_rate_vectors_in_graph_mode():
    data = simulate.embedded_sequences(n_units=20, occurrences=12, t_stop=40.0, seed=2)
    r = SlidingWindows(data=data, length=0.2, step=0.05, dissimilarity="rate",
                       min_active=10, min_cluster_size=5, max_full_epochs=50).run()
    assert r.graph_mode and int(r.clustered.sum()) > 50
    assert r.dissimilarity == "rate vectors" and r.scores["n_windows"] == r.labels.size
