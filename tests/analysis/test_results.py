"""Results as files: every analysis result saves to one .npz and loads back exactly;
foreign, truncated and corrupted files fail on one line naming the file; writes are atomic."""

import dataclasses
import json
import math
import pathlib
import re
import zipfile

import numpy as np
import pandas as pd
import pytest

import analysis
from analysis import SpikeDataError, results, simulate
from analysis.assembly import AssemblyNeurons, AssemblyResult
from analysis.asset import Asset, AssetResult
from analysis.results import load_result, result_table, save_result, save_table
from analysis.spotdis import SpotDisClust, SpotDisClustResult
from analysis.spotdis.graph import SpotDisGraph

ROOT = pathlib.Path(__file__).resolve().parents[2]


# ----------------------------------------------------------------- small runs of each method
def _asset(tiled):
    data = simulate.synfire_chain(n_units=60, n_groups=5, group_size=8, t_stop=1.0, seed=1)
    return Asset(data=data, kernel_width=0.05, filter_shape=(5, 2), n_largest=3, alpha_p=0.9,
                 alpha_j=0.9, max_distance=3.0, min_neighbors=3).run(tiled=tiled)


@pytest.fixture(scope="module")
def patterns():
    return simulate.spot_patterns(n_patterns=2, epochs_per_pattern=10, n_noise_epochs=10,
                                  epoch_samples=120, pulse_samples=12, seed=4)


def _spotdis(data, **kw):
    return SpotDisClust(data=data, min_cluster_size=5, perplexity=5.0, **kw)


@pytest.fixture(scope="module")
def runs(patterns):
    """One result of each kind and mode (each a few seconds once numba has compiled)."""
    sip = simulate.sip(n_units=25, assembly_size=6, coincidence_rate=3.0, rate=12.0,
                       t_stop=4.0, seed=4)
    out = {
        "asset": _asset(tiled=False),
        "asset-tiled": _asset(tiled=True),
        "assembly": AssemblyNeurons(data=sip, statistic="csf", n_surrogates=20,
                                    correction="bh", alpha=0.05, seed=3).run(),
        "spotdis": _spotdis(patterns).run(),
        "spotdis-graph": _spotdis(patterns, max_full_epochs=10).run(),
        "spotdis-rate": _spotdis(patterns).baseline(),
        "spotdis-spikeship": _spotdis(patterns, dissimilarity="spikeship").run(),
    }
    # each run holds what its round trip must carry
    a, t = out["asset"], out["asset-tiled"]
    assert a.imat is not None and a.sses and a.score is not None and not a.significant
    assert t.imat is None and t.sses and set(t.significant) >= {"rows", "cols", "labels"}
    assert out["assembly"].params["trial_length"] is None
    s, g, r = out["spotdis"], out["spotdis-graph"], out["spotdis-rate"]
    assert s.spotdis is not None and s.dissimilarity is not None and s.graph is None
    assert g.spotdis is None and g.dissimilarity is None and isinstance(g.graph, SpotDisGraph)
    assert r.spotdis is None and r.dissimilarity is not None
    ship = out["spotdis-spikeship"]
    assert ship.spotdis is None and ship.spikeship.matrix is ship.dissimilarity
    assert math.isnan(g.scores["ari"]) or 0 <= g.scores["ari"] <= 1
    return out


def assert_identical(a, b, where="result"):
    """Same types, same dtypes, arrays equal bit for bit, dicts in the same order."""
    assert type(a) is type(b), f"{where}: {type(a)} != {type(b)}"
    if dataclasses.is_dataclass(a):
        for f in dataclasses.fields(a):
            assert_identical(getattr(a, f.name), getattr(b, f.name), f"{where}.{f.name}")
    elif isinstance(a, (np.ndarray, np.generic)):
        assert a.dtype == b.dtype and a.shape == b.shape, where
        assert np.ascontiguousarray(a).tobytes() == np.ascontiguousarray(b).tobytes(), where
    elif isinstance(a, pd.DataFrame):
        pd.testing.assert_frame_equal(a, b, check_exact=True)
        assert a.dtypes.to_dict() == b.dtypes.to_dict(), where
        assert type(a.index) is type(b.index), where
    elif isinstance(a, dict):
        assert list(a) == list(b), where
        for (ka, va), kb in zip(a.items(), b):
            assert type(ka) is type(kb), f"{where}: key {ka!r}"
            assert_identical(va, b[kb], f"{where}[{ka!r}]")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            assert_identical(x, y, f"{where}[{i}]")
    elif isinstance(a, float):
        assert np.float64(a).tobytes() == np.float64(b).tobytes(), where
    else:
        assert a == b, where


