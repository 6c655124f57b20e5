"""Fuzzing every loader: truncated, bit-flipped, empty, misnamed and oversized-field files.

Every failure must be a one-line :class:`SpikeDataError` naming the file (never another
exception type, never a hang: each load runs under a ``signal.alarm`` guard), and a load
that succeeds must return a complete, valid :class:`SpikeTrains`.
Seeded, so every run sees the same corrupted files.
"""

import contextlib
import json
import os
import pathlib
import signal
import threading
import zipfile

import numpy as np
import pytest

from analysis import SpikeTrains
from analysis.errors import SpikeDataError
from analysis.io import load, save

FORMATS = ["csv", "parquet", "npz", "nix", "nwb", "phy"]
FAST_FORMATS = ["csv", "parquet", "npz", "phy"]
SLOW = {"nix", "nwb"}  # HDF5 files: ~50 ms per load
LOAD_TIMEOUT_S = 20


class LoadHang(Exception):
    pass


@contextlib.contextmanager
def no_hang(seconds=LOAD_TIMEOUT_S):
    """Fail (instead of hanging) when the body runs longer than ``seconds``."""
    if not hasattr(signal, "SIGALRM") or threading.current_thread() is not threading.main_thread():
        yield
        return

    def on_alarm(signum, frame):
        raise LoadHang(f"load took longer than {seconds} s")

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def assert_valid(st):
    """A complete SpikeTrains: re-validating all its fields gives the same object."""
    assert isinstance(st, SpikeTrains)
    assert st.offsets[0] == 0 and st.offsets[-1] == st.n_spikes
    assert np.all(np.isfinite(st.times))
    assert np.all((st.times >= st.t_start) & (st.times <= st.t_stop))
    for i in range(st.n_units):
        assert np.all(np.diff(st[i]) >= 0)
    again = SpikeTrains(**{k: getattr(st, k) for k in SpikeTrains.__slots__
                           if not k.startswith("_")})  # private slots are caches
    assert again.equals(st)


def try_load(path, **kwargs):
    """Load under the hang guard; return the SpikeTrains or the (checked) SpikeDataError."""
    path = pathlib.Path(path)
    try:
        with no_hang():
            st = load(path, **kwargs)
    except SpikeDataError as exc:
        msg = str(exc)
        assert msg and "\n" not in msg and "\r" not in msg, repr(msg)
        # names the file (or a file inside the phy folder)
        assert path.name in msg or str(path.parent) in msg, msg
        return exc
    except LoadHang:
        pytest.fail(f"load({path.name}) hung")
    except BaseException as exc:  # the bug this file hunts for
        pytest.fail(f"load({path.name}) leaked {type(exc).__name__}: {exc}")
    assert_valid(st)
    return st


def expect_error(path, *fragments, **kwargs):
    out = try_load(path, **kwargs)
    assert isinstance(out, SpikeDataError), f"{path.name} loaded: {out}"
    for f in fragments:
        assert f in str(out), (f, str(out))
    return out


# ====================================================================== valid files
def sample():
    return SpikeTrains.from_lists(
        [[0.05, 0.1, 0.35, 0.9], [0.2, 0.25], [], [0.5, 0.61, 0.62]],
        t_start=0.0, t_stop=1.0, unit_ids=["a", "b,c", "silent", "7"],
        epochs={"start": [0.0, 0.5], "stop": [0.4, 0.95], "label": ["go", "stop"]},
        annotations={"name": "fuzz", "rate": 30000.0},
        unit_annotations={"group": np.array(["good", "mua", "noise", "good"])},
        truth={"ordering": np.array([3, 0, 1, 2])})


def write_phy(folder, samples=None, clusters=None, rate="30000.0"):
    folder.mkdir(parents=True, exist_ok=True)
    samples = np.array([10, 250, 900, 3000, 12000], dtype=np.int64) if samples is None \
        else samples
    clusters = np.array([0, 2, 0, 5, 2], dtype=np.int32) if clusters is None else clusters
    np.save(folder / "spike_times.npy", samples)
    np.save(folder / "spike_clusters.npy", clusters)
    (folder / "params.py").write_text(f"dat_path = 'raw.bin'\nn_channels_dat = 32\n"
                                      f"sample_rate = {rate}\n")
    (folder / "cluster_group.tsv").write_text("cluster_id\tgroup\n0\tgood\n2\tmua\n5\tnoise\n")
    return folder


