"""Read the neo objects of a NIX file with h5py: spike trains, epochs and annotations only.

neo's :class:`neo.io.NixIO` reads every object of a NIX file through nixio, attribute by
attribute, and needs seconds for a few hundred spike trains; it also fails inside nixio on
files of NIX format 1.1.0 and older (written by nixio < 1.5). :func:`read_block` reads the same
layout that NixIO writes (a Block is a NIX block of type ``neo.block``, a Segment a group of
type ``neo.segment``, a SpikeTrain or an Epoch a multi-tag of type ``neo.spiketrain`` /
``neo.epoch`` whose positions (and extents) hold the times, annotations are the metadata
properties of each object's section) straight from HDF5 and builds the same neo objects
NixIO would, restricted to what :func:`analysis.neo_io.from_neo` uses: Blocks, Segments,
SpikeTrains (without waveforms) and Epochs. Signals, Events and neo Groups are skipped.

Files of every NIX format version are read in place, never changed: before format 1.1.1
a metadata property was one compound dataset (fields ``value``, ``uncertainty``,
``reference``, ``filename``, ``encoder``, ``checksum``; see nixio's ``nixio upgrade``);
here the ``value`` field is read. A dataset's own layout decides, not the file's version
attribute, so files that mix both layouts load too.
"""

from __future__ import annotations

import functools
from datetime import datetime

import numpy as np
from h5py import h5a, h5d, h5g, h5i, h5o, h5s

from .errors import SpikeDataError
from .neo_io import BlockRecord, EpochRecord, SegmentRecord, TrainRecord

__all__ = ["NEWEST_VERSION", "read_block"]

#: Newest NIX file format version this reader knows (that of nixio 1.5).
NEWEST_VERSION = (1, 2, 1)

# neo's NixIO conventions (neo/io/nixio.py): property definitions and types
_EMPTY_LIST = "EMPTYLIST"
_ARRAY_ANNOTATION = "ARRAYANNOTATION"
# what quantities raises for a unit name it cannot parse or convert (it evaluates the name)
_UNIT_ERRORS = (LookupError, ValueError, TypeError, SyntaxError, NameError, AttributeError)
_DATETIME_FORMATS = {"DATE": "%Y-%m-%d", "TIME": "%H:%M:%S.%f",
                     "DATETIME": "%Y-%m-%dT%H:%M:%S.%f"}


def file_version(f):
    """The NIX format version of an open ``h5py.File`` as a tuple, or None."""
    try:
        return tuple(int(v) for v in np.asarray(f.attrs["version"]).ravel())
    except (KeyError, TypeError, ValueError):
        return None


def read_block(f, source):
    """The one neo Block of the open NIX file ``f`` (an ``h5py.File``), as the records
    :func:`analysis.neo_io.from_records` takes.

    Raises
    ------
    SpikeDataError
        When the file is not a NIX file, is of a newer NIX format than this reader knows,
        holds no block or several, or an object lacks what neo's layout needs.
    """
    fmt = _text(f.attrs.get("format", b""))
    if fmt != "nix":
        raise SpikeDataError("is an HDF5 file but not a NIX file (no format 'nix' attribute)",
                             source, "/")
    version = file_version(f)
    if version is None or len(version) != 3:
        raise SpikeDataError("has no valid NIX format version attribute", source, "/")
    if version[:2] > NEWEST_VERSION[:2]:
        raise SpikeDataError(
            f"is NIX format {'.'.join(map(str, version))}, newer than this reader knows "
            f"({'.'.join(map(str, NEWEST_VERSION))}); update nixio and neo, or save the data "
            f"in an older NIX format or as NWB", source, "/")
    blocks = [b for b in _children(f.id, "data") if _type(b) == "neo.block"]
    if len(blocks) != 1:
        raise SpikeDataError(f"contains {len(blocks)} neo blocks; expected one", source,
                             "block")
    nix_block = blocks[0]
    attrs, _ = _neo_attrs(nix_block, source)
    segments = [_segment(g, source) for g in _children(nix_block, "groups")
                if _type(g) == "neo.segment"]
    return BlockRecord(attrs.pop("name"), attrs.pop("description"),
                       _annotations(attrs, _BLOCK_ARGS), segments)


def _segment(group, source):
    attrs, _ = _neo_attrs(group, source)
    trains, epochs = [], []
    for tag in _children(group, "multi_tags"):
        kind = _type(tag)
        if kind == "neo.spiketrain":
            trains.append(_spiketrain(tag, source))
        elif kind == "neo.epoch":
            epochs.append(_epoch(tag, source))
    return SegmentRecord(attrs.pop("name"), attrs.pop("description"),
                         _annotations(attrs, _BLOCK_ARGS), trains, epochs)


