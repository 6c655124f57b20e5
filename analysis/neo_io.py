"""Conversion between :class:`~analysis.spiketrains.SpikeTrains` and ``neo`` objects.

:func:`to_neo` and :func:`from_neo` are what ``SpikeTrains.to_neo`` / ``SpikeTrains.from_neo``
delegate to; the NIX reader and writer of :mod:`analysis.io` go through them too.
"""

from __future__ import annotations

import json
from typing import NamedTuple

import numpy as np

from .errors import SpikeDataError
from .spiketrains import NEO_LAYOUT_KEY, Epochs, SpikeTrains, _plain

__all__ = ["BlockRecord", "EpochRecord", "SegmentRecord", "TrainRecord", "from_neo",
           "from_records", "to_neo"]


def to_neo(data):
    """A ``neo.Block`` holding the spike trains in seconds.

    Data read from a foreign neo object (see :func:`from_neo`) carry the annotation
    ``neo_layout``, and the Block is rebuilt in that layout: block and segment names,
    descriptions and annotations at their own level; one Segment per original segment
    (consecutive trials are split again at their bounds, spikes on the bound of two
    touching segments going back to the segment they came from); spike-train names,
    bounds and ``unit_id`` annotations as they were; unit annotations as spike-train
    annotations (``None`` values are left out); one ``neo.Epoch`` per original Epoch
    with its name, labels and annotations; ``truth['ordering']`` as the segment annotation
    ``spiketrain_ordering``. Parts of the layout that no longer fit the data (after
    ``select_units`` or ``replace``) fall back to the default below.

    Otherwise (data made by spikelens): one Segment ``"recording"`` with one
    ``neo.SpikeTrain`` per unit (name and annotation ``unit_id``: the unit id; per-unit
    annotations as spike-train annotations), the epochs as one ``neo.Epoch`` named
    ``"epochs"``, the annotations on the Block (its name from ``annotations['name']``;
    ``None`` values left out), ground truth as the JSON block annotation
    ``spikelens_truth`` and the unit-annotation keys as the JSON block annotation
    ``spikelens_unit_annotations``, which marks the Block as written by spikelens.

    Times, bounds and epochs are in seconds. Other truth keys of foreign data also go
    into ``spikelens_truth``.
    """
    layout = data.annotations.get(NEO_LAYOUT_KEY)
    if isinstance(layout, dict):
        return _to_neo_layout(data, layout)
    import neo
    import quantities as pq

    # annotate() after construction, so keys such as 'name' or 'units' cannot collide
    # with the constructors' own arguments
    block = neo.Block(name=str(data.annotations.get("name", "spikelens")))
    block.annotate(**_neo_values(data.annotations))
    seg = neo.Segment(name="recording")
    for i, uid in enumerate(data.unit_ids.tolist()):
        st = neo.SpikeTrain(np.array(data[i]) * pq.s, t_start=data.t_start * pq.s,
                            t_stop=data.t_stop * pq.s, name=uid)
        st.annotate(unit_id=uid, **_neo_values(
            {k: v[i] for k, v in data.unit_annotations.items()}))
        seg.spiketrains.append(st)
    if data.epochs is not None:
        seg.epochs.append(neo.Epoch(times=np.array(data.epochs.start) * pq.s,
                                    durations=np.array(data.epochs.duration) * pq.s,
                                    labels=np.array(data.epochs.label), name="epochs"))
    if data.truth:
        block.annotate(spikelens_truth=json.dumps(
            {k: v.tolist() for k, v in data.truth.items()}))
    block.annotate(spikelens_unit_annotations=json.dumps(sorted(data.unit_annotations)))
    block.segments.append(seg)
    seg.block = block
    return block

