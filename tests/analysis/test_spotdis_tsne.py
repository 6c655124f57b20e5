"""The t-SNE of a few hundred epochs runs fewer iterations (issue 15 item 6) and still
separates the patterns; larger runs keep openTSNE's defaults."""

import numpy as np
import pytest

from analysis import simulate
from analysis.spotdis import SpotDisClust
from analysis.spotdis import clust as clust_module


@pytest.fixture(scope="module")
def patterns():
    return simulate.spot_patterns(n_patterns=3, epochs_per_pattern=20, n_noise_epochs=30,
                                  n_units=20, seed=3)


def _recorded(monkeypatch):
    """openTSNE.TSNE with its keyword arguments recorded."""
    import openTSNE

    calls = []
    real = openTSNE.TSNE

    def tsne(**kwargs):
        calls.append(kwargs)
        return real(**kwargs)

    monkeypatch.setattr(openTSNE, "TSNE", tsne)
    return calls


def test_small_runs_take_the_short_iterations_and_separate_the_patterns(patterns,
                                                                         monkeypatch):
    calls = _recorded(monkeypatch)
    obj = SpotDisClust(data=patterns, min_cluster_size=8)
    emb = obj.embed()
    early, rest = clust_module.SHORT_TSNE_ITERATIONS
    assert calls and all(c["early_exaggeration_iter"] == early and c["n_iter"] == rest
                         for c in calls)
    # the same seed, the same map
    again = SpotDisClust(data=patterns, min_cluster_size=8).embed()
    np.testing.assert_array_equal(emb, again)
    # each pattern's epochs lie together, apart from the other patterns'
    labels = np.asarray(patterns.truth["epoch_labels"])
    pats = [p for p in np.unique(labels) if p >= 0]
    cent = np.array([emb[labels == p].mean(0) for p in pats])
    spread = max(np.linalg.norm(emb[labels == p] - cent[i], axis=1).mean()
                 for i, p in enumerate(pats))
    gaps = [np.linalg.norm(cent[a] - cent[b]) for a in range(len(pats))
            for b in range(a + 1, len(pats))]
    assert min(gaps) > 2 * spread


def test_above_the_limit_the_defaults_run(patterns, monkeypatch):
    calls = _recorded(monkeypatch)
    monkeypatch.setattr(clust_module, "SHORT_TSNE_EPOCHS", len(patterns.epochs) - 1)
    SpotDisClust(data=patterns, min_cluster_size=8).embed()
    assert calls and all("n_iter" not in c and "early_exaggeration_iter" not in c
                         for c in calls)
