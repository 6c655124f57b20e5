"""Epochs cut around event times: the events as text, and where their windows lie.

SPOTDisClust compares epochs; a recording without trials gets them as windows around event
times (Grossberger et al. 2018 do so for recordings without trials). The dashboard's SPOTDis
page reads the events from a text field (``parse_events``, ``format_events``) and cuts the
windows with ``Epochs.from_events`` on the sample grid of ``grid_period``; events at the
recording's own epoch starts keep those epochs' labels (``epoch_start_labels``).
"""

from __future__ import annotations

import re

import numpy as np

#: the events' field, as errors name it
EVENTS_LABEL = "Event times (s)"
#: SPOTDis compares every pair of windows: 12.5 million pairs at this size
MAX_EVENTS = 5000


def parse_events(text, limit=MAX_EVENTS):
    """Event times (s) from the events field, in the order given.

    Numbers are separated by commas, semicolons or white space; a token ``start:stop:step``
    adds start, start + step, ... below stop (stop left out, as Python's ``range``; a value
    within a relative 1e-9 of stop counts as stop). Raises ValueError naming the field.
    """
    parts, total = [], 0
    for token in re.split(r"[,;\s]+", (text or "").strip()):
        if not token:
            continue
        if ":" in token:
            bits = token.split(":")
            if len(bits) != 3:
                raise ValueError(f"{EVENTS_LABEL}: {token!r} is not a range start:stop:step")
            try:
                a, b, step = (float(x) for x in bits)
            except ValueError:
                raise ValueError(f"{EVENTS_LABEL}: in {token!r}, start, stop and step must be "
                                 "numbers") from None
            if not np.all(np.isfinite([a, b, step])):
                raise ValueError(f"{EVENTS_LABEL}: the range {token!r} is not finite")
            if not step > 0:
                raise ValueError(f"{EVENTS_LABEL}: the step of {token!r} must be > 0")
            x = (b - a) / step
            n = int(np.ceil(x - 1e-9 * max(1.0, abs(x)))) if x < 2 * limit else 2 * limit
            if n <= 0:
                raise ValueError(f"{EVENTS_LABEL}: the range {token!r} is empty (stop must be "
                                 "above start)")
            values = a + step * np.arange(min(n, limit + 1))
        else:
            try:
                values = np.array([float(token)])
            except ValueError:
                raise ValueError(f"{EVENTS_LABEL}: {token!r} is not a number (nor a "
                                 "start:stop:step range)") from None
            if not np.isfinite(values[0]):
                raise ValueError(f"{EVENTS_LABEL}: {token!r} is not a finite time")
        total += values.size
        if total > limit:
            raise ValueError(f"{EVENTS_LABEL}: more than {limit} events (SPOTDis compares "
                             "every pair of windows)")
        parts.append(values)
    if not parts:
        raise ValueError(f"{EVENTS_LABEL}: give the event times, e.g. 1, 2.5, 4 or 0:60:2")
    return np.concatenate(parts)


def format_events(times):
    """Text for the events field that ``parse_events`` reads back as ``times`` (sorted;
    within 1e-9 s relative): a ``start:stop:step`` range when the times are evenly spaced,
    else the numbers."""
    t = np.sort(np.asarray(times, dtype=np.float64).ravel())

    def fmt(x):
        return np.format_float_positional(float(x), trim="-")

    if 3 <= t.size <= MAX_EVENTS:
        first = float(f"{t[0]:.12g}")
        step = float(f"{(t[-1] - t[0]) / (t.size - 1):.12g}")
        if step > 0:
            text = f"{fmt(first)}:{fmt(float(f'{first + step * t.size:.12g}'))}:{fmt(step)}"
            back = parse_events(text)
            if back.size == t.size and np.all(
                    np.abs(back - t) <= 1e-9 * np.maximum(1.0, np.abs(t))):
                return text
    return ", ".join(fmt(x) for x in t)


