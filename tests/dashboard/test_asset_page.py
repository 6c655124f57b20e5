"""The ASSET page's logic without a browser: runs, errors, caching, selection, data changes."""

import asyncio
import dataclasses
import re

import holoviews as hv
import numpy as np
import panel as pn
import pytest

from analysis import simulate
from dashboard.asset_page import AssetPage
from dashboard.asset_views import (cluster_marks, entries_points, matrix_image, sse_spikes,
                                   sse_window)
from dashboard.state import Session

hv.extension("bokeh", logo=False)  # the app does this; the page's views need it


@pytest.fixture(scope="module")
def chain():
    return simulate.synfire_chain(n_units=120, n_groups=6, group_size=20, t_stop=2.0, seed=1)


@pytest.fixture
def page(chain):
    return AssetPage(session=Session(data=chain, source="test chain"))


@pytest.fixture
def ran(page):
    page.progress_seen = []
    page._progress.param.watch(lambda e: page.progress_seen.append(e.new), "value")
    asyncio.run(page._run())
    assert not page._status.visible, page._status.object
    return page


def widget(page, name):
    matches = [w for w in pn.panel(page).select(pn.widgets.Widget) if w.label == name]
    assert len(matches) == 1, f"{len(matches)} widgets named {name!r}"
    return matches[0]


def test_run_shows_matrices_sse_table_and_rasters(ran):
    result = ran.result
    assert result is not None and result.score is not None
    table = ran._table.value
    assert len(table) == len(result.sses) >= 1
    assert {"cluster", "entries", "neurons", "units"} <= set(table.columns)
    assert ran._sse_box.visible
    # the largest SSE (the one that gave the ordering) is highlighted from the start
    largest = int(table.sort_values("entries", ascending=False).iloc[0]["cluster"])
    assert ran.cluster == largest and ran._table.selection == [
        int(np.flatnonzero(table["cluster"] == largest)[0])]
    assert f"{result.score:.3f}" in ran._summary.object
    # five matrices; original, found and true orderings; close-ups of the SSE's occurrences
    assert len(ran._matrices[0].select(pn.pane.HoloViews)) == 5
    assert titles(ran._rasters[0][1]) == ["original order", "ASSET order",
                                          "true order (ground truth)"]
    assert len(ran._closeups) == 2
    # the Asset's progress reports fed the progress bar, up to 100 %
    assert len(ran.progress_seen) >= 3 and ran.progress_seen[-1] == 100
    # the run cleaned up after itself
    assert not ran._progress.visible and not ran.session.busy
    assert not ran._run_button.disabled


def test_matrix_images_keep_the_diagonal_and_time_axes(ran):
    result = ran.result
    image = matrix_image("imat", result)
    n = result.imat.shape[0]
    t0, dt = result.t_start, result.bin_size
    assert image.kdims[0].label == "time j (s)" and image.kdims[1].label == "time i (s)"
    # entry (i, j) sits at x = time of bin j, y = time of bin i: the diagonal goes from
    # bottom left to top right (hv.Image(array) would have flipped it)
    for i, j in [(0, 0), (3, n - 2), (n - 1, 5)]:
        x, y = t0 + (j + 0.5) * dt, t0 + (i + 0.5) * dt
        assert image[x, y] == result.imat[i, j]
    clusters = matrix_image("cmat", result).dimension_values(2, flat=False)
    assert np.isnan(clusters[result.cmat == 0]).all()
    assert (clusters[result.cmat == -1] == 0).all()
    assert (clusters[result.cmat > 0] >= 1).all()


def titles(panes):
    from bokeh.models import Plot

    return [next(iter(pn.panel(p).get_root().select({"type": Plot}))).title.text
            for p in panes]


def figures(page):
    from bokeh.models import GlyphRenderer, Plot

    root = pn.panel(page).get_root()
    return root, list(root.select({"type": Plot})), GlyphRenderer


