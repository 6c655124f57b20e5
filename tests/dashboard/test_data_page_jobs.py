"""The Data page runs its loads through the shared job lifecycle (``dashboard.page_base``):
progress while loading, Cancel that acts at once and keeps the data loaded before,
one-line errors."""

import asyncio
import threading
import time

import holoviews as hv

from analysis import simulate
from analysis.restrict import restriction_of
from dashboard.data_page import ANY, NO_EPOCHS, DataPage
from dashboard.page_base import JobPage
from dashboard.state import Session

hv.extension("bokeh", logo=False)  # the app does this; the page's views need it


def test_data_page_is_a_job_page_with_cancel():
    page = DataPage(session=Session(data=simulate.poisson(n_units=3, t_stop=1.0, seed=0),
                                    source="first"))
    assert isinstance(page, JobPage) and page.pool_kind == "load"
    assert page._cancel_button.disabled


def test_cancelled_load_keeps_the_earlier_data_and_says_so():
    before = simulate.poisson(n_units=3, t_stop=1.0, seed=0)
    page = DataPage(session=Session(data=before, source="first"))
    started, release = threading.Event(), threading.Event()

    def slow_load():  # a parser with no checkpoint inside
        started.set()
        release.wait(10)
        return simulate.poisson(n_units=5, t_stop=1.0, seed=1)

    async def scenario():
        task = asyncio.ensure_future(page._run_in_worker("file 'big.nwb'", slow_load))
        loop = asyncio.get_running_loop()
        assert await loop.run_in_executor(None, started.wait, 5)
        assert page.state == "running" and page.session.busy
        assert page._progress.visible and page._progress.value == -1  # moving, no steps
        assert "Loading file 'big.nwb'" in page.session.activity
        assert not page._cancel_button.disabled
        assert all(b.disabled for b in page._job_buttons)
        page._cancel_button.clicks += 1
        t0 = time.perf_counter()
        await asyncio.wait_for(task, 2)
        waited = time.perf_counter() - t0
        release.set()
        return waited

    waited = asyncio.run(scenario())
    assert waited < 0.5
    assert page.state == "cancelled"
    assert page.session.data is before and page.session.source == "first"
    assert "cancelled" in page._status.object and "loaded before" in page._status.object
    assert not page.session.busy and not page._progress.visible
    assert not any(b.disabled for b in page._job_buttons) and page._cancel_button.disabled


def test_a_failed_load_is_one_line_and_keeps_the_data():
    before = simulate.poisson(n_units=3, t_stop=1.0, seed=0)
    page = DataPage(session=Session(data=before, source="first"))

    def broken():
        raise OSError("broken.nwb: truncated file\n  at offset 12")

    asyncio.run(page._run_in_worker("file 'broken.nwb'", broken))
    assert page.state == "failed" and page.session.data is before
    assert "truncated file" in page._status.object and "\n" not in page._status.object


def test_a_finished_load_replaces_the_data():
    page = DataPage(session=Session(data=None, source=""))
    asyncio.run(page._on_load_demo())
    assert page.state == "done" and page.session.data is not None
    assert page.session.source.startswith("demo")


def test_an_nwb_upload_offers_its_interval_tables_as_epochs(tmp_path):
    """Issue 14 item 5 in the dashboard: any interval table and any of its columns as
    epochs and labels, by loading the uploaded file again with that choice."""
    path = write_nwb_with_tables(tmp_path / "rec.nwb")
    page = DataPage(session=Session(data=None, source=""))
    asyncio.run(page._on_upload(type("E", (), {"new": {"rec.nwb": path.read_bytes()}})()))
    assert page.state == "done" and page._nwb_box.visible
    assert page._epoch_table.options == [NO_EPOCHS, "trials", "epochs", "stimulus"]  # trials first
    assert page._epoch_table.value == "trials" and page._epoch_label.value == "label"
    assert page.session.data.epochs.label.tolist() == ["go"]

    page._epoch_table.value = "stimulus"
    assert page._epoch_label.options == ["(epoch number)", "orientation"]
    page._epoch_label.value = "orientation"
    asyncio.run(page._on_apply_epochs())
    data = page.session.data
    assert data.epochs.start.tolist() == [0.1, 0.3]
    assert data.epochs.label.tolist() == ["45.0", "90.0"]
    assert page._epoch_table.value == "stimulus" and page._nwb_box.visible

    page._epoch_table.value = NO_EPOCHS
    assert page._epoch_label.disabled
    asyncio.run(page._on_apply_epochs())
    assert page.session.data.epochs is None and page._nwb_box.visible

    asyncio.run(page._on_load_demo())  # another source: the NWB choice goes away
    assert not page._nwb_box.visible


