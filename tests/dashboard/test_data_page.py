"""The Data page's logic without a browser."""

import io as _io
import zipfile

import numpy as np
import pytest

import analysis
from analysis import SpikeDataError, simulate
from dashboard.data_page import load_uploaded


def test_load_uploaded_file_and_zipped_phy_folder(tmp_path):
    data = simulate.poisson(n_units=4, t_stop=2.0, seed=2)
    analysis.save(data, tmp_path / "x.npz")
    assert load_uploaded("x.npz", (tmp_path / "x.npz").read_bytes()).equals(data)

    buf = _io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        samples = np.array([30, 300, 3000, 6000], dtype=np.uint64)
        for name, arr in (("spike_times.npy", samples),
                          ("spike_clusters.npy", np.array([1, 2, 1, 2]))):
            b = _io.BytesIO()
            np.save(b, arr)
            zf.writestr(f"sorting/{name}", b.getvalue())
        zf.writestr("sorting/params.py", "sample_rate = 30000.0\n")
    phy = load_uploaded("sorting.zip", buf.getvalue())
    assert phy.unit_ids.tolist() == ["1", "2"]
    np.testing.assert_allclose(phy["1"], [0.001, 0.1])


def test_upload_errors_name_the_file_not_the_server_folder():
    with pytest.raises(SpikeDataError) as info:
        load_uploaded("broken.csv", b"time,unit\n0.5,a\nnan,b\n")
    message = str(info.value)
    assert message.startswith("broken.csv") and "spikelens-upload" not in message
    with pytest.raises(SpikeDataError, match="unsupported file type '.exe'"):
        load_uploaded("tool.exe", b"MZ")


def test_zip_with_escaping_path_is_refused():
    buf = _io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("../../evil.csv", "time,unit\n0.1,a\n")
    with pytest.raises(SpikeDataError, match="unsafe path"):
        load_uploaded("evil.zip", buf.getvalue())


def test_create_app_gives_each_session_its_own_state():
    from dashboard.app import create_app

    one, two = create_app(), create_app()
    assert one.session is not two.session
    one.session.data = simulate.poisson(n_units=3, t_stop=1.0, seed=1)
    assert two.session.data.n_units == 500  # still the default demo
