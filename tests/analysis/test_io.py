"""Tests of analysis.io: exact round trips, foreign files and one test per bad-file case."""

import json
import os
from datetime import UTC, datetime

import neo
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import quantities as pq_units

from analysis import Epochs, SpikeDataError, SpikeTrains
from analysis.io import load, save

ROUND_TRIP_FORMATS = ["npz", "csv", "parquet", "nix"]


# ---------------------------------------------------------------------- fixtures / helpers
def rich():
    """Silent units, awkward ids, t_start != 0, overlapping epochs, truth, annotations."""
    return SpikeTrains.from_lists(
        [[0.1, 0.2, 0.95], [], [0.5, 1 / 3 + 0.2], [], [1.2]],
        t_start=0.05, t_stop=1.25, unit_ids=["a", "007", "c,d", "silent", "12"],
        annotations={"name": "rec1", "rate_hz": 1.5, "channels": [1, 2], "none": None,
                     "nested": {"k": "v"}},
        unit_annotations={"group": np.array(["good", "mua", "", "noise", "good"]),
                          "amp": np.array([1, 2, 3, 4, 5], dtype=np.int32),
                          "ok": np.array([True, False, True, False, True]),
                          "depth_um": np.array([0.1, 0.7, 2.0, 1e-9, 3.5]),
                          "mixed": np.array([None, "x", 3, 2.5, "y"], dtype=object)},
        epochs=Epochs([0.1, 0.5, 0.05], [0.3, 0.9, 1.2], ["A", "B", ""]),
        truth={"ordering": np.array([2, 0, 1, 3, 4]),
               "chain_group": np.array([0, -1, 1, -1, 0]),
               "assembly_membership": np.array([[True, False, True, False, False]]),
               "epoch_labels": np.array([1, -1, 0]),
               "weights": np.zeros((0, 3), dtype=np.float32)})


def plain():
    """No epochs, no truth, t_start = 0, all units silent but one."""
    return SpikeTrains.from_lists([[], [0.25, 0.5], []], t_start=0.0, t_stop=2.0)


def random_times():
    """Floats with arbitrary bit patterns (all digits matter) to check CSV precision."""
    rng = np.random.default_rng(1)
    bits = rng.integers(0, 2 ** 62, size=2000, dtype=np.int64)
    x = bits.view(np.float64)
    x = np.sort(x[np.isfinite(x) & (x >= 0) & (x < 1e300)])
    x = np.concatenate([[0.0, 5e-324, 0.1, 1 / 3], x])
    half = x.size // 2
    return SpikeTrains.from_lists([x[:half], x[half:]], t_start=0.0, t_stop=float(x.max()))


def assert_exact(a, b):
    assert a.equals(b), (a, b)
    # equals() compares values; check that dtype kinds survive as well
    for k, v in a.unit_annotations.items():
        assert b.unit_annotations[k].dtype.kind == v.dtype.kind, k
    for k, v in a.truth.items():
        assert b.truth[k].dtype.kind == v.dtype.kind, k
        assert b.truth[k].shape == v.shape, k


def raises(path, *reasons, **kwargs):
    """load(path) must raise SpikeDataError naming the file and every reason, on one line."""
    with pytest.raises(SpikeDataError) as info:
        load(path, **kwargs)
    msg = str(info.value)
    assert os.path.basename(str(path).rstrip("/")) in msg, msg
    for reason in reasons:
        assert reason in msg, msg
    assert "\n" not in msg
    return msg


def write_text(path, text):
    path.write_text(text, encoding="utf-8")
    return path


# ---------------------------------------------------------------------- round trips
@pytest.mark.parametrize("fmt", ROUND_TRIP_FORMATS)
@pytest.mark.parametrize("make", [rich, plain], ids=["rich", "plain"])
def test_round_trip_is_exact(tmp_path, fmt, make):
    st = make()
    path = save(st, tmp_path / f"data.{fmt}")
    assert path.exists()
    back = load(path)
    assert_exact(st, back)
    assert back.epochs is None if st.epochs is None else len(back.epochs) == len(st.epochs)
    assert os.listdir(tmp_path) == [f"data.{fmt}"]  # no temporary file left behind


