"""The SPOTDis page without a browser: run, sorted matrix, map, scores, selection, errors."""

import asyncio
import re

import holoviews as hv
import numpy as np
import panel as pn
import pytest

from analysis import simulate
from analysis.spiketrains import SpikeTrains
from analysis.spotdis.epochs import cross_correlation, delay_order
from analysis.spotdis.events import format_events, parse_events
from dashboard.spotdis_page import EVENTS, RECORDING, SpotDisPage
from dashboard.spotdis_views import (cluster_blocks, cluster_name, cluster_order,
                                     contrast_range, epoch_names, epoch_raster, epoch_table,
                                     map_highlight, map_points, matrix_highlight, matrix_image,
                                     matrix_plot, rank_bands, selected_spikes)
from dashboard.state import Session
from dashboard.text import escape_markdown

hv.extension("bokeh", logo=False)


@pytest.fixture(scope="module")
def patterns():
    return simulate.spot_patterns(n_patterns=3, epochs_per_pattern=12, n_noise_epochs=18,
                                  n_units=20, seed=1)


@pytest.fixture(scope="module")
def ran(patterns):
    page = SpotDisPage(session=Session(data=patterns, source="test patterns"))
    page.clust.min_cluster_size = 8
    asyncio.run(page._run())
    assert page.state == "done", page._status.object
    return page


def test_run_shows_scores_matrix_and_map(ran, patterns):
    r = ran.result
    M = len(patterns.epochs)
    assert r.spotdis.matrix.shape == (M, M)
    assert ran._results.visible
    text = ran._summary.object
    assert "ARI" in text and "silhouette" in text and "undefined epoch pairs" in text
    assert f"**{r.scores['n_clusters']} clusters**" in text
    assert len(ran._matrix) == 1 and len(ran._map) == 1
    # the cluster selector lists every label
    assert sorted(ran._cluster_select.options.values()) == sorted(set(r.labels.tolist()))


def test_sorted_matrix_has_cluster_blocks_on_the_diagonal(ran):
    r = ran.result
    order = cluster_order(r.labels)
    sorted_labels = r.labels[order]
    clusters = sorted_labels[sorted_labels >= 0]
    # clusters first in label order, noise last
    assert np.all(np.diff(clusters) >= 0)
    assert np.all(sorted_labels[clusters.size:] == -1)
    image = matrix_image(r.spotdis.matrix, r.labels)
    z = image.dimension_values(2, flat=False)
    xs = image.dimension_values(0, expanded=False)
    assert z.shape == (len(order), len(order))
    assert np.allclose(xs, np.arange(len(order)))
    # the element keeps the matrix's orientation: entry (a, b) is matrix[order[a], order[b]]
    a, b = 3, 7
    assert image[float(b), float(a)] == pytest.approx(r.spotdis.matrix[order[a], order[b]])
    assert np.allclose(np.diag(z), 0)
    # within a block dissimilarity is lower than between blocks
    blocks = cluster_blocks(r.labels)
    assert len(blocks) == r.scores["n_clusters"]
    same = sorted_labels[:, None] == sorted_labels[None, :]
    inside = same & (sorted_labels[:, None] >= 0) & ~np.eye(len(order), dtype=bool)
    assert z[inside].mean() < z[~same].mean()


def test_map_points_colour_by_cluster_or_truth(ran, patterns):
    r = ran.result
    truth = patterns.truth["epoch_labels"]
    pts = map_points(r.embedding, r.labels, truth)
    assert len(pts) == len(r.labels)
    assert sorted(pts.dimension_values("epoch")) == list(range(len(r.labels)))
    # rows in label order (the legend follows them), each row keeps its epoch's values
    epochs = pts.dimension_values("epoch").astype(int)
    assert np.array_equal(pts.dimension_values("cluster"), r.labels[epochs])
    assert np.allclose(pts.dimension_values("x"), r.embedding[epochs, 0])
    assert set(pts.dimension_values("group")) == {
        "noise" if c < 0 else f"cluster {c}" for c in r.labels}
    by_truth = map_points(r.embedding, r.labels, truth, by_truth=True)
    assert set(by_truth.dimension_values("group")) == {
        "noise" if c < 0 else f"pattern {c}" for c in truth}
    ran.colour_by = "ground truth"
    assert "true pattern" in ran._map_points.opts.get().kwargs["title"]
    ran.colour_by = "cluster"