def test_matrices_zoom_together_and_highlight_the_right_entries(ran):
    root, plots, GlyphRenderer = figures(ran)
    matrix_plots = [p for p in plots if "time j (s)" in str(p.x_range.tags)]
    assert len(matrix_plots) == 5
    # Panel links the axes of the five panes: one range object each for x and y
    assert len({id(p.x_range) for p in matrix_plots}) == 1
    assert len({id(p.y_range) for p in matrix_plots}) == 1
    # ... also for the layers of each overlay (matrix and highlight): their zoom stream
    # reads these handles, and with Panel's old ones a zoom elsewhere redrew the whole
    # matrix (dashboard.asset_page._sync_overlay_ranges)
    from holoviews.plotting.bokeh.element import ElementPlot

    layers = [sub for pane in ran._matrices[0].select(pn.pane.HoloViews)
              for sub in pane._plots[root.ref["id"]][0].traverse(specs=[ElementPlot])]
    assert len(layers) >= 15  # five overlays of two layers each
    assert {id(sub.handles["x_range"]) for sub in layers} == {id(matrix_plots[0].x_range)}
    assert {id(sub.handles["y_range"]) for sub in layers} == {id(matrix_plots[0].y_range)}
    # the highlight sits on the SSE's entries, off the diagonal (with two axes labelled
    # alike, HoloViews once drew it with y = x)
    k = ran.cluster
    rows, cols = np.nonzero(ran.result.cmat == k)
    sources = [r.data_source.data for r in root.select({"type": GlyphRenderer})
               if "time_i" in r.data_source.data]
    assert len(sources) == 5  # every matrix marks the highlighted SSE
    t0, dt = ran.result.t_start, ran.result.bin_size
    for source in sources:
        np.testing.assert_allclose(np.sort(source["time_i"]), np.sort(t0 + (rows + 0.5) * dt))
        assert np.all(source["time_i"] != source["time_j"])


def test_zoom_to_sse_and_close_ups(ran):
    result, k = ran.result, ran.cluster
    pane = ran._matrices[0]
    ran.zoom_to_sse = True
    assert ran._matrices[0] is not pane
    (x0, x1), (y0, y1) = sse_window(result, k)
    rows, cols = np.nonzero(np.tril(result.cmat == k))
    t = lambda b: result.t_start + b * result.bin_size  # noqa: E731
    assert x0 < t(cols.min()) and t(cols.max() + 1) < x1
    assert y0 < t(rows.min()) and t(rows.max() + 1) < y1
    # the close-ups show one occurrence of the SSE each (its j bins first, then its i bins),
    # with only that occurrence's highlight
    for title, bins in zip(titles(ran._closeups), [cols, rows]):
        assert f"at {t(bins.min()):.3f} s" in title
    first = sse_spikes(result, ran.asset.data, k,
                       (t(cols.min()) - 0.01, t(cols.max() + 1) + 0.01))
    assert len(first.get(0)) == 1
    assert (first.get(1)["time (s)"] <= t(cols.max() + 1) + 0.01).all()
    ran.zoom_to_sse = False
    assert sse_window(result, ran.cluster) is not None and ran._shown_matrices[1] is None


def test_parameters_are_widgets_and_times_show_in_ms(page):
    asset = page.asset
    bin_size = widget(page, asset.param.bin_size.label)
    assert bin_size.value == pytest.approx(asset.bin_size * 1e3)
    bin_size.value = 5.0
    assert asset.bin_size == pytest.approx(0.005)
    asset.kernel_width = 0.02
    assert widget(page, asset.param.kernel_width.label).value == pytest.approx(20.0)
    bin_size.value = 0.0  # the parameter refuses it: a message, the old value back
    assert asset.bin_size == pytest.approx(0.005) and bin_size.value == pytest.approx(5.0)
    assert page._status.visible and "Bin size" in page._status.object
    for name in ["filter_shape", "n_largest", "alpha_p", "alpha_j", "max_distance",
                 "min_neighbors", "stretch"]:
        w = widget(page, asset.param[name].label)
        assert w.value == getattr(asset, name)
    widget(page, asset.param.alpha_j.label).value = 0.95
    assert asset.alpha_j == 0.95


def test_alpha_change_recomputes_only_the_mask_and_after(ran):
    asset = ran.asset
    before = dict(asset.computations)
    old_result, matrices_pane = ran.result, ran._matrices[0]
    old_summary = ran._summary.object
    asset.alpha_j = 0.9999  # no event loop here: the rerun completes before this returns
    after = asset.computations
    for step in ["binned", "counts", "probabilities", "pmat", "jmat"]:
        assert after[step] == before[step], step
    for step in ["mask", "cmat", "sses"]:
        assert after[step] == before[step] + 1, step
    assert ran.result is not old_result and ran._summary.object != old_summary
    assert np.count_nonzero(ran.result.mask) < np.count_nonzero(old_result.mask)
    # same bins: the matrices redraw in place (the zoom stays) instead of a new layout
    assert ran._matrices[0] is matrices_pane
    assert not ran._stale.visible