@pytest.mark.parametrize("fmt", ["csv", "parquet", "npz"])
def test_round_trip_keeps_every_bit_of_the_times(tmp_path, fmt):
    st = random_times()
    assert_exact(st, load(save(st, tmp_path / f"x.{fmt}")))


def test_round_trip_with_zero_units(tmp_path):
    st = SpikeTrains(np.empty(0), [0], 1.0, 3.0, unit_ids=[])
    for fmt in ROUND_TRIP_FORMATS:
        assert_exact(st, load(save(st, tmp_path / f"empty.{fmt}")))


def test_save_overwrites_and_format_overrides_extension(tmp_path):
    path = tmp_path / "spikes.dat"
    save(plain(), path, format="parquet")
    save(rich(), path, format="parquet")
    assert_exact(rich(), load(path, format="parquet"))


def test_failed_save_leaves_the_old_file_and_no_temporary(tmp_path):
    path = save(plain(), tmp_path / "keep.csv")
    before = path.read_bytes()
    weird = plain().replace(truth={"pairs": np.zeros(3, dtype=[("a", "i4"), ("b", "f8")])})
    with pytest.raises(SpikeDataError, match="keep.csv"):
        save(weird, path)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["keep.csv"]


def test_csv_is_a_plain_table_of_absolute_times(tmp_path):
    st = rich()
    path = save(st, tmp_path / "t.csv")
    first = path.read_text().splitlines()[0]
    assert first.startswith("# spikelens: ")
    assert json.loads(first[len("# spikelens: "):])["unit_ids"] == st.unit_ids.tolist()
    df = pd.read_csv(path, comment="#", dtype={"unit": str, "label": str},
                     keep_default_na=False)
    assert list(df.columns) == ["time", "unit", "epoch", "label"]
    np.testing.assert_array_equal(df["time"], st.times)
    np.testing.assert_array_equal(df["unit"], st.unit_ids[st.units])
    # the spike at 0.1 s lies in epochs 0 and 2: the first wins; 1.2 s lies in epoch 2 only
    assert df["epoch"].tolist() == [0, 0, 2, 1, 1, 2]
    assert df["label"].tolist() == ["A", "A", "", "B", "B", ""]


def test_parquet_has_columns_and_metadata(tmp_path):
    path = save(rich(), tmp_path / "t.parquet")
    table = pq.read_table(path)
    assert table.column_names == ["time", "unit", "epoch", "label"]
    meta = json.loads(table.schema.metadata[b"spikelens"])
    assert meta["unit_ids"] == ["a", "007", "c,d", "silent", "12"]
    assert meta["epochs"]["stop"] == [0.3, 0.9, 1.2]


def test_npz_layout_is_plain_arrays(tmp_path):
    st = rich()
    path = save(st, tmp_path / "t.npz")
    with np.load(path, allow_pickle=False) as z:
        np.testing.assert_array_equal(z["times"], st.times)
        np.testing.assert_array_equal(z["offsets"], st.offsets)
        assert z["t_start"] == 0.05 and z["unit_ids"].tolist() == st.unit_ids.tolist()
        assert z["truth__ordering"].tolist() == [2, 0, 1, 3, 4]
        assert z["unit__group"].tolist() == st.unit_annotations["group"].tolist()
        assert "unit__mixed" not in z.files  # object arrays go into the JSON meta


def test_bounds_can_be_overridden(tmp_path):
    path = save(rich(), tmp_path / "t.npz")
    st = load(path, t_start=0.0, t_stop=10.0)
    assert (st.t_start, st.t_stop) == (0.0, 10.0)
    np.testing.assert_array_equal(st.times, rich().times)


# ---------------------------------------------------------------------- NIX and neo
def elephant_style_block(unsorted=False):
    """As Elephant's ASSET showcase data: one Segment, trains in ms, an ordering annotation."""
    seg = neo.Segment(name="asset showcase", spiketrain_ordering=[2, 0, 1])
    trains = [[10.0, 250.0, 900.0], [5.0, 400.0], [100.0]]
    if unsorted:
        trains[1] = [400.0, 5.0]
    for i, t in enumerate(trains):
        seg.spiketrains.append(neo.SpikeTrain(t * pq_units.ms, t_start=0 * pq_units.ms,
                                              t_stop=1000 * pq_units.ms, name=f"n{i}",
                                              layer=["L2/3", "L4", "L5"][i]))
    block = neo.Block(name="showcase")
    block.segments.append(seg)
    return block


