"""HDF5-based files (NWB, NIX) must not reach outside themselves or declare huge data.

Each test builds a valid file with ``analysis.save`` and then edits it with h5py the way an
attacker would: a units column stored in another file (external raw storage), an external
link, a virtual dataset, a chunked dataset that declares gigabytes it never wrote.
"""

import h5py
import numpy as np
import pytest

from analysis import SpikeDataError, SpikeTrains
from analysis.io import load, save

SECRET = b"TOPSECRET-0123456789"  # 20 bytes


def data():
    return SpikeTrains.from_lists(
        [[0.1, 0.2], [0.5], [0.3]], t_start=0, t_stop=1,
        unit_annotations={"quality": np.array(["good", "mua", "good"])})


@pytest.fixture
def secret(tmp_path):
    p = tmp_path / "secret.txt"
    p.write_bytes(SECRET * 3)
    return p


def replace(path, name, make):
    """Replace the object ``name`` in the HDF5 file by what ``make(file, name)`` creates,
    keeping its attributes (so that pynwb still sees a valid column)."""
    with h5py.File(path, "r+") as f:
        attrs = dict(f[name].attrs)
        del f[name]
        make(f, name)
        if isinstance(f.get(name, getlink=True), h5py.HardLink):
            f[name].attrs.update(attrs)


def refused(path, where, **kwargs):
    with pytest.raises(SpikeDataError) as info:
        load(path, **kwargs)
    msg = str(info.value)
    assert "\n" not in msg and str(path) in msg and where in msg, msg
    assert SECRET.decode() not in msg
    return msg


def test_nwb_column_with_external_storage_is_refused(tmp_path, secret):
    path = save(data(), tmp_path / "x.nwb")
    replace(path, "units/quality", lambda f, n: f.create_dataset(
        n, shape=(3,), dtype="S20", external=[(str(secret), 0, 60)]))
    msg = refused(path, "/units/quality")
    assert "external" in msg


def test_nwb_external_link_is_refused(tmp_path, secret):
    other = tmp_path / "other.h5"
    with h5py.File(other, "w") as g:
        g["quality"] = np.array([SECRET] * 3)
    path = save(data(), tmp_path / "x.nwb")
    replace(path, "units/quality",
            lambda f, n: f.__setitem__(n, h5py.ExternalLink(str(other), "/quality")))
    assert "external link" in refused(path, "/units/quality")


def test_nwb_virtual_dataset_is_refused(tmp_path):
    other = tmp_path / "other.h5"
    with h5py.File(other, "w") as g:
        g["quality"] = np.array([SECRET] * 3)
    path = save(data(), tmp_path / "x.nwb")
    layout = h5py.VirtualLayout(shape=(3,), dtype="S20")
    layout[:] = h5py.VirtualSource(str(other), "quality", shape=(3,))
    replace(path, "units/quality", lambda f, n: f.create_virtual_dataset(n, layout))
    assert "virtual" in refused(path, "/units/quality")


def test_nwb_soft_link_inside_the_file_is_fine(tmp_path):
    path = save(data(), tmp_path / "x.nwb")
    with h5py.File(path, "r+") as f:
        f["analysis/alias"] = h5py.SoftLink("/units/quality")
    assert load(path).unit_annotations["quality"].tolist() == ["good", "mua", "good"]


def test_nix_external_link_and_external_storage_are_refused(tmp_path, secret):
    path = save(data(), tmp_path / "x.nix")
    with h5py.File(path, "r+") as f:
        f["metadata/leak"] = h5py.ExternalLink(str(secret.with_suffix(".h5")), "/x")
    assert "external link" in refused(path, "/metadata/leak")
    path = save(data(), tmp_path / "y.nix")
    with h5py.File(path, "r+") as f:
        f.create_dataset("metadata/leak", shape=(3,), dtype="S20",
                         external=[(str(secret), 0, 60)])
    assert "external" in refused(path, "/metadata/leak")


def test_nwb_fill_value_bomb_is_refused_in_a_small_child(tmp_path, limited):
    """190 kB on disk, 3.2 GB once read: a chunked column that declares 4e8 float64."""
    path = save(data(), tmp_path / "x.nwb")
    replace(path, "units/spike_times", lambda f, n: f.create_dataset(
        n, shape=(400_000_000,), dtype="f8", chunks=(1_000_000,), fillvalue=1.0))
    assert path.stat().st_size < 1_000_000
    kind, msg = limited(path, max_bytes=20_000_000)  # as the dashboard passes it
    assert kind == "SpikeDataError", (kind, msg)
    assert str(path) in msg and "/units/spike_times" in msg and "\n" not in msg


def test_nwb_budget_counts_every_dataset(tmp_path):
    path = save(data(), tmp_path / "x.nwb")
    with h5py.File(path, "r+") as f:
        f.create_dataset("analysis/big", shape=(1000, 1000), dtype="f8", chunks=(100, 100))
    assert load(path).n_units == 3  # 8 MB fits the default budget
    msg = refused(path, "/analysis/big", max_bytes=4_000_000)
    assert "max_bytes" in msg