@pytest.fixture(scope="module")
def originals(tmp_path_factory):
    """Valid files written by the project's own saver (phy: the folder layout)."""
    root = tmp_path_factory.mktemp("originals")
    st = sample()
    out = {}
    for fmt in ["csv", "parquet", "npz", "nix", "nwb"]:
        path = save(st, root / f"good.{fmt}")
        out[fmt] = path
        assert_valid(load(path))
    out["phy"] = write_phy(root / "phy")
    assert_valid(load(out["phy"]))
    return out


def corrupt_target(fmt, original, tmp_path):
    """Where the corrupted bytes go, and what to load: the file, or the phy folder whose
    spike_times.npy is corrupted."""
    if fmt == "phy":
        folder = tmp_path / "phy"
        write_phy(folder)
        return folder / "spike_times.npy", folder
    path = tmp_path / f"bad.{fmt}"
    return path, path


def good_bytes(fmt, original):
    return (original / "spike_times.npy").read_bytes() if fmt == "phy" else \
        original.read_bytes()


def fmt_params(formats=FORMATS):
    return [pytest.param(f, marks=pytest.mark.slow) if f in SLOW else f for f in formats]


# ====================================================================== truncation
@pytest.mark.parametrize("fmt", fmt_params())
def test_truncated_files(fmt, originals, tmp_path):
    data = good_bytes(fmt, originals[fmt])
    n = len(data)
    cuts = sorted({1, 7, 16, 100, n // 4, n // 3, n // 2, 2 * n // 3, 3 * n // 4, n - 16,
                   n - 1} & set(range(1, n)))
    errors = 0
    for cut in cuts:
        target, what = corrupt_target(fmt, originals[fmt], tmp_path)
        target.write_bytes(data[:cut])
        errors += isinstance(try_load(what), SpikeDataError)
    # binary formats cannot survive losing their tail; CSV may lose whole rows silently
    # only when the cut falls on a row boundary (then the metadata still bounds the units)
    if fmt != "csv":
        assert errors == len(cuts)


# ====================================================================== bit flips
N_FLIPS = {"csv": 60, "parquet": 60, "npz": 60, "phy": 40, "nix": 25, "nwb": 25}


@pytest.mark.parametrize("fmt", fmt_params())
def test_bit_flipped_files(fmt, originals, tmp_path):
    data = good_bytes(fmt, originals[fmt])
    rng = np.random.default_rng(sum(map(ord, fmt)))
    for k in range(N_FLIPS[fmt]):
        buf = bytearray(data)
        mode = k % 3
        if mode == 0:  # a few single-bit flips anywhere
            for pos in rng.integers(0, len(buf), rng.integers(1, 4)):
                buf[pos] ^= 1 << int(rng.integers(0, 8))
        elif mode == 1:  # random bytes in the first kilobyte (headers, metadata)
            for pos in rng.integers(0, min(len(buf), 1024), rng.integers(1, 6)):
                buf[pos] = int(rng.integers(0, 256))
        else:  # a run of random bytes
            start = int(rng.integers(0, len(buf)))
            run = rng.integers(0, 256, min(int(rng.integers(1, 64)), len(buf) - start))
            buf[start:start + run.size] = run.astype(np.uint8).tobytes()
        target, what = corrupt_target(fmt, originals[fmt], tmp_path)
        target.write_bytes(bytes(buf))
        try_load(what)


# ====================================================================== empty / misnamed
@pytest.mark.parametrize("fmt", ["csv", "parquet", "npz", "nix", "nwb"])
def test_empty_file(fmt, tmp_path):
    path = tmp_path / f"empty.{fmt}"
    path.write_bytes(b"")
    expect_error(path, "empty")


def test_empty_and_whitespace_phy_files(tmp_path):
    folder = write_phy(tmp_path / "phy")
    for name in ["spike_times.npy", "spike_clusters.npy", "params.py", "cluster_group.tsv"]:
        for content in [b"", b"\n \n"]:
            write_phy(folder)
            (folder / name).write_bytes(content)
            expect_error(folder)
    expect_error(tmp_path / "phy" / "params.py")  # a folder's params.py alone: still phy


