"""Deep nesting, full disks and temporary files left by killed saves."""

import errno
import os
import subprocess
import sys
from collections import namedtuple

import numpy as np
import pytest

import analysis.io
from analysis import SpikeDataError, SpikeTrains
from analysis.io import load, save
from analysis.results import HEADER, load_result


def data():
    return SpikeTrains.from_lists([[0.1, 0.2], [0.5]], t_start=0, t_stop=1)


@pytest.mark.parametrize("depth", [700, 100_000])
def test_deeply_nested_result_file(tmp_path, depth):
    """700 levels pass json but not the decoder; 100000 do not pass json."""
    deep = "[" * depth + "]" * depth
    header = ('{"format": "spikelens-result", "version": 1, "kind": "AssemblyResult", '
              '"result": {"__dataclass__": "AssemblyResult", "fields": {"table": '
              + deep + '}}}')
    path = tmp_path / "deep.npz"
    np.savez(path, **{HEADER: np.array(header)})
    with pytest.raises(SpikeDataError, match="nests too deeply") as info:
        load_result(path)
    assert str(info.value).startswith(f"{path}: ")


def phy(folder, params):
    folder.mkdir()
    np.save(folder / "spike_times.npy", np.array([10, 20]))
    np.save(folder / "spike_clusters.npy", np.array([0, 1]))
    (folder / "params.py").write_text(params)
    return folder


def test_params_with_200k_unary_minus_signs(tmp_path):
    folder = phy(tmp_path / "rec", "sample_rate = 1000.0\nx = " + "-" * 200_000 + "1\n")
    with pytest.raises(SpikeDataError, match="nests too deeply") as info:
        load(folder)
    assert "params.py" in str(info.value)


def test_params_larger_than_a_megabyte(tmp_path):
    folder = phy(tmp_path / "rec", "sample_rate = 1000.0\n" + "# padding\n" * 120_000)
    with pytest.raises(SpikeDataError, match="larger than 1 MB") as info:
        load(folder)
    assert "params.py" in str(info.value)


def test_save_refuses_a_disk_without_room(tmp_path, monkeypatch):
    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(analysis.io.shutil, "disk_usage", lambda p: usage(10**9, 10**9, 5000))
    target = tmp_path / "x.nix"
    with pytest.raises(OSError) as info:
        save(data(), target)
    assert info.value.errno == errno.ENOSPC and info.value.filename == str(target)
    assert "\n" not in str(info.value) and not list(tmp_path.iterdir())


def dead_pid():
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()  # reaped: its pid names no process now
    return proc.pid


def test_save_removes_temporary_files_of_dead_writers_only(tmp_path):
    dead = tmp_path / f".x.{dead_pid()}.0123456789ab.tmp.npz"
    live = tmp_path / f".x.{os.getpid()}.0123456789ab.tmp.npz"
    other = tmp_path / ".notes.tmp"
    for p in (dead, live, other):
        p.write_bytes(b"half")
    save(data(), tmp_path / "y.csv")
    assert not dead.exists() and live.exists() and other.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [live.name, other.name, "y.csv"])


def test_result_save_removes_temporary_files_of_dead_writers(tmp_path):
    from analysis.assembly import AssemblyNeurons
    from analysis import simulate

    dead = tmp_path / f".r.{dead_pid()}.0123456789ab.tmp.npz"
    dead.write_bytes(b"half")
    result = AssemblyNeurons(data=simulate.poisson(n_units=4, t_stop=2.0, seed=1),
                             n_surrogates=19, alpha=0.1).run()
    result.save(tmp_path / "r.npz")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.npz"]