KINDS = ["asset", "asset-tiled", "assembly", "spotdis", "spotdis-graph", "spotdis-rate",
         "spotdis-spikeship"]


# ----------------------------------------------------------------- round trips
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("compress", [True, False])
def test_round_trip_is_exact(runs, kind, compress, tmp_path):
    result = runs[kind]
    path = save_result(result, tmp_path / "r.npz", compress=compress)
    assert path == tmp_path / "r.npz" and sorted(p.name for p in tmp_path.iterdir()) == ["r.npz"]
    back = load_result(path)
    assert_identical(result, back)
    # the class's own methods give the same, and the result is usable as before
    again = type(result).load(result.save(tmp_path / "s.npz"))
    assert_identical(result, again)


def test_loaded_results_behave_like_the_originals(runs, tmp_path):
    asset = AssetResult.load(runs["asset"].save(tmp_path / "a.npz"))
    pd.testing.assert_frame_equal(asset.sse_table(), runs["asset"].sse_table())
    sse = next(iter(asset.sses.values()))
    assert all(type(p) is tuple and type(n) is frozenset for p, n in sse.items())
    assembly = AssemblyResult.load(runs["assembly"].save(tmp_path / "b.npz"))
    np.testing.assert_array_equal(assembly.significant_units,
                                  runs["assembly"].significant_units)
    graph = SpotDisClustResult.load(runs["spotdis-graph"].save(tmp_path / "c.npz")).graph
    assert graph.n_epochs == runs["spotdis-graph"].graph.n_epochs
    assert graph.seconds == runs["spotdis-graph"].graph.seconds


def test_results_carry_their_parameters_data_and_run_time(runs, patterns):
    asset, tiled = runs["asset"], runs["asset-tiled"]
    for r in (asset, tiled):
        assert r.params["alpha_p"] == 0.9 and r.params["filter_shape"] == (5, 2)
        assert not {"name", "data", "data_j", "source", "progress", "scheduler"} & set(r.params)
        assert r.data_summary == {"units": 60, "spikes": r.data_summary["spikes"],
                                  "duration": 1.0, "epochs": 0, "source": None,
                                  "bins": asset.imat.shape[0]}
        assert r.data_summary["spikes"] > 0 and r.elapsed > 0
    assert set(asset.params) == set(Asset().run_params())
    assembly = runs["assembly"]
    assert assembly.params["n_surrogates"] == 20 and assembly.params["statistic"] == "csf"
    assert set(assembly.params) == set(AssemblyNeurons().run_params())
    assert assembly.data_summary["units"] == 25 and assembly.data_summary["bins"] == 4000
    spot = runs["spotdis"]
    assert spot.params["min_cluster_size"] == 5 and spot.params["perplexity"] == 5.0
    assert set(spot.params) == set(SpotDisClust().run_params())
    assert spot.data_summary["epochs"] == len(patterns.epochs) == len(spot.labels)
    assert spot.data_summary["spikes"] == patterns.n_spikes
    assert all(runs[k].elapsed > 0 for k in KINDS)