@pytest.mark.parametrize("src", fmt_params(["csv", "parquet", "npz", "nix", "nwb"]))
def test_wrong_extension(src, originals, tmp_path):
    data = originals[src].read_bytes()
    for ext in ["csv", "parquet", "pq", "npz", "nix", "nwb"]:
        if ext == src or {src, ext} == {"parquet", "pq"}:
            continue
        path = tmp_path / f"misnamed.{ext}"
        path.write_bytes(data)
        out = try_load(path)
        # NIX and NWB are both HDF5, so a NIX file named .nwb may be readable
        if not ({src, ext} <= {"nix", "nwb"}):
            assert isinstance(out, SpikeDataError), (src, ext)
    for name in ["noext", "data.txt", "data.npy", "data.h5", "data.csv.gz"]:
        path = tmp_path / name
        path.write_bytes(data)
        expect_error(path, "unknown file type")


def test_folder_and_missing_paths(tmp_path):
    expect_error(tmp_path / "missing.csv", "no such file")
    (tmp_path / "dir.csv").mkdir()
    expect_error(tmp_path / "dir.csv", "not a phy/Kilosort folder")  # folders are phy
    expect_error(tmp_path / "dir.csv", "is a folder", format="csv")
    expect_error(tmp_path, "not a phy/Kilosort folder")


# ====================================================================== oversized fields
def write_text(path, text):
    path.write_text(text, encoding="utf-8")
    return path


META = {"t_start": 0.0, "t_stop": 1.0, "unit_ids": ["a", "b"]}


def csv_with_meta(meta, rows="time,unit\n0.1,a\n"):
    return f"# spikelens: {json.dumps(meta)}\n{rows}"


CSV_CASES = {
    # (content, fragment of the message or None when loading may succeed)
    "huge_number": ("time,unit\n1e400,1\n", "not finite"),
    "huge_digits": ("time,unit\n" + "9" * 5000 + ",1\n", "not finite"),
    "huge_finite": ("time,unit\n0.5,1\n1e308,1\n", None),
    "nan": ("time,unit\n0.1,1\nnan,1\n", "NaN"),
    "inf": ("time,unit\n-inf,1\n", "not finite"),
    "negative": ("time,unit\n-0.5,1\n", "negative time"),
    "unsorted": ("time,unit\n0.5,1\n0.2,1\n", "not sorted"),
    "not_a_number": ("time,unit\n0x10,1\n", "not a number"),
    "missing_unit": ("time,unit\n0.1,\n", "unit is missing"),
    "long_unit": ("time,unit\n0.1," + "9" * 5000 + "\n", None),
    "unknown_column": ("time,unit,amp\n0.1,1,3\n", "unknown column"),
    "no_rows": ("time,unit\n", "no data rows"),
    "header_only_comment": ("# just a comment\n", "no header"),
    "ragged": ("time,unit\n0.1,1,5,6,7\n", None),
    "open_quote": ('time,unit\n"0.1,1\n', None),
    "nul_bytes": ("time,unit\n0.1\x00,1\n", None),
    "meta_dup_ids": (csv_with_meta({**META, "unit_ids": ["a", "a"]}), "used twice"),
    "meta_huge_t_stop": (csv_with_meta({**META, "t_stop": 1e999}), "finite"),
    "meta_nan_t_start": (csv_with_meta({**META, "t_start": float("nan")}), "finite"),
    "meta_reversed": (csv_with_meta({**META, "t_start": 2.0}), None),
    "meta_ids_not_strings": (csv_with_meta({**META, "unit_ids": [1, 2]}), "unit_ids"),
    "meta_not_object": ("# spikelens: [1, 2]\ntime,unit\n0.1,a\n", "JSON object"),
    "meta_bad_json": ("# spikelens: {\"t_start\": \ntime,unit\n0.1,a\n", "not valid JSON"),
    "meta_deep_json": ("# spikelens: " + "[" * 100000 + "]" * 100000 + "\ntime,unit\n0.1,a\n",
                       None),
    "meta_huge_array": (csv_with_meta({**META, "truth": {"x": {
        "dtype": "<f8", "shape": [10 ** 11], "data": [1.0]}}}), "malformed array record"),
    "meta_huge_2d": (csv_with_meta({**META, "truth": {"x": {
        "dtype": "<f8", "shape": [10 ** 6, 10 ** 6], "data": [1.0]}}}), "malformed"),
    "meta_huge_dtype": (csv_with_meta({**META, "truth": {"x": {
        "dtype": "V100000000000", "shape": [1], "data": [1]}}}), "malformed"),
    "meta_bad_epochs": (csv_with_meta({**META, "epochs": {"start": [0.5], "stop": [0.1],
                                                          "label": ["x"]}}), "ends before"),
    "meta_epochs_outside": (csv_with_meta({**META, "epochs": {"start": [0.5], "stop": [9.0],
                                                              "label": ["x"]}}), "outside"),
    "meta_spike_after_t_stop": (csv_with_meta(META, "time,unit\n5.0,a\n"), "after t_stop"),
    "meta_unknown_unit": (csv_with_meta(META, "time,unit\n0.1,zz\n"), "not among"),
    "epoch_two_labels": ("time,unit,epoch,label\n0.1,1,0,a\n0.2,1,0,b\n", "more than one"),
    "latin1": (b"time,unit\n0.1,\xff\xfe\n", None),
    "utf16": ("time,unit\n0.1,1\n".encode("utf-16"), None),
}


