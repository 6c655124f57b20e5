"""SPOTDisClust past the full matrix: exact SPOTDis on candidate pairs, the candidate
search, the k-nearest-neighbour graph, and graph-mode clustering against full mode."""

import numpy as np
import pytest

from analysis import simulate
from analysis.spotdis import SpotDisClust, spotdis
from analysis.spotdis.graph import (candidate_neighbours, knn_distance_matrix, spotdis_knn,
                                    spotdis_pairs)

from test_spotdis import brute_spotdis, from_epoch_lists, random_epochs


@pytest.fixture(scope="module")
def tricky():
    from test_spotdis import tricky as fixture
    return fixture.__wrapped__()


# ----------------------------------------------------------------- exact on pairs
@pytest.mark.parametrize("method", ["continuous", "auto"])
def test_pairs_equal_brute_force_on_tricky_cases(tricky, method):
    """Silent neurons, single spikes, identical epochs, undefined pairs, an empty epoch."""
    ref, ref_counts = brute_spotdis(tricky)
    M = len(tricky.epochs)
    r, c = np.triu_indices(M, 1)
    k, m, v, n = spotdis_pairs(tricky, c, r, method=method)   # either order is fine
    np.testing.assert_array_equal(k, r)
    np.testing.assert_array_equal(m, c)
    np.testing.assert_allclose(v, ref[r, c], rtol=0, atol=1e-12)
    np.testing.assert_array_equal(n, ref_counts[r, c])
    assert v[(k == 1) & (m == 6)][0] < 1e-12          # identical epochs
    assert v[(k == 7) & (m == 8)][0] == 1.0 and n[(k == 7) & (m == 8)][0] == 0


@pytest.mark.parametrize("seed", [0, 1])
def test_pairs_grid_kernel_equals_brute_force(seed):
    rng = np.random.default_rng(seed)
    data = from_epoch_lists(random_epochs(rng, 8, 6, 4, grid=64), sample=1 / 64)
    ref, _ = brute_spotdis(data)
    pick = rng.choice(8, size=(20, 2))
    k, m, v, _ = spotdis_pairs(data, pick[:, 0], pick[:, 1], method="grid")
    keep = pick[:, 0] != pick[:, 1]
    assert set(zip(k.tolist(), m.tolist())) == {
        (min(a, b), max(a, b)) for a, b in pick[keep].tolist()}
    np.testing.assert_allclose(v, ref[k, m], rtol=0, atol=1e-12)


def test_pairs_equal_full_matrix_on_patterns():
    data = simulate.spot_patterns(n_patterns=2, epochs_per_pattern=8, n_noise_epochs=8,
                                  epoch_samples=120, pulse_samples=12, seed=4)
    for method in ("grid", "continuous"):
        full = spotdis(data, method=method)
        r, c = np.triu_indices(len(data.epochs), 1)
        k, m, v, n = spotdis_pairs(data, r, c, method=method)
        np.testing.assert_allclose(v, full.matrix[k, m], rtol=0, atol=1e-12)
        np.testing.assert_array_equal(n, full.counts[k, m])


def test_pairs_bad_input(tricky):
    with pytest.raises(ValueError, match="^pairs: epoch indices"):
        spotdis_pairs(tricky, [0], [12])
    with pytest.raises(ValueError, match="^pairs: rows and cols"):
        spotdis_pairs(tricky, [0, 1], [2])
    with pytest.raises(ValueError, match="^method"):
        spotdis_pairs(tricky, [0], [1], method="fast")
    k, m, v, n = spotdis_pairs(tricky, [3, 3], [3, 3])        # only self pairs: none
    assert k.size == m.size == v.size == n.size == 0


# ----------------------------------------------------------------- candidates and graph
def test_candidate_search_is_exact_nearest_neighbours():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 7)).astype(np.float32)
    got = candidate_neighbours(X, 12)
    d = ((X[:, None, :].astype(float) - X[None, :, :]) ** 2).sum(-1)
    np.fill_diagonal(d, np.inf)
    want = np.sort(d, axis=1)[:, :12]
    np.testing.assert_allclose(np.take_along_axis(d, got, axis=1), want, rtol=1e-4)
    assert not (got == np.arange(300)[:, None]).any()
    assert candidate_neighbours(X[:5], 12).shape == (5, 4)     # capped at M - 1


