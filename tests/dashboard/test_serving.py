"""Serving a lab: upload limits, zip bombs, the data folder and its path safety, CLI checks."""

import asyncio
import io as _io
import os
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
