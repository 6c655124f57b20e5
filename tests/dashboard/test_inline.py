"""Pages for analysis objects made in Python (notebooks): parameters copied, cache shared."""

import asyncio

import pytest

from analysis import simulate
from analysis.spotdis import SpotDisClust
from dashboard.inline import page_for, show


def test_page_for_copies_parameters_and_reuses_computed_steps():
    data = simulate.spot_patterns(n_patterns=2, epochs_per_pattern=12, n_noise_epochs=12,
                                  epoch_samples=150, pulse_samples=15, seed=3)
    clust = SpotDisClust(data=data, min_cluster_size=6, perplexity=8.0)
    clust.run()
    page = asyncio.run(show(clust))
    assert page.clust.min_cluster_size == 6 and page.clust.perplexity == 8.0
    assert page.result is not None
    assert page.result.labels.tolist() == clust.cluster().tolist()
    # SPOTDis was computed once, in "the notebook"; the page reused it
    assert page.clust.computations.get("spotdis", 0) == 0
    # the page's widgets change the page's object, not the notebook's
    page.clust.min_cluster_size = 7
    assert clust.min_cluster_size == 6


def test_page_for_bad_input():
    with pytest.raises(TypeError, match="^obj: expected"):
        page_for(object())
    with pytest.raises(ValueError, match="^obj: has no data"):
        page_for(SpotDisClust())
