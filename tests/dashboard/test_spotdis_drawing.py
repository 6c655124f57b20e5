"""What the SPOTDis page sends after a run (issue 15 item 6): each view drawn once and
already showing the first cluster, on a 2-D canvas, small images as they are."""

import asyncio

import holoviews as hv
import numpy as np
import panel as pn
import pytest
from bokeh.document import Document
from bokeh.models import Plot

import dashboard.spotdis_views as views
from analysis import simulate
from dashboard import spotdis_page
from dashboard.spotdis_page import SpotDisPage
from dashboard.state import Session

hv.extension("bokeh", logo=False)


@pytest.fixture(scope="module")
def patterns():
    return simulate.spot_patterns(n_patterns=3, epochs_per_pattern=12, n_noise_epochs=18,
                                  n_units=20, seed=1)


@pytest.fixture(scope="module")
def result(patterns):
    page = SpotDisPage(session=Session(data=patterns, source="test patterns"))
    page.clust.min_cluster_size = 8
    asyncio.run(page._run())
    assert page.state == "done", page._status.object
    return page.result, page._result_data


def _counting(monkeypatch, name):
    calls = []
    real = getattr(spotdis_page, name)

    def counted(*args, **kwargs):
        calls.append(args)
        return real(*args, **kwargs)

    monkeypatch.setattr(spotdis_page, name, counted)
    return calls


def test_a_result_draws_each_view_once_with_the_first_cluster(result, patterns,
                                                              monkeypatch):
    r, data = result
    page = SpotDisPage(session=Session(data=patterns, source="test patterns"))
    doc = Document()
    doc.add_root(pn.panel(page).get_root(doc))
    counts = {name: _counting(monkeypatch, name) for name in
              ("epochs_raster", "xcorr_plot", "dissimilarity_plot", "map_points",
               "cluster_table", "epoch_table")}
    page._show_result(r, data)
    assert {name: len(c) for name, c in counts.items()} == dict.fromkeys(counts, 1)
    first = int(r.labels[r.labels >= 0].min())
    members = np.flatnonzero(r.labels == first).tolist()
    assert page.cluster == first and page.highlight == members
    # the overlays start from the highlight (no second message to draw it)
    assert page._matrix_pipe.data == members and page._map_pipe.data == members
    assert page._epoch_rows.selection == members
    # the raster drawn is the first cluster's epochs
    assert list(counts["epochs_raster"][0][1]) == members
    # the results are back in the layout, shown
    assert page._results_slot.objects == [page._results] and page._results.visible


def test_a_second_result_replaces_the_first_without_touching_its_overlays(result,
                                                                          patterns):
    r, data = result
    page = SpotDisPage(session=Session(data=patterns, source="test patterns"))
    page._show_result(r, data)
    old_map, old_matrix = page._map_pipe, page._matrix_pipe
    sent = []
    old_map.add_subscriber(lambda **kw: sent.append(kw))
    page._show_result(r, data)
    assert page._map_pipe is not old_map and page._matrix_pipe is not old_matrix
    assert sent == []


def test_the_page_s_plots_draw_on_a_canvas(result, patterns):
    r, data = result
    page = SpotDisPage(session=Session(data=patterns, source="test patterns"))
    doc = Document()
    doc.add_root(pn.panel(page).get_root(doc))
    page._show_result(r, data)
    plots = [m for m in doc.models if isinstance(m, Plot)]
    assert len(plots) >= 4   # matrix, map, raster, delays
    assert {p.output_backend for p in plots} == {"canvas"}


def _image_of(plot):
    """The bokeh image data of a rendered HoloViews object (its first image glyph)."""
    state = hv.renderer("bokeh").get_plot(plot).state
    sources = [m for m in state.references() if type(m).__name__ == "ColumnDataSource"
               and "image" in m.data]
    return sources[0].data["image"][0]


def test_a_small_matrix_is_sent_as_it_is_in_float32_a_large_one_rasterized():
    rng = np.random.default_rng(0)
    for m, rasterized in ((40, False), (views.MATRIX_PIXELS + 10, True)):
        matrix = rng.random((m, m))
        matrix = (matrix + matrix.T) / 2
        labels = rng.integers(-1, 3, m)
        plot = views.matrix_plot(matrix, labels, dynamic=False)
        image = _image_of(plot)
        if rasterized:
            assert max(image.shape) <= views.MATRIX_PIXELS
        else:
            order = views.cluster_order(labels)
            assert image.dtype == np.float32 and image.shape == (m, m)
            # the sorted matrix itself, as float32 (rows may be flipped for the y axis)
            want = matrix[np.ix_(order, order)].astype(np.float32)
            assert np.array_equal(image, want) or np.array_equal(image, want[::-1])


def test_a_small_delay_image_is_not_rasterized(patterns, monkeypatch):
    epochs = np.arange(12)
    small = views.xcorr_plot(patterns, epochs, 0)
    assert isinstance(small, hv.Image)   # not a DynamicMap fed by the plot's ranges
    monkeypatch.setattr(views, "XCORR_PIXELS", 5)
    large = views.xcorr_plot(patterns, epochs, 0)
    assert isinstance(large, hv.DynamicMap)