def _hover_tools(obj):
    from bokeh.models import HoverTool

    plot = hv.renderer("bokeh").get_plot(obj)
    return [t for t in plot.state.tools if isinstance(t, HoverTool)]


def test_matrix_hover_names_both_epochs_and_their_clusters(ran):
    from dashboard.views import ROW_NAME_JS

    r = ran.result
    names = epoch_names(r.labels)
    order = cluster_order(r.labels)
    for rank in (0, len(order) - 1):  # rank -> the epoch sorted there, with its cluster
        k = order[rank]
        cluster = "noise" if r.labels[k] < 0 else f"cluster {r.labels[k]}"
        assert names[rank] == f"epoch {k} ({cluster})"
    hover, = _hover_tools(matrix_plot(r.spotdis.matrix, r.labels))  # not the blocks' too
    assert hover.tooltips == [("row", "$y{custom}"), ("column", "$x{custom}"),
                              ("SPOTDis", "@image{0.000}")]
    for axis in ("$x", "$y"):
        assert hover.formatters[axis].args["names"] == names
        assert hover.formatters[axis].code == ROW_NAME_JS


@pytest.mark.parametrize("with_truth", [True, False])
def test_map_hover_shows_one_epoch(ran, patterns, with_truth):
    r = ran.result
    truth = np.asarray(patterns.truth["epoch_labels"]) if with_truth else None
    hover, = _hover_tools(map_points(r.embedding, r.labels, truth))
    fields = [("epoch", "@epoch"), ("cluster", "@cluster")]
    assert hover.tooltips == fields + ([("true label", "@true_label")] if with_truth else [])
    # of the dots under the cursor only the one drawn on top (the last row)
    assert hover.limit == 1
    assert hover.sort_by == [("$index", "descending")]


def test_tap_selects_epoch_and_shows_raster_and_cross_correlation(ran, patterns):
    r = ran.result
    k = int(np.flatnonzero(r.labels >= 0)[-1])
    points = ran._map_points
    row = int(np.flatnonzero(points.dimension_values("epoch") == k)[0])
    ran._on_tap([row])
    assert ran.epoch == k and ran.cluster == int(r.labels[k])
    assert ran._cluster_select.value == ran.cluster
    raster = ran._epoch_view[0].object
    times, offsets = patterns.epoch_spikes(k)
    assert len(raster) == times.size
    assert f"epoch {k}" in raster.opts.get().kwargs["title"]
    assert len(ran._xcorr_view) == 1

    # picking another cluster in the Select shows its first epoch
    other = [c for c in ran._cluster_select.options.values() if c != ran.cluster][0]
    ran._cluster_select.value = other
    assert ran.cluster == other
    assert ran.epoch == int(np.flatnonzero(r.labels == other)[0])


def test_cross_correlation_counts_delays(patterns):
    epochs = [0, 1, 2]
    ref = 0
    centres, hist = cross_correlation(patterns, epochs, ref)
    assert hist.shape == (patterns.n_units, centres.size)
    assert np.all(hist[ref] == 0)
    # total pairs per epoch equals the mean of n_i * n_j over the epochs
    expected = np.zeros(patterns.n_units)
    for k in epochs:
        n = np.diff(patterns.epoch_spikes(k)[1])
        expected += n[ref] * n
    expected /= len(epochs)
    expected[ref] = 0
    assert np.allclose(hist.sum(axis=1), expected)
    # a delay lands in the right bin: one spike pair
    data = SpikeTrains(np.array([0.010, 0.030]), np.array([0, 1, 2]), 0.0, 0.1,
                       epochs={"start": [0.0, 0.05], "stop": [0.05, 0.1]})
    c, h = cross_correlation(data, [0], 0)
    assert h[1].sum() == 1
    assert c[np.argmax(h[1])] == pytest.approx(0.020, abs=(c[1] - c[0]) / 2 + 1e-12)