def _to_neo_layout(data, layout):
    """``to_neo`` for data read from a foreign neo object (see ``from_neo``)."""
    import neo
    import quantities as pq

    n = data.n_units
    blk = layout.get("block") if isinstance(layout.get("block"), dict) else None
    segs = [s if isinstance(s, dict) else {} for s in (layout.get("segments") or [{}])]
    seg_keys = [k for k in (layout.get("segment_keys") or []) if k in data.annotations]
    id_source = layout.get("unit_id", "name")

    name = blk.get("name") if blk is not None else data.annotations.get("name", "spikelens")
    block = neo.Block(name=None if name is None else str(name),
                      description=blk.get("description") if blk is not None else None)
    block_ann = {k: v for k, v in data.annotations.items()
                 if k not in seg_keys and k != NEO_LAYOUT_KEY}
    if blk is not None and isinstance(blk.get("annotations"), dict):
        block_ann.update(blk["annotations"])
    block.annotate(**_neo_values(block_ann))
    ordering_on_segment = bool(layout.get("ordering")) and "ordering" in data.truth
    other_truth = {k: v.tolist() for k, v in data.truth.items()
                   if not (k == "ordering" and ordering_on_segment)}
    if other_truth:
        block.annotate(spikelens_truth=json.dumps(other_truth))

    # segments: the original trials when their bounds still cover every spike
    bounds = _segment_bounds(segs, data)
    if bounds is None:
        segs, bounds = segs[:1], [(data.t_start, data.t_stop)]
    ranges = _split_ranges(data, bounds)
    if ranges is None:  # spikes outside the segments: keep them all in one
        segs, bounds = segs[:1], [(data.t_start, data.t_stop)]
        ranges = _split_ranges(data, bounds)
    _return_spikes_at_t_stop(data, segs, bounds, ranges)

    # epochs: the trial epochs (one per segment) are implied by the segments
    groups = _epoch_groups(layout, data.epochs, len(bounds))

    unit_values = {k: v.tolist() for k, v in data.unit_annotations.items()}
    ids = data.unit_ids.tolist()
    # per unit, its position in the recorded per-train entries (-1: not recorded)
    recorded = layout.get("unit_ids")
    if isinstance(recorded, list):
        where = {str(u): j for j, u in enumerate(recorded)}
        rec_pos, n_rec = [where.get(u, -1) for u in ids], len(recorded)
    else:  # a layout without ids: by position, only while the count is the same
        rec_pos, n_rec = list(range(n)), n
    # ids that are positions come back from the positions only while nothing moved
    write_uid = id_source == "unit_id" or (
        id_source == "index" and not (n == n_rec and rec_pos == list(range(n))
                                      and ids == [str(i) for i in range(n)]))
    for k, s in enumerate(segs):
        seg = neo.Segment(name=s.get("name"), description=s.get("description"))
        seg_ann = {key: data.annotations[key] for key in seg_keys}
        if isinstance(s.get("annotations"), dict):
            seg_ann.update(s["annotations"])
        if ordering_on_segment:
            seg_ann["spiketrain_ordering"] = data.truth["ordering"].tolist()
        seg.annotate(**_neo_values(seg_ann))
        t0, t1 = bounds[k]
        names = _per_unit(s.get("train_names"), n_rec)
        train_bounds = _per_unit(s.get("train_bounds"), n_rec)
        extra = {key: vals for key, vals in (s.get("train_annotations") or {}).items()
                 if _per_unit(vals, n_rec) is not None}
        lo, hi = ranges[k]
        for i, uid in enumerate(ids):
            j = rec_pos[i]
            spikes = np.array(data[i][lo[i]:hi[i]])
            a, b = _train_bounds(None if train_bounds is None or j < 0
                                 else train_bounds[j], spikes, t0, t1)
            if id_source == "name":
                tname = uid
            else:
                tname = None if names is None or j < 0 else names[j]
            st = neo.SpikeTrain(spikes * pq.s, t_start=a * pq.s, t_stop=b * pq.s,
                                name=tname)
            ann = {key: vals[i] for key, vals in unit_values.items()}
            if j >= 0:
                ann.update({key: vals[j] for key, vals in extra.items()})
            if write_uid:
                ann["unit_id"] = uid
            st.annotate(**_neo_values(ann))
            seg.spiketrains.append(st)
        for info, sl in groups[k]:
            ep = data.epochs
            start, stop = ep.start[sl], ep.stop[sl]
            e = neo.Epoch(times=np.array(start) * pq.s,
                          durations=np.array(stop - start) * pq.s,
                          labels=np.array(ep.label[sl]) if info.get("labels", True)
                          else None,
                          name=info.get("name"), description=info.get("description"))
            if isinstance(info.get("annotations"), dict):
                e.annotate(**_neo_values(info["annotations"]))
            seg.epochs.append(e)
        block.segments.append(seg)
        seg.block = block
    return block