def test_graph_with_all_candidates_is_the_exact_knn():
    data = simulate.spot_patterns(n_patterns=2, epochs_per_pattern=10, n_noise_epochs=10,
                                  epoch_samples=100, pulse_samples=10, seed=5)
    M = len(data.epochs)
    full = spotdis(data).matrix.copy()
    np.fill_diagonal(full, np.inf)
    g = spotdis_knn(data, n_neighbors=6, n_candidates=M - 1)
    assert g.neighbors.shape == g.distances.shape == (M, 6)
    assert g.n_pairs == M * (M - 1) // 2
    np.testing.assert_allclose(g.distances, np.sort(full, axis=1)[:, :6], rtol=0, atol=1e-12)
    np.testing.assert_allclose(np.take_along_axis(full, g.neighbors, axis=1), g.distances,
                               rtol=0, atol=1e-12)


def test_candidates_find_the_true_neighbours_on_fig1():
    """The quartile approximation's candidates hold nearly all true 10 nearest epochs.

    Measured on seed 0: recall 0.988 with 30 candidates; every pattern epoch's 10 nearest
    share its pattern.
    """
    data = simulate.spot_patterns(seed=0)
    full = spotdis(data).matrix.copy()
    np.fill_diagonal(full, np.inf)
    true = np.argsort(full, axis=1)[:, :10]
    g = spotdis_knn(data, n_neighbors=10, n_candidates=30)
    recall = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(true, g.neighbors)])
    assert recall >= 0.95
    labels = data.truth["epoch_labels"]
    pat = labels >= 0
    assert np.mean(labels[g.neighbors[pat]] == labels[pat, None]) >= 0.99


def test_knn_distance_matrix_is_symmetric_and_connected():
    from scipy.sparse import csgraph

    data = simulate.spot_patterns(n_patterns=2, epochs_per_pattern=10, n_noise_epochs=0,
                                  rate_in=0.6, seed=6)
    g = spotdis_knn(data, n_neighbors=3)
    a = knn_distance_matrix(g)
    assert (abs(a - a.T) > 0).nnz == 0
    assert csgraph.connected_components(a, directed=False)[0] == 1
    assert a.data.min() > 0


def test_knn_bad_input():
    data = simulate.spot_patterns(n_patterns=2, epochs_per_pattern=5, n_noise_epochs=0,
                                  seed=6)
    with pytest.raises(ValueError, match="^n_neighbors"):
        spotdis_knn(data, n_neighbors=0)
    with pytest.raises(ValueError, match="^n_candidates"):
        spotdis_knn(data, n_neighbors=5, n_candidates=3)


# ----------------------------------------------------------------- graph-mode clustering
def test_graph_mode_clusters_like_full_mode():
    """Fig 1 (300 epochs) forced into graph mode: the same ARI as the full matrix."""
    data = simulate.spot_patterns(seed=0)
    full = SpotDisClust(data=data)
    graph = SpotDisClust(data=data, max_full_epochs=100)
    assert graph.graph_mode() and not full.graph_mode()
    s_full, result = full.scores(), graph.run()
    assert result.scores["ari"] >= 0.95
    assert abs(result.scores["ari"] - s_full["ari"]) < 0.02
    # the sample covers all 299 clustered epochs here, so the silhouette is the full one
    assert result.scores["silhouette"] == pytest.approx(s_full["silhouette"], abs=1e-9)
    assert result.spotdis is None and result.dissimilarity is None
    assert result.graph.neighbors.shape == (300, 90)
    assert result.embedding.shape == (300, 2) and np.isfinite(result.embedding).all()
    # the map separates the patterns: each pattern's centroid is far from the others'
    labels = data.truth["epoch_labels"]
    cent = np.array([result.embedding[labels == p].mean(0) for p in range(5)])
    spread = max(np.linalg.norm(result.embedding[labels == p] - cent[p], axis=1).mean()
                 for p in range(5))
    gaps = [np.linalg.norm(cent[a] - cent[b]) for a in range(5) for b in range(a + 1, 5)]
    assert min(gaps) > 2 * spread
    # the full matrix is refused with the parameter to change
    with pytest.raises(ValueError, match="^max_full_epochs: the SPOTDis matrix of 300"):
        graph.spotdis()
    graph.dissimilarity = "rate"
    with pytest.raises(ValueError, match="^max_full_epochs: the rate-vector matrix"):
        graph.rate_vectors()
    # clustering parameters do not recompute the graph
    graph.dissimilarity = "spotdis"
    graph.min_cluster_size = 12
    graph.cluster()
    assert graph.computations["graph"] == 1 and graph.computations["cluster"] == 2
    with pytest.raises(ValueError, match="^n_candidates"):
        SpotDisClust(data=data, max_full_epochs=100, n_candidates=20).graph()
