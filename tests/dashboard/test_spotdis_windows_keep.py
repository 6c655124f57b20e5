"""Sliding-window results that last: in the report (band, legend, sequences, parameters)
and kept with the session's work (a reload shows them without recomputing)."""

import asyncio
import html
import json
import re

import holoviews as hv
import numpy as np
import pytest

from analysis import simulate
from dashboard.report import build_report, report_html, sections_from_pages
from dashboard.spotdis_page import WINDOWS_KEY, SpotDisPage
from dashboard.state import Session
from dashboard.work import WorkStore

hv.extension("bokeh", logo=False)


@pytest.fixture(scope="module")
def recording():
    return simulate.embedded_sequences(n_units=20, occurrences=12, t_stop=40.0, seed=2)


def _shown(page_html):
    """The strings of the report's Bokeh documents, unescaped (Markdown is HTML in JSON)."""
    out = []

    def walk(x):
        if isinstance(x, str):
            out.append(x)
        elif isinstance(x, (list, dict)):
            for v in (x.values() if isinstance(x, dict) else x):
                walk(v)
    for blob in re.findall(r'<script type="application/json"[^>]*>(.*?)</script>',
                           page_html, re.DOTALL):
        walk(json.loads(blob))
    text = "\n".join(out)
    for _ in range(3):
        text = html.unescape(text)
    return text


def _windows_page(session, work=None, kept=None):
    page = SpotDisPage(session=session)
    page.clust.param.update(dissimilarity="spikeship", min_cluster_size=5)
    page._slide_length.value, page._slide_step.value = 200.0, 50.0
    page._slide_active.value = 10
    if work is not None:
        page.keep_work(work, kept)
    return page


@pytest.fixture(scope="module")
def ran(recording):
    page = _windows_page(Session(data=recording, source="embedded"))
    asyncio.run(page._run_windows())
    assert page.state == "done", page._status.object
    assert page._windows_result.sequences
    return page


def test_report_shows_the_sliding_windows(ran, recording):
    r = ran._windows_result
    # no clusters were run: the page's only section is the windows'
    sections = sections_from_pages({"SPOTDis": ran})
    assert [type(s.result).__name__ for s in sections] == ["SlidingWindowsResult"]
    text = _shown(report_html(recording, "embedded", sections))
    assert "Sliding windows over the whole recording" in text
    assert re.search(r"windows of (<strong>|\*\*)200 ms(</strong>|\*\*) every "
                     r"(<strong>|\*\*)50 ms", text)
    assert "dissimilarity <strong>SpikeShip</strong>" in text or \
        "dissimilarity **SpikeShip**" in text
    assert f"fewest active units {r.params['min_active']}" in text
    for k in r.sequences:   # the legend names each pattern with its windows; its sequence
        n = int(np.sum(r.labels == k))
        assert f"pattern {k}" in text and f"{n} windows" in text
        assert f"pattern {k}: sequence from mean flows" in text
    # the parameters table, described from SlidingWindows
    assert "Time between the starts of consecutive windows" in text
    assert "Parameters of the sliding windows" in text


def test_report_with_clusters_and_windows_has_both(ran, recording):
    page = SpotDisPage(session=Session(data=simulate.spot_patterns(
        n_patterns=2, epochs_per_pattern=10, n_noise_epochs=10, n_units=15, seed=3)))
    page.clust.min_cluster_size = 5
    asyncio.run(page._run())
    assert page.state == "done"
    page._windows_result, page._windows_data = ran._windows_result, recording
    kinds = [type(s.result).__name__ for s in sections_from_pages({"SPOTDis": page})]
    assert kinds == ["SpotDisClustResult", "SlidingWindowsResult"]
    build_report(recording, "x", sections_from_pages({"SPOTDis": page}))


def test_work_keeps_the_windows_and_a_reload_shows_them(ran, recording, tmp_path):
    store = WorkStore(tmp_path)
    work, secret = store.new()
    session = Session(data=recording, source="embedded")
    page = _windows_page(session, work)
    asyncio.run(page._run_windows())
    assert page.state == "done", page._status.object
    work.flush()
    kept = store.open(work.token, secret).load()
    assert list(kept["extras"]) == [WINDOWS_KEY] and kept["results"] == {}
    again = _windows_page(Session(data=recording, source="embedded"), work, kept)
    r, back = page._windows_result, again._windows_result
    assert back is not None and back is not r and WINDOWS_KEY not in kept["extras"]
    assert np.array_equal(back.labels, r.labels) and np.array_equal(back.start, r.start)
    assert sorted(back.sequences) == sorted(r.sequences)
    assert again.windows.computations == {} or sum(again.windows.computations.values()) == 0
    assert again._windows_box.visible and len(again._windows_course) == 2
    assert "Band:" in again._windows_course[1].object
    assert again._windows_summary.object == page._windows_summary.object
    # kept for another recording: not shown
    kept = store.open(work.token, secret).load()
    other = simulate.embedded_sequences(n_units=20, occurrences=12, t_stop=40.0, seed=9)
    third = _windows_page(Session(data=other, source="other"), work, kept)
    assert third._windows_result is None and not third._windows_box.visible