def from_neo(obj, source=None, *, cls=None):
    """Build from a ``neo.Block``, ``neo.Segment`` or a list of ``neo.SpikeTrain``.

    Quantities are converted to seconds. Unit ids are the spike trains' ``unit_id``
    annotations when every train has a distinct one, else their names when these are
    distinct, else their positions. A Segment's ``neo.Epoch`` objects become the
    epochs (with their labels, or their positions as labels). A segment annotation
    ``spiketrain_ordering`` (as written by Elephant's ASSET tutorial data) becomes
    ``truth['ordering']``.

    Blocks written by :func:`to_neo` from spikelens data (block annotation
    ``spikelens_unit_annotations``) come back exactly. Any other ("foreign") object:

    - annotations = block annotations plus the segment annotations (a segment's value
      wins over the block's for the same key);
    - unit annotations = the spike trains' annotations (a key missing on a train, or
      values of different types, give an object array with ``None`` for the missing);
    - the annotation ``neo_layout`` (JSON-friendly) records what :func:`to_neo` needs to
      rebuild the same layout: block and segment names and descriptions, which keys are
      segment annotations, train names and bounds where they differ from the ids and
      the recording, each Epoch's name, size and annotations, where the ordering was.
    - A Block with several segments is read when the segments are consecutive trials:
      every segment holds the same units (same count and ids, in order) and each starts
      no earlier than the previous one ends. The trials are joined on the Block's time
      axis (times are not shifted), each segment becomes an epoch (label: the segment's
      name, else ``"segment k"``), followed by the segments' own Epochs; segment and
      train annotations that are the same in every segment are kept as above, the others
      per segment in ``neo_layout``. Any other Block with several segments is refused.

    Not kept: per-spike array annotations and waveforms (SpikeTrains holds no per-spike
    data), array annotations of Epochs, Events, signals, and annotations whose value is
    ``None``. Quantity-valued annotations keep their magnitude only.

    Raises
    ------
    SpikeDataError
        For an object without spike trains, several segments that are not consecutive
        trials of the same units (the message names the block and the number of
        segments), and the usual validation errors.
    """
    import neo

    if isinstance(obj, neo.Block):
        return from_records(BlockRecord.from_neo(obj), source, cls=cls)
    if isinstance(obj, neo.Segment):
        return from_records(SegmentRecord.from_neo(obj), source, cls=cls)
    try:
        trains = list(obj)
    except TypeError:
        trains = None
    if trains is None or not all(isinstance(t, neo.SpikeTrain) for t in trains):
        raise SpikeDataError("expected a neo Block, Segment or list of SpikeTrain", source)
    return from_records([TrainRecord.from_neo(t) for t in trains], source, cls=cls)


def from_records(obj, source=None, *, cls=None):
    """:func:`from_neo` for the plain records of neo objects (:class:`BlockRecord`,
    :class:`SegmentRecord` or a list of :class:`TrainRecord`), which a file reader can
    build without neo (see :mod:`analysis.nix_io`)."""
    cls = SpikeTrains if cls is None else cls
    if isinstance(obj, BlockRecord):
        if "spikelens_unit_annotations" in obj.annotations:
            return _from_spikelens_neo(cls, obj, source)
        block, segments = obj, list(obj.segments)
        if not segments:
            raise SpikeDataError("contains no segments", source, _block_where(block))
        seg_trains = [list(s.spiketrains) for s in segments]
    elif isinstance(obj, SegmentRecord):
        block, segments, seg_trains = None, [obj], [list(obj.spiketrains)]
    else:
        block, segments, seg_trains = None, [None], [list(obj)]
    return _from_foreign_neo(cls, block, segments, seg_trains, source)


# ---------------------------------------------------------------------- records
class TrainRecord(NamedTuple):
    """What :func:`from_records` uses of a ``neo.SpikeTrain``, in seconds."""

    name: object
    annotations: dict
    times: np.ndarray  # s, float64
    t_start: float  # s
    t_stop: float  # s

    @classmethod
    def from_neo(cls, t):
        return cls(t.name, t.annotations,
                   np.asarray(t.rescale("s").magnitude, dtype=np.float64).ravel(),
                   float(t.t_start.rescale("s").magnitude),
                   float(t.t_stop.rescale("s").magnitude))