def epoch_start_labels(data, events):
    """``(times, labels)``: where every event is one of the recording's epoch starts (within
    a relative 1e-9 s), those exact starts and their epochs' labels; else ``(events, None)``.
    """
    events = np.asarray(events, dtype=np.float64)
    if data is None or data.epochs is None or not len(data.epochs):
        return events, None
    order = np.argsort(data.epochs.start, kind="stable")
    starts = data.epochs.start[order]
    pos = np.searchsorted(starts, events)
    lo = np.clip(pos - 1, 0, starts.size - 1)
    hi = np.clip(pos, 0, starts.size - 1)
    pick = np.where(np.abs(starts[lo] - events) <= np.abs(starts[hi] - events), lo, hi)
    if np.all(np.abs(starts[pick] - events) <= 1e-9 * np.maximum(1.0, np.abs(events))):
        return starts[pick], data.epochs.label[order][pick]
    return events, None


def grid_period(data, chosen=None):
    """The sample period (s) window bounds are put on: ``chosen`` (the page's sampling
    period), else the recording's ``sample_time``/``sampling_period`` (s) or
    ``sample_rate``/``sampling_rate`` (Hz) annotation, else the grid the spike times lie
    on (``SpikeTrains.sampling_period``); None without one."""
    if chosen:
        return float(chosen)
    ann = (data.annotations or {}) if data is not None else {}
    for key, invert in [("sample_time", False), ("sampling_period", False),
                        ("sample_rate", True), ("sampling_rate", True)]:
        try:
            value = float(ann.get(key))
        except (TypeError, ValueError):
            continue
        if np.isfinite(value) and value > 0:
            return 1.0 / value if invert else value
    return data.sampling_period if data is not None else None


def population_events(data, bin_size=0.01, threshold=3.0):
    """Times of population events: bins where the whole population fires far above its mean.

    The recording is binned (``bin_size`` s, from ``t_start``); a bin is *high* when its
    spike count over all units exceeds the mean count per bin by more than ``threshold``
    standard deviations (a Poisson-like background puts few bins there). Each run of
    consecutive high bins is one event, at the centre of its fullest bin (the first on a
    tie). These are the events sliding windows can be restricted to
    (``analysis.spotdis.windows``; Grossberger et al. 2018 cut epochs around events when a
    recording has no trials).

    Parameters
    ----------
    data : SpikeTrains
    bin_size : float
        Bin width in s (> 0, at most the recording's length).
    threshold : float
        Standard deviations above the mean count (> 0).

    Returns
    -------
    float64 array of event times (s), sorted; empty when no bin is high.
    """
    if data is None:
        raise ValueError("data: no spike trains given")
    try:
        bin_size, threshold = float(bin_size), float(threshold)
    except (TypeError, ValueError):
        raise ValueError(f"bin_size: expected numbers, got {bin_size!r}, {threshold!r}") \
            from None
    if not (np.isfinite(bin_size) and bin_size > 0):
        raise ValueError(f"bin_size: must be > 0 s, got {bin_size}")
    if not (np.isfinite(threshold) and threshold > 0):
        raise ValueError(f"threshold: must be > 0 standard deviations, got {threshold}")
    duration = float(data.t_stop - data.t_start)
    if bin_size > duration:
        raise ValueError(f"bin_size: {bin_size} s is longer than the recording "
                         f"({duration} s)")
    n_bins = max(1, int(np.floor(duration / bin_size * (1 + 1e-12))))
    index = np.floor((np.asarray(data.times) - data.t_start) / bin_size).astype(np.int64)
    counts = np.bincount(np.clip(index, 0, n_bins - 1), minlength=n_bins)
    mean, sd = counts.mean(), counts.std()
    high = counts > mean + threshold * max(sd, 1e-12)
    if not high.any():
        return np.empty(0)
    edges = np.diff(np.concatenate([[0], high.astype(np.int8), [0]]))
    first, last = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    peaks = np.array([a + int(np.argmax(counts[a:b])) for a, b in zip(first, last)],
                     dtype=np.int64)
    return data.t_start + (peaks + 0.5) * bin_size
