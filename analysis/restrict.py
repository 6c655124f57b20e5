"""Restricting a recording to a time window and a selection of units, with a line of text
that says what was kept (shown by every page and report that works on it).

``restrict(data, window=(t0, t1), units="0-49, 60", rate=(1, 50), where=("location",
"CA1"))`` returns a new :class:`~analysis.spiketrains.SpikeTrains` whose
``annotations["restriction"]`` describes the choice; ``analysis.base.data_summary`` copies
that line into every result computed on it.
"""

from __future__ import annotations

import re

import numpy as np

from .spiketrains import SpikeTrains

__all__ = ["parse_units", "restrict", "restriction_of"]


def parse_units(text, data):
    """Unit indices (recording order) named by ``text``.

    Tokens are separated by commas, semicolons or white space. A token that is a unit id
    names that unit; ``a-b`` or ``a:b``, where ``a`` and ``b`` are unit ids, names every unit
    from ``a`` to ``b`` in recording order (both included). Raises ValueError naming the
    field and the token.
    """
    ids = [str(u) for u in data.unit_ids.tolist()]
    pos = {u: i for i, u in enumerate(ids)}
    picked = []
    tokens = [t for t in re.split(r"[,;\s]+", (text or "").strip()) if t]
    if not tokens:
        raise ValueError("units: give unit ids or ranges, e.g. 0-49, 60")
    example = ", ".join(repr(u) for u in ids[:3]) + (" ..." if len(ids) > 3 else "")
    for token in tokens:
        if token in pos:
            picked.append(pos[token])
            continue
        match = re.fullmatch(r"(.+?)[-:](.+)", token)
        if match and match.group(1) in pos and match.group(2) in pos:
            a, b = pos[match.group(1)], pos[match.group(2)]
            if b < a:
                raise ValueError(f"units: the range {token!r} runs backwards (unit "
                                 f"{match.group(2)!r} comes before {match.group(1)!r})")
            picked.extend(range(a, b + 1))
            continue
        raise ValueError(f"units: {token!r} is not a unit id nor a range of ids (ids are "
                         f"{example})")
    return np.unique(np.asarray(picked, dtype=np.int64))


def _describe_units(index, data):
    ids = [str(u) for u in data.unit_ids[index].tolist()]
    if not ids:
        return "no units"
    # runs of consecutive positions, written with their first and last ids
    runs, start = [], 0
    for k in range(1, len(index) + 1):
        if k == len(index) or index[k] != index[k - 1] + 1:
            runs.append(ids[start] if k - 1 == start else f"{ids[start]}-{ids[k - 1]}")
            start = k
    text = ", ".join(runs[:6]) + (f", ... ({len(runs) - 6} more)" if len(runs) > 6 else "")
    return f"units {text}"