def write_nix(block, path):
    from neo.io import NixIO

    with NixIO(str(path), mode="ow") as io:
        io.write_block(block)
    return path


def test_nix_from_elephant_style_file_in_ms(tmp_path):
    path = write_nix(elephant_style_block(), tmp_path / "asset_showcase.nix")
    st = load(path)
    assert st.unit_ids.tolist() == ["n0", "n1", "n2"]
    assert (st.t_start, st.t_stop) == (0.0, 1.0)
    np.testing.assert_allclose(st[0], [0.010, 0.250, 0.900], rtol=0, atol=1e-15)
    np.testing.assert_allclose(st[1], [0.005, 0.400], rtol=0, atol=1e-15)
    assert st.truth["ordering"].tolist() == [2, 0, 1]
    assert st.truth["ordering"].dtype.kind == "i"
    assert st.unit_annotations["layer"].tolist() == ["L2/3", "L4", "L5"]


def test_nix_unsorted_train_is_refused_unless_sort(tmp_path):
    path = write_nix(elephant_style_block(unsorted=True), tmp_path / "unsorted.nix")
    raises(path, "not sorted", "unit n1")
    assert load(path, sort=True)[1].tolist() == [0.005, 0.4]


def test_nix_foreign_file_keeps_its_layout_through_load_and_save(tmp_path):
    from neo.io import NixIO

    original = elephant_style_block()
    original.annotate(lab="x", channels=[3, 4])
    original.segments[0].annotate(stimulus="grating")
    original.segments[0].epochs.append(neo.Epoch(times=[0, 500] * pq_units.ms,
                                                 durations=[100, 100] * pq_units.ms,
                                                 labels=np.array(["a", "b"]), name="trials"))
    st = load(write_nix(original, tmp_path / "foreign.nix"))
    assert st.annotations["lab"] == "x" and st.annotations["stimulus"] == "grating"
    assert st.epochs.label.tolist() == ["a", "b"]
    # spikelens' own file: exact, and still laid out like the original for other readers
    path = save(st, tmp_path / "again.nix")
    assert_exact(st, load(path))
    with NixIO(str(path), mode="ro") as io:
        block = io.read_block()
    assert block.name == "showcase"
    seg = block.segments[0]
    assert seg.name == "asset showcase" and seg.annotations["stimulus"] == "grating"
    assert list(seg.annotations["spiketrain_ordering"]) == [2, 0, 1]
    assert "stimulus" not in block.annotations and block.annotations["lab"] == "x"
    assert [t.name for t in seg.spiketrains] == ["n0", "n1", "n2"]
    assert [t.annotations["layer"] for t in seg.spiketrains] == ["L2/3", "L4", "L5"]
    assert [e.name for e in seg.epochs] == ["trials"]
    assert list(seg.epochs[0].labels) == ["a", "b"]


def test_nix_save_of_foreign_data_keeps_block_name_and_partial_train_annotations(tmp_path):
    from neo.io import NixIO

    block = neo.Block(name="session 7")
    block.annotate(name="not the block's name")  # an annotation that shadows the name
    seg = neo.Segment(name="s")
    for i, extra in enumerate([{"depth": 10.5}, {}, {"depth": 3.0}]):
        t = neo.SpikeTrain([0.1 * (i + 1)] * pq_units.s, t_stop=1 * pq_units.s,
                           name=f"n{i}")
        t.annotate(**extra)
        seg.spiketrains.append(t)
    block.segments.append(seg)
    st = SpikeTrains.from_neo(block)
    assert st.unit_annotations["depth"].dtype == object  # missing on one train
    path = save(st, tmp_path / "foreign.nix")
    assert_exact(st, load(path))
    with NixIO(str(path), mode="ro") as io:  # what other readers see
        written = io.read_block()
    assert written.name == "session 7"
    assert [t.annotations.get("depth") for t in written.segments[0].spiketrains] == \
        [10.5, None, 3.0]