@pytest.mark.parametrize("kind", KINDS)
def test_files_saved_before_results_kept_their_provenance_still_load(runs, kind, tmp_path):
    """Files written before results had ``data_summary`` and ``elapsed`` (and, for ASSET,
    ``params``) load with the fields' defaults."""
    result = runs[kind]
    dropped = ["data_summary", "elapsed"] + (["params"] if kind.startswith("asset") else [])

    def old(header, arrays):
        fields = header["result"]["fields"]
        for name in dropped:
            fields.pop(name)
        # the params' and summary's array entries (NumPy scalars) go with them
        used = json.dumps(fields)
        for key in [k for k in arrays if k != results.HEADER and f'"{k}"' not in used]:
            del arrays[key]

    back = load_result(_rewrite(save_result(result, tmp_path / "new.npz"),
                                tmp_path / "old.npz", old))
    assert back.data_summary == {} and back.elapsed is None
    if kind.startswith("asset"):
        assert back.params == {}
        assert_identical(dataclasses.replace(result, params={}, data_summary={}, elapsed=None),
                         back)
    else:
        assert_identical(result.params, back.params)


def test_file_is_plain_npz_with_json_header(runs, tmp_path):
    result = runs["spotdis"]
    path = save_result(result, tmp_path / "r.npz")
    with np.load(path, allow_pickle=False) as z:
        header = json.loads(str(z[results.HEADER][()]))
        assert header["format"] == results.FORMAT
        assert header["version"] == results.FORMAT_VERSION
        assert header["kind"] == "SpotDisClustResult"
        assert header["spikelens_version"]
        fields = header["result"]["fields"]
        assert fields["params"]["min_cluster_size"] == 5
        assert fields["params"]["sampling_period"] is None
        assert fields["scores"]["n_clusters"] == result.scores["n_clusters"]
        np.testing.assert_array_equal(z[fields["labels"]["__array__"]], result.labels)
        for key in z.files:
            assert z[key].dtype != object


def test_parameters_and_odd_values_survive(runs, tmp_path):
    """Tuples, None, NaN, NumPy scalars, sets and non-string keys come back as they were;
    a parameter that is not plain data comes back as its repr."""
    base = runs["assembly"]
    params = {"filter_shape": (11, 3), "nested": {"a": [1, 2.5, None], "b": (None, "x")},
              "none": None, "nan": float("nan"), "inf": -float("inf"), "neg0": -0.0,
              "big": 2 ** 70, "i32": np.int32(7), "f32": np.float32(0.1), "flag": True,
              "ints": {1: "one", (2, 3): frozenset({4, 5})}, "set": {1, 2},
              "__dunder": 1, "array": np.arange(3, dtype=np.uint16), "callback": print}
    result = AssemblyResult(base.table, base.surrogates, base.statistic, params)
    back = load_result(save_result(result, tmp_path / "p.npz"))
    expect = dict(params, callback=repr(print))
    assert_identical(dataclasses.replace(result, params=expect), back)


def test_fields_that_cannot_be_stored_are_refused(runs, tmp_path):
    base = runs["assembly"]
    bad = AssemblyResult(base.table, np.array([object()]), "cpc", {})
    with pytest.raises(ValueError, match="^surrogates: cannot store an array of Python obj"):
        save_result(bad, tmp_path / "x.npz")
    bad = dataclasses.replace(runs["spotdis"], scores={"ari": object()})
    with pytest.raises(ValueError, match=r"^scores\.ari: cannot store a builtins\.object"):
        save_result(bad, tmp_path / "x.npz")
    with pytest.raises(TypeError, match="^result: expected one of AssetResult"):
        save_result({"not": "a result"}, tmp_path / "x.npz")
    assert not list(tmp_path.iterdir())


# ----------------------------------------------------------------- errors on load
def _one_line_error(path, pattern):
    with pytest.raises(SpikeDataError) as info:
        load_result(path)
    message = str(info.value)
    assert message.startswith(f"{path}: ") and "\n" not in message, message
    assert re.search(pattern, message), message
    return message