def test_slow_parameter_change_waits_for_the_run_button(ran):
    before = dict(ran.asset.computations)
    ran.asset.kernel_width = 0.03
    assert ran._stale.visible and ran.asset.computations == before
    asyncio.run(ran._run())
    assert not ran._stale.visible
    assert ran.asset.computations["pmat"] == before["pmat"] + 1


def test_selecting_a_cluster_highlights_it(ran):
    result, table = ran.result, ran._table.value
    k = int(table["cluster"].iloc[-1])
    ran._table.selection = [len(table) - 1]  # a click on the table's last row
    assert ran.cluster == k and ran._cluster_select.value == k
    marks = cluster_marks(result, k)
    assert len(marks) == np.count_nonzero(result.cmat == k)  # both triangles
    spikes = sse_spikes(result, ran.asset.data, k)
    spans, points = spikes.get(0), spikes.get(1)
    assert len(spans) == 2 and len(points) > 0
    # every highlighted spike is in the SSE's time span, on a row of one of its neurons
    lo = min(spans.data["x0"])
    hi = max(spans.data["x1"])
    assert ((points["time (s)"] >= lo) & (points["time (s)"] <= hi)).all()
    neurons = set().union(*result.sses[k].values())
    rank_of = {int(u): r for r, u in enumerate(result.order)}
    assert {int(r) for r in points["unit"]} <= {rank_of[u] for u in neurons}
    ran._cluster_select.value = 0
    assert ran.cluster == 0 and ran._table.selection == []
    assert len(cluster_marks(result, 0)) == 0


@pytest.mark.parametrize("change, message", [
    (dict(filter_shape=(3, 5)), "filter_shape"),
    (dict(n_largest=500), "n_largest"),
])
def test_bad_parameters_give_one_line_errors(page, change, message):
    page.asset.param.update(**change)
    asyncio.run(page._run())
    assert page.result is None
    assert page._status.visible and message in page.session.message
    assert "\n" not in page._status.object and "Traceback" not in page._status.object
    assert not page.session.busy and not page._run_button.disabled


def test_too_short_data_and_too_many_bins_are_refused(page):
    page.session.data = simulate.poisson(n_units=10, t_stop=0.03, seed=1)
    asyncio.run(page._run())
    assert page._status.visible and "kernel_width" in page.session.message
    page.max_bins = 100
    page.session.data = simulate.poisson(n_units=10, t_stop=1.0, seed=1)
    asyncio.run(page._run())
    # not an error any more but an offer (below): nothing computed
    assert page._offer.visible and "at most 100 bins" in page.session.message
    assert page.result is None and not page.asset._cache


def test_new_data_clears_results_and_runs_on_the_new_data(ran):
    ran.asset.alpha_j = 0.999
    small = simulate.synfire_chain(n_units=60, n_groups=4, group_size=15, t_stop=1.5, seed=4)
    ran.session.data = small
    assert ran.result is None and ran.asset.data is small
    assert len(ran._matrices) == 0 and not ran._sse_box.visible
    assert ran.asset.alpha_j == 0.999  # settings stay
    asyncio.run(ran._run())
    assert ran.result is not None
    assert ran.result.imat.shape[0] == small.n_bins(ran.asset.bin_size)
    assert ran.result.order.size == 60
    ran.session.data = None
    assert ran.result is None and "No data" in ran._summary.object


def test_data_without_sses(page):
    page.session.data = simulate.poisson(n_units=40, rate=5.0, t_stop=1.0, seed=3)
    asyncio.run(page._run())
    assert not page._status.visible, page._status.object
    result = page.result
    assert len(page._table.value) == len(result.sses)
    if not result.sses:
        assert page.cluster == 0 and len(page._closeups) == 0
        assert "0 SSEs" in page._summary.object
        assert "ordering score" not in page._summary.object  # no ground truth here


def test_app_shows_the_asset_page():
    from dashboard.app import _make_page, page_names

    assert "ASSET" in page_names()
    session = Session(data=simulate.poisson(n_units=5, t_stop=1.0, seed=1))
    assert isinstance(_make_page("ASSET", session), AssetPage)