def restrict(data, window=None, units=None, rate=None, where=None, label=None, epochs=None,
             epoch_labels=None, epochs_label=None):
    """A recording restricted to a time window and a selection of units.

    Parameters
    ----------
    data : SpikeTrains
    window : (float, float), optional
        Keep spikes in [t0, t1] (s), clipped to the recording; epochs fully inside stay.
    units : str or array, optional
        Units to keep: text for :func:`parse_units`, unit indices (ints) or unit ids
        (strings).
    rate : (float or None, float or None), optional
        Keep units whose firing rate in the window (spikes/s) lies in [lo, hi]; None: no
        bound on that side.
    where : (str, str), optional
        Keep units whose unit annotation ``where[0]`` equals ``where[1]`` (as text), e.g.
        ``("location", "CA1")``.
    label : str, optional
        Says where the unit selection came from, in place of the list of units (e.g.
        ``"12 significant units of the assembly run"``): the provenance of a hand-over.
    epochs : array of int, optional
        Keep only these epochs (indices), e.g. one cluster's epochs.
    epoch_labels : array of str, optional
        New labels, one per epoch of ``data`` (before ``epochs`` picks), e.g. cluster labels.
    epochs_label : str, optional
        Says what ``epochs`` / ``epoch_labels`` are, for the restriction line.

    Returns
    -------
    SpikeTrains
        With ``annotations["restriction"]``: one line saying what was kept, e.g.
        ``"time 1-3 s; 42 of 500 units (units 0-41; rate 1-20 Hz)"``.
    """
    if not isinstance(data, SpikeTrains):
        raise TypeError(f"data: expected SpikeTrains, got {type(data).__name__}")
    parts = []
    out = data
    if window is not None:
        try:
            t0, t1 = (float(v) for v in window)
        except (TypeError, ValueError):
            raise ValueError(f"window: expected (start, stop) in seconds, got {window!r}") \
                from None
        if not (np.isfinite(t0) and np.isfinite(t1)) or t1 <= t0:
            raise ValueError(f"window: need start < stop, got [{t0:g}, {t1:g}] s")
        lo, hi = max(t0, data.t_start), min(t1, data.t_stop)
        if hi <= lo:
            raise ValueError(f"window: [{t0:g}, {t1:g}] s does not overlap the recording "
                             f"[{data.t_start:g}, {data.t_stop:g}] s")
        out = out.time_slice(lo, hi)
        parts.append(f"time {lo:g}-{hi:g} s")
    keep = np.ones(data.n_units, dtype=bool)
    why = []
    if units is not None:
        if isinstance(units, str):
            index = parse_units(units, data)
        else:
            units = np.asarray(units)
            if units.dtype.kind in "US":
                pos = {u: i for i, u in enumerate(data.unit_ids.astype(str).tolist())}
                unknown = [u for u in units.tolist() if u not in pos]
                if unknown:
                    raise ValueError(f"units: no unit {unknown[0]!r} in this recording")
                index = np.array([pos[u] for u in units.tolist()], dtype=np.int64)
            else:
                index = units.astype(np.int64)
        if index.size and (index.min() < 0 or index.max() >= data.n_units):
            raise ValueError(f"units: index out of range for {data.n_units} units")
        chosen = np.zeros(data.n_units, dtype=bool)
        chosen[index] = True
        keep &= chosen
        why.append(label or _describe_units(np.flatnonzero(chosen), data))
    if rate is not None:
        lo_rate, hi_rate = rate
        rates = out.spike_counts / max(out.duration, 1e-12)
        for bound, name in ((lo_rate, "minimum"), (hi_rate, "maximum")):
            if bound is not None and not (np.isfinite(bound) and bound >= 0):
                raise ValueError(f"rate: the {name} must be a rate >= 0 Hz, got {bound!r}")
        if lo_rate is not None:
            keep &= rates >= lo_rate
        if hi_rate is not None:
            keep &= rates <= hi_rate
        if lo_rate is not None and hi_rate is not None:
            why.append(f"rate {lo_rate:g}-{hi_rate:g} Hz")
        elif lo_rate is not None:
            why.append(f"rate >= {lo_rate:g} Hz")
        elif hi_rate is not None:
            why.append(f"rate <= {hi_rate:g} Hz")
    if where is not None:
        key, value = where
        if key not in data.unit_annotations:
            names = ", ".join(map(repr, data.unit_annotations)) or "none"
            raise ValueError(f"where: no unit annotation {key!r} (annotations: {names})")
        column = np.asarray(data.unit_annotations[key]).astype(str)
        keep &= column == str(value)
        why.append(f"{key} = {value}")
    if why:
        if not keep.any():
            raise ValueError("units: the selection keeps no unit (" + "; ".join(why) + ")")
        out = out.select_units(np.flatnonzero(keep))
        parts.append(f"{int(keep.sum())} of {data.n_units} units ({'; '.join(why)})")
    if epochs is not None or epoch_labels is not None:
        out = _choose_epochs(out, data, epochs, epoch_labels, window)
        parts.append(epochs_label or ("relabelled epochs" if epochs is None else
                                      f"{len(out.epochs)} of {len(data.epochs)} epochs"))
    if not parts:
        return data
    text = "; ".join(parts)
    previous = data.annotations.get("restriction")
    if previous:
        text = f"{previous}; then {text}"
    return out.replace(annotations={**dict(out.annotations), "restriction": text})


def _choose_epochs(out, data, epochs, epoch_labels, window):
    """``out`` with ``data``'s epochs picked by index and/or relabelled."""
    from .spiketrains import Epochs

    if data.epochs is None or not len(data.epochs):
        raise ValueError("epochs: the recording has no epochs")
    start, stop, label = data.epochs.start, data.epochs.stop, data.epochs.label
    if epoch_labels is not None:
        label = np.asarray(epoch_labels).astype(str).ravel()
        if label.size != start.size:
            raise ValueError(f"epoch_labels: need one label per epoch ({start.size}), got "
                             f"{label.size}")
    keep = np.ones(start.size, dtype=bool)
    if epochs is not None:
        index = np.asarray(epochs, dtype=np.int64).ravel()
        if index.size == 0:
            raise ValueError("epochs: no epoch chosen")
        if index.min() < 0 or index.max() >= start.size:
            raise ValueError(f"epochs: index out of range for {start.size} epochs")
        keep[:] = False
        keep[index] = True
    if window is not None:  # epochs of the window only, as time_slice keeps them
        keep &= (start >= out.t_start) & (stop <= out.t_stop)
    if not keep.any():
        raise ValueError("epochs: no chosen epoch lies in the window")
    truth = dict(out.truth)
    if "epoch_labels" in truth and len(truth["epoch_labels"]) == start.size:
        truth["epoch_labels"] = np.asarray(truth["epoch_labels"])[keep]
    elif "epoch_labels" in truth:
        truth.pop("epoch_labels")
    return out.replace(epochs=Epochs(start[keep], stop[keep], label[keep]), truth=truth)


def restriction_of(data):
    """The restriction line of a recording (``restrict``), or ""."""
    return str(data.annotations.get("restriction", "")) if data is not None else ""
