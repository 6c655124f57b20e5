"""The Data page's Restrict card (issue 15, item 2): a window brushed on the raster, units
or epochs named by an earlier result (with the same provenance as a hand-over), and the whole
recording kept beside a restriction so that **Whole recording** works after a reload."""

import asyncio
import dataclasses
import os

import holoviews as hv
import numpy as np
import pytest

from analysis import simulate
from analysis.restrict import restrict, restriction_of
from dashboard.data_page import NO_RESULT, DataPage
from dashboard.handover import cluster_epochs, result_choices
from dashboard.state import Session
from dashboard.work import WorkStore

hv.extension("bokeh", logo=False)  # the app does this; the page's views need it


@pytest.fixture
def recording():
    return simulate.poisson(n_units=12, rate=5.0, t_stop=10.0, seed=4)


# ---------------------------------------------------------------------- brushed window
def test_a_brushed_window_fills_the_fields_and_restricts(recording):
    session = Session(data=recording, source="rec")
    page = DataPage(session=session)
    # the stream is the one on the raster the page shows
    plot = hv.renderer("bokeh").get_plot(page._plots[0].object)
    assert "BoxSelectTool" in [type(t).__name__ for t in plot.state.toolbar.tools]
    assert page._restrict_card.collapsed
    page._brush.event(boundsx=(6.12345, 2.5))  # dragged right to left
    assert (page._window_from.value, page._window_to.value) == (2.5, 6.123)
    assert not page._restrict_card.collapsed
    assert (page._window_band.start, page._window_band.end) == (2.5, 6.123)
    asyncio.run(page._on_restrict())
    assert page.state == "done", page._status.object
    assert (session.data.t_start, session.data.t_stop) == (2.5, 6.123)
    assert "time 2.5-6.123 s" in restriction_of(session.data)
    # brushed on the restricted raster, beyond the recording: clipped to the whole one
    page._brush.event(boundsx=(-3.0, 4.0))
    assert (page._window_from.value, page._window_to.value) == (0.0, 4.0)
    page._brush.event(boundsx=(8.0, 40.0))
    assert (page._window_from.value, page._window_to.value) == (8.0, 10.0)
    # a brush entirely outside the recording changes nothing
    page._brush.event(boundsx=(20.0, 30.0))
    assert (page._window_from.value, page._window_to.value) == (8.0, 10.0)


def test_typed_window_shows_as_the_band(recording):
    page = DataPage(session=Session(data=recording, source="rec"))
    assert page._window_band.start is None
    page._window_from.value = 3.0
    assert (page._window_band.start, page._window_band.end) == (3.0, recording.t_stop)
    page._window_from.value = None
    assert page._window_band.start is None


# ---------------------------------------------------------------------- from a result
@pytest.fixture(scope="module")
def assembly_run():
    from dashboard.assembly_page import AssemblyPage

    data = simulate.sip(n_units=40, assembly_size=6, t_stop=10, seed=1)
    session = Session(data=data, source="test sip")
    page = AssemblyPage(session=session)
    page.detector.param.update(n_surrogates=200, seed=1)
    asyncio.run(page._run())
    assert page.state == "done", page._status.object
    return session, page


def test_units_of_the_assembly_run_restrict_as_the_hand_over_does(assembly_run):
    session, assembly = assembly_run
    full = session.data
    table = assembly.result.table
    significant = set(table.loc[table["significant"].astype(bool), "unit"].astype(str))
    assert 0 < len(significant) < full.n_units
    # the page's hand-over, for reference
    assembly._analyse_units("ASSET")
    handed = session.data
    session.page = ""
    data_page = DataPage(session=session)
    asyncio.run(data_page._on_whole_recording())
    assert session.data is full
    # the Data page offers the run's significant units
    assert "assembly" in session.results
    options = data_page._from_result.options
    text = next(t for t, k in options.items() if k == "assembly")
    assert text.startswith(f"{len(significant)} significant units of assembly run 1 (")
    assert not data_page._from_result_text.visible
    data_page._from_result.value = "assembly"
    assert data_page._from_result_text.visible and text in data_page._from_result_text.object
    asyncio.run(data_page._on_restrict())
    assert data_page.state == "done", data_page._status.object
    assert set(session.data.unit_ids.astype(str)) == significant
    assert restriction_of(session.data) == restriction_of(handed)
    assert f"{len(significant)} of {full.n_units} units ({text})" in \
        data_page._restriction_text.object
    # with a window too; typed unit ids as well are refused, in one line
    data_page._window_from.value, data_page._window_to.value = 1.0, 4.0
    asyncio.run(data_page._on_restrict())
    assert (session.data.t_start, session.data.t_stop) == (1.0, 4.0)
    assert set(session.data.unit_ids.astype(str)) == significant
    data_page._units_text.value = "0-3"
    asyncio.run(data_page._on_restrict())
    assert "units from a result, not both" in data_page._status.object
    assert (session.data.t_start, session.data.t_stop) == (1.0, 4.0)
    # restricting kept the results; a new recording drops them
    assert "assembly" in session.results
    session.load(simulate.poisson(n_units=5, t_stop=2.0, seed=3), "other")
    assert session.results == {}
    assert list(data_page._from_result.options) == [NO_RESULT]
    assert data_page._from_result.value == "" and not data_page._from_result_text.visible


