"""Finding 3 (upload limit checked after the fact) and 9 (zip entry count): the server stops
reading an upload at its limit, chunk by chunk, drops stalled uploads, and refuses archives
with too many entries before writing any of them."""

import io as _io
import os
import time
import zipfile
from types import SimpleNamespace

import pytest

import analysis
from analysis import simulate
from analysis.errors import SpikeDataError
from dashboard import app as _app  # noqa: F401  (loads the plotting extensions)
from dashboard.data_page import ZIP_MAX_ENTRIES, DataPage, load_uploaded
from dashboard.state import CONFIG, Session

MB = 1_000_000


@pytest.fixture
def page():
    saved = CONFIG.max_upload_mb
    CONFIG.max_upload_mb = 1
    yield DataPage(session=Session())
    CONFIG.max_upload_mb = saved


def chunk(name, k, total, payload, type=""):
    """An upload message as the browser's widget sends it (or a hostile script)."""
    return SimpleNamespace(event_name="upload_event",
                           data=dict(name=name, chunk=k, total_chunks=total, data=payload,
                                     type=type))


def held_bytes(dropper):
    """Upload bytes the server holds for a widget, whichever way it buffers them."""
    buffers = getattr(dropper, "_file_buffer", {}) or {}
    held = sum(len(b) for parts in buffers.values() for b in parts)
    held += getattr(dropper, "buffered_bytes", 0)
    return held + sum(len(v) for v in dropper.value.values())


def test_upload_is_cut_at_the_limit_while_chunks_arrive(page):
    dropper = page._dropper
    part = b"x" * (MB // 2)
    for k in range(1, 8):  # a script claims 100 chunks and keeps sending
        dropper._process_event(chunk("big.npz", k, 100, part))
        assert held_bytes(dropper) <= 1 * MB
    assert dropper.value == {}
    assert "upload limit" in dropper.refused
    assert page._status.visible and "upload limit" in page._status.object


def test_one_oversized_chunk_is_refused(page):
    dropper = page._dropper
    dropper._process_event(chunk("one.npz", 1, 1, b"x" * (3 * MB)))
    assert dropper.value == {} and held_bytes(dropper) == 0
    assert "upload limit" in dropper.refused


def test_stalled_upload_is_dropped(page):
    dropper = page._dropper
    dropper._process_event(chunk("slow.npz", 1, 3, b"x" * 1000))
    assert held_bytes(dropper) == 1000
    assert not dropper.expire(time.monotonic())  # not overdue yet
    assert dropper.expire(time.monotonic() + dropper.stall_timeout + 1)
    assert held_bytes(dropper) == 0 and "no data" in dropper.refused


@pytest.mark.parametrize("messages", [
    [("a.npz", 2, 3)],                          # starts in the middle
    [("a.npz", 1, 3), ("a.npz", 3, 3)],         # skips a chunk
    [("a.npz", 1, 3), ("b.npz", 2, 3)],         # another file's chunk
    [("a.npz", 0, 3)], [("a.npz", 4, 3)],       # chunk numbers out of range
])
def test_chunks_out_of_order_are_not_kept(page, messages):
    dropper = page._dropper
    for name, k, total in messages:
        dropper._process_event(chunk(name, k, total, b"y" * 100))
    assert dropper.value == {} and held_bytes(dropper) == 0
    assert dropper.refused


def test_malformed_message_is_refused(page):
    dropper = page._dropper
    dropper._process_event(SimpleNamespace(event_name="upload_event",
                                           data={"name": "x", "chunk": "1", "data": 5}))
    assert dropper.value == {} and dropper.refused


def test_second_upload_replaces_the_first(page, tmp_path):
    """FileDropper kept earlier files in ``value``, so the page analysed the first one."""
    dropper = page._dropper
    for name, n in (("first.csv", 5), ("second.csv", 8)):
        path = tmp_path / name
        analysis.save(simulate.poisson(n_units=n, t_stop=1.0, seed=n), path)
        dropper._process_event(chunk(name, 1, 1, path.read_bytes(), "text/csv"))
    assert list(dropper.value) == ["second.csv"]
    assert load_uploaded(*next(iter(dropper.value.items())), 1).n_units == 8


def test_zip_with_too_many_entries_is_refused_before_extracting(tmp_path, monkeypatch):
    buf = _io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for i in range(ZIP_MAX_ENTRIES + 1):
            zf.writestr(f"f{i}", b"")
    written = []
    real_open = open

    def spy_open(file, mode="r", *args, **kwargs):
        if "w" in mode and "unzipped" in os.fspath(file):
            written.append(file)
        return real_open(file, mode, *args, **kwargs)

    monkeypatch.setattr("builtins.open", spy_open)
    started = time.perf_counter()
    with pytest.raises(SpikeDataError, match="entries"):
        load_uploaded("many.zip", buf.getvalue(), 5)
    assert not written
    assert time.perf_counter() - started < 5


def test_bounded_dropper_renders(page):
    """The server-side limits are not properties of the browser's model."""
    model = page._dropper.get_root()
    assert type(model).__name__ == "FileDropper"
    assert not hasattr(model, "max_bytes")
