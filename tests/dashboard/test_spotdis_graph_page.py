"""The SPOTDis page in graph mode (more epochs or windows than max_full_epochs), without a
browser: the map, clusters, tables and linked highlighting work; the matrix view says there
is no full matrix; rate vectors, the rate baseline and the window sweep run in graph mode
too."""

import asyncio

import holoviews as hv
import numpy as np
import pytest

from analysis import simulate
from analysis.spotdis.graph import SpotDisGraph
from dashboard.spotdis_page import GRAPH_NOTE, SpotDisPage
from dashboard.state import Session

hv.extension("bokeh", logo=False)


@pytest.fixture(scope="module")
def patterns():
    return simulate.spot_patterns(n_patterns=3, epochs_per_pattern=12, n_noise_epochs=18,
                                  n_units=20, seed=1)


def _graph_page(patterns, dissimilarity):
    page = SpotDisPage(session=Session(data=patterns, source="test patterns"))
    page.clust.param.update(min_cluster_size=8, max_full_epochs=20,
                            dissimilarity=dissimilarity)
    asyncio.run(page._run())
    assert page.state == "done", page._status.object
    return page


@pytest.mark.parametrize("dissimilarity, name", [("spotdis", "SPOTDis"),
                                                 ("spikeship", "SpikeShip")])
def test_graph_mode_runs_on_the_page(patterns, dissimilarity, name):
    page = _graph_page(patterns, dissimilarity)
    r, M = page.result, len(patterns.epochs)
    assert isinstance(r.graph, SpotDisGraph) and r.dissimilarity is None
    assert r.dissimilarity_name == name and r.labels.size == M
    # (54 epochs is little for a 10-neighbour graph: the ARI is not the point here)
    assert r.scores["n_clusters"] >= 2 and np.isfinite(r.scores["ari"])
    # the summary says graph mode; the matrix view is the one-line note, no matrix
    text = page._summary.object
    assert f"{name} in **graph mode** ({M} epochs > 20)" in text
    assert f"{r.graph.n_pairs} exact epoch pairs" in text
    assert len(page._matrix) == 1 and page._matrix[0].object == GRAPH_NOTE
    assert "\n" not in GRAPH_NOTE and page._matrix_pipe is None
    # the map: one dot per epoch at its t-SNE place
    assert len(page._map) == 1
    epochs = page._map_points.dimension_values("epoch").astype(int)
    assert sorted(epochs) == list(range(M))
    assert np.allclose(page._map_points.dimension_values("x"), r.embedding[epochs, 0])
    hv.render(page._map[0].object)
    # tables: every epoch, every cluster
    assert page._epoch_rows.value["epoch"].tolist() == list(range(M))
    clusters = page._cluster_rows.value
    assert len(clusters) == len(set(r.labels.tolist()))
    assert clusters["epochs"].sum() == M
    # linked highlighting: a row click rings that epoch on the map, selects its cluster
    k = int(np.flatnonzero(r.labels == r.labels.max())[-1])
    page._epoch_rows.selection = [k]
    assert page.highlight == [k] and page.cluster == int(r.labels[k])
    assert sorted(page._map_rings[()].dimension_values("epoch").astype(int)) == [k]
    assert len(page._epoch_view) >= 1
    # SpikeShip's flows are drawn from the data, no matrix needed
    if dissimilarity == "spikeship":
        assert len(page._flows_view) == 1
        hv.render(page._flows_view[0].object)


def test_rate_vectors_run_in_graph_mode(patterns):
    """Rate vectors have a graph mode now (``rate_knn``); before, the run was refused."""
    page = _graph_page(patterns, "rate")
    r, M = page.result, len(patterns.epochs)
    assert r.graph is not None and r.graph.dissimilarity == "rate" and r.dissimilarity is None
    assert r.dissimilarity_name == "rate vectors" and r.labels.size == M
    assert f"rate vectors in **graph mode** ({M} epochs > 20)" in page._summary.object
    assert page._matrix[0].object == GRAPH_NOTE
    assert page.clust.computations.get("rate", 0) == 0


@pytest.mark.parametrize("dissimilarity", ["spotdis", "spikeship"])
def test_rate_baseline_and_window_sweep_work_in_graph_mode(patterns, dissimilarity):
    """Issue 16 leftover: in graph mode the baseline and the sweep ignored the page's
    max_full_epochs (a full matrix, or, above 5000 epochs, a refused rate matrix)."""
    page = _graph_page(patterns, dissimilarity)
    asyncio.run(page._baseline())
    assert page.state == "done", page._status.object
    text = page._baseline_box[0].object
    assert "Rate vectors (no timing)" in text and "graph mode:" in text, text
    twin = page.clust._baseline_twin
    assert twin.graph_mode() and twin.max_full_epochs == 20
    assert twin.computations.get("rate", 0) == 0   # no full matrix
    assert twin.computations.get("graph", 0) == 1
    page._lengths.value = "100, 300"
    asyncio.run(page._sweep())
    assert page.state == "done", page._status.object
    table = page._sweep_box[1][1].value
    assert table["length"].tolist() == [0.1, 0.3]
    assert table["graph_mode"].tolist() == [True, True]
    hv.render(page._sweep_box[1][0].object)


def test_sliding_windows_in_graph_mode_on_the_page():
    data = simulate.embedded_sequences(n_units=20, occurrences=12, t_stop=40.0, seed=2)
    page = SpotDisPage(session=Session(data=data, source="embedded"))
    page.clust.param.update(dissimilarity="spikeship", min_cluster_size=5,
                            max_full_epochs=50)
    page._slide_length.value, page._slide_step.value = 200.0, 50.0
    page._slide_active.value = 10
    asyncio.run(page._run_windows())
    assert page.state == "done", page._status.object
    r = page._windows_result
    assert page.windows.max_full_epochs == 50
    assert r.graph_mode and int(r.clustered.sum()) > 50
    assert r.scores["n_clusters"] >= 2 and r.scores["ari"] > 0.5
    assert page._windows_box.visible and len(page._windows_course) == 2
    assert "Band:" in page._windows_course[1].object
    assert "graph mode" in page._windows_summary.object
    assert sorted(page._pattern_select.options.values()) == sorted(r.sequences)
    hv.render(page._windows_course[0].object)


def test_graph_mode_checks_memory_first(patterns):
    page = SpotDisPage(session=Session(data=patterns))
    page.clust.param.update(max_full_epochs=20, memory_budget=1000.0)
    asyncio.run(page._run())
    assert page.result is None and page.state == "failed"
    text = page._status.object
    assert "memory" in text.lower() and "\n" not in text
    assert page.clust.computations.get("graph", 0) == 0


def test_cancel_stops_a_graph_mode_run_in_its_candidate_search(patterns):
    page = SpotDisPage(session=Session(data=patterns))
    page.clust.param.update(max_full_epochs=20)
    report, seen = page.clust.progress, []

    def progress(fraction, message):   # press Cancel as the candidate search starts
        seen.append(message)
        if message.startswith("candidates"):
            page._cancel.set()
        report(fraction, message)
    page.clust.progress = progress
    asyncio.run(page._run())
    assert any(m.startswith("candidates") for m in seen), seen
    assert page.state == "cancelled" and page.result is None
    assert "cancelled" in page._status.object
    assert page.clust.computations.get("graph", 0) == 0 and not page.session.busy
    # the next run goes through
    page.clust.progress = report
    asyncio.run(page._run())
    assert page.state == "done" and page.result.graph is not None