class EpochRecord(NamedTuple):
    """What :func:`from_records` uses of a ``neo.Epoch``, in seconds."""

    name: object
    description: object
    annotations: dict
    start: np.ndarray  # s
    duration: np.ndarray  # s
    labels: np.ndarray  # empty when the Epoch has no labels

    @classmethod
    def from_neo(cls, e):
        return cls(e.name, e.description, e.annotations,
                   np.asarray(e.times.rescale("s").magnitude, dtype=np.float64).ravel(),
                   np.asarray(e.durations.rescale("s").magnitude, dtype=np.float64).ravel(),
                   np.asarray(e.labels))


class SegmentRecord(NamedTuple):
    """A ``neo.Segment``: its spike trains and epochs as records."""

    name: object
    description: object
    annotations: dict
    spiketrains: list
    epochs: list

    @classmethod
    def from_neo(cls, s):
        return cls(s.name, s.description, s.annotations,
                   [TrainRecord.from_neo(t) for t in s.spiketrains],
                   [EpochRecord.from_neo(e) for e in s.epochs])


class BlockRecord(NamedTuple):
    """A ``neo.Block``: its segments as records."""

    name: object
    description: object
    annotations: dict
    segments: list

    @classmethod
    def from_neo(cls, b):
        return cls(b.name, b.description, b.annotations,
                   [SegmentRecord.from_neo(s) for s in b.segments])


def _from_spikelens_neo(cls, block, source):
    """``from_neo`` for a Block written by the default ``to_neo``: exact."""
    block_ann = dict(block.annotations)
    if len(block.segments) != 1:
        raise SpikeDataError(f"a spikelens Block has one segment, this one has "
                             f"{len(block.segments)}", source, _block_where(block))
    seg = block.segments[0]
    seg_ann = dict(seg.annotations)
    epochs_neo = list(seg.epochs)
    trains = list(seg.spiketrains)
    if not trains:
        raise SpikeDataError("contains no spike trains", source)
    t_start = min(t.t_start for t in trains)
    t_stop = max(t.t_stop for t in trains)
    unit_keys = set(json.loads(block_ann.pop("spikelens_unit_annotations", "[]")))
    ids, _ = _neo_unit_ids(trains)
    unit_ann = {key: [t.annotations.get(key) for t in trains] for key in unit_keys}
    spike_lists = [t.times for t in trains]
    truth = _truth_from_json(block_ann.pop("spikelens_truth", "{}"), source)
    if "spiketrain_ordering" in seg_ann:
        truth["ordering"] = np.asarray(seg_ann.pop("spiketrain_ordering"), dtype=np.int64)
    epochs = _epochs_from_neo(epochs_neo)[0] if epochs_neo else None
    annotations = {k: _plain(v) for k, v in block_ann.items()
                   if k not in ("nix_name",)}
    annotations.update({k: _plain(v) for k, v in seg_ann.items() if k != "nix_name"})
    return cls.from_lists(spike_lists, t_start=t_start, t_stop=t_stop, unit_ids=ids,
                          annotations=annotations,
                          unit_annotations={k: np.asarray(v) for k, v in unit_ann.items()},
                          epochs=epochs, truth=truth, source=source)