@pytest.mark.parametrize("case", sorted(CSV_CASES))
def test_csv_oversized_and_malformed_fields(case, tmp_path):
    content, fragment = CSV_CASES[case]
    path = tmp_path / f"{case}.csv"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        write_text(path, content)
    out = try_load(path)
    if fragment is not None:
        assert isinstance(out, SpikeDataError), out
        assert fragment in str(out), str(out)


def test_csv_sort_and_bounds_arguments(tmp_path):
    path = write_text(tmp_path / "u.csv", "time,unit\n0.5,1\n0.2,1\n-1,2\n")
    expect_error(path, "negative time")
    st = try_load(path, sort=True, t_start=-2.0)
    np.testing.assert_array_equal(st["1"], [0.2, 0.5])
    expect_error(path, "after t_stop", sort=True, t_start=-2.0, t_stop=0.3)


def npy_bytes(shape, dtype="<f8", payload=b"", version=(1, 0)):
    """A .npy file whose header claims ``shape`` whatever the payload holds."""
    header = "{'descr': '%s', 'fortran_order': False, 'shape': %s, }" % (dtype, shape)
    size_field = 2 if version == (1, 0) else 4
    pad = (64 - (8 + size_field + len(header) + 1) % 64) % 64
    header = (header + " " * pad + "\n").encode("latin-1")
    return (b"\x93NUMPY" + bytes(version) + len(header).to_bytes(size_field, "little")
            + header + payload)


def write_npz_members(path, members):
    with zipfile.ZipFile(path, "w") as z:
        for name, data in members.items():
            z.writestr(name + ".npy", data)
    return path


def npz_arrays(path, **arrays):
    np.savez(path, **arrays)
    return path


NPZ_CSR = dict(times=np.array([0.1, 0.2, 0.3]), offsets=np.array([0, 2, 3]),
               t_start=np.float64(0.0), t_stop=np.float64(1.0),
               unit_ids=np.array(["a", "b"]))