def test_delay_order_and_matrix_scale(ran, patterns):
    members = np.flatnonzero(ran.result.labels == ran.result.labels.max())
    centres, hist = cross_correlation(patterns, members, 0)
    order = delay_order(centres, hist, 0)
    assert sorted(order) == list(range(patterns.n_units))
    peaks = centres[np.argmax(hist[order], axis=1)]
    active = hist[order].sum(axis=1) > 0
    n_active = int(active.sum())
    assert active[:n_active].all() and order[n_active:].tolist().count(0) == 1
    assert np.all(np.diff(peaks[:n_active]) >= 0)
    lo, hi = contrast_range(ran.result.spotdis)
    assert 0 <= lo < hi <= 1
    ran.matrix_scale = "full range"
    assert len(ran._matrix) == 1
    ran.matrix_scale = "data range"


def test_epoch_raster_is_relative_to_the_epoch_start(patterns):
    k = 5
    raster = epoch_raster(patterns, k)
    x = raster.dimension_values(0)
    assert x.min() >= 0
    assert x.max() <= (patterns.epochs.stop[k] - patterns.epochs.start[k]) * 1e3 + 1e-9


def test_no_epochs_switches_to_events_and_explains():
    data = simulate.sip(n_units=10, assembly_size=3, t_stop=5, seed=1)
    assert data.epochs is None
    page = SpotDisPage(session=Session(data=data))
    assert "no epochs" in page._summary.object
    assert "around events" in page._summary.object
    assert "pulse-pattern demo" in page._summary.object
    # events + window is the only source: chosen, shown, and Run is allowed
    assert page.epoch_source == EVENTS and page._source.disabled
    assert page._events_box.visible and not page._starts_button.visible
    assert not page._run_button.disabled
    page2 = SpotDisPage(session=Session())
    assert "No data loaded" in page2._summary.object
    assert page2._run_button.disabled


def test_errors_are_one_line(patterns):
    page = SpotDisPage(session=Session(data=patterns))
    page.clust.min_cluster_size = 1000
    asyncio.run(page._run())
    assert page.state == "failed"
    assert page._status.visible
    assert "\n" not in page._status.object
    assert "min_cluster_size" in page.session.message  # the text; the pane holds it escaped
    assert page.result is None


def test_new_data_resets_the_page(patterns):
    session = Session(data=patterns)
    page = SpotDisPage(session=session)
    page.clust.min_cluster_size = 8
    asyncio.run(page._run())
    assert page.result is not None
    session.data = simulate.spot_patterns(n_patterns=2, epochs_per_pattern=10,
                                          n_noise_epochs=5, n_units=10, seed=2)
    assert page.result is None and not page._results.visible
    assert page.clust.data is session.data
    assert "25 epochs, 10 units" in page._summary.object
    # settings stay; changing one after a run marks the result stale
    assert page.clust.min_cluster_size == 8
    asyncio.run(page._run())
    assert page.state == "done", page._status.object
    page.clust.perplexity = 5
    assert page._stale.visible


def test_app_makes_the_spotdis_page(patterns):
    from dashboard.app import _make_page, page_names

    assert "SPOTDis" in page_names()
    assert isinstance(_make_page("SPOTDis", Session(data=patterns)), SpotDisPage)
    assert isinstance(pn.panel(SpotDisPage(session=Session(data=patterns))), pn.Row)


def test_rate_baseline_comparison(ran):
    asyncio.run(ran._baseline())
    assert ran.state == "done", ran._status.object
    text = ran._baseline_box[0].object
    assert "Rate vectors (no timing)" in text and "this run" in text


def test_window_sweep_section(patterns):
    page = SpotDisPage(session=Session(data=patterns))
    page.clust.min_cluster_size = 8
    page._lengths.value = "150, 300"
    asyncio.run(page._sweep())
    assert not page._status.visible, page._status.object
    assert page._sweep_box[0].object == "### Window sweep"
    table = page._sweep_box[1][1].value
    assert sorted(table["length"]) == pytest.approx([0.15, 0.3])
    page._lengths.value = "abc"
    asyncio.run(page._sweep())
    assert page._status.visible and "Window lengths" in page._status.object
    assert "\n" not in page._status.object