def _from_foreign_neo(cls, block, segments, seg_trains, source):
    """``from_neo`` for anything else; records the layout in ``neo_layout``."""
    where = _block_where(block) if block is not None else None
    n_seg = len(seg_trains)
    if not any(seg_trains) or (n_seg > 1 and not all(seg_trains)):
        empty = [k for k, t in enumerate(seg_trains) if not t]
        raise SpikeDataError("contains no spike trains" if n_seg == 1 or
                             len(empty) == n_seg else
                             f"segment {empty[0]} of its {n_seg} segments contains no "
                             f"spike trains", source, where)
    counts = [len(t) for t in seg_trains]
    if len(set(counts)) > 1:
        raise SpikeDataError(
            f"its {n_seg} segments hold different numbers of spike trains "
            f"({', '.join(map(str, counts))}); several segments are read only when they "
            f"are consecutive trials of the same units", source, where)
    ids, id_source = _neo_unit_ids(seg_trains[0])
    for k, trains in enumerate(seg_trains[1:], 1):
        other = [str(t.annotations.get("unit_id")) if id_source == "unit_id" else
                 t.name if id_source == "name" else str(j) for j, t in enumerate(trains)]
        if other != ids:
            raise SpikeDataError(
                f"its {n_seg} segments hold different units (segment {k} differs from "
                f"segment 0); several segments are read only when they are consecutive "
                f"trials of the same units", source, where)
    sec = [[(t.t_start, t.t_stop) for t in trains] for trains in seg_trains]
    seg_bounds = [(min(b[0] for b in s), max(b[1] for b in s)) for s in sec]
    for k in range(1, n_seg):
        if seg_bounds[k][0] < seg_bounds[k - 1][1]:
            raise SpikeDataError(
                f"its {n_seg} segments overlap in time (segment {k} starts at "
                f"{seg_bounds[k][0]:g} s, before segment {k - 1} ends at "
                f"{seg_bounds[k - 1][1]:g} s); several segments are read only when they "
                f"are consecutive trials on one time axis (or pass one of its "
                f"Segments to from_neo)",
                source, where)
    n = counts[0]
    spike_lists = [np.concatenate([trains[i].times for trains in seg_trains]) for i in range(n)]
    t_start, t_stop = seg_bounds[0][0], seg_bounds[-1][1]

    # ---- annotations: block, then what every segment shares
    skip = {"nix_name"}
    block_ann = {} if block is None else {k: _plain_deep(v)
                                          for k, v in block.annotations.items()
                                          if k not in skip}
    seg_anns = [{} if s is None else {k: _plain_deep(v) for k, v in s.annotations.items()
                                      if k not in skip} for s in segments]
    truth = {}
    if block is not None and "spikelens_truth" in block_ann:
        truth = _truth_from_json(block_ann.pop("spikelens_truth"), source)
    orderings = [a.get("spiketrain_ordering") for a in seg_anns]
    ordering = orderings[0] is not None and all(_same(o, orderings[0]) for o in orderings)
    if ordering:
        for a in seg_anns:
            a.pop("spiketrain_ordering")
        truth["ordering"] = np.asarray(orderings[0], dtype=np.int64)
    shared = [k for k in seg_anns[0] if all(k in a and _same(a[k], seg_anns[0][k])
                                            for a in seg_anns)]
    annotations = {**block_ann, **{k: seg_anns[0][k] for k in shared}}

    # ---- per-unit annotations: those every segment shares; the rest per segment
    train_skip = skip | ({"unit_id"} if id_source == "unit_id" else set())
    per_seg = [_train_annotation_lists(trains, train_skip) for trains in seg_trains]
    common_keys = [k for k in per_seg[0]
                   if all(k in p and _same(p[k], per_seg[0][k]) for p in per_seg)]
    unit_annotations = {k: _unit_array(per_seg[0][k]) for k in common_keys}

    # ---- epochs: the trials (several segments), then each segment's Epochs
    starts, stops, labels = [], [], []
    if n_seg > 1:
        starts.append(np.array([b[0] for b in seg_bounds]))
        stops.append(np.array([b[1] for b in seg_bounds]))
        labels.append(np.array([s.name if s is not None and s.name else f"segment {k}"
                                for k, s in enumerate(segments)], dtype=str))
    seg_layouts = []
    for k, s in enumerate(segments):
        epochs_neo = [] if s is None else list(s.epochs)
        groups = []
        if epochs_neo:
            ep, groups = _epochs_from_neo(epochs_neo)
            starts.append(ep.start)
            stops.append(ep.stop)
            labels.append(ep.label)
        names = [t.name for t in seg_trains[k]]
        seg_layouts.append({
            "name": None if s is None else s.name,
            "description": None if s is None else s.description,
            "t_start": seg_bounds[k][0], "t_stop": seg_bounds[k][1],
            "annotations": {key: v for key, v in seg_anns[k].items() if key not in shared},
            "train_names": names if id_source != "name" and any(
                x is not None for x in names) else None,
            "train_bounds": [list(b) for b in sec[k]]
            if any(b != seg_bounds[k] for b in sec[k]) else None,
            "train_annotations": {key: v for key, v in per_seg[k].items()
                                  if key not in common_keys},
            "epochs": groups,
            # spikes on this segment's t_stop when the next segment starts there:
            # to_neo would give them to the next one
            "spikes_at_t_stop": _spikes_at(seg_trains[k], ids, seg_bounds[k][1])
            if k + 1 < n_seg and seg_bounds[k + 1][0] == seg_bounds[k][1] else [],
        })
    epochs = None
    if starts:
        epochs = Epochs(np.concatenate(starts), np.concatenate(stops),
                        np.concatenate(labels))
    layout = {
        "block": None if block is None else {
            "name": block.name, "description": block.description,
            "annotations": {k: v for k, v in block_ann.items() if k in shared}},
        "segment_keys": shared,
        "ordering": ordering,
        "unit_id": id_source,
        # per-train entries (train_names, train_bounds, train_annotations) are in
        # this order of unit ids; to_neo maps them by id
        "unit_ids": ids,
        "trial_epochs": n_seg > 1,
        "segments": seg_layouts,
    }
    annotations[NEO_LAYOUT_KEY] = layout
    return cls.from_lists(spike_lists, t_start=t_start, t_stop=t_stop, unit_ids=ids,
                          annotations=annotations, unit_annotations=unit_annotations,
                          epochs=epochs, truth=truth, source=source)