def _spiketrain(tag, source):
    attrs, units = _neo_attrs(tag, source)
    times = _seconds(_positions(tag, "positions", source), source)
    if "t_stop" not in attrs:
        raise SpikeDataError("spike train has no t_stop property", source, _where(tag))
    t_start = _time_value(attrs.get("t_start", 0.0), units.get("t_start", "s"), "t_start",
                          source, tag)
    t_stop = _time_value(attrs["t_stop"], units.get("t_stop", "s"), "t_stop", source, tag)
    if times.size and (times.min() < t_start or times.max() > t_stop):
        raise SpikeDataError(f"has spikes outside its bounds [{t_start}, {t_stop}] s", source,
                             _where(tag))
    return TrainRecord(attrs.get("name"), _annotations(attrs, _TRAIN_ARGS), times, t_start,
                       t_stop)


def _epoch(tag, source):
    attrs, _ = _neo_attrs(tag, source)
    positions = _positions(tag, "positions", source)
    start = _seconds(positions, source)
    duration = _seconds(_positions(tag, "extents", source), source)
    if duration.shape != start.shape:
        raise SpikeDataError(f"epoch has {start.size} times but {duration.size} durations",
                             source, _where(tag))
    labels = np.empty(0, dtype="U")
    stored = _open(_open(_open(positions, "dimensions"), "1"), "labels")
    if isinstance(stored, h5d.DatasetID):
        labels = np.array([_text(v) for v in _read(stored).ravel()], dtype="U")
        if labels.size and labels.size != start.size:
            raise SpikeDataError(f"epoch has {start.size} times but {labels.size} labels",
                                 source, _where(tag))
    return EpochRecord(attrs.pop("name"), attrs.pop("description"),
                       _annotations(attrs, _EPOCH_ARGS), start, duration, labels)


# constructor arguments of neo's objects: NixIO passes these properties to the
# constructor, all others become annotations
_BLOCK_ARGS = {"file_origin", "file_datetime", "rec_datetime", "index"}
_TRAIN_ARGS = {"t_start", "t_stop", "units", "dtype", "copy", "sampling_rate", "waveforms",
               "left_sweep", "file_origin", "description", "array_annotations", "name"}
_EPOCH_ARGS = {"units", "file_origin", "array_annotations"}


def _annotations(attrs, constructor_args):
    return {k: v for k, v in attrs.items() if k not in constructor_args}


def _positions(tag, key, source):
    obj = _open(tag, key)
    if not isinstance(obj, h5g.GroupID) or not isinstance(_open(obj, "data"), h5d.DatasetID):
        raise SpikeDataError(f"has no {key} data", source, _where(tag))
    return obj


def _seconds(data_array, source):
    """The data of a NIX DataArray of times, in seconds (float64)."""
    unit = _attr(data_array, "unit", "")
    data = _open(data_array, "data")
    if data.dtype.kind not in "iuf":
        raise SpikeDataError(f"times are {data.dtype}, not numbers", source,
                             _where(data_array))
    values = np.asarray(_read(data), dtype=np.float64).ravel()
    return values if unit == "s" else values * _seconds_per(unit, source, data_array)


def _time_value(value, unit, key, source, obj):
    """A time property in seconds."""
    if isinstance(value, (str, list)):
        raise SpikeDataError(f"{key} is not a number", source, _where(obj))
    return float(value) * (1.0 if unit == "s" else _seconds_per(unit, source, obj))


@functools.lru_cache(maxsize=64)
def _parse_seconds_per(unit):
    import quantities as pq

    return float(pq.Quantity(1.0, unit).rescale("s").magnitude)


def _seconds_per(unit, source, obj):
    try:
        return _parse_seconds_per(unit)
    except _UNIT_ERRORS as exc:
        raise SpikeDataError(f"unit {unit!r} is not a unit of time ({_describe(exc)})",
                             source, _where(obj)) from None