def test_run_on_the_rate_baseline(patterns):
    page = SpotDisPage(session=Session(data=patterns))
    page.clust.min_cluster_size = 8
    page.clust.dissimilarity = "rate"
    asyncio.run(page._run())
    assert page.state == "done", page._status.object
    assert page.result.spotdis is None
    assert "rate-vector dissimilarity" in page._summary.object
    assert len(page._matrix) == 1 and len(page._map) == 1


def test_run_on_spikeship(patterns):
    from bokeh.models import LinearColorMapper

    page = SpotDisPage(session=Session(data=patterns))
    page.clust.min_cluster_size = 8
    assert page._spotdis_settings.visible
    page.clust.dissimilarity = "spikeship"
    assert not page._spotdis_settings.visible   # the sample grid and kernel are SPOTDis's
    asyncio.run(page._run())
    assert page.state == "done", page._status.object
    r = page.result
    assert r.spotdis is None and r.spikeship is not None
    assert "SpikeShip" in page._summary.object and "undefined epoch pairs" in page._summary.object
    figure = hv.renderer("bokeh").get_plot(page._matrix[0].object).state
    assert figure.title.text == "SpikeShip, epochs sorted by cluster"
    hover, = _hover_tools(page._matrix[0].object)
    assert hover.tooltips[-1] == ("SpikeShip (ms)", "@image{0.000}")
    page.matrix_scale = "full range"
    figure = hv.renderer("bokeh").get_plot(page._matrix[0].object).state
    mapper = figure.select_one({"type": LinearColorMapper})
    assert (mapper.low, mapper.high) == pytest.approx((0.0, r.spikeship.fill_value * 1e3))
    # the selector names the choices as the page does
    widget, = [w for w in page._layout.select(pn.widgets.RadioButtonGroup)
               if "SpikeShip" in w.options]
    assert list(widget.options) == ["SPOTDis", "SpikeShip", "rate vectors"]


# ---------------------------------------------------------------------- epochs from events
def test_parse_events_numbers_ranges_and_round_trip():
    assert parse_events("3 1, 2;0.5").tolist() == [3, 1, 2, 0.5]
    assert parse_events("0:10:2").tolist() == [0, 2, 4, 6, 8]        # stop left out
    assert parse_events(" 0:0.9:0.3, 5 ").tolist() == pytest.approx([0, 0.3, 0.6, 5])
    assert parse_events("0:60:2").size == 30
    starts = 0.3 * np.arange(300)
    assert format_events(starts) == "0:90:0.3"
    assert parse_events(format_events(starts)) == pytest.approx(starts, abs=1e-12)
    uneven = [0.5, 0.1, 2.25]
    assert format_events(uneven) == "0.1, 0.5, 2.25"


@pytest.mark.parametrize("text, reason", [
    ("", "give the event times"),
    ("1, abc", "'abc' is not a number"),
    ("0:10", "not a range start:stop:step"),
    ("0:10:0", "step of '0:10:0' must be > 0"),
    ("5:1:1", "is empty"),
    ("0:1e9:0.001", "more than 5000 events"),
    ("inf", "not a finite time"),
])
def test_parse_events_errors_name_the_field(text, reason):
    with pytest.raises(ValueError) as info:
        parse_events(text)
    assert str(info.value).startswith("Event times (s): ") and reason in str(info.value)


def epochless(patterns):
    """The pattern recording without its epochs and their labels."""
    return patterns.replace(epochs=None, truth={})