def npz_cases(tmp):
    """(path, message fragment or None)."""
    few = np.zeros(3).tobytes()
    cases = []
    # headers that claim enormous arrays (regression: MemoryError leaked before)
    for shape in ["(1000000000000000,)", "(1099511627776,)", "(1000000000,)",
                  "(100000, 100000, 100000)"]:
        cases.append((write_npz_members(tmp / f"claims{len(cases)}.npz", {
            "times": npy_bytes(shape, payload=few),
            "offsets": npy_bytes("(2,)", "<i8", np.array([0, 3]).tobytes())}),
            "array header claims"))
    cases.append((write_npz_members(tmp / "claims_v2.npz", {
        "times": npy_bytes("(1000000000000000,)", payload=few, version=(2, 0)),
        "offsets": npy_bytes("(2,)", "<i8", np.array([0, 3]).tobytes())}),
        "array header claims"))
    cases.append((write_npz_members(tmp / "negdim.npz", {
        "times": npy_bytes("(-5,)", payload=few)}), "negative dimension"))
    cases.append((write_npz_members(tmp / "badshape.npz", {
        "times": npy_bytes("'x'", payload=few)}), "malformed array header"))
    cases.append((write_npz_members(tmp / "baddtype.npz", {
        "times": npy_bytes("(3,)", "<zz", payload=few)}), "malformed array header"))
    cases.append((write_npz_members(tmp / "objdtype.npz", {
        "times": npy_bytes("(3,)", "|O", payload=few)}), "pickled"))
    cases.append((write_npz_members(tmp / "notnpy.npz", {"times": b"hello"}), None))
    # key names with line breaks (regression: the message had a line break)
    cases.append((npz_arrays(tmp / "newline_key.npz", **{"time\nx": np.zeros(2)}),
                  "unknown NPZ layout"))
    cases.append((npz_arrays(tmp / "no_keys.npz"), "unknown NPZ layout"))
    csr = dict(NPZ_CSR)
    bad = {
        "nan": dict(times=np.array([0.1, np.nan, 0.3])),
        "inf": dict(times=np.array([0.1, 0.2, np.inf])),
        "negative": dict(times=np.array([-0.1, 0.2, 0.3])),
        "unsorted": dict(times=np.array([0.2, 0.1, 0.3])),
        "dup_ids": dict(unit_ids=np.array(["a", "a"])),
        "empty_id": dict(unit_ids=np.array(["a", ""])),
        "offsets_short": dict(offsets=np.array([0, 2])),
        "offsets_huge": dict(offsets=np.array([0, 2 ** 62, 3])),
        "offsets_negative": dict(offsets=np.array([0, -1, 3])),
        "offsets_float": dict(offsets=np.array([0.0, 2.0, 3.0])),
        "bounds_reversed": dict(t_start=np.float64(2.0)),
        "bounds_nan": dict(t_stop=np.float64(np.nan)),
        "bounds_vector": dict(t_stop=np.array([1.0, 2.0])),
        "huge_time": dict(times=np.array([0.1, 0.2, 1e308]), t_stop=np.float64(np.inf)),
        "times_strings": dict(times=np.array(["0.1", "0.2", "0.3"])),
        "meta_not_json": dict(meta=np.array("{not json")),
        "meta_list": dict(meta=np.array("[1]")),
        "meta_deep": dict(meta=np.array("[" * 100000 + "]" * 100000)),
        "meta_number": dict(meta=np.array(3.0)),
        "epochs_half": dict(epochs_start=np.array([0.1])),
        "epochs_reversed": dict(epochs_start=np.array([0.5]), epochs_stop=np.array([0.1])),
        "epochs_outside": dict(epochs_start=np.array([0.5]), epochs_stop=np.array([5.0])),
        "epochs_mismatch": dict(epochs_start=np.array([0.1, 0.2]),
                                epochs_stop=np.array([0.3])),
        "truth_bad_ordering": dict(truth__ordering=np.array([0, 0])),
        "unit_ann_wrong_length": dict(unit__group=np.array(["x"])),
    }
    for name, change in bad.items():
        cases.append((npz_arrays(tmp / f"csr_{name}.npz", **{**csr, **change}), ""))
    # loads (offsets are read flat), but must then be complete and valid
    cases.append((npz_arrays(tmp / "csr_offsets_2d.npz",
                             **{**csr, "offsets": np.array([[0, 2, 3]])}), None))
    flat = {
        "flat_nan": dict(times=np.array([0.1, np.nan]), units=np.array([1, 2])),
        "flat_len": dict(times=np.array([0.1, 0.2]), units=np.array([1])),
        "flat_float_units": dict(times=np.array([0.1, 0.2]), units=np.array([1.5, 2])),
        "flat_extra": dict(times=np.array([0.1]), units=np.array([1]), amp=np.array([3])),
        "flat_int_samples": dict(spike_times=np.array([1, 2]), spike_clusters=np.array([0, 1])),
        "flat_rate_zero": dict(spike_times=np.array([1, 2]), spike_clusters=np.array([0, 1]),
                               sample_rate=np.float64(0)),
        "flat_rate_nan": dict(spike_times=np.array([1, 2]), spike_clusters=np.array([0, 1]),
                              sample_rate=np.float64(np.nan)),
        "flat_empty": dict(times=np.zeros(0), units=np.zeros(0, int)),
        "flat_epoch_len": dict(times=np.array([0.1]), units=np.array([1]),
                               epoch=np.array([0, 1])),
    }
    for name, arrays in flat.items():
        cases.append((npz_arrays(tmp / f"{name}.npz", **arrays), ""))
    return cases


def test_npz_oversized_and_malformed_fields(tmp_path):
    for path, fragment in npz_cases(tmp_path):
        out = try_load(path)
        if fragment is not None:
            assert isinstance(out, SpikeDataError), (path.name, out)
            assert fragment in str(out), (path.name, str(out))