# ---------------------------------------------------------------------- helpers
def _block_where(block):
    return f"block {block.name!r}" if getattr(block, "name", None) else "block"


def _plain_deep(v):
    """``_plain`` applied inside lists, tuples and dicts too."""
    v = _plain(v)
    if isinstance(v, (list, tuple)):
        return [_plain_deep(x) for x in v]
    if isinstance(v, dict):
        return {str(k): _plain_deep(x) for k, x in v.items()}
    return v


def _same(a, b):
    """Equal annotation values (lists, dicts and NaN included)."""
    return json.dumps(a, sort_keys=True, default=str) == \
        json.dumps(b, sort_keys=True, default=str)


def _neo_values(d):
    """Annotations for neo's ``annotate``: values as they are, ``None`` left out."""
    return {str(k): _plain_deep(v) for k, v in d.items() if v is not None}


def _truth_from_json(text, source):
    try:
        raw = json.loads(text)
    except (TypeError, ValueError):
        raise SpikeDataError("is not valid JSON", source, "block annotation spikelens_truth") \
            from None
    return {k: np.asarray(v, dtype=np.int64 if k in ("ordering", "chain_group") else None)
            for k, v in raw.items()}


def _neo_unit_ids(trains):
    """Unit ids of neo spike trains and where they came from: unit_id, name or index."""
    uid = [t.annotations.get("unit_id") for t in trains]
    if all(u is not None and str(u) != "" for u in uid) and len(set(map(str, uid))) == len(uid):
        return [str(u) for u in uid], "unit_id"
    names = [t.name for t in trains]
    if all(isinstance(x, str) and x for x in names) and len(set(names)) == len(names):
        return names, "name"
    return [str(k) for k in range(len(trains))], "index"


def _train_annotation_lists(trains, skip):
    """Every spike-train annotation key -> one plain value per train (None if absent)."""
    keys = sorted(set().union(*(t.annotations for t in trains)) - skip)
    return {k: [_plain_deep(t.annotations[k]) if k in t.annotations else None for t in trains]
            for k in keys}


def _unit_array(values):
    """A typed array when every value is a str, bool, int or float of one type, else
    an object array (None for a missing value)."""
    kinds = {type(v) for v in values}
    if len(kinds) == 1 and kinds <= {str, bool, int, float}:
        try:
            return np.asarray(values)
        except OverflowError:  # ints beyond int64
            pass
    out = np.empty(len(values), dtype=object)
    for i, v in enumerate(values):
        out[i] = v
    return out


def _epochs_from_neo(epochs_neo):
    """Epochs (s) from neo Epoch objects, and each object's layout record."""
    starts, stops, labels, groups = [], [], [], []
    for e in epochs_neo:
        start, dur = e.start, e.duration
        has_labels = len(e.labels) > 0
        starts.append(start)
        stops.append(start + dur)
        labels.append(np.asarray(e.labels).astype(str) if has_labels
                      else np.arange(start.size).astype(str))
        groups.append({"name": e.name, "description": e.description, "size": int(start.size),
                       "labels": bool(has_labels),
                       "annotations": {k: _plain_deep(v) for k, v in e.annotations.items()
                                       if k != "nix_name"}})
    return Epochs(np.concatenate(starts), np.concatenate(stops), np.concatenate(labels)), groups


def _per_unit(values, n):
    return values if isinstance(values, list) and len(values) == n else None