def test_nix_block_of_consecutive_trials_loads_as_one_recording(tmp_path):
    block = neo.Block(name="trials")
    for k in range(2):
        seg = neo.Segment(name=f"trial {k}")
        for i in range(2):
            seg.spiketrains.append(neo.SpikeTrain([k + 0.1 * (i + 1)] * pq_units.s,
                                                  t_start=k * pq_units.s,
                                                  t_stop=(k + 1) * pq_units.s, name=f"u{i}"))
        block.segments.append(seg)
    st = load(write_nix(block, tmp_path / "trials.nix"))
    assert st.unit_ids.tolist() == ["u0", "u1"] and (st.t_start, st.t_stop) == (0.0, 2.0)
    assert st["u1"].tolist() == [0.2, 1.2]
    assert st.epochs.label.tolist() == ["trial 0", "trial 1"]
    assert_exact(st, load(save(st, tmp_path / "again.nix")))
    # segments that overlap in time are not trials on one axis: refused, clearly
    block.segments[1].spiketrains[0].t_start = 0.5 * pq_units.s
    msg = raises(write_nix(block, tmp_path / "overlap.nix"), "block 'trials'",
                 "2 segments overlap in time")
    assert "segment 1 starts at 0.5 s" in msg


@pytest.mark.parametrize("fmt", ["npz", "csv", "parquet", "nix", "nwb"])
def test_save_into_a_missing_folder_names_the_target(tmp_path, fmt):
    target = tmp_path / "no" / "such" / f"out.{fmt}"
    with pytest.raises(FileNotFoundError) as info:
        save(plain(), target)
    msg = str(info.value)
    assert str(target) in msg and "no such folder" in msg and ".tmp" not in msg
    assert info.value.filename == str(target)
    assert not (tmp_path / "no").exists()


def test_save_errors_name_the_target_not_the_temporary_file(tmp_path, monkeypatch):
    import analysis.io as io_module

    def refuse(data, tmp):
        tmp.write_bytes(b"half")
        raise PermissionError(13, "Permission denied", str(tmp))

    monkeypatch.setitem(io_module._WRITERS, "npz", refuse)
    target = tmp_path / "out.npz"
    with pytest.raises(PermissionError) as info:
        save(plain(), target)
    assert str(target) in str(info.value) and ".tmp" not in str(info.value)
    assert os.listdir(tmp_path) == []  # the temporary file is gone

    def fail(data, tmp):
        raise RuntimeError(f"writer broke on {tmp}")

    monkeypatch.setitem(io_module._WRITERS, "npz", fail)
    with pytest.raises(SpikeDataError) as info:
        save(plain(), target)
    assert "out.npz" in str(info.value) and ".tmp" not in str(info.value)


@pytest.mark.parametrize("fmt", ["npz", "parquet", "csv", "nix", "nwb"])
def test_loaded_arrays_are_read_only(tmp_path, fmt):
    st = load(save(rich(), tmp_path / f"r.{fmt}"))
    assert not st.times.flags.writeable and not st.offsets.flags.writeable
    with pytest.raises(TypeError):
        st.annotations["x"] = 1


# ---------------------------------------------------------------------- NWB
def write_nwb(path, units=True, unit_name=True):
    from pynwb import NWBHDF5IO, NWBFile

    nwb = NWBFile(session_description="test", identifier="test-io",
                  session_start_time=datetime(2024, 1, 1, tzinfo=UTC))
    if units:
        if unit_name:
            nwb.add_unit_column("unit_name", "name")
        nwb.add_unit_column("quality", "curation")
        for i, (times, q) in enumerate([([0.5, 1.5, 2.5], "good"), ([], "mua"),
                                        ([3.0], "good")]):
            extra = {"unit_name": f"u{i}"} if unit_name else {}
            nwb.add_unit(spike_times=times, quality=q, id=10 + i, **extra)
        nwb.add_trial_column("label", "stimulus")
        nwb.add_trial(start_time=0.0, stop_time=2.0, label="left")
        nwb.add_trial(start_time=2.0, stop_time=4.5, label="right")
    with NWBHDF5IO(str(path), "w") as io:
        io.write(nwb)
    return path