def test_events_on_a_recording_without_epochs_reproduce_its_epochs(ran, patterns):
    """Windows cut at the (removed) epoch starts give the recording's SPOTDis matrix."""
    page = SpotDisPage(session=Session(data=epochless(patterns)))
    page.clust.min_cluster_size = 8
    page._events.value = format_events(patterns.epochs.start)
    page._window_start.value, page._window_length.value = 0.0, 300.0
    asyncio.run(page._run())
    assert page.state == "done", page._status.object
    data = page.clust.data
    assert data is not page.session.data and data.n_spikes == patterns.n_spikes
    np.testing.assert_array_equal(data.epochs.start, patterns.epochs.start)
    np.testing.assert_array_equal(data.epochs.stop, patterns.epochs.stop)
    assert data.epochs.label.tolist() == [f"event {k}" for k in range(len(patterns.epochs))]
    np.testing.assert_allclose(page.result.spotdis.matrix, ran.result.spotdis.matrix)
    text = page._summary.object
    assert "n/a (no true labels)" in text and "54 windows [+0, +300] ms around events" in text
    assert page._colour.disabled and len(page._matrix) == 1 and len(page._map) == 1
    # the selection views use the windows: raster and cross-correlation of one epoch
    assert len(page._epoch_view) == 1 and len(page._xcorr_view) == 1


def test_epoch_starts_as_events_keep_labels_but_not_the_truth(patterns):
    page = SpotDisPage(session=Session(data=patterns))
    page.clust.min_cluster_size = 8
    assert page.epoch_source == RECORDING and not page._events_box.visible
    assert page._starts_button.visible
    page.colour_by = "ground truth"
    page._use_epoch_starts()
    assert page.epoch_source == EVENTS and page._events_box.visible
    assert parse_events(page._events.value) == pytest.approx(patterns.epochs.start)
    assert "not used" in page._summary.object
    page._window_start.value, page._window_length.value = -20.0, 200.0  # overlap: fine
    page._events.value = "0.3:16.2:0.3, 0.6"     # unsorted, one event twice
    asyncio.run(page._run())
    assert page.state == "done", page._status.object
    ep = page.clust.data.epochs
    assert len(ep) == 54 and np.all(np.diff(ep.start) >= 0)
    assert ep.start[0] == pytest.approx(0.28) and ep.stop[0] == pytest.approx(0.48)
    # the events are epoch starts, so the windows carry those epochs' labels ...
    by_start = dict(zip(np.round(patterns.epochs.start, 9), patterns.epochs.label))
    assert ep.label.tolist() == [by_start[round(t + 0.02, 9)] for t in ep.start]
    # ... but not the ground truth, which belongs to the recording's epochs
    assert "epoch_labels" not in page.clust.data.truth
    assert page.colour_by == "cluster" and page._colour.disabled
    assert "ground truth" not in page._map_points.opts.get().kwargs["title"]
    assert "n/a (no true labels)" in page._summary.object
    # the same settings run again reuse SpotDisClust's cached matrix
    n = page.clust.computations["spotdis"]
    data = page.clust.data
    asyncio.run(page._run())
    assert page.clust.data is data and page.clust.computations["spotdis"] == n
    # back to the recording's epochs: stale until run, then the truth is back
    page.epoch_source = RECORDING
    assert page._stale.visible and not page._events_box.visible
    asyncio.run(page._run())
    assert page.state == "done" and page.clust.data is patterns
    assert not page._stale.visible and not page._colour.disabled
    assert "ARI **n/a" not in page._summary.object


@pytest.mark.parametrize("events, start, length, field, reason", [
    ("", 0.0, 300.0, "Event times (s)", "give the event times"),
    ("0.3, x", 0.0, 300.0, "Event times (s)", "'x' is not a number"),
    ("0.3", 0.0, 300.0, "Event times (s)", "at least 2 events, got 1"),
    ("0.3, 0.9", 0.0, 0.0, "Window length (ms)", "must be > 0 ms"),
    ("0.3, 0.9", 0.0, -5.0, "Window length (ms)", "must be > 0 ms"),
    ("0.3, 0.9", 0.0, None, "Window length (ms)", "must be > 0 ms"),
    ("0.3, 0.9", None, 300.0, "Window start (ms)", "give a number"),
    ("0.1, 0.9", -200.0, 300.0, "Window start (ms)", "before the recording's start"),
    ("0.3, 16.1", 0.0, 300.0, "Window length (ms)", "after the recording's end"),
])
def test_bad_events_or_window_give_one_line_errors(ran, patterns, events, start, length,
                                                   field, reason):
    page = SpotDisPage(session=Session(data=epochless(patterns)))
    page._events.value, page._window_start.value, page._window_length.value = (
        events, start, length)
    asyncio.run(page._run())
    text = page.session.message
    assert page.state == "failed" and page._status.visible
    assert text.startswith(f"SPOTDis: {field}: ") and reason in text and "\n" not in text
    assert page.result is None and page._status.object == escape_markdown(text)
    assert not page._run_button.disabled         # the user can fix it and run again


