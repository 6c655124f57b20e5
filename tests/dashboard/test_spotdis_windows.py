"""The SPOTDis page's sliding windows and SpikeShip flows, without a browser: the views
(band, sequence, flows) and the page's wiring (controls -> SlidingWindows -> views)."""

import asyncio
import html

import holoviews as hv
import numpy as np
import pytest

from analysis import simulate
from analysis.spotdis import SlidingWindows, neuron_flows
from dashboard.spotdis_page import WINDOW_LENGTH_LABEL, WINDOW_STEP_LABEL, SpotDisPage
from dashboard.spotdis_views import (NOISE_COLOUR, band_legend, band_rows, colour_of, flows_plot,
                                     label_band,
                                     lead_lag_plot, sequence_plot, window_course_plot,
                                     windows_text)
from dashboard.state import Session

hv.extension("bokeh", logo=False)


@pytest.fixture(scope="module")
def recording():
    return simulate.embedded_sequences(seed=1)


@pytest.fixture(scope="module")
def result(recording):
    return SlidingWindows(data=recording, length=0.2, step=0.05, min_active=15,
                          dissimilarity="spikeship").run()


# ---------------------------------------------------------------------- views
def test_label_band_spans_follow_the_time_course(result):
    band = label_band(result)
    seg = result.segments()
    assert len(band) == len(seg)
    x0 = band.dimension_values("time (s)")
    x1 = band.dimension_values("x1")
    assert np.allclose(x0, seg["start"]) and np.allclose(x1, seg["stop"])
    colours = band.dimension_values("colour")
    names = band.dimension_values("pattern")
    for lab, c, n in zip(seg["label"], colours, names):
        assert c == colour_of(lab)
        assert n == ("no pattern" if lab < 0 else f"pattern {lab}")
    assert NOISE_COLOUR in set(colours) and len(set(colours)) == 4
    hv.render(band)


def test_band_patterns_sit_on_the_embedded_occurrences(recording, result):
    iv = simulate.pattern_intervals(recording)
    seg = result.segments()
    spans = seg[seg["label"] >= 0]
    assert len(spans) >= 0.8 * len(iv)
    hits = 0
    for row in spans.itertuples():
        over = iv[(iv["start"] < row.stop) & (iv["stop"] > row.start)]
        hits += len(over) == 1
    assert hits >= 0.9 * len(spans)


def test_course_plot_puts_the_band_under_the_raster(recording, result):
    plot = window_course_plot(recording, result, dynamic=False)
    assert isinstance(plot, hv.Overlay) and len(plot) == 2
    band = plot.get(1)
    lo, hi = band_rows(recording.n_units)
    assert hi < 0 and lo <= hi - 2      # below unit 0, at least two rows high
    assert np.allclose(band.dimension_values("unit"), lo)
    assert np.allclose(band.dimension_values("y1"), hi)
    assert plot.opts.get().kwargs["ylim"] == (lo - 0.5, recording.n_units - 0.5)
    hv.render(plot)


def test_sequence_and_flows_bars_lead_to_lag(recording, result):
    s = result.sequences[0]
    bars = sequence_plot(s)
    values = bars.dimension_values("value")
    assert np.all(np.diff(values) >= 0)            # leading (negative) first
    assert np.allclose(values, np.sort(s.value[np.isfinite(s.value)]) * 1e3)
    assert list(bars.dimension_values("neuron")) == \
        [str(u) for u in s.unit_ids[s.order()[:values.size]]]
    hv.render(bars)
    windowed = SlidingWindows(data=recording, length=0.2, step=0.05,
                              min_active=15).windowed()
    fl = neuron_flows(windowed, [0, 1, 2], [3, 4, 5])
    fb = flows_plot(fl)
    assert len(fb) == int(np.sum((fl.n_pairs > 0) & np.isfinite(fl.mean_flow)))
    side = fb.dimension_values("side")
    assert set(side) <= {"leads", "lags"}
    assert all((v < 0) == (sd == "leads") for v, sd in zip(fb.dimension_values("value"), side))
    hv.render(fb)
    empty = lead_lag_plot(["a", "b"], [np.nan, np.nan], [0, 0], "delay")
    assert len(empty) == 0


