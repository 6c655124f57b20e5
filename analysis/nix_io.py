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
from h5py import h5a, h5s, h5t

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


def read_block(f, source, objects, metadata_key=None):
    """The one neo Block of the open NIX file ``f`` (an ``h5py.File``), as the records
    :func:`analysis.neo_io.from_records` takes. ``objects`` is the file's map from the
    safety walk (:func:`analysis.hdf5_walk.walk`), through which every object is reached.

    When the block has the annotation ``metadata_key`` (the metadata of a file written by
    spikelens, which names the units and holds their annotations and the bounds), the
    spike trains' properties are not read: their records carry the times only (name
    None, no annotations, bounds None).

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
    return _Reader(objects, source, metadata_key).block()


# constructor arguments of neo's objects: NixIO passes these properties to the
# constructor, all others become annotations
_BLOCK_ARGS = {"file_origin", "file_datetime", "rec_datetime", "index"}
_TRAIN_ARGS = {"t_start", "t_stop", "units", "dtype", "copy", "sampling_rate", "waveforms",
               "left_sweep", "file_origin", "description", "array_annotations", "name"}
_EPOCH_ARGS = {"units", "file_origin", "array_annotations"}


class _Reader:
    """Builds the records from the walked file's objects (:class:`analysis.hdf5_walk.Node`).

    Only what the records keep is read: no NIX entity ids, dates or names, no spike-train
    descriptions. Each attribute and dataset is read with h5py's low-level calls into a
    buffer of the size the walk found, in a memory type made once: with thousands of
    small objects the per-call cost of h5py's high-level objects would be most of the
    time. Messages name an object by the path the reader took to it (a spike train's
    times as ``.../multi_tags/<train>/positions``)."""

    def __init__(self, objects, source, metadata_key=None):
        self.objects = objects
        self.source = source
        self.metadata_key = metadata_key
        self.times_only = False  # set for a block that has the metadata

    def members(self, node, where, key):
        """(Node, path) of the members of ``node``'s group ``key``."""
        return [(member, f"{where}/{key}/{name}")
                for name, member in self.objects.members(node, key)]

    def block(self):
        root = self.objects.root
        blocks = [(b, w) for b, w in self.members(root, "", "data")
                  if self.type(b) == "neo.block"]
        if len(blocks) != 1:
            raise SpikeDataError(f"contains {len(blocks)} neo blocks; expected one",
                                 self.source, "block")
        nix_block, where = blocks[0]
        attrs, _ = self.neo_attrs(nix_block, where)
        self.times_only = self.metadata_key is not None and self.metadata_key in attrs
        segments = [self.segment(g, w) for g, w in self.members(nix_block, where, "groups")
                    if self.type(g) == "neo.segment"]
        return BlockRecord(attrs.pop("name"), attrs.pop("description"),
                           _annotations(attrs, _BLOCK_ARGS), segments)

    def segment(self, group, where):
        attrs, _ = self.neo_attrs(group, where)
        trains, epochs = [], []
        for tag, tag_where in self.members(group, where, "multi_tags"):
            kind = self.type(tag)
            if kind == "neo.spiketrain":
                trains.append(self.spiketrain(tag, tag_where))
            elif kind == "neo.epoch":
                epochs.append(self.epoch(tag, tag_where))
        return SegmentRecord(attrs.pop("name"), attrs.pop("description"),
                             _annotations(attrs, _BLOCK_ARGS), trains, epochs)

    def spiketrain(self, tag, where):
        times = self.seconds(self.data_array(tag, where, "positions"), f"{where}/positions")
        if self.times_only:
            return TrainRecord(None, {}, times, None, None)
        attrs, units = self.neo_attrs(tag, where, description=False)
        if "t_stop" not in attrs:
            raise SpikeDataError("spike train has no t_stop property", self.source, where)
        t_start = self.time_value(attrs.get("t_start", 0.0), units.get("t_start", "s"),
                                  "t_start", where)
        t_stop = self.time_value(attrs["t_stop"], units.get("t_stop", "s"), "t_stop", where)
        if times.size and (times.min() < t_start or times.max() > t_stop):
            raise SpikeDataError(f"has spikes outside its bounds [{t_start}, {t_stop}] s",
                                 self.source, where)
        return TrainRecord(attrs.get("name"), _annotations(attrs, _TRAIN_ARGS), times,
                           t_start, t_stop)

    def epoch(self, tag, where):
        m = self.objects
        attrs, _ = self.neo_attrs(tag, where)
        positions = self.data_array(tag, where, "positions")
        start = self.seconds(positions, f"{where}/positions")
        duration = self.seconds(self.data_array(tag, where, "extents"), f"{where}/extents")
        if duration.shape != start.shape:
            raise SpikeDataError(f"epoch has {start.size} times but {duration.size} "
                                 f"durations", self.source, where)
        labels = np.empty(0, dtype="U")
        stored = m.child(m.child(m.child(positions, "dimensions"), "1"), "labels")
        if stored is not None and stored.is_dataset:
            labels = np.array([_text(v) for v in self.read(stored).ravel()], dtype="U")
            if labels.size and labels.size != start.size:
                raise SpikeDataError(f"epoch has {start.size} times but {labels.size} "
                                     f"labels", self.source, where)
        return EpochRecord(attrs.pop("name"), attrs.pop("description"),
                           _annotations(attrs, _EPOCH_ARGS), start, duration, labels)

    def data_array(self, tag, where, key):
        """The NIX DataArray ``key`` of ``tag``: a group with a ``data`` dataset."""
        array = self.objects.child(tag, key)
        data = self.objects.child(array, "data")
        if data is None or not data.is_dataset:
            raise SpikeDataError(f"has no {key} data", self.source, where)
        return array

    def seconds(self, data_array, where):
        """The data of a NIX DataArray of times, in seconds (float64)."""
        unit = _attr(data_array.id, "unit", "")
        data = self.objects.child(data_array, "data")
        if data.dtype.kind not in "iuf":
            raise SpikeDataError(f"times are {data.dtype}, not numbers", self.source, where)
        values = np.asarray(self.read(data), dtype=np.float64).ravel()
        return values if unit == "s" else values * self.seconds_per(unit, where)

    def time_value(self, value, unit, key, where):
        """A time property in seconds."""
        if isinstance(value, (str, list)):
            raise SpikeDataError(f"{key} is not a number", self.source, where)
        return float(value) * (1.0 if unit == "s" else self.seconds_per(unit, where))

    def seconds_per(self, unit, where):
        try:
            return _parse_seconds_per(unit)
        except _UNIT_ERRORS as exc:
            raise SpikeDataError(f"unit {unit!r} is not a unit of time ({_describe(exc)})",
                                 self.source, where) from None

    def neo_attrs(self, node, where, description=True):
        """What NixIO's ``_nix_attr_to_neo`` gives for a NIX object and the model keeps:
        ``description`` (unless not asked), ``name`` (property ``neo_name``) and one entry
        per metadata property but ``nix_name`` (dates and times parsed), and the units of
        those properties that have one.

        Values are plain (magnitudes): ``from_records`` keeps only the magnitude of a
        Quantity-valued annotation, and the time properties are converted with their
        unit."""
        m = self.objects
        attrs = {"description": _attr(node.id, "definition", None)} if description else {}
        section, where = m.child(node, "metadata"), f"{where}/metadata"
        units = {}
        seen = set()
        while section is not None and section not in seen:  # may link to another
            seen.add(section)
            for prop, prop_where in self.members(section, where, "properties"):
                name = prop_where.rsplit("/", 1)[1]
                if not prop.is_dataset:
                    raise SpikeDataError("property is not a dataset", self.source, prop_where)
                if name == "nix_name":  # analysis.neo_io drops it: checked, not read
                    self.value_field(prop, prop_where)
                    continue
                value = self.property_value(prop, prop_where)
                unit = _attr(prop.id, "unit", None)
                if unit is not None:
                    units[name] = unit
                if _attr(prop.id, "type", "") == _ARRAY_ANNOTATION:
                    attrs.setdefault("array_annotations", {})[name] = value
                else:
                    attrs[name] = value
            section, where = m.child(section, "link"), f"{where}/link"
        name = attrs.pop("neo_name", None)
        attrs["name"] = None if name is None else str(name)
        return attrs, units

    def value_field(self, prop, where):
        """The field of the property's values: None, or ``value`` in the compound dataset
        of NIX format < 1.1.1."""
        if not prop.dtype.fields:
            return None
        if "value" not in prop.dtype.fields:
            raise SpikeDataError("old-layout property has no 'value' field", self.source,
                                 where)
        return "value"

    def property_value(self, prop, where):
        field = self.value_field(prop, where)
        raw = self.read(prop)
        if field is not None:
            raw = raw[field]
        values = [_text(v) if isinstance(v, bytes) else v for v in np.asarray(raw).ravel()]
        definition = _attr(prop.id, "definition", None)
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
                raise SpikeDataError(f"is not a {definition.lower()} ({value!r})",
                                     self.source, where) from None
            value = (parsed.date() if definition == "DATE" else
                     parsed.time() if definition == "TIME" else parsed)
        return value

    @staticmethod
    def type(node):
        return _attr(node.id, "type", "")

    @staticmethod
    def read(dataset):
        """All of a dataset (a :class:`~analysis.hdf5_walk.Node`) as a numpy array."""
        out = np.empty(dataset.shape or (), dtype=dataset.dtype)
        if out.size:
            dataset.id.read(h5s.ALL, h5s.ALL, out, mtype=_memory_type(dataset.dtype))
        return out


