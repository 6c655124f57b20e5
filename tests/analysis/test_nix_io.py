"""NIX files read with h5py (analysis/nix_io.py): old format versions, agreement with neo's
NixIO, malformed files."""

import hashlib
import os

import h5py
import numpy as np
import pytest

from analysis import io
from analysis.errors import SpikeDataError
from analysis.spiketrains import Epochs, SpikeTrains

neo = pytest.importorskip("neo")
pq = pytest.importorskip("quantities")

_OLD_FIELDS = ("uncertainty", "reference", "filename", "encoder", "checksum")


def _data():
    return SpikeTrains.from_lists(
        [[0.1, 0.5, 1.2], [], [0.3, 1.9]], t_start=0.0, t_stop=2.0, unit_ids=["a", "b", "c"],
        annotations={"name": "rec", "rate": 30000.0},
        unit_annotations={"depth": np.array([10.0, 20.0, 30.0]),
                          "group": np.array(["good", "mua", "good"])},
        epochs=Epochs([0.0, 1.0], [0.9, 2.0], ["left", "right"]),
        truth={"ordering": np.array([2, 0, 1])})


def _foreign_block():
    """A block as Elephant's ASSET tutorial data: ms, unnamed trains, ordering on the
    segment."""
    blk = neo.Block(name="asset")
    seg = neo.Segment(name="trial")
    seg.annotate(spiketrain_ordering=[1, 0])
    seg.spiketrains += [neo.SpikeTrain([10.0, 250.0] * pq.ms, t_stop=500 * pq.ms),
                        neo.SpikeTrain([5.0] * pq.ms, t_stop=500 * pq.ms, quality="good")]
    seg.epochs.append(neo.Epoch([0, 200] * pq.ms, durations=[100, 100] * pq.ms,
                                labels=np.array(["a", "b"]), name="stim"))
    blk.segments.append(seg)
    return blk


def _write_foreign(path):
    with neo.io.NixIO(str(path), mode="ow") as w:
        w.write_block(_foreign_block())


def _to_old_format(path, compound=True):
    """Rewrite a NIX file as nixio < 1.5 wrote it: file format 1.1.0, no file id and (with
    ``compound``) every metadata property one compound dataset (the layout that
    ``nixio upgrade`` converts)."""
    with h5py.File(path, "r+") as f:
        f.attrs["version"] = np.array([1, 1, 0], dtype=np.int32)
        del f.attrs["id"]
        if not compound:
            return
        props = []
        f["metadata"].visititems(lambda name, obj: props.append(obj.name)
                                 if isinstance(obj, h5py.Dataset) else None)
        vlen = h5py.string_dtype()
        for name in props:
            old = f[name]
            values, attrs = old[()], dict(old.attrs)
            dtype = np.dtype([("value", old.dtype), ("uncertainty", np.float64)]
                             + [(k, vlen) for k in _OLD_FIELDS[1:]])
            rec = np.zeros(values.shape, dtype=dtype)
            rec["value"] = values
            for k in _OLD_FIELDS[1:]:
                rec[k] = ""
            del f[name]
            new = f.create_dataset(name, data=rec, maxshape=(None,), chunks=True)
            new.attrs.update(attrs)


def _fingerprint(path):
    st = os.stat(path)
    return hashlib.sha256(open(path, "rb").read()).hexdigest(), st.st_mtime_ns, st.st_size


@pytest.mark.parametrize("compound", [True, False])
def test_old_nix_format_loads_and_file_is_unchanged(tmp_path, compound):
    path = tmp_path / "old.nix"
    io.save(_data(), path)
    _to_old_format(path, compound=compound)
    before = _fingerprint(path)
    loaded = io.load(path)
    assert loaded.equals(_data())
    assert _fingerprint(path) == before


def test_old_nix_foreign_file_loads_like_the_upgraded_copy_in_neo(tmp_path):
    path = tmp_path / "old.nix"
    _write_foreign(path)
    current = io.load(path)
    _to_old_format(path, compound=False)  # what makes neo's NixIO fail inside nixio
    with pytest.raises(TypeError, match="byte indices"), neo.io.NixIO(str(path), "ro") as r:
        r.read_all_blocks()
    old = io.load(path)
    assert old.equals(current)
    assert old.unit_ids.tolist() == ["0", "1"]
    assert old.truth["ordering"].tolist() == [1, 0]
    assert old.unit_annotations["quality"].tolist() == [None, "good"]
    np.testing.assert_allclose(old.times, [0.01, 0.25, 0.005])
    assert old.epochs.label.tolist() == ["a", "b"]


def test_nix_reader_agrees_with_neo_nixio(tmp_path):
    """Several segments (consecutive trials), epochs, annotations: the same SpikeTrains as
    neo's NixIO followed by from_neo, and save writes the layout back."""
    blk = neo.Block(name="trials", description="two trials")
    blk.annotate(subject="m1")
    for k in range(2):
        seg = neo.Segment(name=f"trial {k}")
        seg.annotate(condition="go" if k else "stop", session=3)
        seg.spiketrains += [
            neo.SpikeTrain(([0.1, 0.2] * pq.s) + k * pq.s, t_start=k * pq.s,
                           t_stop=(k + 1) * pq.s, name=f"u{i}", depth=float(i))
            for i in range(3)]
        seg.epochs.append(neo.Epoch([k + 0.5] * pq.s, durations=[0.25] * pq.s,
                                    labels=np.array(["cue"])))
        blk.segments.append(seg)
    path = tmp_path / "trials.nix"
    with neo.io.NixIO(str(path), mode="ow") as w:
        w.write_block(blk)
    with neo.io.NixIO(str(path), mode="ro") as r:
        expected = SpikeTrains.from_neo(r.read_all_blocks()[0], source=str(path))
    loaded = io.load(path)
    assert loaded.equals(expected)
    io.save(loaded, tmp_path / "again.nix")
    assert io.load(tmp_path / "again.nix").equals(loaded)