def _rewrite(src, dst, change):
    """Copy an .npz, editing its header dict (or dropping/adding entries) on the way."""
    with np.load(src, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    header = json.loads(str(arrays[results.HEADER][()]))
    change(header, arrays)
    if results.HEADER in arrays:
        arrays[results.HEADER] = np.array(json.dumps(header))
    np.savez(dst, **arrays)
    return dst


def test_missing_empty_and_foreign_files(runs, tmp_path):
    _one_line_error(tmp_path / "nope.npz", "no such file")
    (tmp_path / "empty.npz").write_bytes(b"")
    _one_line_error(tmp_path / "empty.npz", "empty file")
    (tmp_path / "t.npz").write_text("time,unit\n0.1,1\n")
    _one_line_error(tmp_path / "t.npz", "not a spikelens result file")
    np.save(tmp_path / "a.npy", np.arange(3))
    _one_line_error(tmp_path / "a.npy", "not a spikelens result file")
    np.savez(tmp_path / "other.npz", x=np.arange(3))
    _one_line_error(tmp_path / "other.npz", r"not a spikelens result file \(no __spikelens")
    spikes = simulate.poisson(n_units=3, t_stop=1.0, seed=0)
    analysis.save(spikes, tmp_path / "spikes.npz")
    _one_line_error(tmp_path / "spikes.npz", "holds spike trains.*analysis.load")
    _one_line_error(tmp_path, "is a folder")
    np.savez(tmp_path / "pickled.npz", x=np.array([{"a": 1}], dtype=object))
    _one_line_error(tmp_path / "pickled.npz", "not a spikelens result file")
    # a result file with a pickled entry slipped in
    _rewrite(save_result(runs["assembly"], tmp_path / "good.npz"), tmp_path / "pickled.npz",
             lambda h, a: a.update(surrogates=np.array([{"a": 1}], dtype=object)))
    _one_line_error(tmp_path / "pickled.npz", "pickled data is refused")


def test_wrong_format_version_and_kind(runs, tmp_path):
    good = save_result(runs["assembly"], tmp_path / "good.npz")

    def case(name, change, pattern):
        _one_line_error(_rewrite(good, tmp_path / f"{name}.npz", change), pattern)

    case("newer", lambda h, a: h.update(version=results.FORMAT_VERSION + 1),
         rf"format version {results.FORMAT_VERSION + 1} is newer than this spikelens reads")
    case("string", lambda h, a: h.update(version="1"), "unknown format version '1'")
    case("zero", lambda h, a: h.update(version=0), "unknown format version 0")
    case("format", lambda h, a: h.update(format="something-else"),
         "not a spikelens result file")
    case("kind", lambda h, a: h.update(kind="Pickle"), "unknown result kind 'Pickle'")
    case("noarray", lambda h, a: a.pop("surrogates"),
         "corrupted: .*array entry 'surrogates' is missing")
    case("field", lambda h, a: h["result"]["fields"].update(extra=1),
         "corrupted: .*AssemblyResult has no field.* extra")
    case("class", lambda h, a: h["result"]["fields"].update(
        params={"__dataclass__": "os.system", "fields": {}}), "corrupted: unknown object type")
    case("header", lambda h, a: (h.clear(), h.update(x=1)), "not a spikelens result file")
    bad_json = tmp_path / "badjson.npz"
    with np.load(good, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    arrays[results.HEADER] = np.array("{not json")
    np.savez(bad_json, **arrays)
    _one_line_error(bad_json, "corrupted: the __spikelens_result__ entry is not JSON")
    with pytest.raises(SpikeDataError, match="holds a AssemblyResult, not a AssetResult"):
        AssetResult.load(good)


@pytest.mark.parametrize("fraction", [0.01, 0.5, 0.99])
def test_truncated_file(runs, tmp_path, fraction):
    data = save_result(runs["asset"], tmp_path / "good.npz").read_bytes()
    cut = tmp_path / "cut.npz"
    cut.write_bytes(data[:max(2, int(len(data) * fraction))])
    _one_line_error(cut, "truncated or corrupted")


@pytest.mark.parametrize("compress", [True, False])
def test_corrupted_array_data(runs, tmp_path, compress):
    """A flipped byte inside an array's data fails the zip CRC check."""
    good = save_result(runs["asset"], tmp_path / "good.npz", compress=compress)
    with zipfile.ZipFile(good) as zf:
        info = max(zf.infolist(), key=lambda i: i.compress_size)
    data = bytearray(good.read_bytes())
    # local header: 30 bytes + name + extra field, then the member's data
    name_len = int.from_bytes(data[info.header_offset + 26:info.header_offset + 28], "little")
    extra_len = int.from_bytes(data[info.header_offset + 28:info.header_offset + 30], "little")
    start = info.header_offset + 30 + name_len + extra_len
    data[start + info.compress_size // 2] ^= 0xFF
    bad = tmp_path / "bad.npz"
    bad.write_bytes(bytes(data))
    _one_line_error(bad, "truncated or corrupted")


# ----------------------------------------------------------------- atomic writes
@pytest.mark.parametrize("error", [RuntimeError("disk on fire"), KeyboardInterrupt()])
def test_failed_write_leaves_no_file(runs, tmp_path, monkeypatch, error):
    target = tmp_path / "r.npz"
    old = save_result(runs["assembly"], target).read_bytes()

    def half_write(fh, **arrays):
        fh.write(b"PK\x03\x04 half an archive")
        raise error

    monkeypatch.setattr(np, "savez_compressed", half_write)
    with pytest.raises(type(error)):
        save_result(runs["asset"], target)
    with pytest.raises(type(error)):
        save_result(runs["asset"], tmp_path / "new.npz")
    # the earlier file is untouched, nothing new and no temporary file is left
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.npz"]
    assert target.read_bytes() == old
    monkeypatch.undo()
    assert_identical(load_result(target), runs["assembly"])


def test_save_replaces_an_existing_file(runs, tmp_path):
    target = tmp_path / "r.npz"
    save_result(runs["assembly"], target)
    save_result(runs["spotdis"], target)
    assert_identical(load_result(target), runs["spotdis"])
    assert [p.name for p in tmp_path.iterdir()] == ["r.npz"]


# ----------------------------------------------------------------- tables
@pytest.mark.parametrize("kind", ["asset", "assembly", "spotdis-graph"])
def test_save_table_parquet_and_csv(runs, kind, tmp_path):
    result = runs[kind]
    table = result_table(result)
    if kind == "asset":
        pd.testing.assert_frame_equal(table, result.sse_table())
        assert len(table) == len(result.sses) > 0
    if kind == "assembly":
        pd.testing.assert_frame_equal(table, result.table)
    if kind == "spotdis-graph":
        np.testing.assert_array_equal(table["label"], result.labels)
        np.testing.assert_array_equal(table[["x", "y"]].to_numpy(), result.embedding)
    parquet = pd.read_parquet(save_table(result, tmp_path / "t.parquet"))
    pd.testing.assert_frame_equal(parquet, table.reset_index(drop=True), check_dtype=False)
    csv = pd.read_csv(save_table(result, tmp_path / "t.csv"))
    assert list(csv.columns) == list(table.columns) and len(csv) == len(table)
    numbers = table.select_dtypes("number").columns
    assert len(numbers) > 0
    np.testing.assert_allclose(csv[numbers].to_numpy(float), table[numbers].to_numpy(float),
                               rtol=1e-15, equal_nan=True)
    with pytest.raises(ValueError, match=r"^path: unknown table extension '\.xlsx'"):
        save_table(result, tmp_path / "t.xlsx")


def test_asset_table_names_units(runs, tmp_path):
    result = runs["asset"]
    ids = np.array([f"n{u}" for u in range(60)])
    table = pd.read_csv(save_table(result, tmp_path / "t.csv", unit_ids=ids))
    first = max(next(iter(result.sses.values())).values(), key=len)
    assert all(f"n{u}" in table["units"].iloc[0].split(", ") for u in first)


# ----------------------------------------------------------------- docs
def test_docs_example_runs(tmp_path, monkeypatch):
    text = (ROOT / "docs" / "results.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, re.S)
    assert blocks
    monkeypatch.chdir(tmp_path)
    exec(compile("\n".join(blocks), "docs/results.md", "exec"), {"__name__": "__doc__"})