def write_nwb_with_tables(path):
    """Two units, a trials table labelled "go", an epochs table and a stimulus table with
    an orientation column."""
    from datetime import UTC, datetime

    from pynwb import NWBHDF5IO, NWBFile
    from pynwb.epoch import TimeIntervals

    nwb = NWBFile(session_description="tables", identifier="t",
                  session_start_time=datetime(2026, 1, 1, tzinfo=UTC))
    nwb.add_unit(spike_times=[0.1, 0.2, 0.35])
    nwb.add_unit(spike_times=[0.15, 0.3])
    nwb.add_trial_column("label", "outcome")
    nwb.add_trial(start_time=0.0, stop_time=0.5, label="go")
    nwb.add_epoch(start_time=0.0, stop_time=1.0, tags=["pre"])
    stim = TimeIntervals(name="stimulus", description="gratings")
    stim.add_column("orientation", "degrees")
    stim.add_row(start_time=0.1, stop_time=0.2, orientation=45.0)
    stim.add_row(start_time=0.3, stop_time=0.4, orientation=90.0)
    nwb.add_time_intervals(stim)
    with NWBHDF5IO(str(path), "w") as io:
        io.write(nwb)
    return path


def test_restrict_then_whole_recording():
    full = simulate.poisson(n_units=12, rate=5.0, t_stop=10.0, seed=4)
    full = full.replace(unit_annotations={"location": ["CA1"] * 4 + ["V1"] * 8})
    session = Session(data=full, source="rec.nwb")
    page = DataPage(session=session)
    assert page._where_key.options == [ANY, "location"]
    page._window_from.value, page._window_to.value = 2.0, 6.0
    page._units_text.value = "0-9"
    page._where_key.value = "location"
    assert page._where_value.options == ["CA1", "V1"]
    page._where_value.value = "V1"
    asyncio.run(page._on_restrict())
    data = session.data
    assert page.state == "done" and data is not full
    assert data.unit_ids.tolist() == [str(u) for u in range(4, 10)]
    assert (data.t_start, data.t_stop) == (2.0, 6.0)
    assert session.source == "rec.nwb"
    assert "6 of 12 units" in page._restriction_text.object
    assert not page._all_button.disabled
    # restricting again starts from the whole recording, not from the restriction
    page._units_text.value = "0-1"
    page._where_key.value = ANY
    asyncio.run(page._on_restrict())
    assert session.data.n_units == 2 and "then" not in restriction_of(session.data)
    asyncio.run(page._on_whole_recording())
    assert session.data is full and page._all_button.disabled
    assert page._restriction_text.object == ""
    # a bad choice: one line, the data stays
    page._units_text.value = "0-99x"
    asyncio.run(page._on_restrict())
    assert page.state == "failed" and session.data is full
    assert "units: '0-99x'" in page._status.object


def test_analysis_pages_say_their_result_is_restricted():
    from analysis.restrict import restrict
    from dashboard.asset_page import AssetPage

    full = simulate.poisson(n_units=12, rate=5.0, t_stop=10.0, seed=4)
    page = AssetPage(session=Session(data=restrict(full, units="0-5"), source="x"))
    page.asset.param.update(bin_size=0.05)
    asyncio.run(page._run())
    assert page.state == "done", page._status.object
    assert "Restricted recording: 6 of 12 units" in page._summary.object