def test_band_legend_names_every_colour(result):
    text = band_legend(result)
    for lab in sorted(result.sequences):
        n = int(np.sum(result.labels == lab))
        assert f'color:{colour_of(lab)}">&#9632;</span> pattern {lab} ({n} windows)' in text
    assert f'color:{NOISE_COLOUR}">&#9632;</span> no pattern' in text


def test_windows_text(result):
    text = windows_text(result)
    assert f"**{result.scores['n_clusters']} patterns**" in text
    assert "ARI against the embedded times" in text and "SpikeShip" in text


# ---------------------------------------------------------------------- page
def test_page_runs_sliding_windows_with_its_settings(recording):
    page = SpotDisPage(session=Session(data=recording, source="embedded"))
    assert not page._windows_box.visible
    assert page._slide_length.name == WINDOW_LENGTH_LABEL
    page.clust.dissimilarity = "spikeship"
    page.clust.min_cluster_size = 8
    page._slide_length.value = 200.0
    page._slide_step.value = 50.0
    page._slide_active.value = 15
    asyncio.run(page._run_windows())
    assert page.state == "done", page._status.object
    w = page.windows
    assert (w.length, w.step, w.min_active) == (0.2, 0.05, 15)
    assert w.dissimilarity == "spikeship" and w.min_cluster_size == 8
    r = page._windows_result
    assert r.scores["ari"] >= 0.9
    assert page._windows_box.visible and len(page._windows_course) == 2
    assert "Band:" in page._windows_course[1].object
    assert sorted(page._pattern_select.options.values()) == sorted(r.sequences)
    assert len(page._windows_sequence) == 1
    assert "patterns**" in page._windows_summary.object
    # another pattern redraws the sequence
    before = page._windows_sequence[0]
    page._pattern_select.value = sorted(r.sequences)[-1]
    assert page._windows_sequence[0] is not before
    # new data: the windows' result goes
    page.session.data = simulate.embedded_sequences(seed=2)
    assert not page._windows_box.visible and page._windows_result is None


@pytest.mark.parametrize("field, value, message", [
    ("_slide_length", 0.0, f"Sliding windows: {WINDOW_LENGTH_LABEL}: must be > 0 ms"),
    ("_slide_step", None, f"Sliding windows: {WINDOW_STEP_LABEL}: must be > 0 ms"),
    ("_slide_length", 500000.0, "Sliding windows: length: a window of 500 s is longer"),
])
def test_page_window_errors_name_the_field(recording, field, value, message):
    page = SpotDisPage(session=Session(data=recording, source="embedded"))
    getattr(page, field).value = value
    asyncio.run(page._run_windows())
    assert page.state == "failed"
    assert message in html.unescape(page._status.object).replace("\\", "")
    assert not page._windows_box.visible


def test_spikeship_result_shows_the_flows_of_the_selected_cluster():
    data = simulate.spot_patterns(n_patterns=2, epochs_per_pattern=12, n_noise_epochs=10,
                                  n_units=15, seed=3)
    page = SpotDisPage(session=Session(data=data, source="test"))
    page.clust.dissimilarity = "spikeship"
    page.clust.min_cluster_size = 8
    asyncio.run(page._run())
    assert page.state == "done", page._status.object
    assert page.cluster is not None and page.cluster >= 0
    assert len(page._flows_view) == 1
    bars = page._flows_view[0].object
    assert "SpikeShip flows" in bars.opts.get().kwargs["title"]
    # SPOTDis results have no flows view
    page.clust.dissimilarity = "spotdis"
    asyncio.run(page._run())
    assert len(page._flows_view) == 0