def _one_line_error(path, match):
    with pytest.raises(SpikeDataError, match=match) as info:
        io.load(path)
    msg = str(info.value)
    assert "\n" not in msg and str(path) in msg
    return msg


def test_newer_nix_format_is_refused_with_advice(tmp_path):
    path = tmp_path / "new.nix"
    io.save(_data(), path)
    with h5py.File(path, "r+") as f:
        f.attrs["version"] = np.array([1, 9, 0], dtype=np.int32)
    _one_line_error(path, "newer than this reader knows.*update nixio")


@pytest.mark.parametrize("damage, match", [
    (lambda f, tag: f.attrs.__setitem__("format", "other"), "not a NIX file"),
    (lambda f, tag: tag["positions"].attrs.__setitem__("unit", "furlong**q"),
     "is not a unit of time"),
    (lambda f, tag: tag["positions"].attrs.__setitem__("unit", "mV"),
     "is not a unit of time"),
    (lambda f, tag: tag.__delitem__("positions"), "has no positions data"),
    (lambda f, tag: tag["metadata"]["properties"].__delitem__("t_stop"), "no t_stop"),
    (lambda f, tag: tag["metadata"]["properties"].create_group("bogus"),
     "property is not a dataset"),
])
def test_malformed_nix_gives_one_line_error(tmp_path, damage, match):
    path = tmp_path / "bad.nix"
    _write_foreign(path)
    with h5py.File(path, "r+") as f:
        block = next(iter(f["data"].values()))
        tag = next(t for t in block["multi_tags"].values()
                   if t.attrs["type"] == "neo.spiketrain")
        damage(f, tag)
    _one_line_error(path, match)


def test_old_layout_property_without_value_is_refused(tmp_path):
    path = tmp_path / "old.nix"
    _write_foreign(path)
    _to_old_format(path)
    with h5py.File(path, "r+") as f:  # a property whose compound has no value field
        block = next(iter(f["data"].values()))
        tag = next(iter(block["multi_tags"].values()))
        props = tag["metadata"]["properties"]
        del props["nix_name"]
        props.create_dataset("nix_name", data=np.zeros(1, dtype=[("x", "f8")]))
    _one_line_error(path, "no 'value' field")


def test_soft_links_inside_the_file_are_followed(tmp_path):
    """The reader reaches objects through the safety walk's map: a soft link to a spike
    train's times is followed; a dangling soft link and a loop of soft links elsewhere
    do not stop the load."""
    path = tmp_path / "soft.nix"
    _write_foreign(path)
    expected = io.load(path)
    with h5py.File(path, "r+") as f:
        block = next(iter(f["data"].values()))
        tag = next(t for t in block["multi_tags"].values()
                   if t.attrs["type"] == "neo.spiketrain")
        target = f"{block.name}/data_arrays/{tag['positions'].attrs['name']}"
        del tag["positions"]
        tag["positions"] = h5py.SoftLink(target)
        f["loop_a"] = h5py.SoftLink("/loop_b")
        f["loop_b"] = h5py.SoftLink("/loop_a")
        f["dangling"] = h5py.SoftLink("/nothing/here")
    assert io.load(path).equals(expected)


def test_many_trains_keep_neo_nixio_order(tmp_path):
    """Trains come in creation order (NIX names them by random ids), as neo's NixIO
    reads them."""
    seg = neo.Segment()
    seg.spiketrains += [neo.SpikeTrain([float(k)] * pq.ms, t_stop=100 * pq.ms,
                                       name=f"n{k:02d}", rank=k) for k in range(30)]
    blk = neo.Block()
    blk.segments.append(seg)
    path = tmp_path / "many.nix"
    with neo.io.NixIO(str(path), mode="ow") as w:
        w.write_block(blk)
    with neo.io.NixIO(str(path), mode="ro") as r:
        expected = SpikeTrains.from_neo(r.read_all_blocks()[0], source=str(path))
    loaded = io.load(path)
    assert loaded.unit_ids.tolist() == [f"n{k:02d}" for k in range(30)]
    assert loaded.unit_annotations["rank"].tolist() == list(range(30))
    assert loaded.equals(expected)


def test_own_file_reads_spike_train_times_only(tmp_path):
    """A file written by save carries spikelens metadata (units, bounds, annotations), so
    the spike trains' own properties are not read: one removed by another tool does not
    matter, and the data come back the same."""
    path = tmp_path / "own.nix"
    io.save(_data(), path)
    with h5py.File(path, "r+") as f:
        block = next(iter(f["data"].values()))
        for tag in block["multi_tags"].values():
            if tag.attrs["type"] == "neo.spiketrain":
                del tag["metadata"]["properties"]["t_stop"]
    assert io.load(path).equals(_data())
