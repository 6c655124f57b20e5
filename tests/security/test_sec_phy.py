"""phy/Kilosort folders: files that lead out of the data folder, content kept out of errors."""

import os

import numpy as np
import pytest

from analysis import SpikeDataError
from analysis.io import load

SECRET = "hunter2-TOPSECRET"


def phy_folder(folder):
    folder.mkdir()
    np.save(folder / "spike_times.npy", np.array([10, 20, 30], dtype=np.int64))
    np.save(folder / "spike_clusters.npy", np.array([0, 1, 0], dtype=np.int64))
    (folder / "params.py").write_text("sample_rate = 1000.0\n")
    (folder / "cluster_group.tsv").write_text("cluster_id\tgroup\n0\tgood\n1\tmua\n")
    return folder


@pytest.fixture
def outside(tmp_path):
    """A settings file outside the upload folder."""
    p = tmp_path / "settings.py"
    p.write_text(f"sample_rate = 1000.0\nSECRET_KEY = {SECRET!r}\n")
    return p


def refused(path, within, name):
    with pytest.raises(SpikeDataError) as info:
        load(path, within=within)
    msg = str(info.value)
    assert msg == f"{name}: is a link that leads out of the data folder", msg
    return msg


@pytest.mark.parametrize("name", ["params.py", "spike_times.npy", "spike_clusters.npy",
                                  "cluster_group.tsv"])
def test_a_file_linked_out_of_the_folder_is_refused(tmp_path, outside, name):
    folder = phy_folder(tmp_path / "upload")
    (folder / name).unlink()
    (folder / name).symlink_to(outside)
    refused(folder, folder, name)


def test_spike_templates_and_cluster_info_links_are_refused(tmp_path, outside):
    folder = phy_folder(tmp_path / "upload")
    (folder / "spike_clusters.npy").rename(folder / "x.npy")
    (folder / "spike_templates.npy").symlink_to(outside)
    refused(folder, folder, "spike_templates.npy")
    (folder / "spike_templates.npy").unlink()
    (folder / "spike_templates.npy").symlink_to(folder / "x.npy")  # inside: fine
    (folder / "cluster_info.tsv").symlink_to(outside)
    refused(folder, folder, "cluster_info.tsv")


def test_the_path_itself_must_stay_inside(tmp_path, outside):
    upload = tmp_path / "upload"
    upload.mkdir()
    real = phy_folder(tmp_path / "elsewhere")
    (upload / "rec").symlink_to(real)
    refused(upload / "rec", upload, "rec")
    (upload / "x.csv").symlink_to(outside)
    refused(upload / "x.csv", upload, "x.csv")


def test_links_inside_the_folder_are_read(tmp_path):
    folder = phy_folder(tmp_path / "upload")
    (folder / "sub").mkdir()
    os.replace(folder / "params.py", folder / "sub" / "params.py")
    (folder / "params.py").symlink_to(folder / "sub" / "params.py")
    st = load(folder, within=folder)
    assert st.n_spikes == 3 and st.unit_annotations["group"].tolist() == ["good", "mua"]
    assert load(folder / "params.py", within=tmp_path).n_spikes == 3


def test_cluster_table_errors_do_not_quote_its_lines(tmp_path):
    folder = phy_folder(tmp_path / "upload")
    (folder / "cluster_info.tsv").write_text(f"password={SECRET}\tx\n1\t2\n")
    with pytest.raises(SpikeDataError, match="cluster_info.tsv.*no cluster_id") as info:
        load(folder)
    assert SECRET not in str(info.value)
