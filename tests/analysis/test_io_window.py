"""Restricted loading: ``load(path, window=, units=)`` equals slicing the full load, and
NPZ, Parquet and NWB read less than the whole file."""

import io

import numpy as np
import pytest

import analysis.io as aio
from analysis import Epochs, SpikeDataError, SpikeTrains
from analysis.io import load, save

ALL_FORMATS = ["npz", "parquet", "nwb", "csv", "nix"]


def recording():
    """Six units (one silent), 0-10 s, epochs (one straddling 4 s), truth per unit."""
    rng = np.random.default_rng(3)
    trains = [np.sort(rng.uniform(0.0, 10.0, k)) for k in (300, 0, 50, 400, 7, 120)]
    return SpikeTrains.from_lists(
        trains, t_start=0.0, t_stop=10.0, unit_ids=["3", "7", "a", "12", "b", "40"],
        unit_annotations={"depth": np.arange(6.0)},
        epochs=Epochs([1.0, 3.5, 6.0], [2.0, 4.5, 7.0], ["x", "y", "x"]))


def expected(full, window=None, units=None):
    if units is not None:
        full = full.select_units([str(u) for u in units])
    if window is not None:
        full = full.time_slice(max(window[0], full.t_start), min(window[1], full.t_stop))
    return full


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("window")
    data = recording()
    out = {}
    for fmt in ALL_FORMATS:
        out[fmt] = save(data, folder / f"rec.{fmt}")
    out["npz-compressed"] = folder / "compressed.npz"
    np.savez_compressed(out["npz-compressed"], **dict(np.load(out["npz"])))
    return out


ASKS = [dict(window=(3.0, 5.0)), dict(units=["a", 12]),
        dict(window=(4.2, 20.0), units=[40, "7", "3"]), dict(window=(-5.0, 0.5)),
        dict(window=(2.5, 2.5)), dict(units=[])]


@pytest.mark.parametrize("fmt", [*ALL_FORMATS, "npz-compressed"])
@pytest.mark.parametrize("ask", ASKS, ids=lambda a: "-".join(a))
def test_equals_slice_of_full_load(files, fmt, ask):
    full = load(files[fmt])
    got = load(files[fmt], **ask)
    want = expected(full, **ask)
    assert got.equals(want), (got, want)


@pytest.mark.parametrize("ask, keyword", [
    (dict(window=(11.0, 12.0)), "window"),
    (dict(window=(5.0, 4.0)), "window"),
    (dict(window=(float("nan"), 4.0)), "window"),
    (dict(window=(1.0,)), "window"),
    (dict(window="0-1"), "window"),
    (dict(units=["nope"]), "units"),
    (dict(units=[99]), "units"),
    (dict(units="3"), "units"),
    (dict(units=[3, "3"]), "units"),
    (dict(units=[1.5]), "units")])
@pytest.mark.parametrize("fmt", ["npz", "parquet", "nwb", "csv"])
def test_hostile_requests_give_one_line_errors(files, fmt, ask, keyword):
    with pytest.raises(ValueError) as err:
        load(files[fmt], **ask)
    text = str(err.value)
    assert "\n" not in text and keyword in text, text


def counting_open(counter):
    """An ``open`` for ``analysis.io`` that counts the bytes read from the file."""
    class Raw(io.FileIO):
        def readinto(self, b):
            n = super().readinto(b)
            counter[0] += n or 0
            return n

    def opener(path, mode="r", buffering=-1):
        assert mode == "rb"
        return Raw(path) if buffering == 0 else io.BufferedReader(Raw(path))
    return opener


def big(tmp_path, fmt, **kwargs):
    rng = np.random.default_rng(0)
    trains = [np.sort(rng.uniform(0.0, 100.0, 20_000)) for _ in range(20)]
    path = tmp_path / f"big.{fmt}"
    save(SpikeTrains.from_lists(trains, t_start=0.0, t_stop=100.0), path, **kwargs)
    return path


@pytest.mark.parametrize("fmt", ["npz", "npz-compressed"])
def test_npz_reads_less(tmp_path, monkeypatch, fmt):
    path = big(tmp_path, "npz")
    if fmt == "npz-compressed":
        compressed = tmp_path / "c.npz"
        np.savez_compressed(compressed, **dict(np.load(path)))
        path = compressed
    counts = {}
    for name, ask in (("full", {}), ("window", dict(window=(50.0, 51.0))),
                      ("units", dict(units=["4"]))):
        counter = [0]
        monkeypatch.setattr(aio, "open", counting_open(counter), raising=False)
        got = load(path, **ask)
        monkeypatch.undo()
        assert got.equals(expected(load(path), **ask))
        counts[name] = counter[0]
    if fmt == "npz":  # 3.2 MB of times: a window reads about 1 %, a unit 5 %
        assert counts["window"] < counts["full"] / 20
        assert counts["units"] < counts["full"] / 10
    else:  # streamed: everything is read, but the budget counts only what is kept
        assert counts["window"] <= counts["full"]


