"""Kept work (dashboard/work.py): a session's stored data and results open only with its
browser's secret, tokens never become arbitrary paths, and old work is swept."""

import os
import re
import time

import pytest

from analysis import simulate
from analysis.assembly import AssemblyNeurons
from dashboard.work import WorkStore


@pytest.fixture
def store(tmp_path):
    return WorkStore(tmp_path / "work", max_age_days=7)


def test_work_opens_only_with_its_secret(store):
    work, secret = store.new()
    data = simulate.poisson(n_units=4, t_stop=2.0, seed=1)
    result = AssemblyNeurons(data=data, n_surrogates=99, alpha=0.05).run()
    work.save_data(data, "demo x")
    work.save_result("assembly", result)
    work.save_page("Assembly neurons")
    work.flush()
    kept = store.open(work.token, secret).load()
    assert kept["data"].equals(data) and kept["source"] == "demo x"
    assert kept["page"] == "Assembly neurons"
    assert kept["results"]["assembly"].table.equals(result.table)
    # another browser: no secret, a wrong one, another session's secret
    other, other_secret = store.new()
    assert store.open(work.token, "") is None
    assert store.open(work.token, "guess") is None
    assert store.open(work.token, other_secret) is None
    assert store.open(other.token, secret) is None


@pytest.mark.parametrize("token", ["../etc", "0" * 31, "A" * 32, "0" * 32 + "/..", None, 7])
def test_a_token_that_is_not_one_is_never_a_path(store, token):
    assert store.open(token, "x") is None


def test_new_data_drops_the_results_of_the_old(store):
    work, secret = store.new()
    data = simulate.poisson(n_units=4, t_stop=2.0, seed=1)
    work.save_data(data, "a")
    work.save_result("assembly", AssemblyNeurons(data=data, n_surrogates=99,
                                                 alpha=0.05).run())
    work.save_data(simulate.poisson(n_units=3, t_stop=1.0, seed=2), "b")
    work.flush()
    kept = store.open(work.token, secret).load()
    assert kept["results"] == {} and kept["data"].n_units == 3


def test_old_work_is_swept_and_big_data_not_kept(tmp_path):
    store = WorkStore(tmp_path / "w", max_age_days=1, max_data_mb=0.0001)
    work, secret = store.new()
    work.save_data(simulate.poisson(n_units=50, t_stop=10.0, seed=1), "big")
    work.flush()
    kept = store.open(work.token, secret).load()
    assert kept["data"] is None and not kept["data_kept"] and kept["source"] == "big"
    old = time.time() - 2 * 86400
    os.utime(work.folder, (old, old))
    WorkStore(tmp_path / "w", max_age_days=1)
    assert not os.path.exists(work.folder)


# ---------------------------------------------------------------------- work files
def test_work_file_round_trip_and_hostile_files():
    import io
    import zipfile

    from analysis.errors import SpikeDataError
    from dashboard.work import read_work_file, write_work_file

    data = simulate.poisson(n_units=4, t_stop=2.0, seed=1)
    result = AssemblyNeurons(data=data, n_surrogates=99, alpha=0.05).run()
    content = write_work_file(data, "demo x", {"assembly": result})
    back = read_work_file(content, "w.spikelens", 10**8, ["asset", "assembly", "spotdis"])
    assert back["data"].equals(data) and back["source"] == "demo x"
    assert back["results"]["assembly"].table.equals(result.table)

    def zipped(entries):
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as zf:
            for name, raw in entries.items():
                zf.writestr(name, raw)
        return buf.getvalue()

    state = b'{"format": "spikelens work", "version": 1}'
    bad = {"../../etc/passwd": {"state.json": state, "../../etc/passwd": b"x"},
           "unexpected entry 'notes.txt'": {"state.json": state, "notes.txt": b"x"},
           "no state.json": {"data.npz": b"x"},
           "does not describe spikelens work": {"state.json": b'{"format": "other"}'},
           "not JSON": {"state.json": b"{"}}
    for expected, entries in bad.items():
        with pytest.raises(SpikeDataError, match=re.escape(expected)) as info:
            read_work_file(zipped(entries), "w.spikelens", 10**8, ["assembly"])
        assert str(info.value).startswith("w.spikelens")
    with pytest.raises(SpikeDataError, match="not a zip archive"):
        read_work_file(b"nope", "w.spikelens", 10**8, ["assembly"])
    with pytest.raises(SpikeDataError, match="more than this server allows"):
        read_work_file(content, "w.spikelens", 1000, ["assembly"])
    broken = zipped({"state.json": state, "data.npz": b"not an npz"})
    with pytest.raises(SpikeDataError) as info:
        read_work_file(broken, "w.spikelens", 10**8, ["assembly"])
    assert "spikelens-open-work" not in str(info.value)


def test_the_whole_recording_beside_a_restriction_stays_in_its_session_s_folder(store):
    from analysis.restrict import restrict

    work, secret = store.new()
    other, other_secret = store.new()
    whole = simulate.poisson(n_units=6, t_stop=3.0, seed=5)
    work.save_data(restrict(whole, units="0-2"), "mine", whole, "mine")
    other.save_data(whole, "theirs")
    work.flush()
    written = {os.path.relpath(os.path.join(here, f), store.root)
               for here, _, files in os.walk(store.root) for f in files}
    assert os.path.join(work.token, "whole.npz") in written
    assert not any(p.endswith("whole.npz") and not p.startswith(work.token + os.sep)
                   for p in written)
    # only its own browser gets it back; the other session's work has no whole recording
    assert store.open(work.token, other_secret) is None
    assert store.open(work.token, secret).load()["whole"].equals(whole)
    assert store.open(other.token, other_secret).load()["whole"] is None


def test_a_hostile_sliding_windows_entry_of_a_work_file_is_one_line():
    """The SPOTDis page's sliding windows travel in work files (result-spotdis-windows.npz):
    a damaged or foreign entry there is refused like any other, in one line naming the
    file, and never opened for a method the reader did not ask for."""
    import io
    import tempfile
    import zipfile

    from analysis.errors import SpikeDataError
    from dashboard.work import read_work_file

    state = b'{"format": "spikelens work", "version": 1}'
    data = simulate.poisson(n_units=4, t_stop=2.0, seed=1)
    result = AssemblyNeurons(data=data, n_surrogates=99, alpha=0.05).run()
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "a.npz")
        result.save(path)
        with open(path, "rb") as fh:
            assembly_bytes = fh.read()
    cases = {"truncated or corrupted": b"PK\x03\x04 not really a zip",
             "holds a AssemblyResult, not a SlidingWindowsResult": assembly_bytes}
    for needle, raw in cases.items():
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as zf:
            zf.writestr("state.json", state)
            zf.writestr("result-spotdis-windows.npz", raw)
        with pytest.raises(SpikeDataError) as info:
            read_work_file(buf.getvalue(), "w.spikelens", 10**8, ["spotdis"])
        text = str(info.value)
        assert text.startswith("w.spikelens: ") and needle in text and "\n" not in text
        assert "spikelens-open-work" not in text
        with pytest.raises(SpikeDataError, match="unexpected entry 'result-spotdis-windows"):
            read_work_file(buf.getvalue(), "w.spikelens", 10**8, ["assembly"])