def test_nwb_units_and_trials(tmp_path):
    st = load(write_nwb(tmp_path / "session.nwb"))
    assert st.unit_ids.tolist() == ["u0", "u1", "u2"]
    assert st[0].tolist() == [0.5, 1.5, 2.5] and st[1].size == 0 and st[2].tolist() == [3.0]
    assert (st.t_start, st.t_stop) == (0.0, 4.5)  # t_stop from the last trial
    assert st.epochs.label.tolist() == ["left", "right"]
    assert st.epochs.stop.tolist() == [2.0, 4.5]
    assert st.unit_annotations["quality"].tolist() == ["good", "mua", "good"]


def test_nwb_ids_from_id_column(tmp_path):
    st = load(write_nwb(tmp_path / "ids.nwb", unit_name=False))
    assert st.unit_ids.tolist() == ["10", "11", "12"]


def test_nwb_round_trip_keeps_spikes_bounds_and_epochs(tmp_path):
    st = rich()
    back = load(save(st, tmp_path / "r.nwb"))
    np.testing.assert_array_equal(back.times, st.times)
    np.testing.assert_array_equal(back.offsets, st.offsets)
    assert back.unit_ids.tolist() == st.unit_ids.tolist()
    assert (back.t_start, back.t_stop) == (st.t_start, st.t_stop)
    assert back.epochs.equals(st.epochs)
    assert back.unit_annotations["amp"].tolist() == [1, 2, 3, 4, 5]


def test_nwb_without_units_table(tmp_path):
    raises(write_nwb(tmp_path / "nounits.nwb", units=False), "no units table")


# ---------------------------------------------------------------------- phy / Kilosort
def make_phy(folder, *, params="sample_rate = 30000.\n", clusters_name="spike_clusters.npy",
             n_clusters=None, group=True):
    folder.mkdir(exist_ok=True)
    samples = np.array([30, 300, 3000, 4500, 6000, 30000], dtype=np.uint64)
    clusters = np.array([10, 2, 10, 31, 2, 10], dtype=np.int32)
    if n_clusters is not None:
        clusters = clusters[:n_clusters]
    np.save(folder / "spike_times.npy", samples)
    np.save(folder / clusters_name, clusters)
    if params is not None:
        write_text(folder / "params.py", params)
    if group:
        write_text(folder / "cluster_group.tsv", "cluster_id\tgroup\n10\tgood\n2\tmua\n")
        write_text(folder / "cluster_info.tsv",
                   "cluster_id\tch\tfr\n2\t5\t1.5\n10\t7\t2.5\n31\t9\t0.5\n")
    return folder


def test_phy_folder(tmp_path):
    marker = tmp_path / "executed"
    params = ("import os\n"
              f"open({str(marker)!r}, 'w')\n"  # must never run
              "dat_path = os.path.join('a', 'b.bin')\n"
              "n_channels_dat = 385\n"
              "dtype = 'int16'\n"
              "sample_rate = 30000.\n"
              "hp_filtered = False\n")
    st = load(make_phy(tmp_path / "ks", params=params))
    assert not marker.exists()
    assert st.unit_ids.tolist() == ["2", "10", "31"]  # numeric order
    np.testing.assert_array_equal(st["10"], np.array([30, 3000, 30000]) / 30000.0)
    np.testing.assert_array_equal(st["2"], np.array([300, 6000]) / 30000.0)
    assert (st.t_start, st.t_stop) == (0.0, 1.0)
    assert st.unit_annotations["group"].tolist() == ["mua", "good", ""]
    assert st.unit_annotations["ch"].tolist() == [5, 7, 9]
    assert st.unit_annotations["fr"].tolist() == [1.5, 2.5, 0.5]
    assert st.annotations["sample_rate"] == 30000.0 and "dat_path" not in st.annotations


def test_phy_templates_and_kslabel(tmp_path):
    folder = make_phy(tmp_path / "ks", clusters_name="spike_templates.npy", group=False)
    write_text(folder / "cluster_group.tsv", "cluster_id\tKSLabel\n31\tgood\n")
    st = load(folder, t_stop=2.0)
    assert st.unit_ids.tolist() == ["2", "10", "31"] and st.t_stop == 2.0
    assert st.unit_annotations["group"].tolist() == ["", "", "good"]


def test_phy_mismatched_lengths(tmp_path):
    folder = make_phy(tmp_path / "ks", n_clusters=4)
    raises(folder, "spike_clusters.npy", "4 entries", "spike_times.npy has 6")


