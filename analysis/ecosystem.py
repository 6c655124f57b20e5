"""SpikeTrains from and to the objects of SpikeInterface and pynapple, by duck typing.

Neither package is a dependency: :func:`from_spikeinterface` and :func:`from_pynapple` only
call the methods and attributes named below; :func:`to_pynapple` imports pynapple, since it
builds its objects.
"""

from __future__ import annotations

import numpy as np

from .errors import SpikeDataError
from .spiketrains import Epochs, SpikeTrains

__all__ = ["from_pynapple", "from_spikeinterface", "to_pynapple"]

#: pynapple metadata column holding spikelens' unit ids (TsGroup keys are integers)
UNIT_ID_COLUMN = "unit_id"


def from_spikeinterface(sorting, segment=0, *, cls=None):
    """SpikeTrains from a SpikeInterface sorting (``BaseSorting``), one segment.

    Uses ``get_unit_ids()``, ``get_num_segments()``, ``get_sampling_frequency()`` (Hz),
    ``get_unit_spike_train(unit_id, segment_index=)`` (sample indices),
    ``get_property_keys()`` and ``get_property(key)``. Times are ``samples / frequency``
    s; ``t_start`` is 0 s; ``t_stop`` is the segment's length (``get_num_samples``, known
    when a recording is registered) or else the last spike. Unit ids become strings;
    one-value-per-unit properties become unit annotations; the annotation
    ``sampling_frequency`` keeps the rate.
    """
    cls = SpikeTrains if cls is None else cls
    source = f"SpikeInterface {type(sorting).__name__}"
    try:
        n_segments = int(sorting.get_num_segments())
        rate = float(sorting.get_sampling_frequency())
        ids = list(sorting.get_unit_ids())
    except AttributeError as exc:
        raise SpikeDataError(f"is not a SpikeInterface sorting ({exc})", source) from None
    if not 0 <= segment < n_segments:
        raise SpikeDataError(f"has {n_segments} segment(s), no segment {segment}", source,
                             "segment")
    if not (np.isfinite(rate) and rate > 0):
        raise SpikeDataError(f"sampling frequency must be > 0 Hz, got {rate}", source)
    trains = [np.asarray(sorting.get_unit_spike_train(u, segment_index=segment)) / rate
              for u in ids]
    t_stop = None
    if hasattr(sorting, "has_recording") and sorting.has_recording():
        t_stop = sorting.get_num_samples(segment_index=segment) / rate
    unit_ann = {}
    for key in sorting.get_property_keys():
        values = np.asarray(sorting.get_property(key))
        if values.ndim == 1 and values.size == len(ids):
            unit_ann[str(key)] = values
    return cls.from_lists(trains, t_start=0.0, t_stop=t_stop, unit_ids=[str(u) for u in ids],
                          annotations={"sampling_frequency": rate},
                          unit_annotations=unit_ann, source=source)


def from_pynapple(tsgroup, epochs=None, *, cls=None):
    """SpikeTrains from a pynapple ``TsGroup`` (and an ``IntervalSet`` of epochs).

    Uses the group's ``keys()``, each member's ``.t`` (s), ``time_support`` (its first
    start and last end are the recording bounds) and ``metadata`` (a DataFrame: its
    columns other than ``rate`` become unit annotations; a column ``unit_id``, as
    :func:`to_pynapple` writes, gives the unit ids, else the keys do). ``epochs``:
    ``start``/``end`` (s) and, when its ``metadata`` has a ``label`` column, the labels
    (else the epochs' positions).
    """
    cls = SpikeTrains if cls is None else cls
    source = f"pynapple {type(tsgroup).__name__}"
    try:
        keys = list(tsgroup.keys())
        trains = [np.asarray(tsgroup[k].t, dtype=np.float64) for k in keys]
        support = tsgroup.time_support
        t_start, t_stop = float(np.min(support.start)), float(np.max(support.end))
    except (AttributeError, TypeError, KeyError) as exc:
        raise SpikeDataError(f"is not a pynapple TsGroup ({exc})", source) from None
    meta = getattr(tsgroup, "metadata", None)
    unit_ann, ids = {}, [str(k) for k in keys]
    if meta is not None:
        for col in meta.columns:
            values = meta.loc[keys, col].to_numpy()
            if col == UNIT_ID_COLUMN:
                ids = [str(v) for v in values]
            elif col != "rate":  # pynapple computes it
                unit_ann[str(col)] = values.astype(str) if values.dtype == object else values
    ep = None
    if epochs is not None:
        try:
            start = np.asarray(epochs.start, dtype=np.float64)
            stop = np.asarray(epochs.end, dtype=np.float64)
        except AttributeError as exc:
            raise SpikeDataError(f"epochs are not a pynapple IntervalSet ({exc})", source,
                                 "epochs") from None
        ep_meta = getattr(epochs, "metadata", None)
        labels = (ep_meta["label"].to_numpy().astype(str)
                  if ep_meta is not None and "label" in ep_meta.columns
                  else np.arange(start.size).astype(str))
        ep = Epochs(start, stop, labels)
    return cls.from_lists(trains, t_start=t_start, t_stop=t_stop, unit_ids=ids,
                          unit_annotations=unit_ann, epochs=ep, source=source)


def to_pynapple(data):
    """``(TsGroup, IntervalSet or None)``: the units as a pynapple ``TsGroup`` (keys 0..N-1,
    time support ``[t_start, t_stop]``, metadata: ``unit_id`` and the one-dimensional unit
    annotations) and the epochs as an ``IntervalSet`` with a ``label`` metadata column."""
    try:
        import pynapple as nap
    except ImportError:
        raise ImportError("to_pynapple needs pynapple: pip install pynapple") from None
    support = nap.IntervalSet(start=data.t_start, end=data.t_stop)
    metadata = {UNIT_ID_COLUMN: data.unit_ids.astype(str)}
    metadata.update({k: v for k, v in data.unit_annotations.items() if v.ndim == 1})
    group = nap.TsGroup({i: nap.Ts(t=np.asarray(data[i])) for i in range(data.n_units)},
                        time_support=support, metadata=metadata)
    epochs = None
    if data.epochs is not None:
        epochs = nap.IntervalSet(start=data.epochs.start, end=data.epochs.stop,
                                 metadata={"label": data.epochs.label})
    return group, epochs