def test_each_sse_offers_its_neurons():
    from analysis.asset import sse_neurons
    from dashboard.asset_page import AssetPage

    chain = simulate.synfire_chain(n_units=120, n_groups=6, group_size=20, t_stop=2.0,
                                   seed=1)
    session = Session(data=chain, source="chain")
    asset = AssetPage(session=session)
    asyncio.run(asset._run())
    sses = {k: v for k, v in asset.result.sses.items() if v}
    assert sses, asset._status.object
    choices = result_choices(session.results)
    assert sorted(choices) == sorted(f"asset:{k}" for k in sses)
    k = next(iter(sses))
    data_page = DataPage(session=session)
    data_page._from_result.value = f"asset:{k}"
    asyncio.run(data_page._on_restrict())
    expected = chain.unit_ids[sse_neurons(sses[k])].astype(str)
    assert session.data.unit_ids.astype(str).tolist() == expected.tolist()
    assert f"the {expected.size} neurons of SSE {k} of ASSET run 1 (" in \
        restriction_of(session.data)


def test_a_spotdis_cluster_offers_its_epochs():
    from dashboard.spotdis_page import SpotDisPage

    patterns = simulate.spot_patterns(n_patterns=3, epochs_per_pattern=12,
                                      n_noise_epochs=18, n_units=20, seed=1)
    session = Session(data=patterns, source="patterns")
    spot = SpotDisPage(session=session)
    spot.clust.min_cluster_size = 8
    asyncio.run(spot._run())
    assert spot.state == "done", spot._status.object
    labels = spot.result.labels
    clusters = sorted(int(c) for c in np.unique(labels) if c >= 0)
    assert clusters
    choices = result_choices(session.results)
    assert sorted(choices) == sorted(f"spotdis:{c}" for c in clusters)
    c = clusters[-1]
    # noise epochs are not offered
    noisy = dataclasses.replace(spot.result, labels=np.where(labels == c, -1, labels))
    assert f"spotdis:{c}" not in result_choices({"spotdis": (noisy, patterns)})
    assert "spotdis:-1" not in result_choices({"spotdis": (noisy, patterns)})
    text, _, base = choices[f"spotdis:{c}"]
    assert base is patterns
    assert text == cluster_epochs(spot.result, c)["epochs_label"]
    # the SPOTDis page's own hand-over of that cluster, for reference
    spot._select_cluster(c)
    spot._hand_over_cluster("ASSET")
    handed = session.data
    page = DataPage(session=session)
    asyncio.run(page._on_whole_recording())
    page._from_result.value = f"spotdis:{c}"
    asyncio.run(page._on_restrict())
    members = np.flatnonzero(labels == c)
    assert session.data.epochs.start.tolist() == patterns.epochs.start[members].tolist()
    assert restriction_of(session.data) == restriction_of(handed)
    assert restriction_of(session.data).endswith(text)