def test_phy_missing_params(tmp_path):
    raises(make_phy(tmp_path / "ks", params=None), "params.py", "missing")


def test_phy_params_without_sample_rate(tmp_path):
    raises(make_phy(tmp_path / "ks", params="n_channels_dat = 4\n"), "params.py",
           "no sample_rate")


def test_folder_that_is_not_phy(tmp_path):
    folder = tmp_path / "random_folder"
    folder.mkdir()
    write_text(folder / "notes.txt", "hello")
    raises(folder, "is not a phy/Kilosort folder (no spike_times.npy)")


# ---------------------------------------------------------------------- foreign tables
def test_foreign_csv_infers_units_bounds_and_epochs(tmp_path):
    path = write_text(tmp_path / "foreign.csv",
                      "time,unit,epoch,label\n"
                      "0.5,10,0,go\n0.7,2,0,go\n1.0,10,-1,\n2.0,2,1,stop\n2.5,33,1,stop\n")
    st = load(path)
    assert st.unit_ids.tolist() == ["2", "10", "33"]  # numeric, not "10" < "2"
    assert (st.t_start, st.t_stop) == (0.0, 2.5)
    assert st["10"].tolist() == [0.5, 1.0]
    assert st.epochs.start.tolist() == [0.5, 2.0] and st.epochs.stop.tolist() == [0.7, 2.5]
    assert st.epochs.label.tolist() == ["go", "stop"]


def test_foreign_parquet_with_string_units_and_sort(tmp_path):
    path = tmp_path / "foreign.parquet"
    pq.write_table(pa.table({"time": [0.3, 0.1, 0.2], "unit": ["b", "a", "b"]}), path)
    raises(path, "not sorted", "unit 'b'", "row 2")
    st = load(path, sort=True)
    assert st.unit_ids.tolist() == ["a", "b"] and st["b"].tolist() == [0.2, 0.3]


def test_foreign_npz_flat_columns(tmp_path):
    np.savez(tmp_path / "flat.npz", times=np.array([0.1, 0.2, 0.3]),
             units=np.array([3, 1, 3]))
    st = load(tmp_path / "flat.npz")
    assert st.unit_ids.tolist() == ["1", "3"] and st["3"].tolist() == [0.1, 0.3]
    np.savez(tmp_path / "ks.npz", spike_times=np.array([100, 200, 300], dtype=np.uint64),
             spike_clusters=np.array([0, 1, 0]), sample_rate=np.float64(1000.0))
    st = load(tmp_path / "ks.npz")
    assert st["0"].tolist() == [0.1, 0.3] and st.t_stop == 0.3


def test_negative_times_need_t_start(tmp_path):
    path = write_text(tmp_path / "neg.csv",
                      "time,unit\n" + "".join(f"{t},1\n" for t in [0.0] * 7 + [-0.1]))
    raises(path, "negative time -0.1", "row 7")
    assert load(path, t_start=-1.0, sort=True)["1"][0] == -0.1


def test_times_beyond_t_stop(tmp_path):
    path = write_text(tmp_path / "late.csv", "time,unit\n0.1,a\n5.0,a\n")
    raises(path, "after t_stop = 1.0", "row 1", t_stop=1.0)


def test_t_stop_override_on_own_file_with_a_later_spike(tmp_path):
    path = save(rich(), tmp_path / "own.parquet")
    raises(path, "after t_stop = 1.0", "row", t_stop=1.0)


# ---------------------------------------------------------------------- bad files
def test_missing_file(tmp_path):
    raises(tmp_path / "nowhere.csv", "no such file")


@pytest.mark.parametrize("ext", ["csv", "parquet", "npz", "nix", "nwb"])
def test_empty_file(tmp_path, ext):
    path = tmp_path / f"empty.{ext}"
    path.write_bytes(b"")
    raises(path, "empty")


@pytest.mark.parametrize("fmt", ["parquet", "npz", "nix", "nwb"])
def test_truncated_binary_file(tmp_path, fmt):
    path = save(rich(), tmp_path / f"cut.{fmt}")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    raises(path, "cannot read as")


def test_truncated_csv_row(tmp_path):
    path = save(rich(), tmp_path / "cut.csv")
    text = path.read_text()
    path.write_text(text[: text.rindex(",\"c,d\"")])  # last row keeps only its time
    raises(path, "unit is missing", "row 4")