def test_hand_over_an_sse_s_neurons_and_its_time_span(ran):
    """Issue 15 item 3: from an ASSET SSE, its neurons or its time span, in one click."""
    from analysis.asset import sse_neurons

    session, result, cluster = ran.session, ran.result, ran.cluster
    whole = session.data
    neurons = whole.unit_ids[np.asarray(sse_neurons(result.sses[cluster]))].tolist()
    assert ran._sse_units.row.visible and ran._sse_span.row.visible
    assert f"its {len(neurons)} neurons" in ran._sse_units.row[0].object
    t0, t1 = ran._sse_span_s()
    ran._sse_units.target.value = "SPOTDis"
    pages = []
    session.param.watch(lambda e: pages.append(e.new), "page")
    ran._sse_units.button.clicks += 1
    assert session.data.unit_ids.tolist() == neurons and pages[-1] == "SPOTDis"
    assert re.search(rf"neurons of SSE {cluster} of ASSET run \d+ \(",
                     session.data.annotations["restriction"])
    assert ran.result is None  # new data: the page starts over
    session.restrict(whole)  # back (what "Whole recording" does)
    asyncio.run(ran._run())
    ran.cluster = cluster
    ran._sse_span.button.clicks += 1
    assert (session.data.t_start, session.data.t_stop) == pytest.approx((t0, t1))
    assert session.data.n_units == whole.n_units


def test_downloads_table_csv_parquet_and_the_result_that_reopens(ran, tmp_path):
    """Issue 15 item 5: each result's table as CSV or Parquet, and the whole result as the
    .npz the Python API reads back without recomputing."""
    import io

    import pandas as pd

    from analysis.results import load_result

    assert not ran._result_download.disabled
    assert ran._result_download.filename == "asset_sses.csv"
    csv = pd.read_csv(io.BytesIO(ran._download_bytes().getvalue()))
    assert csv["cluster"].tolist() == ran._table.value["cluster"].tolist()
    ran._download_kind.value = "Table (Parquet)"
    assert ran._result_download.filename == "asset_sses.parquet"
    parquet = pd.read_parquet(io.BytesIO(ran._download_bytes().getvalue()))
    assert parquet["units"].tolist() == ran._table.value["units"].tolist()
    ran._download_kind.value = "Result (.npz for Python)"
    path = tmp_path / ran._result_download.filename
    path.write_bytes(ran._download_bytes().getvalue())
    back = load_result(path)
    np.testing.assert_array_equal(back.mask, ran.result.mask)
    assert back.params == ran.result.params and back.sses.keys() == ran.result.sses.keys()


def test_a_restored_result_from_a_file_is_shown_not_recomputed(ran, tmp_path, chain):
    """A kept or opened ASSET result (tuples come back as lists from the file) takes its
    parameters without a rerun."""
    from analysis.results import load_result, save_result

    ran.asset.alpha_p = 0.95  # a cheap setting: reruns on the cached matrices
    path = tmp_path / "a.npz"
    save_result(ran.result, path)
    fresh = AssetPage(session=Session(data=chain, source="test chain"))

    async def restore_then_settle():
        assert fresh.restore(load_result(path))
        await asyncio.sleep(0.2)  # let any scheduled watcher run

    asyncio.run(restore_then_settle())
    assert fresh.state == "done" and fresh.asset.alpha_p == 0.95
    assert fresh.asset.filter_shape == tuple(ran.asset.filter_shape)
    assert not fresh.asset._cache  # nothing computed
    assert fresh._sse_box.visible and len(fresh._table.value) == len(ran.result.sses)


# ---------------------------------------------------------------------- issue 15, item 2
def plot_roots(page):
    """Bokeh models of the page's matrices and of its three rasters (the close-ups below
    them are new plots for each SSE), made once: the streams update them in place."""
    return [page._matrices[0].get_root(), page._rasters[0][1].get_root()]