# ---------------------------------------------------------------------- after a reload
def test_a_restriction_and_its_whole_recording_last_a_reload(tmp_path, recording):
    store = WorkStore(tmp_path / "work")
    work, secret = store.new()
    session = Session()
    session.load(recording, "rec.npz")
    work.save_data(session.data, session.source, session.whole, session.whole_source)
    session.restrict(restrict(recording, window=(1, 4), units="0-5"))
    work.save_data(session.data, session.source, session.whole, session.whole_source)
    work.flush()
    files = sorted(os.listdir(work.folder))
    assert "whole.npz" in files and "data.npz" in files
    reopened = store.open(work.token, secret)  # the reload's work
    kept = reopened.load()
    assert kept["data"].equals(session.data) and kept["whole"].equals(recording)
    assert kept["whole_source"] == "rec.npz" and not kept["whole_dropped"]

    restored = Session()
    work.restore_data(restored, kept)
    assert restored.data.equals(session.data) and restored.whole.equals(recording)
    page = DataPage(session=restored)
    assert not page._all_button.disabled
    asyncio.run(page._on_whole_recording())
    assert restored.data.equals(recording) and restored.source == "rec.npz"
    assert restriction_of(restored.data) == ""

    # another restriction of the same whole recording does not write it again
    before = os.stat(os.path.join(work.folder, "whole.npz")).st_mtime_ns
    opened = reopened
    opened.save_data(restrict(restored.whole, units="0-1"), "rec.npz", restored.whole,
                     "rec.npz")
    opened.flush()
    assert os.stat(os.path.join(work.folder, "whole.npz")).st_mtime_ns == before
    # back to the whole recording: no whole.npz beside it
    opened.save_data(restored.whole, "rec.npz", restored.whole, "rec.npz")
    opened.flush()
    assert "whole.npz" not in os.listdir(work.folder)
    assert store.open(work.token, secret).load()["whole"] is None


def test_a_whole_recording_too_large_to_keep_beside_its_restriction(tmp_path, recording):
    small = restrict(recording, units="0")
    limit_mb = 1.5 * (8 * small.n_spikes + 16 * small.n_units) / 1e6
    store = WorkStore(tmp_path / "work", max_data_mb=limit_mb)
    work, secret = store.new()
    work.save_data(small, "rec", recording, "rec")
    work.flush()
    assert "whole.npz" not in os.listdir(work.folder)
    kept = store.open(work.token, secret).load()
    assert kept["data"].equals(small) and kept["whole"] is None and kept["whole_dropped"]
    session = Session()
    work.restore_data(session, kept)
    page = DataPage(session=session)
    asyncio.run(page._on_whole_recording())
    assert page.state == "failed" and "too large to keep" in page._status.object
    assert session.data is kept["data"]


def test_the_window_fields_show_the_restriction_in_force_after_a_reload(tmp_path, recording):
    """Issue 15: after a reload, From and To show the window that is in force (they came
    back empty while the pages worked on the restriction)."""
    store = WorkStore(tmp_path / "work")
    work, secret = store.new()
    session = Session()
    session.load(recording, "rec.npz")
    page = DataPage(session=session)
    page._window_from.value, page._window_to.value = 2.25, 7.5
    page._units_text.value = "0-5"
    asyncio.run(page._on_restrict())
    assert page.state == "done", page._status.object
    work.save_data(session.data, session.source, session.whole, session.whole_source)
    work.flush()

    # the reload: a new session and a new page on the kept work
    restored = Session()
    work.restore_data(restored, store.open(work.token, secret).load())
    again = DataPage(session=restored)
    assert (again._window_from.value, again._window_to.value) == (2.25, 7.5)
    assert (again._window_band.start, again._window_band.end) == (2.25, 7.5)
    # the whole recording again: no window in force, the fields empty (in the browser
    # too: Panel's FloatInput sends None as NaN, which the field shows as "NaN")
    model = again._window_from.get_root()
    assert model.value == 2.25
    asyncio.run(again._on_whole_recording())
    assert restored.data.equals(recording)
    assert (again._window_from.value, again._window_to.value) == (None, None)
    assert model.value is None
    # a restriction to units only (a hand-over) has no window either
    restored.restrict(restrict(recording, units="0-3"))
    assert (again._window_from.value, again._window_to.value) == (None, None)
    # a window handed over (an ASSET SSE's time span) shows in the fields
    restored.restrict(restrict(recording, window=(1.5, 4.0), units="0-3"))
    assert (again._window_from.value, again._window_to.value) == (1.5, 4.0)


def test_the_window_fields_show_the_window_when_the_whole_recording_was_not_kept(
        tmp_path, recording):
    small = restrict(recording, window=(3.0, 6.0), units="0")
    limit_mb = 1.5 * (8 * small.n_spikes + 16 * small.n_units) / 1e6
    store = WorkStore(tmp_path / "work", max_data_mb=limit_mb)
    work, secret = store.new()
    work.save_data(small, "rec", recording, "rec")
    work.flush()
    kept = store.open(work.token, secret).load()
    assert kept["whole"] is None and kept["whole_dropped"]
    session = Session()
    work.restore_data(session, kept)
    page = DataPage(session=session)
    assert (page._window_from.value, page._window_to.value) == (3.0, 6.0)
    # without the whole recording, a units-only restriction has no window to show
    session.load(restrict(recording, units="0-2"), "rec")
    assert (page._window_from.value, page._window_to.value) == (None, None)