def test_nan_time(tmp_path):
    path = write_text(tmp_path / "nan.csv", "time,unit\n0.1,1\n,1\n")
    raises(path, "time is missing", "row 1 (line 3)")
    path = write_text(tmp_path / "nan2.csv", "time,unit\n0.1,1\nnan,1\n")
    raises(path, "time is missing or NaN", "row 1")


def test_non_numeric_time(tmp_path):
    raises(write_text(tmp_path / "abc.csv", "time,unit\n0.1,1\nabc,1\n"),
           "time 'abc' is not a number", "row 1")


def test_nan_time_in_npz(tmp_path):
    path = save(plain(), tmp_path / "nan.npz")
    with np.load(path) as z:
        arrays = dict(z)
    arrays["times"] = np.array([0.25, np.nan])
    np.savez(path, **arrays)
    raises(path, "not finite", "unit 1, spike 1")


def test_unknown_columns(tmp_path):
    path = write_text(tmp_path / "extra.csv", "time,unit,amplitude,channel\n0.1,1,3,4\n")
    raises(path, "unknown column(s) 'amplitude', 'channel'", "time, unit, epoch, label")
    path = tmp_path / "extra.parquet"
    pq.write_table(pa.table({"time": [0.1], "unit": [1], "amp": [2.0]}), path)
    raises(path, "unknown column(s) 'amp'")


def test_missing_columns(tmp_path):
    raises(write_text(tmp_path / "nounit.csv", "time\n0.1\n"), "missing column(s) 'unit'")
    path = tmp_path / "notime.parquet"
    pq.write_table(pa.table({"unit": [1]}), path)
    raises(path, "missing column(s) 'time'")


def test_unsorted_rows_in_csv(tmp_path):
    path = write_text(tmp_path / "unsorted.csv", "time,unit\n0.2,1\n0.5,2\n0.1,1\n")
    raises(path, "not sorted by time within unit '1'", "row 2", "sort=True")
    assert load(path, sort=True)["1"].tolist() == [0.1, 0.2]


def test_unsorted_spikes_in_own_npz(tmp_path):
    path = save(plain(), tmp_path / "u.npz")
    with np.load(path) as z:
        arrays = dict(z)
    arrays["times"] = np.array([0.5, 0.25])
    np.savez(path, **arrays)
    raises(path, "not sorted", "unit 1, spike 1")
    assert load(path, sort=True)[1].tolist() == [0.25, 0.5]


def test_label_must_be_constant_within_an_epoch(tmp_path):
    path = write_text(tmp_path / "labels.csv",
                      "time,unit,epoch,label\n0.1,1,0,go\n0.2,1,0,stop\n")
    raises(path, "epoch '0' has more than one label", "'go'", "'stop'", "row 1")


def test_unknown_extension(tmp_path):
    raises(write_text(tmp_path / "spikes.txt", "0.1 1\n"), "unknown file type '.txt'")


def test_unknown_format_argument_is_a_value_error(tmp_path):
    with pytest.raises(ValueError, match="format"):
        load(tmp_path / "x.csv", format="xls")


def test_corrupt_metadata(tmp_path):
    path = save(plain(), tmp_path / "meta.csv")
    lines = path.read_text().splitlines(keepends=True)
    path.write_text(lines[0][:40] + "\n" + "".join(lines[1:]))
    raises(path, "spikelens metadata", "not valid JSON")


def test_unit_not_in_metadata(tmp_path):
    path = save(plain(), tmp_path / "units.csv")
    path.write_text(path.read_text() + "0.75,ghost\n")
    raises(path, "unit 'ghost' is not among the unit_ids", "row 2")


def test_pickled_npz_is_refused(tmp_path):
    path = tmp_path / "pickle.npz"
    np.savez(path, times=np.array([0.1]), units=np.array([{"evil": 1}], dtype=object))
    raises(path, "pickled data is refused")


def test_unknown_npz_layout(tmp_path):
    path = tmp_path / "other.npz"
    np.savez(path, x=np.arange(3))
    raises(path, "unknown NPZ layout", "keys: x")


def test_not_a_nix_file(tmp_path):
    raises(write_text(tmp_path / "fake.nix", "this is text"), "cannot read as NIX")
