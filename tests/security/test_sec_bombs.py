"""Small files that declare huge data: refused under the budget before anything is allocated.

The loads run in a child process with little address space (see conftest.py), with
``max_bytes`` as the dashboard passes it (20 x a 1 MB upload limit).
"""

import io
import json
import struct
import zipfile
import zlib

import numpy as np
import pytest

from analysis import SpikeDataError, SpikeTrains
from analysis.io import load, save
from analysis.results import HEADER

BUDGET = 20_000_000
N_BOMB = 1 << 28  # float64: 2.1 GB once inflated


def npy_bytes(a):
    buf = io.BytesIO()
    np.save(buf, a)
    return buf.getvalue()


def deflate_bomb(path, name, n):
    """A zip with one deflated ``name``.npy of ``n`` float64 zeros, written by hand in
    about a second: after a full flush, deflate gives the same bytes for every 1 MB block."""
    head = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        head, {"descr": "<f8", "fortran_order": False, "shape": (n,)})
    head = head.getvalue()
    block = bytes(1 << 20)
    count, rest = divmod(8 * n, len(block))
    assert rest == 0
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    first = c.compress(head) + c.flush(zlib.Z_FULL_FLUSH)
    one = c.compress(block) + c.flush(zlib.Z_FULL_FLUSH)
    data = first + one * count + c.flush()
    crc = zlib.crc32(head)
    for _ in range(count):
        crc = zlib.crc32(block, crc)
    size = len(head) + 8 * n
    fname = f"{name}.npy".encode()
    common = struct.pack("<HHHHHIIIHH", 20, 0, 8, 0, 0, crc, len(data), size, len(fname), 0)
    local = b"PK\x03\x04" + common + fname
    central = (b"PK\x01\x02" + struct.pack("<H", 20) + common
               + struct.pack("<HHHII", 0, 0, 0, 0, 0) + fname)
    end = b"PK\x05\x06" + struct.pack("<HHHHIIH", 0, 0, 1, 1, len(central),
                                      len(local) + len(data), 0)
    path.write_bytes(local + data + central + end)
    return path


def add_member(path, name, array):
    with zipfile.ZipFile(path, "a") as zf:
        zf.writestr(f"{name}.npy", npy_bytes(array))


@pytest.fixture(scope="module")
def bomb(tmp_path_factory):
    """An NPZ of 2 MB whose ``times`` inflate to 2 GB (+ a small ``offsets``)."""
    path = deflate_bomb(tmp_path_factory.mktemp("bomb") / "bomb.npz", "times", N_BOMB)
    add_member(path, "offsets", np.array([0, N_BOMB]))
    with zipfile.ZipFile(path) as zf:
        assert zf.getinfo("times.npy").file_size > 2e9 and path.stat().st_size < 3e6
    return path


def assert_refused(kind, msg, path, where):
    assert kind == "SpikeDataError", (kind, msg)
    assert str(path) in msg and where in msg and "max_bytes" in msg and "\n" not in msg


def test_npz_deflate_bomb_is_refused(bomb, limited):
    assert_refused(*limited(bomb, max_bytes=BUDGET), bomb, "times")


def test_result_file_bomb_is_refused(bomb, tmp_path, limited):
    path = tmp_path / "result.npz"
    path.write_bytes(bomb.read_bytes())
    add_member(path, HEADER, np.array(json.dumps({"format": "spikelens-result"})))
    assert_refused(*limited(path, "analysis.results.load_result", max_bytes=BUDGET),
                   path, "times")


@pytest.mark.parametrize("dtype, data", [("(200000000,)<f8", [0.0]),
                                         ("<U1000000000", ["a"])])
def test_npz_metadata_array_bomb_is_refused(tmp_path, limited, dtype, data):
    """A few kB of JSON metadata declaring a 1.6 GB (subarray) or 4 GB (string) array."""
    path = save(SpikeTrains.from_lists([[0.1]], t_start=0, t_stop=1), tmp_path / "x.npz")
    with np.load(path) as z:
        arrays = {k: z[k] for k in z.files}
    meta = json.loads(str(arrays["meta"]))
    meta["object_arrays"]["truth"]["bomb"] = {"dtype": dtype, "shape": [1], "data": data}
    arrays["meta"] = np.array(json.dumps(meta))
    np.savez(path, **arrays)
    assert path.stat().st_size < 5000
    kind, msg = limited(path, max_bytes=BUDGET)
    assert kind == "SpikeDataError", (kind, msg)
    assert str(path) in msg and "truth 'bomb'" in msg and "\n" not in msg


def test_default_budget_still_reads_ordinary_files(tmp_path):
    """A million spikes (8 MB) load under the default budget; 1 MB is too little."""
    times = np.sort(np.random.default_rng(0).uniform(0, 100, 1_000_000))
    path = save(SpikeTrains(times, [0, times.size], 0, 100), tmp_path / "big.npz")
    assert load(path).n_spikes == times.size
    with pytest.raises(SpikeDataError, match="max_bytes"):
        load(path, max_bytes=1_000_000)


@pytest.mark.parametrize("bad", [0, -1, float("nan"), float("inf"), "1e9", True])
def test_max_bytes_must_be_a_positive_number(tmp_path, bad):
    path = save(SpikeTrains.from_lists([[0.1]], t_start=0, t_stop=1), tmp_path / "x.npz")
    with pytest.raises(ValueError, match="max_bytes"):
        load(path, max_bytes=bad)


def test_parquet_declared_rows_count_against_the_budget(tmp_path):
    """Three million identical rows compress to a few kB but take 48 MB once read."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = tmp_path / "x.parquet"
    n = 3_000_000
    pq.write_table(pa.table({"time": np.zeros(n), "unit": np.zeros(n, dtype=np.int64)}), path)
    assert path.stat().st_size < 100_000
    with pytest.raises(SpikeDataError, match="max_bytes") as info:
        load(path, max_bytes=BUDGET)
    assert str(path) in str(info.value) and "rows" in str(info.value)