def highlight_sources(roots):
    """The data of every highlight overlay in ``roots``: the marks on the matrices
    (columns time_i, time_j) and the SSE's spikes on the rasters (pink points)."""
    from bokeh.models import GlyphRenderer

    from dashboard.asset_views import HIGHLIGHT

    marks, spikes = [], []
    renderers = [r for root in roots for r in root.select({"type": GlyphRenderer})]
    for r in renderers:
        data = r.data_source.data
        if "time_i" in data:
            marks.append(data)
        elif "time (s)" in data and getattr(r.glyph, "fill_color", None) == HIGHLIGHT:
            spikes.append(data)
    return marks, spikes


def test_a_table_row_highlights_its_sse_everywhere_and_a_second_click_clears(ran):
    """Issue 15 item 2: a click on an SSE row marks its entries in every matrix and its
    neurons' spikes on every raster; a second click (no row selected) or Clear removes it;
    the plots are restyled through their streams, nothing is recomputed."""
    result, table = ran.result, ran._table.value
    assert len(table) >= 2
    root = plot_roots(ran)  # the plots as drawn, updated in place by the streams
    computations = dict(ran.asset.computations)
    k = int(table["cluster"].iloc[-1])
    ran._table.selection = [len(table) - 1]  # a click on the last row
    assert ran.cluster == k
    marks, spikes = highlight_sources(root)
    rows, cols = np.nonzero(result.cmat == k)
    t = lambda b: result.t_start + (b + 0.5) * result.bin_size  # noqa: E731
    assert len(marks) == 5
    for m in marks:
        np.testing.assert_allclose(np.sort(m["time_i"]), np.sort(t(rows)))
    # three rasters (original, ASSET, true order): the same spikes on each, on the rows of
    # the SSE's neurons in that raster's order
    assert len(spikes) == 3
    neurons = set().union(*result.sses[k].values())
    sizes = {len(s["time (s)"]) for s in spikes}
    assert len(sizes) == 1 and sizes.pop() > 0
    original = next(s for s in spikes if set(np.asarray(s["unit"]).astype(int)) <= neurons)
    assert set(np.asarray(original["unit"]).astype(int)) == neurons
    lo, hi = float(table["start j (s)"].iloc[-1]), float(table["end i (s)"].iloc[-1])
    assert ((original["time (s)"] >= lo) & (original["time (s)"] <= hi)).all()
    # a click on another row in the table's toggle mode adds it: the page moves the
    # selection there
    ran._table.selection = [len(table) - 1, 0]
    assert ran.cluster == int(table["cluster"].iloc[0]) and ran._table.selection == [0]
    ran._table.selection = [len(table) - 1]
    assert ran.cluster == k
    # the second click on the row deselects it: no highlight anywhere
    ran._table.selection = []
    assert ran.cluster == 0 and ran._cluster_select.value == 0
    marks, spikes = highlight_sources(root)
    assert all(len(m["time_i"]) == 0 for m in marks)
    assert all(len(s["time (s)"]) == 0 for s in spikes)
    assert not ran._closeups.objects
    # another row, then Clear highlight
    ran._table.selection = [0]
    assert ran.cluster == int(table["cluster"].iloc[0])
    assert all(len(m["time_i"]) > 0 for m in highlight_sources(root)[0])
    ran._clear_button.clicks += 1
    assert ran.cluster == 0 and ran._table.selection == []
    assert all(len(m["time_i"]) == 0 for m in highlight_sources(root)[0])
    assert ran.asset.computations == computations  # restyled, not recomputed


def test_a_rerun_keeps_the_selected_sse(ran):
    """Setting the table's rows (a cheap rerun) is not taken for a click that clears."""
    table = ran._table.value
    k = int(table["cluster"].iloc[-1])
    ran._table.selection = [len(table) - 1]
    ran.asset.max_distance = 12.0  # cheap: the clustering again, a new table
    assert ran.cluster == k


# ---------------------------------------------------------------------- issue 15, item 2
def test_too_many_bins_offers_tiles_and_a_window(page, chain):
    page.max_bins = 500  # the chain has 666 bins of 3 ms
    asyncio.run(page._run())
    assert page.result is None and not page.asset._cache and not page._status.visible
    assert page._offer.visible
    text = page._offer_text.object
    assert "666 bins" in text and "at most 500 bins" in text
    assert "larger bins or a shorter recording" in text  # the old advice stays
    assert page._offer_window.label == "Restrict to a window of 1.5 s"
    assert not page._offer_tiles.disabled and " MB." in text
    # a tiled run that would not fit the memory budget is not offered, and says why
    page.asset.memory_budget = 1e5
    asyncio.run(page._run())
    assert page._offer_tiles.disabled and "not possible here" in page._offer_text.object
    assert "memory budget" in page._offer_text.object