def _neo_attrs(obj, source):
    """What NixIO's ``_nix_attr_to_neo`` gives for a NIX object: ``nix_name``,
    ``description``, ``name`` (property ``neo_name``) and one entry per metadata property
    (dates and times parsed), and the units of those properties that have one.

    Values are plain (magnitudes): ``from_records`` keeps only the magnitude of a
    Quantity-valued annotation, and the time properties are converted with their unit."""
    attrs = {"nix_name": _attr(obj, "name", ""), "description": _attr(obj, "definition", None)}
    section = _open(obj, "metadata")
    units = {}
    seen = set()
    while section is not None and _address(section) not in seen:  # may link to another
        seen.add(_address(section))
        for name, prop in _named_children(section, "properties"):  # named by property
            if not isinstance(prop, h5d.DatasetID):
                raise SpikeDataError("property is not a dataset", source, _where(prop))
            keys = _attr_names(prop)
            value = _property_value(prop, keys, source)
            if "unit" in keys:
                units[name] = _attr(prop, "unit", "")
            if "type" in keys and _attr(prop, "type", "") == _ARRAY_ANNOTATION:
                attrs.setdefault("array_annotations", {})[name] = value
            else:
                attrs[name] = value
        section = _open(section, "link")
    name = attrs.pop("neo_name", None)
    attrs["name"] = None if name is None else str(name)
    return attrs, units


def _property_value(prop, keys, source):
    raw = _read(prop)
    if raw.dtype.fields:  # NIX format < 1.1.1: one compound dataset per property
        if "value" not in raw.dtype.fields:
            raise SpikeDataError("old-layout property has no 'value' field", source,
                                 _where(prop))
        raw = raw["value"]
    values = [_text(v) if isinstance(v, bytes) else v for v in np.asarray(raw).ravel()]
    definition = _attr(prop, "definition", None) if "definition" in keys else None
    if not values:
        if definition == _EMPTY_LIST:
            value = []
        elif np.asarray(raw).dtype.kind in "OSU":
            value = ""
        else:
            value = []
    elif len(values) == 1:
        value = values[0]
    else:
        value = values
    if definition in _DATETIME_FORMATS and isinstance(value, str):
        try:
            parsed = datetime.strptime(value, _DATETIME_FORMATS[definition])
        except ValueError:
            raise SpikeDataError(f"is not a {definition.lower()} ({value!r})", source,
                                 _where(prop)) from None
        value = (parsed.date() if definition == "DATE" else
                 parsed.time() if definition == "TIME" else parsed)
    return value


def _attr(obj, name, default):
    """The text of the string attribute ``name`` of ``obj``, or ``default`` when absent
    (h5py's low-level calls: ``obj.attrs[name]`` costs several times more)."""
    key = name.encode()
    if not h5a.exists(obj, key):
        return default
    attr = h5a.open(obj, key)
    value = np.empty(attr.shape, dtype=attr.dtype)
    attr.read(value)
    return _text(value)


def _attr_names(obj):
    """The names of ``obj``'s attributes that this reader uses (h5py's ``obj.attrs``
    costs ten times more per object)."""
    return {k for k in _ATTRS if h5a.exists(obj, k.encode())}


_ATTRS = ("unit", "type", "definition")


def _type(obj):
    return _attr(obj, "type", "")


def _describe(exc):
    return f"{type(exc).__name__}: {' '.join(str(exc).split())[:200]}"


# The reader works on h5py's low-level object identifiers: its high-level Group, Dataset
# and attrs objects cost several times more per object, which is most of the time on a
# file of many small spike trains.
def _open(group, name):
    """The object ``name`` in ``group`` (an h5py ObjectID), or None (also for a None group)."""
    if not isinstance(group, h5g.GroupID):
        return None
    try:
        return h5o.open(group, name.encode())
    except KeyError:
        return None


def _named_children(group, key):
    """(name, object) of the members of ``group[key]`` in creation order (NIX tracks it)."""
    sub = _open(group, key)
    if not isinstance(sub, h5g.GroupID):
        return []
    return [(_text(name), h5o.open(sub, name)) for name in sub]


def _children(group, key):
    return [obj for _, obj in _named_children(group, key)]


def _read(dataset):
    """All of a dataset (an h5py DatasetID) as a numpy array."""
    shape = dataset.shape or ()
    out = np.empty(shape, dtype=dataset.dtype)
    if out.size:
        dataset.read(h5s.ALL, h5s.ALL, out)
    return out


def _address(obj):
    return h5o.get_info(obj).addr


def _where(obj):
    return _text(h5i.get_name(obj) or b"?")


def _text(v):
    if isinstance(v, bytes):
        return v.decode("utf-8", errors="replace")
    if isinstance(v, np.ndarray) and v.size == 1:
        return _text(v.ravel()[0])
    return str(v)