def test_npz_huge_header_regression(tmp_path):
    """A 100-byte NPZ claiming an 8 PB array: SpikeDataError, not MemoryError."""
    path = write_npz_members(tmp_path / "bomb.npz", {
        "times": npy_bytes("(1000000000000000,)", payload=np.zeros(3).tobytes()),
        "offsets": npy_bytes("(2,)", "<i8", np.array([0, 3]).tobytes())})
    err = expect_error(path, "bomb.npz", "times", "array header claims shape")
    assert "8000000000000000 bytes" in str(err)


def parquet_cases(tmp):
    import pyarrow as pa
    import pyarrow.parquet as pq

    def write(name, table, meta=None):
        if meta is not None:
            table = table.replace_schema_metadata({b"spikelens": meta.encode()})
        path = tmp / f"{name}.parquet"
        pq.write_table(table, path)
        return path

    t = pa.array([0.1, 0.2], type=pa.float64())
    u = pa.array(["a", "a"])
    meta = json.dumps(META)
    return [
        (write("nan", pa.table({"time": pa.array([0.1, np.nan]), "unit": u})), "NaN"),
        (write("null", pa.table({"time": pa.array([0.1, None]), "unit": u})), ""),
        (write("inf", pa.table({"time": pa.array([0.1, np.inf]), "unit": u})), "not finite"),
        (write("negative", pa.table({"time": pa.array([-0.1, 0.2]), "unit": u})),
         "negative time"),
        (write("unsorted", pa.table({"time": pa.array([0.2, 0.1]), "unit": u})), "not sorted"),
        (write("huge_int", pa.table({"time": pa.array([0, 2 ** 63 - 1], pa.int64()),
                                     "unit": u})), None),
        (write("string_time", pa.table({"time": pa.array(["0.1", "0.2"]), "unit": u})),
         "expected numbers"),
        (write("float_units", pa.table({"time": t, "unit": pa.array([1.5, 2.0])})),
         "integer or a string"),
        (write("list_units", pa.table({"time": t, "unit": pa.array([[1], [2]])})),
         "expected integers or strings"),
        (write("null_unit", pa.table({"time": t, "unit": pa.array(["a", None])})),
         "unit is missing"),
        (write("no_unit", pa.table({"time": t})), "missing column"),
        (write("extra", pa.table({"time": t, "unit": u, "x": t})), "unknown column"),
        (write("empty", pa.table({"time": pa.array([], pa.float64()),
                                  "unit": pa.array([], pa.string())})), "no rows"),
        (write("meta_dup", pa.table({"time": t, "unit": u}),
               json.dumps({**META, "unit_ids": ["a", "a"]})), "used twice"),
        (write("meta_bad", pa.table({"time": t, "unit": u}), "{oops"), "not valid JSON"),
        (write("meta_deep", pa.table({"time": t, "unit": u}), "[" * 100000 + "]" * 100000),
         None),
        (write("meta_unknown_unit", pa.table({"time": t, "unit": pa.array(["z", "z"])}), meta),
         "not among"),
        (write("meta_late", pa.table({"time": pa.array([0.1, 7.0]), "unit": u}), meta),
         "after t_stop"),
    ]


def test_parquet_oversized_and_malformed_fields(tmp_path):
    for path, fragment in parquet_cases(tmp_path):
        out = try_load(path)
        if fragment is not None:
            assert isinstance(out, SpikeDataError), (path.name, out)
            assert fragment in str(out), (path.name, str(out))