def test_run_in_tiles_from_the_offer_draws_the_tiled_result(page, chain):
    page.max_bins = 500
    asyncio.run(page._run())
    page._offer_tiles.clicks += 1  # the offer's button
    assert not page._status.visible, page._status.object
    r = page.result
    assert page.tiled and r is not None and r.imat is None and r.cmat is None
    assert r.data_summary["bins"] == 666 and not page._offer.visible
    assert "Tiled run" in page._summary.object and page._tiled_note.visible
    assert "significant entries" in page._summary.object
    # the same SSEs as the full run finds
    full = AssetPage(session=Session(data=chain))
    asyncio.run(full._run())
    assert {k: set(v) for k, v in r.sses.items()} == \
        {k: set(v) for k, v in full.result.sses.items()}
    # drawn: one plot of the significant entries (both triangles), the SSE table, rasters
    assert len(page._table.value) == len(r.sses) >= 1
    panes = page._matrices[0].select(pn.pane.HoloViews)
    assert len(panes) == 1
    assert titles(panes) == ["significant entries (tiled run)"]
    assert "Reading the plot" in page._matrices[0][-1].object
    points = entries_points(r)
    sig = r.significant
    assert len(points) == 2 * np.count_nonzero(sig["rows"] != sig["cols"]) + \
        np.count_nonzero(sig["rows"] == sig["cols"])
    clustered = points.dimension_values("cluster")
    assert np.count_nonzero(clustered > 0) == 2 * np.count_nonzero(sig["labels"] > 0)
    assert titles(page._rasters[0][1])[:2] == ["original order", "ASSET order"]
    # the highlight marks the SSE's entries on the entries plot as on the matrices
    marks, spikes = highlight_sources(plot_roots(page))
    k = page.cluster
    assert k in r.sses and len(marks) == 1
    assert len(marks[0]["time_i"]) == 2 * len(r.sses[k]) and len(spikes) == 3
    assert len(page._closeups) == 2


def test_the_tiled_run_is_a_choice_and_new_alphas_wait_for_run(page, tmp_path):
    widget(page, "Run in row tiles (large recordings)").value = True
    assert page.tiled
    asyncio.run(page._run())
    assert page.result.cmat is None and "Tiled run" in page._summary.object
    before = dict(page.asset.computations)
    old = page.result
    page.asset.min_neighbors = 8  # clustering only: reruns at once on the kept entries
    assert page.result is not old and not page._stale.visible
    assert page.asset.computations == before  # no tile computed again
    page.asset.alpha_j = 0.999  # the tiles hold no matrices: this needs the Run button
    assert page._stale.visible and page.asset.computations == before
    page.asset.min_neighbors = 9  # ... and so does all else until then
    assert page._stale.visible and page.asset.computations == before
    asyncio.run(page._run())
    assert page.asset.computations["significant"] == before["significant"] + 1
    assert not page._stale.visible
    page.tiled = False  # back to full matrices: the result shown is stale
    assert page._stale.visible
    # a tiled result saved and opened again shows as tiled, without computing
    from analysis.results import load_result, save_result

    save_result(page.result, tmp_path / "tiled.npz")
    fresh = AssetPage(session=Session(data=page.session.data))
    assert fresh.restore(load_result(tmp_path / "tiled.npz"))
    assert fresh.tiled and not fresh.asset._cache and not fresh._stale.visible
    assert titles(fresh._matrices[0].select(pn.pane.HoloViews)) == [
        "significant entries (tiled run)"]


def test_restrict_from_the_offer_runs_on_a_window_that_fits(page, chain):
    page.max_bins = 500
    asyncio.run(page._run())
    window = page._offer_window_s
    page._offer_window.clicks += 1
    data = page.session.data
    assert data is not chain and page.session.whole is chain  # Whole recording goes back
    assert data.n_bins(page.asset.bin_size) <= 500
    assert (data.t_start, data.t_stop) == pytest.approx(window)
    assert data.annotations["restriction"] == "time 0-1.5 s"
    r = page.result
    assert r is not None and r.imat.shape == (500, 500) and not page.tiled
    assert "Restricted recording: time 0-1.5 s" in page._summary.object
    assert not page._offer.visible