def test_bad_events_after_a_run_keep_the_result_marked_stale(patterns):
    page = SpotDisPage(session=Session(data=epochless(patterns)))
    page.clust.min_cluster_size = 8
    page._events.value = "0:16.2:0.3"
    asyncio.run(page._run())
    assert page.state == "done", page._status.object
    result, data = page.result, page.clust.data
    page._window_length.value = 1e6
    assert page._stale.visible
    asyncio.run(page._run())
    assert page.state == "failed" and "Window length (ms)" in page._status.object
    # as after any other setting the run refused: the last result stays, marked stale
    assert page.result is result and page._results.visible and page._stale.visible
    assert page.clust.data is data
    # the selection views still draw the result's own epochs
    k = int(np.flatnonzero(result.labels >= 0)[0])
    page._on_tap([int(np.flatnonzero(page._map_epochs == k)[0])])
    assert page.epoch == k and len(page._epoch_view) == 1
    # the comparisons check the epochs too
    asyncio.run(page._baseline())
    assert page._status.object.startswith("Rate baseline: Window length (ms): ")


def test_new_data_with_epochs_goes_back_to_the_recordings_epochs(patterns):
    session = Session(data=epochless(patterns))
    page = SpotDisPage(session=session)
    assert page.epoch_source == EVENTS
    session.data = patterns
    assert page.epoch_source == RECORDING and not page._source.disabled
    assert "54 epochs, 20 units" in page._summary.object


def test_more_epochs_than_the_full_matrix_allows_run_in_graph_mode(patterns):
    # (more in tests/dashboard/test_spotdis_graph_page.py)
    page = SpotDisPage(session=Session(data=patterns))
    page.clust.max_full_epochs = 20
    asyncio.run(page._run())
    assert page.state == "done", page._status.object
    assert page.result.graph is not None and "graph mode" in page._summary.object


def test_hand_over_cluster_labels_and_one_cluster_s_epochs(patterns):
    """Issue 15 item 3: SPOTDis cluster labels as epoch labels, or one cluster's epochs, in
    another analysis."""
    session = Session(data=patterns, source="test patterns")
    page = SpotDisPage(session=session)
    page.clust.min_cluster_size = 8
    asyncio.run(page._run())
    labels = page.result.labels.copy()
    assert page._labels_handover.row.visible and page._cluster_handover.row.visible
    cluster = page.cluster
    members = np.flatnonzero(labels == cluster)
    assert f"the {members.size} epochs of cluster {cluster}" in \
        page._cluster_handover.row[0].object
    pages = []
    session.param.watch(lambda e: pages.append(e.new), "page")
    page._cluster_handover.target.value = "Assembly neurons"
    page._cluster_handover.button.clicks += 1
    np.testing.assert_array_equal(session.data.epochs.start, patterns.epochs.start[members])
    assert pages[-1] == "Assembly neurons"
    assert re.search(r"of SPOTDis run \d+$", session.data.annotations["restriction"])
    session.restrict(patterns)
    asyncio.run(page._run())
    labels = page.result.labels.copy()
    page._labels_handover.button.clicks += 1
    assert session.data.epochs.label.tolist() == [
        "noise" if c < 0 else f"cluster {c}" for c in labels]


# ---------------------------------------------------------------- linked views (issue 15)
@pytest.fixture
def linked(patterns):
    """A page of its own (the tests change its selection)."""
    page = SpotDisPage(session=Session(data=patterns, source="test patterns"))
    page.clust.min_cluster_size = 8
    asyncio.run(page._run())
    assert page.state == "done", page._status.object
    return page


def _ringed(page):
    """Epochs ringed on the map: the highlight overlay's element for the pipe's data."""
    return sorted(page._map_rings[()].dimension_values("epoch").astype(int).tolist())


def _bands(page):
    """The matrix overlay's rectangles as (x0, y0, x1, y1) rows."""
    return page._matrix_marks[()].array()