def test_phy_oversized_and_malformed_fields(tmp_path):
    few = np.arange(3, dtype=np.int64).tobytes()
    cases = []

    def case(name, fragment=None, **kwargs):
        folder = write_phy(tmp_path / name, **{k: v for k, v in kwargs.items()
                                               if k in ("samples", "clusters", "rate")})
        for fname, content in kwargs.get("files", {}).items():
            p = folder / fname
            if content is None:
                p.unlink()
            else:
                p.write_bytes(content if isinstance(content, bytes) else content.encode())
        cases.append((folder, fragment))

    # headers that claim enormous arrays (regression: tried to allocate them first)
    case("claims_huge", "array header claims",
         files={"spike_times.npy": npy_bytes("(1000000000000000,)", "<i8", few)})
    case("claims_1e9", "array header claims",
         files={"spike_times.npy": npy_bytes("(1000000000,)", "<i8", few)})
    case("claims_clusters", "array header claims",
         files={"spike_clusters.npy": npy_bytes("(10000000000,)", "<i4", few)})
    case("negdim", "negative dimension",
         files={"spike_times.npy": npy_bytes("(-3,)", "<i8", few)})
    case("not_npy", "cannot read .npy", files={"spike_times.npy": b"NUMPY? no"})
    case("object_npy", "pickled", files={"spike_times.npy": npy_bytes("(3,)", "|O", few)})
    case("mismatch", "entries", clusters=np.array([0, 1], dtype=np.int32))
    case("negative_samples", "negative time",
         samples=np.array([-5, 1, 2, 3, 4], dtype=np.int64))
    case("nan_samples", "NaN", samples=np.array([1.0, np.nan, 3, 4, 5]))
    case("unsorted", "not sorted", samples=np.array([5, 4, 3, 2, 1], dtype=np.int64))
    case("float_clusters", "dtype", clusters=np.array([0.5, 1, 2, 3, 4]))
    case("2d", "one-dimensional", samples=np.zeros((2, 3), dtype=np.int64))
    case("huge_samples", None,
         samples=np.array([1, 2, 3, 4, np.iinfo(np.int64).max], dtype=np.int64))
    case("rate_zero", "sample_rate", rate="0")
    case("rate_nan", "sample_rate", rate="float('nan')")
    case("rate_inf", "sample_rate", rate="1e999")
    case("rate_string", "sample_rate", rate="'fast'")
    case("rate_huge_int", None, rate="9" * 5000)
    case("no_rate", "sample_rate", files={"params.py": "dat_path = 'x'\n"})
    case("no_params", "missing", files={"params.py": None})
    case("params_code", "sample_rate",
         files={"params.py": "import os\nsample_rate = os.system('echo pwned')\n"})
    case("params_garbage", "sample_rate", files={"params.py": b"\xff\xfe\x00garbage(((\n"})
    case("params_deep", None, files={"params.py": "x = " + "[" * 100000 + "]" * 100000
                                     + "\nsample_rate = 30000.0\n"})
    case("no_clusters", "spike_templates",
         files={"spike_clusters.npy": None})
    case("tsv_garbage", None, files={"cluster_group.tsv": b"\x00\x01\x02\n\xff"})
    case("tsv_no_id", "cluster_id", files={"cluster_group.tsv": "foo\tbar\n1\t2\n"})
    case("tsv_float_ids", "integers", files={"cluster_group.tsv": "cluster_id\tgroup\n"
                                                                  "0.5\tgood\n"})
    case("tsv_ragged", None, files={"cluster_info.tsv": "cluster_id\tx\n0\t1\t2\t3\n"})
    case("no_spikes", "no spikes", samples=np.zeros(0, dtype=np.int64),
         clusters=np.zeros(0, dtype=np.int32))
    for folder, fragment in cases:
        out = try_load(folder)
        if fragment is not None:
            assert isinstance(out, SpikeDataError), (folder.name, out)
            assert fragment in str(out), (folder.name, str(out))
    assert not (tmp_path / "pwned").exists()