def _train_bounds(recorded, spikes, t0, t1):
    """A train's recorded (t_start, t_stop) when it still lies in its segment [t0, t1] and
    holds the train's spikes (not after ``select_units``, ``time_slice`` or ``replace``
    moved them), else the segment's bounds."""
    try:
        a, b = float(recorded[0]), float(recorded[1])
    except (TypeError, ValueError, IndexError, KeyError):
        return t0, t1
    if not (t0 <= a <= b <= t1) or (spikes.size and (spikes[0] < a or spikes[-1] > b)):
        return t0, t1
    return a, b


def _segment_bounds(segs, data):
    """(t_start, t_stop) of each recorded segment, or None when they no longer fit."""
    if len(segs) <= 1:
        return [(data.t_start, data.t_stop)]
    try:
        bounds = [(float(s["t_start"]), float(s["t_stop"])) for s in segs]
    except (KeyError, TypeError, ValueError):
        return None
    ok = (bounds[0][0] >= data.t_start and bounds[-1][1] <= data.t_stop
          and all(a <= b for a, b in bounds)
          and all(bounds[k][0] >= bounds[k - 1][1] for k in range(1, len(bounds))))
    return bounds if ok else None


def _split_ranges(data, bounds):
    """Per segment, (lo, hi) spike positions within each unit; None if a spike lies
    outside every segment. A spike on the bound of two touching segments goes to the
    later one (``_return_spikes_at_t_stop`` corrects that from the layout)."""
    n_seg = len(bounds)
    t0 = np.array([b[0] for b in bounds])
    t1 = np.array([b[1] for b in bounds])
    k = np.searchsorted(t0[1:], data.times, side="right")
    if data.n_spikes and np.any((data.times < t0[k]) | (data.times > t1[k])):
        return None
    counts = np.bincount(data.units * n_seg + k, minlength=data.n_units * n_seg)
    cum = np.zeros((data.n_units, n_seg + 1), dtype=np.int64)
    cum[:, 1:] = np.cumsum(counts.reshape(data.n_units, n_seg), axis=1)
    return [(cum[:, j].copy(), cum[:, j + 1].copy()) for j in range(n_seg)]


def _spikes_at(trains, ids, t):
    """``[unit id, count]`` of the trains' spikes at exactly ``t`` seconds."""
    out = []
    for uid, train in zip(ids, trains):
        c = int(np.count_nonzero(train.times == t))
        if c:
            out.append([uid, c])
    return out


def _return_spikes_at_t_stop(data, segs, bounds, ranges):
    """Give the spikes recorded at a segment's t_stop back to it (see ``from_neo``)."""
    pos = {u: i for i, u in enumerate(data.unit_ids.tolist())}
    for k in range(len(bounds) - 1):
        at = segs[k].get("spikes_at_t_stop") if isinstance(segs[k], dict) else None
        if bounds[k][1] != bounds[k + 1][0] or not isinstance(at, list):
            continue
        for item in at:
            try:
                i, c = pos[item[0]], int(item[1])
            except (KeyError, TypeError, ValueError, IndexError):
                continue
            lo, hi = ranges[k + 1]
            train = data[i]
            c = min(c, int(np.count_nonzero(train[lo[i]:hi[i]] == bounds[k][1])))
            if c > 0:
                ranges[k][1][i] += c
                lo[i] += c


def _epoch_groups(layout, epochs, n_out):
    """Per output segment, the (layout record, slice) of each neo.Epoch to write."""
    out = [[] for _ in range(n_out)]
    if epochs is None:
        return out
    recorded = [s.get("epochs") if isinstance(s, dict) else None
                for s in (layout.get("segments") or [])]
    offset = len(recorded) if layout.get("trial_epochs") and len(recorded) > 1 else 0
    try:
        sizes = [[int(g["size"]) for g in r or []] for r in recorded]
    except (KeyError, TypeError, ValueError):
        sizes = None
    fits = (sizes is not None and len(recorded) == n_out
            and offset + sum(map(sum, sizes)) == len(epochs))
    if not fits:
        out[0].append(({"name": "epochs"}, slice(0, len(epochs))))
        return out
    pos = offset
    for j, r in enumerate(recorded):
        for g in r or []:
            out[j].append((g, slice(pos, pos + int(g["size"]))))
            pos += int(g["size"])
    return out
