"""Serving a lab: upload limits, zip bombs, the data folder and its path safety, CLI checks."""

import asyncio
import io as _io
import os
import re
import zipfile

import pytest

import analysis
from analysis import simulate
from analysis.errors import SpikeDataError
from dashboard import app as _app  # noqa: F401  (loads the plotting extensions)
from dashboard import cli
from dashboard.data_page import (DataPage, list_data_files, load_uploaded,
                                 resolve_data_file)
from dashboard.state import CONFIG, Session


@pytest.fixture
def config():
    saved = CONFIG.param.values()
    yield CONFIG
    CONFIG.param.update(max_upload_mb=saved["max_upload_mb"], data_dir=saved["data_dir"])


@pytest.fixture
def data_dir(tmp_path):
    root = tmp_path / "lab"
    (root / "mouse1").mkdir(parents=True)
    analysis.save(simulate.poisson(n_units=7, t_stop=2.0, seed=1), root / "mouse1" / "a.npz")
    analysis.save(simulate.poisson(n_units=9, t_stop=2.0, seed=2), root / "b.parquet")
    (root / "notes.txt").write_text("not spikes")
    (root / ".hidden.npz").write_bytes(b"x")
    outside = tmp_path / "secret.npz"
    analysis.save(simulate.poisson(n_units=3, t_stop=1.0, seed=3), outside)
    os.symlink(outside, root / "link.npz")            # points out of the folder
    return root


def test_data_folder_lists_only_spike_files_inside(data_dir):
    assert list_data_files(data_dir) == ["b.parquet", os.path.join("mouse1", "a.npz")]


@pytest.mark.parametrize("name", ["../secret.npz", "link.npz", "notes.txt", "/etc/passwd",
                                  "mouse1/../../secret.npz", ".hidden.npz"])
def test_paths_outside_the_listing_are_refused(data_dir, name):
    with pytest.raises(SpikeDataError, match="server's data folder"):
        resolve_data_file(data_dir, name)


def test_page_opens_server_files_only_with_a_data_dir(config, data_dir):
    config.data_dir = None
    assert "Server files" not in DataPage(session=Session()).param.source_kind.objects
    config.data_dir = str(data_dir)
    page = DataPage(session=Session())
    assert "Server files" in page.param.source_kind.objects
    page.source_kind = "Server files"
    page.refresh_server_files()
    assert page.param.server_file.objects == list_data_files(data_dir)
    page.server_file = "b.parquet"
    asyncio.run(page._on_open_server_file())
    assert page.session.data.n_units == 9 and "b.parquet" in page.session.source
    # another class default is untouched: a page without data_dir has no such source
    config.data_dir = None
    assert "Server files" not in DataPage(session=Session()).param.source_kind.objects


def test_upload_limit_is_checked_on_the_server(tmp_path):
    path = tmp_path / "x.npz"
    analysis.save(simulate.poisson(n_units=50, t_stop=20.0, seed=1), path)
    content = path.read_bytes()
    assert load_uploaded("x.npz", content, max_mb=10).n_units == 50
    with pytest.raises(SpikeDataError, match=r"^x\.npz: .* MB is more than this server's "
                                             r"upload limit of 0\.\d+ MB$"):
        load_uploaded("x.npz", content, max_mb=len(content) / 2e6)


def test_zip_bombs_are_refused():
    buf = _io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("big.csv", b"0" * 30_000_000)          # 30 MB of zeros, tiny zipped
    content = buf.getvalue()
    assert len(content) < 1e6
    with pytest.raises(SpikeDataError, match=r"^bomb\.zip: the archive expands to 30 MB"):
        load_uploaded("bomb.zip", content, max_mb=1)


def test_cli_checks_serving_options(capsys, tmp_path):
    assert cli.main(["serve", "--data-dir", str(tmp_path / "nope")]) == 1
    err = capsys.readouterr().err
    assert "--data-dir" in err and "is not a folder" in err and err.count("\n") == 1
    assert cli.main(["serve", "--max-upload-mb", "0"]) == 1
    assert "--max-upload-mb" in capsys.readouterr().err
    args = cli.build_parser().parse_args(["serve"])
    assert args.address == "localhost" and args.max_upload_mb == 1000


@pytest.fixture
def restored_server_settings(monkeypatch):
    """``build_server`` sets the server-wide settings: put them back afterwards."""
    from dashboard import workers

    saved = CONFIG.param.values()
    monkeypatch.setattr(workers, "_limits", dict(workers._limits))
    yield
    CONFIG.param.update({k: v for k, v in saved.items() if k != "name"})


def _free_port():
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_kernel_warm_up_runs_in_a_background_thread_and_does_not_block_build_server(
        monkeypatch, caplog, restored_server_settings):
    import logging
    import threading

    from dashboard import app, warmup

    release, seen = threading.Event(), {}

    def slow_warm_up():  # stands in for the seconds of loading or compiling the kernels
        seen["thread"] = threading.current_thread()
        assert release.wait(30)
        return {"assembly": 0.5}

    monkeypatch.setattr(warmup, "warm_kernels", slow_warm_up)
    caplog.set_level(logging.INFO, logger="dashboard.warmup")
    server = app.build_server(port=_free_port(), warm_kernels=True)
    try:
        # build_server returned while the warm-up still waits: it runs in a thread of its own
        for _ in range(100):
            if "thread" in seen:
                break
            threading.Event().wait(0.05)
        thread = seen["thread"]
        assert thread is not threading.current_thread() and thread.is_alive()
        assert thread.daemon and thread.name == "spikelens-warm-up"
        release.set()
        thread.join(10)
        assert not thread.is_alive()
        assert re.search(r"kernels warmed up in \d+\.\d s \(assembly 0\.5 s\)", caplog.text)
    finally:
        release.set()
        server.unlisten()


def test_build_server_warms_nothing_unless_asked(monkeypatch, restored_server_settings):
    # tests that build a server in their own process (tests/security/test_sec_closed_tabs.py)
    # do not pay for the warm-up; ``serve`` (``spikelens serve``) asks for it
    import inspect

    from dashboard import app, warmup

    def refuse(*args, **kwargs):
        raise AssertionError("warm-up started")

    monkeypatch.setattr(warmup, "start", refuse)
    app.build_server(port=_free_port()).unlisten()
    assert inspect.signature(app.serve).parameters["warm_kernels"].default is True


def test_warm_up_failure_is_logged_not_raised(caplog):
    import logging

    from dashboard import warmup

    def broken():
        raise RuntimeError("no compiler")

    caplog.set_level(logging.INFO, logger="dashboard.warmup")
    warmup.start(broken).join(10)
    assert "kernel warm-up failed" in caplog.text and "no compiler" in caplog.text


@pytest.mark.slow
def test_warm_kernels_runs_every_method_locally(monkeypatch):
    # a scheduler in the environment is not used: the kernels must be ready in this process
    from dashboard import warmup

    monkeypatch.setenv("SPIKELENS_SCHEDULER", "tcp://127.0.0.1:9")
    times = warmup.warm_kernels()
    assert set(times) == {"assembly", "ASSET", "SPOTDis", "datashader"}
    assert all(seconds >= 0 for seconds in times.values())