@pytest.mark.slow
def test_hdf5_invalid_contents(tmp_path):
    """NWB/NIX files that are valid HDF5 but hold bad spike data."""
    from datetime import UTC, datetime

    import neo
    import quantities as pq
    from neo.io import NixIO
    from pynwb import NWBHDF5IO, NWBFile

    def nwb(name, trains, trials=None):
        f = NWBFile(session_description="fuzz", identifier=name,
                    session_start_time=datetime.now(UTC))
        for t in trains:
            f.add_unit(spike_times=np.asarray(t, dtype=float))
        for start, stop in trials or []:
            f.add_trial(start_time=start, stop_time=stop)
        path = tmp_path / f"{name}.nwb"
        with NWBHDF5IO(str(path), "w") as io:
            io.write(f)
        return path

    expect_error(nwb("nan", [[0.1, np.nan]]), "nan.nwb")
    expect_error(nwb("inf", [[0.1, np.inf]]), "inf.nwb")
    expect_error(nwb("negative", [[-0.5, 0.1]]), "negative time")
    expect_error(nwb("unsorted", [[0.5, 0.1]]), "not sorted")
    assert try_load(nwb("unsorted_ok", [[0.5, 0.1]]), sort=True).n_spikes == 2
    expect_error(nwb("huge", [[0.1, 1e308]]), "", t_stop=1.0)
    expect_error(nwb("trial_reversed", [[0.1]], trials=[(0.5, 0.2)]), "ends before")
    path = tmp_path / "no_units.nwb"
    f = NWBFile(session_description="fuzz", identifier="x",
                session_start_time=datetime.now(UTC))
    with NWBHDF5IO(str(path), "w") as io:
        io.write(f)
    expect_error(path, "no units table")

    def nix(name, blocks):
        path = tmp_path / f"{name}.nix"
        with NixIO(str(path), mode="ow") as io:
            io.write_all_blocks(blocks)
        return path

    def block(*trains, n_segments=1, meta=None):
        b = neo.Block(name="b")
        if meta is not None:
            b.annotate(spikelens_meta=meta)
        for _ in range(n_segments):
            seg = neo.Segment()
            for k, t in enumerate(trains):
                seg.spiketrains.append(neo.SpikeTrain(np.asarray(t) * pq.s, t_stop=10 * pq.s,
                                                      name=f"u{k}"))
            b.segments.append(seg)
        return b

    expect_error(nix("unsorted", [block([0.5, 0.1])]), "not sorted")
    expect_error(nix("two_blocks", [block([0.1]), block([0.2])]), "blocks")
    expect_error(nix("two_segments", [block([0.1], n_segments=2)]), "segment")
    expect_error(nix("no_trains", [block()]), "no spike trains")
    expect_error(nix("meta_bad", [block([0.1], meta="{oops")]), "not valid JSON")
    expect_error(nix("meta_count", [block([0.1], meta=json.dumps(META))]), "metadata lists")
    expect_error(nix("meta_dup", [block([0.1], [0.2], meta=json.dumps(
        {**META, "unit_ids": ["a", "a"]}))]), "used twice")
    assert try_load(nix("ms", [block([0.1, 0.2])])).n_spikes == 2


# ====================================================================== regressions
def test_nwb_refuses_zero_units_on_save(tmp_path):
    st = SpikeTrains.from_lists([], t_start=0.0, t_stop=1.0)
    with pytest.raises(SpikeDataError, match="without units"):
        save(st, tmp_path / "empty.nwb")
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("ids", [[" a", "b "], ["x\ny", "\r"], ["a,b", '"q"'], ["#c", "nan"],
                                 ["\t", "  "]])
def test_csv_round_trip_of_awkward_unit_ids(ids, tmp_path):
    """Regression: ids with leading spaces came back stripped (and missing from the
    metadata), ids holding '\\r' were split into two rows."""
    st = SpikeTrains.from_lists([[0.1, 0.6], [0.2]], t_start=0, t_stop=1, unit_ids=ids,
                                epochs={"start": [0.0], "stop": [0.5], "label": [" \r"]})
    back = try_load(save(st, tmp_path / "ids.csv"))
    assert back.equals(st)


def test_nix_segments_are_joined_only_when_they_are_consecutive_trials(tmp_path):
    """Several segments: consecutive trials of the same units load as one recording;
    anything else is a one-line SpikeDataError naming the block and the segment count."""
    import neo
    import quantities as pq
    from neo.io import NixIO

    def nix(name, segments):
        block = neo.Block(name="multi")
        for k, (t0, trains) in enumerate(segments):
            seg = neo.Segment(name=f"s{k}")
            for i, t in enumerate(trains):
                seg.spiketrains.append(neo.SpikeTrain(np.asarray(t, float) * pq.s,
                                                      t_start=t0 * pq.s,
                                                      t_stop=(t0 + 1) * pq.s, name=f"u{i}"))
            block.segments.append(seg)
        path = tmp_path / f"{name}.nix"
        with NixIO(str(path), mode="ow") as io:
            io.write_block(block)
        return path

    st = try_load(nix("trials", [(0, [[0.5], [1.0]]), (1, [[1.0], []]), (3, [[3.5], [4.0]])]))
    assert isinstance(st, SpikeTrains) and st.n_spikes == 5
    assert st.epochs.label.tolist() == ["s0", "s1", "s2"] and (st.t_start, st.t_stop) == (0, 4)
    for name, segments, fragment in [
            ("overlap", [(0, [[0.5]]), (0.5, [[0.7]])], "overlap in time"),
            ("counts", [(0, [[0.5], [0.6]]), (1, [[1.5]])], "different numbers of spike"),
            ("empty", [(0, [[0.5]]), (1, [])], "no spike trains")]:
        expect_error(nix(name, segments), "block 'multi'", "2 segments", fragment)