def _rank(labels):
    rank = np.empty(len(labels), dtype=int)
    rank[cluster_order(labels)] = np.arange(len(labels))
    return rank


def test_selected_spikes_pool_the_epochs_spikes(patterns):
    picked = [5, 0, 17, 40]
    times, units, which = selected_spikes(patterns, picked)
    for j, k in enumerate(picked):
        t, offsets = patterns.epoch_spikes(k)
        u = np.repeat(np.arange(patterns.n_units), np.diff(offsets))
        mine = which == j
        assert mine.sum() == t.size
        got = sorted(zip(units[mine].tolist(), np.round(times[mine], 12).tolist()))
        assert got == sorted(zip(u.tolist(), np.round(t, 12).tolist()))


def test_epoch_table_row_highlights_that_epoch_everywhere(linked, patterns):
    page, r = linked, linked.result
    table = page._epoch_rows.value
    assert len(table) == len(r.labels) and table["epoch"].tolist() == list(range(len(r.labels)))
    assert page._epoch_rows_holder[-1] is page._epoch_rows
    k = int(np.flatnonzero(r.labels == r.labels.max())[-1])   # not the first cluster's
    page._epoch_rows.selection = [k]
    assert page.highlight == [k] and page.epoch == k and page.cluster == int(r.labels[k])
    assert _ringed(page) == [k]
    # one row band and one column band, both at the epoch's rank in the sorted matrix
    rank, M = _rank(r.labels)[k], len(r.labels)
    bands = _bands(page)
    assert bands.tolist() == [[-0.5, rank - 0.5, M - 0.5, rank + 0.5],
                              [rank - 0.5, -0.5, rank + 0.5, M - 0.5]]
    raster = page._epoch_view[0].object
    assert len(raster) == patterns.epoch_spikes(k)[0].size
    assert raster.opts.get().kwargs["title"].startswith(f"epoch {k} (")
    # the cluster list follows; a single epoch is not a whole cluster: no cluster row
    assert page._cluster_select.value == page.cluster
    assert page._cluster_rows.selection == []
    assert page._epoch_rows.page == k // 10 + 1


def test_cluster_table_row_highlights_the_cluster_s_epochs(linked, patterns):
    page, r = linked, linked.result
    clusters = page._cluster_labels
    assert page._cluster_rows.value["epochs"].tolist() == [
        int(np.sum(r.labels == c)) for c in clusters]
    row = len(clusters) - 1     # the last cluster (not the one shown after the run)
    c = int(clusters[row])
    members = np.flatnonzero(r.labels == c).tolist()
    page._cluster_rows.selection = [row]
    assert page.highlight == members and page.cluster == c
    assert _ringed(page) == members
    assert page._epoch_rows.selection == members
    # a cluster is a contiguous block of ranks: one row band, one column band
    ranks = _rank(r.labels)[members]
    bands = _bands(page)
    assert len(bands) == 2
    assert bands[0][1] == ranks.min() - 0.5 and bands[0][3] == ranks.max() + 0.5
    # its epochs' spikes superimposed
    raster = page._epoch_view[0].object
    assert len(raster) == sum(patterns.epoch_spikes(k)[0].size for k in members)
    assert f"{len(members)} epochs superimposed ({cluster_name(c)})" == \
        raster.opts.get().kwargs["title"]
    # two cluster rows: the union
    page._cluster_rows.selection = [0, row]
    both = np.flatnonzero(np.isin(r.labels, clusters[[0, row]])).tolist()
    assert page.highlight == both and _ringed(page) == both
    assert sorted(page._cluster_rows.selection) == [0, row]


