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


def test_show_a_work_file_opens_its_results_without_computing(tmp_path):
    import asyncio

    from analysis import simulate
    from analysis.assembly import AssemblyNeurons
    from dashboard.inline import show
    from dashboard.work import write_work_file

    data = simulate.sip(n_units=30, assembly_size=5, t_stop=5, seed=1)
    result = AssemblyNeurons(data=data, n_surrogates=199, alpha=0.05).run()
    path = tmp_path / "w.spikelens"
    path.write_bytes(write_work_file(data, "sip", {"assembly": result}))
    pages = asyncio.run(show(path))
    assert list(pages) == ["Data", "Assembly neurons"]
    page = pages["Assembly neurons"]
    assert page.result is result or page.result.table.equals(result.table)
    assert page.state == "done" and page.detector.n_surrogates == 199
    assert "statistics" not in page.detector.computations  # shown, not computed