def _same_windows(back, r):
    assert back is not None and back is not r
    assert np.array_equal(back.labels, r.labels) and np.array_equal(back.start, r.start)
    assert sorted(back.sequences) == sorted(r.sequences)
    for k in r.sequences:
        assert np.array_equal(back.sequences[k].value, r.sequences[k].value, equal_nan=True)


def test_save_work_holds_the_windows_and_open_work_shows_them_without_computing(
        ran, recording, tmp_path):
    """Issue 16 leftover: **Save work** after a sliding-windows run holds the windows;
    opening the file in a new session shows the same band and sequences, nothing run."""
    from dashboard.inline import open_work
    from dashboard.work import read_work_file, show_results, write_work_file

    r = ran._windows_result
    assert list(ran.work_results()) == [WINDOWS_KEY]
    content = write_work_file(recording, "embedded", {**ran.work_results()})
    opened = read_work_file(content, "w.spikelens", 10**9, ["asset", "assembly", "spotdis"])
    assert list(opened["results"]) == [WINDOWS_KEY]

    # the app's way: a new session, its SPOTDis page built, the results shown on it
    session = Session()
    session.load(opened["data"], opened["source"])
    store = WorkStore(tmp_path / "store")
    work, secret = store.new()
    again = SpotDisPage(session=session)
    again.keep_work(work, None)
    assert show_results(opened["results"], lambda key: again if key == "spotdis" else None) \
        == [WINDOWS_KEY]
    _same_windows(again._windows_result, r)
    assert sum(again.windows.computations.values()) == 0
    assert sum(again.windows.clust.computations.values()) == 0
    assert again._windows_box.visible and "Band:" in again._windows_course[1].object
    assert again._windows_summary.object == ran._windows_summary.object
    assert sorted(again._pattern_select.options.values()) == sorted(r.sequences)
    hv.render(again._windows_course[0].object)
    # kept with the new session's work too: a reload of it shows them again
    work.flush()
    kept = store.open(work.token, secret).load()
    assert list(kept["extras"]) == [WINDOWS_KEY]

    # a notebook's way (dashboard.inline.open_work): the same
    path = tmp_path / "w.spikelens"
    path.write_bytes(content)
    pages = open_work(path)
    assert list(pages) == ["Data", "SPOTDis"]
    _same_windows(pages["SPOTDis"]._windows_result, r)
    assert sum(pages["SPOTDis"].windows.computations.values()) == 0


def test_a_work_file_with_another_kind_under_the_windows_key_is_refused(ran, recording):
    from analysis.errors import SpikeDataError
    from analysis.spotdis import SpotDisClust
    from dashboard.work import read_work_file, write_work_file

    clusters = SpotDisClust(data=simulate.spot_patterns(
        n_patterns=2, epochs_per_pattern=6, n_noise_epochs=4, n_units=8, seed=3),
        min_cluster_size=4).run()
    content = write_work_file(recording, "embedded", {WINDOWS_KEY: clusters})
    with pytest.raises(SpikeDataError) as info:
        read_work_file(content, "w.spikelens", 10**9, ["spotdis"])
    text = str(info.value)
    assert text.startswith("w.spikelens: ") and "\n" not in text
    assert f"result-{WINDOWS_KEY}.npz holds a SpotDisClustResult, not a " \
           "SlidingWindowsResult" in text
    # without the SPOTDis method asked for, the windows' entry is not allowed at all
    content = write_work_file(recording, "embedded", ran.work_results())
    with pytest.raises(SpikeDataError, match="unexpected entry"):
        read_work_file(content, "w.spikelens", 10**9, ["assembly"])


def test_kept_windows_put_their_settings_in_the_sidebar(ran, recording, tmp_path):
    """Issue 16 leftover: a reload of a session whose sliding windows used SpikeShip showed
    "SPOTDis" in the dissimilarity selector (and the default window settings): the kept
    result's settings are shown."""
    r = ran._windows_result
    assert r.params["dissimilarity"] == "spikeship"
    store = WorkStore(tmp_path)
    work, secret = store.new()
    work.save_result(WINDOWS_KEY, r)
    work.flush()
    kept = store.open(work.token, secret).load()
    page = SpotDisPage(session=Session(data=recording, source="embedded"))
    assert page.clust.dissimilarity == "spotdis" and page.windows.min_active == 2
    page.keep_work(work, kept)
    assert page._windows_result is not None
    assert page.clust.dissimilarity == "spikeship"
    assert page.clust.min_cluster_size == r.params["min_cluster_size"] == 5
    assert page.windows.min_active == r.params["min_active"] == 10
    assert page._slide_active.value == 10
    assert page._slide_length.value == pytest.approx(200.0)
    assert page._slide_step.value == pytest.approx(50.0)
    assert not page._stale.visible
    # clusters shown that were computed with SPOTDis keep theirs in the sidebar
    patterns = simulate.spot_patterns(n_patterns=2, epochs_per_pattern=10, n_noise_epochs=10,
                                      n_units=15, seed=3)
    other = SpotDisPage(session=Session(data=recording, source="embedded"))
    other.clust.param.update(min_cluster_size=5)
    from analysis.spotdis import SpotDisClust
    clusters = SpotDisClust(data=patterns, min_cluster_size=5).run()
    other.result = clusters
    other.restore_extra(WINDOWS_KEY, r)
    assert other._windows_result is r and other.clust.dissimilarity == "spotdis"
    assert other.windows.min_active == 10