@pytest.mark.parametrize("fmt", ["npz", "npz-compressed"])
def test_budget_counts_only_what_is_read(tmp_path, fmt):
    path = big(tmp_path, "npz")
    if fmt == "npz-compressed":
        compressed = tmp_path / "c.npz"
        np.savez_compressed(compressed, **dict(np.load(path)))
        path = compressed
    with pytest.raises(SpikeDataError, match="max_bytes"):
        load(path, max_bytes=1_000_000)
    assert load(path, max_bytes=1_000_000, window=(50.0, 51.0)).n_spikes > 0


def test_sort_reads_everything_then_restricts(files):
    got = load(files["npz"], sort=True, window=(3.0, 5.0))
    assert got.equals(expected(load(files["npz"]), window=(3.0, 5.0)))


def test_parquet_reads_only_the_row_groups_asked(tmp_path, monkeypatch):
    import pyarrow.parquet as pq

    monkeypatch.setattr(aio, "_PARQUET_ROW_GROUP", 5_000)
    path = big(tmp_path, "parquet")  # 20 units x 20,000 rows: 80 row groups, 4 a unit
    read = []
    original = pq.ParquetFile.read_row_groups
    monkeypatch.setattr(pq.ParquetFile, "read_row_groups",
                        lambda self, groups, **kw: read.append(list(groups)) or
                        original(self, groups, **kw))
    full = load(path)
    assert len(read[-1]) == 80
    got = load(path, units=["4", "17"])
    assert got.equals(expected(full, units=["4", "17"]))
    assert len(read[-1]) <= 10  # 4 groups a unit, one more where a unit starts mid-group
    # grouped by unit, each group spans a quarter of the recording: a window skips 3/4
    got = load(path, window=(50.0, 51.0))
    assert got.equals(expected(full, window=(50.0, 51.0)))
    assert len(read[-1]) <= 40
    counter = [0]
    monkeypatch.setattr(aio, "open", counting_open(counter), raising=False)
    load(path, units=["4"], window=(50.0, 51.0))
    assert counter[0] < path.stat().st_size / 20


def test_parquet_budget_counts_only_the_groups_read(tmp_path, monkeypatch):
    monkeypatch.setattr(aio, "_PARQUET_ROW_GROUP", 5_000)
    path = big(tmp_path, "parquet")
    with pytest.raises(SpikeDataError, match="max_bytes"):
        load(path, max_bytes=2_000_000)
    assert load(path, max_bytes=2_000_000, units=["3"]).n_spikes == 20_000


def test_nwb_reads_only_the_asked_ranges(tmp_path, monkeypatch):
    path = big(tmp_path, "nwb")
    with pytest.raises(SpikeDataError, match="max_bytes"):
        load(path, max_bytes=2_000_000)
    sliced = []
    original = aio._H5Values.__getitem__
    monkeypatch.setattr(aio._H5Values, "__getitem__",
                        lambda self, k: sliced.append(k) or original(self, k))
    got = load(path, max_bytes=2_000_000, window=(50.0, 51.0), units=["2", "5"])
    assert got.equals(expected(load(path), window=(50.0, 51.0), units=["2", "5"]))
    assert got.n_spikes > 0
    assert len(sliced) <= 2 * 2 * 6  # two searches in 20,000 values, to 512, per unit


@pytest.mark.parametrize("fmt", ["npz", "nwb"])
def test_search_by_single_values_keeps_ties_and_bounds(tmp_path, monkeypatch, fmt):
    monkeypatch.setattr(aio, "_SEARCH_BLOCK", 2)  # search by single values down to 2
    trains = [[0.5, 1.0, 1.0, 1.0, 2.0, 2.0, 3.0, 4.0, 4.0, 4.0, 5.0], [1.0] * 9, [6.0]]
    data = SpikeTrains.from_lists(trains, t_start=0.0, t_stop=6.0)
    path = save(data, tmp_path / f"ties.{fmt}")
    full = load(path)
    for window in [(1.0, 4.0), (1.0, 1.0), (0.0, 0.5), (4.0, 6.0), (1.5, 1.9), (2.0, 2.0)]:
        got = load(path, window=window)
        assert got.equals(expected(full, window=window)), window


def test_unknown_unit_is_named(files):
    with pytest.raises(SpikeDataError, match=r"units: unit id 'nope' is not in the file"):
        load(files["npz"], units=["3", "nope"])


@pytest.mark.parametrize("compress", [False, True])
def test_npz_without_spikes(tmp_path, compress):
    data = SpikeTrains.from_lists([[], []], t_start=0.0, t_stop=2.0)
    path = save(data, tmp_path / "empty.npz")
    if compress:
        np.savez_compressed(path, **dict(np.load(path)))
    got = load(path, window=(0.5, 1.0), units=[1])
    assert got.equals(expected(data, window=(0.5, 1.0), units=[1]))