# ---------------------------------------------------------------------- drawing costs
def test_matrix_images_are_float32_with_the_exact_values(ran):
    r = ran.result
    for name in ("imat", "pmat", "jmat", "mask", "cmat"):
        values = matrix_image(name, r).dimension_values(2, flat=False)
        assert values.dtype == np.float32, name  # half the bytes of float64 to send
    np.testing.assert_array_equal(matrix_image("imat", r).dimension_values(2, flat=False),
                                  r.imat)
    np.testing.assert_allclose(matrix_image("pmat", r).dimension_values(2, flat=False),
                               r.pmat, rtol=1e-7, atol=1e-7)
    mask = matrix_image("mask", r).dimension_values(2, flat=False)
    assert (mask[r.mask] == 1).all() and np.isnan(mask[~r.mask]).all()
    # the colour scale of the intersection matrix leaves out its diagonal
    off = r.imat[~np.eye(*r.imat.shape, dtype=bool)]
    assert matrix_image("imat", r).vdims[0].range == (0, float(off.max()))
    # nothing off the diagonal: the scale still has a top
    diagonal = dataclasses.replace(r, imat=np.diag(np.arange(1, r.imat.shape[0] + 1)))
    assert matrix_image("imat", diagonal).vdims[0].range == (0, 1.0)


def test_close_ups_draw_their_few_spikes_as_points(ran, monkeypatch):
    from dashboard import asset_views

    data, r, k = ran.asset.data, ran.result, ran.cluster
    shown = [pane.object for pane in ran._closeups]
    assert len(shown) == 2
    for overlay in shown:
        base = overlay.get(0)
        assert isinstance(base, hv.Points) and not isinstance(base, hv.DynamicMap)
        assert 0 < len(base) <= asset_views.CLOSEUP_POINTS_MAX
    # the first close-up holds every spike of its window, in ASSET's order
    (lo, hi) = shown[0].get(0).opts.get().kwargs["xlim"]
    window = data.time_slice(lo, hi)
    assert len(shown[0].get(0)) == window.n_spikes
    # a window with many spikes is datashaded as the whole rasters are
    monkeypatch.setattr(asset_views, "CLOSEUP_POINTS_MAX", 0)
    for overlay in asset_views.closeups(r, data, k):
        assert isinstance(overlay, hv.DynamicMap)  # rasterized on each zoom


def test_a_new_highlight_redraws_the_marks_not_the_matrices(ran, monkeypatch):
    from dashboard import asset_views

    assert ran.cluster  # the largest SSE is highlighted after the run
    drawn = []
    real = asset_views.matrix_image
    monkeypatch.setattr(asset_views, "matrix_image",
                        lambda name, result: drawn.append(name) or real(name, result))
    grid = ran._matrices[0]
    for pane in grid.select(pn.pane.HoloViews):  # the plots exist, as in a session
        pane.get_root()
    drawn.clear()
    ran.cluster = 0  # Clear highlight
    assert ran._matrices[0] is grid  # the same plots ...
    assert ran._matrix_marks.data[0] is ran.result  # ... with new marks
    assert ran._matrix_marks.data[1] == 0
    assert drawn == []  # and the five matrices were not made again
    # a cheap rerun (new result) does redraw them
    ran.asset.alpha_j = 0.9999
    assert ran._matrix_stream.data is ran.result and len(drawn) >= 5


def test_a_result_is_shown_in_one_document_update(chain, monkeypatch):
    from bokeh.document import Document, models

    page = AssetPage(session=Session(data=chain, source="test chain"))
    doc = Document()
    doc.add_root(pn.panel(page).get_root(doc))
    recomputed = []
    real = models.DocumentModelManager.recompute
    monkeypatch.setattr(models.DocumentModelManager, "recompute",
                        lambda self: recomputed.append(1) or real(self))
    shown = page._show_result
    counts = {}

    def show():
        recomputed.clear()
        shown()
        counts["recomputes"] = len(recomputed)
    page._show_result = show
    monkeypatch.setattr(pn.state, "curdoc", doc)
    asyncio.run(page._run())
    assert page.result is not None and len(page._closeups) == 2
    # matrices, rasters and close-ups changed, and Bokeh walked its models once
    assert counts["recomputes"] == 1