def _annotations(attrs, constructor_args):
    return {k: v for k, v in attrs.items() if k not in constructor_args}


@functools.lru_cache(maxsize=64)
def _parse_seconds_per(unit):
    import quantities as pq

    return float(pq.Quantity(1.0, unit).rescale("s").magnitude)


# h5py makes a memory type for every read unless given one; these are made once
_MEMORY_TYPES = {}
_OBJECT = np.dtype(object)
_VLEN_STR = np.dtype(object, metadata={"vlen": str})  # h5py's variable-length str


def _memory_type(dtype):
    """The h5py memory type of a numpy ``dtype`` (as h5py would make it for a read), made
    once for numbers and variable-length strings; None (h5py makes it) for the rest."""
    if dtype.kind in "iuf" and dtype.fields is None:
        key = dtype.str
    elif dtype.kind == "O" and dtype.metadata and dtype.metadata.get("vlen") in (str, bytes):
        key = dtype.metadata["vlen"]
    else:
        return None
    mtype = _MEMORY_TYPES.get(key)
    if mtype is None:
        mtype = _MEMORY_TYPES[key] = h5t.py_create(dtype)
    return mtype


def _attr(oid, name, default):
    """The text of the attribute ``name`` of the h5py identifier ``oid``, or ``default``
    when absent (h5py's ``obj.attrs[name]`` costs several times more)."""
    key = name.encode()
    if not h5a.exists(oid, key):
        return default
    attr = h5a.open(oid, key)
    stored = attr.get_storage_size()
    if 0 < stored <= 64:
        # NIX's attributes are one variable-length string: read as h5py reads one, into
        # a buffer of one slot per stored byte (h5py does not check the buffer's size,
        # and no value takes less than a byte); a type that does not convert raises,
        # and more than one value takes the general path
        value = np.empty(stored, dtype=_OBJECT)
        try:
            attr.read(value, mtype=_memory_type(_VLEN_STR))
        except OSError:
            pass
        else:
            if value[0] is not None and (stored == 1 or value[1] is None):
                return _text(value[0])
    value = np.empty(attr.shape, dtype=attr.dtype)
    attr.read(value)
    return _text(value)


def _describe(exc):
    return f"{type(exc).__name__}: {' '.join(str(exc).split())[:200]}"


def _text(v):
    if isinstance(v, bytes):
        return v.decode("utf-8", errors="replace")
    if isinstance(v, np.ndarray) and v.size == 1:
        return _text(v.ravel()[0])
    return str(v)