def _upload(page, name, content):
    asyncio.run(page._on_upload(type("E", (), {"new": {name: content}})()))


def test_a_dropped_result_file_opens_on_its_page_or_names_its_recording(tmp_path):
    """Issue 15 item 1: a saved result .npz dropped on the Data page is shown on its page
    without computing when it belongs to the recording loaded now; otherwise one line
    says which recording it needs (before: 'unknown NPZ layout' with its internal keys)."""
    from analysis.assembly import AssemblyNeurons
    from analysis.results import save_result

    data = simulate.sip(n_units=12, t_stop=2.0, seed=3)
    result = AssemblyNeurons(data=data, n_surrogates=99).run()
    path = tmp_path / "assembly-result.npz"
    save_result(result, path)

    other = DataPage(session=Session(data=simulate.poisson(n_units=4, t_stop=1.0, seed=0),
                                     source="another"))
    _upload(other, "assembly-result.npz", path.read_bytes())
    text = other._status.object
    assert other.session.opened is None and other.session.source == "another"
    assert "assembly-result.npz: a saved" in text and "12 units" in text \
        and "load that recording first" in text and "\n" not in text.strip()
    assert "__spikelens_result__" not in text

    page = DataPage(session=Session(data=data, source="sip"))
    seen = []
    page.session.param.watch(lambda e: seen.append(e.new), "opened")
    _upload(page, "assembly-result.npz", path.read_bytes())
    assert len(seen) == 1 and list(seen[0]) == ["assembly"]
    opened = seen[0]["assembly"]
    assert opened.table.equals(result.table)  # the saved result itself: nothing computed
    assert "not computed again" in page._status.object


def test_a_damaged_result_file_is_one_line(tmp_path):
    from analysis.assembly import AssemblyNeurons
    from analysis.results import save_result

    data = simulate.sip(n_units=12, t_stop=2.0, seed=3)
    path = tmp_path / "r.npz"
    save_result(AssemblyNeurons(data=data, n_surrogates=99).run(), path)
    page = DataPage(session=Session(data=data, source="sip"))
    _upload(page, "r.npz", path.read_bytes()[:-200])  # truncated archive
    text = page._status.object
    assert page.state != "done" or "r.npz" in text
    assert "r.npz" in text and str(tmp_path) not in text and "Traceback" not in text


def test_a_hostile_result_file_is_refused_in_one_line(tmp_path):
    """A dropped .npz that names a result member but holds a pickled object array (or a
    member that expands beyond the budget) is refused by the result loader's checks:
    one line naming the upload, nothing opened, the loaded recording kept."""
    import io as _io
    import zipfile

    import numpy as np

    buf = _io.BytesIO()
    np.savez(buf, __spikelens_result__=np.array([{"x": 1}], dtype=object), allow_pickle=True)
    data = simulate.poisson(n_units=3, t_stop=1.0, seed=0)
    page = DataPage(session=Session(data=data, source="kept"))
    seen = []
    page.session.param.watch(lambda e: seen.append(e.new), "opened")
    _upload(page, "evil.npz", buf.getvalue())
    text = page._status.object
    assert not seen and page.session.data is data and page.session.source == "kept"
    assert text.startswith("evil.npz") or "evil.npz" in text.splitlines()[0]
    assert "\n" not in text.strip() and "Traceback" not in text and str(tmp_path) not in text
    assert "pickled data is refused" in text

    bomb = _io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("__spikelens_result__.npy", b"\0" * (50 * 2 ** 20))
    page2 = DataPage(session=Session(data=data, source="kept"))
    asyncio.run(page2._open_result("bomb.npz", bomb.getvalue(), 1))  # 1 MB upload limit
    assert "bomb.npz" in page2._status.object and page2.session.opened is None
    assert "max\\_bytes" in page2._status.object  # the budget refused it, not the parse