def test_map_box_or_lasso_selects_the_table_rows(linked):
    page, r = linked, linked.result
    # three dots picked on the map (rows of the map's points, in legend order)
    rows = [0, 3, len(r.labels) - 1]
    page._map_selection.event(index=rows)
    epochs = sorted(int(page._map_epochs[i]) for i in rows)
    assert page.highlight == epochs
    assert page._epoch_rows.selection == epochs
    assert _ringed(page) == epochs
    # a box around one whole cluster selects that cluster's row as well
    c = int(page._cluster_labels[-1])
    members = np.flatnonzero(r.labels == c)
    rows = np.flatnonzero(np.isin(page._map_epochs, members)).tolist()
    page._map_selection.event(index=rows)
    assert page.highlight == members.tolist()
    assert page._cluster_rows.selection == [len(page._cluster_labels) - 1]
    # a tap (one dot) selects its epoch, its cluster and its table row
    page._map_selection.event(index=[rows[0]])
    k = int(page._map_epochs[rows[0]])
    assert page.highlight == [k] and page.epoch == k and page._epoch_rows.selection == [k]


def test_overlays_keep_the_map_and_matrix_titles(linked):
    renderer = hv.renderer("bokeh")
    fig = renderer.get_plot(linked._map[0].object).state
    assert fig.title.text == "t-SNE map, coloured by cluster"
    # the map's tools pick several epochs
    assert {"BoxSelectTool", "LassoSelectTool", "TapTool"} <= {type(t).__name__
                                                              for t in fig.tools}
    fig = renderer.get_plot(linked._matrix[0].object).state
    assert fig.title.text == "SPOTDis, epochs sorted by cluster"


def test_rank_bands_merge_neighbours_and_stay_bounded():
    assert rank_bands([9, 1, 2, 3, 7], 10, min_gap=1).tolist() == [[1, 3], [7, 7], [9, 9]]
    assert rank_bands([1, 3], 10, min_gap=2).tolist() == [[1, 3]]
    assert rank_bands([], 10).shape == (0, 2)
    # 30,000 epochs, a scattered pick of 10,000: bands at pixel resolution, every pick covered
    rng = np.random.default_rng(0)
    labels = rng.integers(-1, 20, 30_000)
    picked = rng.choice(30_000, 10_000, replace=False)
    rects = matrix_highlight(labels, picked).array()
    n_bands = len(rects) // 2
    assert 0 < n_bands <= 1000
    ranks = _rank(labels)[picked]
    lo, hi = rects[:n_bands, 1], rects[:n_bands, 3]
    inside = (ranks[:, None] > lo[None, :]) & (ranks[:, None] < hi[None, :])
    assert inside.any(axis=1).all()
    assert len(map_highlight(rng.normal(size=(30_000, 2)), picked)) == 10_000
    assert len(epoch_table(labels, rng.normal(size=(30_000, 2)))) == 30_000


def test_no_epochs_offers_the_demo_with_epochs_in_one_click():
    """Issue 15 ("Why"): a newcomer on a recording without epochs is led to a demo with
    them, not only to events + window."""
    data = simulate.sip(n_units=10, assembly_size=3, t_stop=5, seed=1)
    session = Session(data=data, source="sip")
    page = SpotDisPage(session=session)
    assert page._demo_button.visible and not page._demo_button.disabled
    asyncio.run(page._load_epoch_demo())
    assert session.data is not data and len(session.data.epochs) == 300
    assert session.source == "demo 'Pulse patterns (300 epochs, 50 units)'"
    # the page follows: the recording's epochs, the button gone
    assert page.epoch_source == RECORDING and not page._demo_button.visible
    assert "300 epochs, 50 units" in page._summary.object
    assert not page._run_button.disabled


def test_many_highlighted_spikes_are_rasterized(patterns, monkeypatch):
    """Above RASTER_POINTS_MAX spikes the raster of highlighted epochs is a datashader
    image whose counts add up to the epochs' spikes."""
    import dashboard.spotdis_views as views

    picked = list(range(0, 30, 2))
    n_spikes = sum(patterns.epoch_spikes(k)[0].size for k in picked)
    small = views.epochs_raster(patterns, picked, dynamic=False)
    assert isinstance(small, hv.Points) and len(small) == n_spikes
    monkeypatch.setattr(views, "RASTER_POINTS_MAX", n_spikes - 1)
    image = views.epochs_raster(patterns, picked, dynamic=False)
    assert isinstance(image, hv.Image)
    counts = image.dimension_values(2)
    assert np.nansum(counts) == n_spikes
    assert "15 epochs superimposed" in image.opts.get().kwargs["title"]
