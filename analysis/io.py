"""Read and write spike data: NIX, NWB, Kilosort/phy folders, CSV/Parquet tables and NPZ.

:func:`load` turns a file or folder into a :class:`~analysis.spiketrains.SpikeTrains` (times in
seconds); :func:`save` writes one. Every problem with the data raises
:class:`~analysis.errors.SpikeDataError` with a one-line message that names the file, the
location (row, field or unit) and the reason; errors from the underlying libraries (h5py,
pyarrow, neo, numpy, pandas) are wrapped the same way, and no half-built object is returned.

Hostile files
-------------
``load(..., max_bytes=)`` is a memory budget (default: half of the memory available): each
reader counts the *expanded* size the file declares -- NPZ members' uncompressed sizes and
``.npy`` headers, every HDF5 dataset (shape x itemsize, so a chunked dataset
that declares gigabytes it never wrote counts in full), Parquet rows, the arrays of the
JSON metadata, phy ``.npy`` files -- and refuses the file before allocating past the
budget. HDF5 files (NWB, NIX) are walked with h5py before pynwb or the NIX reader read
them (:mod:`analysis.hdf5_walk`): external links, user-defined links, datasets with external
raw storage and virtual datasets are refused (h5py would read other files through them);
soft links stay inside the file. With
``within=``, every file read must resolve into that folder (no symbolic link out of it).

Formats
-------
``nix`` (``.nix``)
    neo's NixIO layout, one Block: written by :class:`neo.io.NixIO` via
    ``SpikeTrains.to_neo``, read with h5py by :mod:`analysis.nix_io` (every NIX format
    version, the file unchanged) into records that :func:`analysis.neo_io.from_records`
    turns into SpikeTrains as ``SpikeTrains.from_neo`` would: one Segment, or several that
    are consecutive trials of the same
    units (joined, each segment an epoch; others are refused). Quantities in any time unit
    (ms, s) are converted to seconds. A segment annotation ``spiketrain_ordering``
    (Elephant's ASSET tutorial data) becomes ``truth['ordering']``; spike-train annotations
    become unit annotations; the layout of a foreign file (names, which annotations were on
    the segment, its Epochs) is kept in the annotation ``neo_layout``, and :func:`save`
    writes such data back in that layout. Files written by :func:`save` carry the block
    annotation ``spikelens_meta`` (JSON, see *Metadata*) so that the round trip is exact;
    annotation values NIX cannot hold (dicts, nested or mixed lists) are written to the
    NIX annotations as JSON strings (the metadata keeps them exactly).
``nwb`` (``.nwb``)
    The units table (``spike_times`` per unit; ids from a ``unit_name`` column, else from
    ``id``; other one-value-per-unit columns, such as ``quality``, become unit annotations;
    an ``electrodes`` region gives each unit's first electrode row as ``electrode`` (-1:
    none) and that electrode's ``location`` and group name (``electrode_group``), for
    selection) and one interval table as epochs: ``trials`` by default, any other with
    ``load(..., epochs="stimulus")``, labelled by its ``label`` column or the one named by
    ``epoch_label=``. ``t_start`` is the earliest ``obs_intervals`` start when that column
    exists, else 0 s; ``t_stop`` is the latest of spikes, epochs and ``obs_intervals``.
    Recording annotations and ground truth are not stored in NWB.
``phy`` (a folder)
    Kilosort/phy output: ``spike_times.npy`` (sample indices), ``spike_clusters.npy`` (or
    ``spike_templates.npy``), ``params.py`` (``sample_rate``; parsed, never executed) and,
    when present, ``cluster_info.tsv``, ``cluster_group.tsv`` and ``cluster_KSLabel.tsv`` as
    unit annotations (``cluster_group.tsv``'s ``group`` or ``KSLabel`` column becomes
    ``group``; clusters missing from a table get ``""``, or NaN in numeric columns). Units are
    the clusters that have spikes, ids as strings in numeric order; times are
    ``samples / sample_rate`` s; ``t_start`` 0 s, ``t_stop`` the last spike. The ``params.py``
    literals (``sample_rate``, ``n_channels_dat``, ...) become recording annotations.
``csv`` / ``parquet`` (``.csv``; ``.parquet``, ``.pq``)
    One row per spike with the columns ``time, unit[, epoch][, label]``: absolute time in
    seconds, unit id (int or str), epoch id of the spike (``-1`` or empty outside any epoch)
    and that epoch's label. Files written by :func:`save` hold one row per spike, grouped by
    unit and sorted by time; ``epoch`` is the index of the first epoch that contains the spike
    (bounds inclusive) and ``label`` its label. Without spikelens metadata see :func:`load`.
``npz`` (``.npz``)
    The CSR arrays ``times``, ``offsets``, ``t_start``, ``t_stop``, ``unit_ids``, optional
    ``epochs_start``/``epochs_stop``/``epochs_label``, ``truth__<name>``, ``unit__<name>`` and a
    JSON string ``meta`` (annotations, and object-dtype arrays, which NPZ cannot hold without
    pickling). Always read with ``allow_pickle=False``. Foreign NPZ files with flat per-spike
    arrays are read like tables: ``times`` (s) + ``units`` [+ ``epoch``, ``label``], or
    ``spike_times`` + ``spike_clusters`` [+ ``sample_rate`` (Hz); integer ``spike_times`` are
    sample indices and need it, float ones are seconds].

Metadata
--------
Tables cannot hold silent units, recording bounds, epochs that contain no spike, or ground
truth, so :func:`save` adds a JSON object (Parquet: schema metadata key ``b"spikelens"``; CSV:
a first line ``# spikelens: {...}``; NIX: block annotation ``spikelens_meta``) with the keys
``t_start``, ``t_stop`` (s), ``unit_ids`` (in order, silent units included), ``annotations``,
``unit_annotations`` and ``truth`` (name -> ``{"dtype", "shape", "data"}``), and ``epochs``
(``{"start", "stop", "label"}`` lists or null). With it the round trip
``SpikeTrains -> file -> SpikeTrains`` is exact (:meth:`SpikeTrains.equals`).
"""

from __future__ import annotations

import ast
import csv
import errno
import json
import math
import os
import re
import shutil
import struct
import uuid
import zipfile
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd

from .errors import SpikeDataError, available_memory
from .kernels.table import group_times_by_unit
from .spiketrains import NEO_LAYOUT_KEY, Epochs, SpikeTrains, _plain

__all__ = ["load", "save", "FORMATS", "TABLE_COLUMNS"]

#: Format names accepted by ``format=``.
FORMATS = ("nix", "nwb", "phy", "csv", "parquet", "npz")
#: Columns a CSV/Parquet spike table may have (``time`` and ``unit`` are required).
TABLE_COLUMNS = ("time", "unit", "epoch", "label")

_EXTENSIONS = {".nix": "nix", ".nwb": "nwb", ".csv": "csv", ".parquet": "parquet",
               ".pq": "parquet", ".npz": "npz"}
_WRITABLE = ("nix", "nwb", "csv", "parquet", "npz")
_NAMES = {"nix": "NIX", "nwb": "NWB", "phy": "phy/Kilosort", "csv": "CSV",
          "parquet": "Parquet", "npz": "NPZ"}
_META_KEY = "spikelens"  # Parquet schema metadata key and CSV comment tag
_NIX_META_KEY = "spikelens_meta"  # NIX block annotation
_META_VERSION = 1
_INT_RE = re.compile(r"^[+-]?\d+$")
_MISSING_EPOCH = ("", "-1")
# temporary file of a save: .{stem}.{pid}.{random}.tmp{suffix}
_TEMP_RE = re.compile(r"^\..+\.(\d{1,9})\.[0-9a-f]{12}\.tmp(\.[^.]+)?$")


# ====================================================================== public API
def load(path, *, sort=False, t_start=None, t_stop=None, format=None, max_bytes=None,
         within=None, epochs=None, epoch_label=None, window=None, units=None):
    """Read spike data from a file or a Kilosort/phy folder.

    Parameters
    ----------
    path : str or os.PathLike
        A file (``.nix``, ``.nwb``, ``.csv``, ``.parquet``/``.pq``, ``.npz``) or a phy/Kilosort
        folder (one that holds ``spike_times.npy``).
    sort : bool
        Sort spike times within each unit. By default unsorted spikes (rows that go back in
        time within a unit) are refused with a :class:`SpikeDataError`.
    t_start, t_stop : float, optional
        Recording bounds in seconds, replacing those stored in or inferred from the file.
        Spikes (and epochs) outside them raise :class:`SpikeDataError`. Without
        ``t_start``, a file that has no stored bounds starts at 0 s and negative times are an
        error; without ``t_stop`` it ends at its last spike (or epoch / observation interval).
    format : {"nix", "nwb", "phy", "csv", "parquet", "npz"}, optional
        Reader to use; by default chosen from the extension, or ``"phy"`` for a folder.
    max_bytes : int, optional
        Memory budget in bytes for the file's data once read (decompressed, as declared in
        the file). A file that declares more is refused before anything is allocated.
        Default: half of the memory available now.
    within : str or os.PathLike, optional
        A folder that every file read must resolve into (``os.path.realpath``): ``path``
        itself and, for a phy folder, each file in it. A symbolic link that leads out of it
        is refused and never read through. For uploads into a server's folder.
    epochs : str, optional
        NWB only: the name of the interval table (``TimeIntervals`` in the file's
        ``intervals``: ``"trials"``, ``"epochs"``, or any other) whose rows become the
        epochs. Default: ``"trials"`` when the file has that table.
    epoch_label : str, optional
        NWB only: the column of that table that labels the epochs (numbers become strings,
        a ragged column such as ``tags`` is joined with ``","``). Default: ``"label"``
        when the table has it, else the rows' positions.
    window : (float, float), optional
        Load only the spikes with ``t0 <= t <= t1`` (seconds); the result's ``t_start`` and
        ``t_stop`` become the window, clipped to the recording's bounds, and only the epochs
        that lie fully inside it are kept (as :meth:`SpikeTrains.time_slice` does). A window
        that does not overlap the recording is an error.
    units : sequence of str or int, optional
        Load only these units, in this order, by their ids as they appear in the file
        (``3`` and ``"3"`` name the same unit); per-unit annotations and ground truth follow
        them (as :meth:`SpikeTrains.select_units` does). An id the file does not have is an
        error.

    Returns
    -------
    SpikeTrains
        Spike times in seconds, sorted within each unit.

    Raises
    ------
    SpikeDataError
        For a missing, empty, truncated or malformed file, NaN or out-of-bounds times,
        unknown or missing table columns, unsorted spikes (``sort=False``), a folder that is
        not a phy folder, or an unknown extension. The message names the file, the location
        and the reason.
        A file that would need more memory than ``max_bytes`` or, for NWB and NIX, reaches
        outside itself is refused the same way (see the module docstring). A ``window``
        that does not overlap the recording, or a unit id in ``units`` that the file does
        not have, is refused naming ``window`` or ``units``.
    ValueError
        For a bad argument (unknown ``format``, non-numeric bounds or ``max_bytes``, a
        ``window`` that is not two finite numbers with ``t0 <= t1``, ``units`` that are not
        a list of distinct ids).

    Notes
    -----
    Tables and foreign NPZ files (flat ``times``/``units`` columns) **without** spikelens
    metadata are interpreted as follows: ``t_start`` = 0 s, ``t_stop`` = the last spike,
    units = the distinct ``unit`` values (sorted numerically when all are integers, else as
    strings; silent units cannot be known), and each distinct ``epoch`` value (other than
    ``-1`` or empty) becomes an epoch spanning ``[first, last]`` spike time of its spikes,
    labelled by the ``label`` column (which must be constant within an epoch) or by the
    epoch id. These inferred epochs are only as wide as their spikes; for exact epoch bounds
    write the file with :func:`save`, which stores the metadata.
    """
    fmt = _check_format(format)
    for name, value in (("epochs", epochs), ("epoch_label", epoch_label)):
        if value is not None and not isinstance(value, str):
            raise ValueError(f"{name}: must be a column or table name, got {value!r}")
    t_start = _check_bound(t_start, "t_start")
    t_stop = _check_bound(t_stop, "t_stop")
    request = _Request(_check_window(window), _check_units(units))
    budget = _Budget(max_bytes)
    if t_start is not None and t_stop is not None and t_stop < t_start:
        raise ValueError(f"t_start/t_stop: need t_start <= t_stop, got [{t_start}, {t_stop}]")
    try:
        path = Path(os.fspath(path))
    except TypeError:
        raise ValueError(f"path: expected a file name, got {type(path).__name__}") from None
    if within is not None:
        within = Path(os.fspath(within))
        _inside(path, within)
    source = str(path)
    if not path.exists():
        raise SpikeDataError("no such file or folder", source)
    if path.is_dir():
        if fmt not in (None, "phy"):
            raise SpikeDataError(f"is a folder, not a {_NAMES[fmt]} file", source)
        fmt = "phy"
    elif fmt is None and path.name in ("params.py", "spike_times.npy"):
        fmt = "phy"
    elif fmt is None:
        fmt = _EXTENSIONS.get(path.suffix.lower())
        if fmt is None:
            kind = f"'{path.suffix}'" if path.suffix else "(no extension)"
            raise SpikeDataError(
                f"unknown file type {kind}; expected a phy/Kilosort folder or one of "
                f"{', '.join(sorted(set(_EXTENSIONS)))} (or pass format=)", source)
    if fmt == "phy" and path.is_file():
        if path.name not in ("params.py", "spike_times.npy"):
            raise SpikeDataError("phy/Kilosort data is a folder, not a file", source)
        path = path.parent
        source = str(path)
    elif fmt != "phy" and path.stat().st_size == 0:
        raise SpikeDataError("file is empty (0 bytes)", source)

    reader = _READERS[fmt]
    extra = {"within": within} if fmt == "phy" else {}
    if fmt == "nwb":
        extra = {"epochs": epochs, "epoch_label": epoch_label}
    elif epochs is not None or epoch_label is not None:
        raise ValueError(f"epochs/epoch_label: only NWB files have interval tables, not "
                         f"{_NAMES[fmt]}")
    if fmt in _RESTRICTED and request.asked and not sort:
        extra["request"] = request
    try:
        data = reader(path, source, sort=bool(sort), t_start=t_start, t_stop=t_stop,
                      budget=budget, **extra)
        return _restrict(data, request, source)
    except SpikeDataError as exc:
        if exc.source not in (None, "") and _is_one_line(exc):
            raise
        raise SpikeDataError(_one_line(exc.reason), _one_line(exc.source or source),
                             _one_line(exc.where)) from None
    except MemoryError:
        raise
    except Exception as exc:  # library errors: wrap, never let them escape bare
        raise SpikeDataError(f"cannot read as {_NAMES[fmt]}: {_describe(exc)}",
                             source) from exc


def save(data, path, *, format=None):
    """Write spike data to a file, atomically.

    The data go to a temporary file in the target folder, which is renamed to ``path`` only
    when writing succeeded, so a failed save leaves no half-written file behind. An existing
    file is overwritten.

    Parameters
    ----------
    data : SpikeTrains
        Spike times in seconds.
    path : str or os.PathLike
        Target file; its extension picks the format unless ``format`` is given.
    format : {"nix", "nwb", "csv", "parquet", "npz"}, optional
        ``nix``, ``npz``, ``parquet`` and ``csv`` round-trip exactly (silent units, unit order,
        bounds, epochs, annotations, unit annotations and ground truth). ``nwb`` keeps
        spikes, unit ids, bounds (as ``obs_intervals``), epochs (as trials) and unit
        annotations of simple types, not recording annotations or ground truth. CSV writes
        times with the shortest decimal form that reads back to the same float64 and
        quotes unit ids and labels (leading spaces, commas and line breaks survive).

    Returns
    -------
    pathlib.Path
        The file written.

    Raises
    ------
    TypeError
        When ``data`` is not a SpikeTrains.
    ValueError
        For an unknown format or extension.
    SpikeDataError
        When the data cannot be represented in the format (for example a ground-truth array
        of a type JSON metadata cannot hold) or the writer fails; names the file.
    OSError
        When the folder does not exist or is not writable, or (``errno.ENOSPC``, before
        writing) when its disk has clearly too little free space (the message and
        ``filename`` name the target path, never the temporary file; the subclass follows
        ``errno``, e.g. ``FileNotFoundError`` for a missing folder).

    Notes
    -----
    Temporary files that a save killed mid-write left in the folder (their process no
    longer runs) are removed at the start of the next save into that folder.
    """
    if not isinstance(data, SpikeTrains):
        raise TypeError(f"data: expected SpikeTrains, got {type(data).__name__}")
    fmt = _check_format(format)
    path = Path(os.fspath(path))
    if fmt is None:
        fmt = _EXTENSIONS.get(path.suffix.lower())
        if fmt is None:
            raise ValueError(f"path: unknown extension {path.suffix!r} of {path}; use one of "
                             f".nix, .nwb, .npz, .parquet, .csv or pass format=")
    if fmt not in _WRITABLE:
        raise ValueError(f"format: cannot write {fmt!r}; writable formats are "
                         f"{', '.join(_WRITABLE)}")
    folder = path.parent
    if not folder.is_dir():
        if folder.exists():
            raise OSError(errno.ENOTDIR, f"cannot save: {folder} is not a folder", str(path))
        raise OSError(errno.ENOENT, f"cannot save: no such folder {folder}", str(path))
    _check_free_space(data, fmt, path)
    tmp = temp_path(path)
    try:
        _WRITERS[fmt](data, tmp)
        os.replace(tmp, path)
    except BaseException as exc:
        try:
            tmp.unlink()
        except OSError:
            pass
        if isinstance(exc, SpikeDataError):
            raise SpikeDataError(_untemp(exc.reason, tmp, path), str(path), exc.where) \
                from None
        if isinstance(exc, OSError):  # name the target, not the temporary file
            reason = _untemp(exc.strerror or _describe(exc), tmp, path)
            if exc.errno is not None:
                raise OSError(exc.errno, f"cannot save: {reason}", str(path)) from exc
            raise OSError(f"cannot save {path}: {reason}") from exc
        if isinstance(exc, MemoryError) or not isinstance(exc, Exception):
            raise
        raise SpikeDataError(f"cannot write as {_NAMES[fmt]}: "
                             f"{_untemp(_describe(exc), tmp, path)}", str(path)) from exc
    return path


def _inside(path, within):
    """``path``, after checking that it resolves into the folder ``within`` (if given)."""
    if within is not None:
        root = os.path.realpath(within)
        if os.path.commonpath([root, os.path.realpath(path)]) != root:
            name = os.path.relpath(os.path.abspath(path), os.path.abspath(within))
            raise SpikeDataError("is a link that leads out of the data folder",
                                 _one_line(name))
    return path


def temp_path(path):
    """A temporary name beside ``path`` for an atomic write, after removing the folder's
    leftovers of writers that were killed.

    Same folder (so the rename is atomic), same suffix (pynwb warns otherwise); the pid in
    the name tells a later save whether the writer still runs.
    """
    path = Path(path)
    _remove_stale_temps(path.parent)
    return path.with_name(f".{path.stem}.{os.getpid()}.{uuid.uuid4().hex[:12]}.tmp"
                          f"{path.suffix}")


def _remove_stale_temps(folder):
    """Remove the temporary files of saves into ``folder`` whose process has died."""
    for entry in os.scandir(folder):
        m = _TEMP_RE.match(entry.name)
        if m and entry.is_file(follow_symlinks=False) and not _alive(int(m.group(1))):
            try:
                os.unlink(entry.path)
            except OSError:
                pass  # another save removed it first


def _alive(pid):
    if pid <= 0:  # os.kill(0, ...) would signal our process group
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # e.g. another user's process
        pass
    return True


def _check_free_space(data, fmt, path):
    """Refuse a save that clearly cannot fit on the disk (a full disk crashes HDF5)."""
    arrays = (*data.truth.values(), *data.unit_annotations.values())
    need = (64 if fmt == "csv" else 16) * data.n_spikes + sum(a.nbytes for a in arrays) \
        + (1 << 20)
    free = shutil.disk_usage(path.parent).free
    if need > free:
        raise OSError(errno.ENOSPC, f"cannot save: needs about {_size(need)}, only "
                      f"{_size(free)} free on the disk", str(path))


def _untemp(text, tmp, path):
    """``text`` with the temporary file's name replaced by the target's."""
    return str(text).replace(str(tmp), str(path)).replace(tmp.name, path.name)


# ====================================================================== argument checks
def _check_format(fmt):
    if fmt is None:
        return None
    if not isinstance(fmt, str) or fmt.lower().lstrip(".") not in FORMATS:
        raise ValueError(f"format: unknown format {fmt!r}; expected one of {', '.join(FORMATS)}")
    return fmt.lower().lstrip(".")


def _check_bound(value, name):
    if value is None:
        return None
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name}: must be a number of seconds, got {value!r}") from None
    if not math.isfinite(value):
        raise ValueError(f"{name}: must be finite, got {value}")
    return value


def _check_window(window):
    if window is None:
        return None
    try:
        t0, t1 = (float(v) for v in window)
    except (TypeError, ValueError):
        raise ValueError(f"window: must be a pair (t0, t1) of seconds, got {window!r}") \
            from None
    if not (math.isfinite(t0) and math.isfinite(t1)):
        raise ValueError(f"window: must be finite, got ({t0}, {t1})")
    if t1 < t0:
        raise ValueError(f"window: need t0 <= t1, got ({t0}, {t1})")
    return t0, t1


def _check_units(units):
    if units is None:
        return None
    if isinstance(units, (str, bytes)) or not hasattr(units, "__iter__"):
        raise ValueError(f"units: must be a list of unit ids, got {units!r}")
    ids = []
    for u in units:
        if isinstance(u, (bool, np.bool_)) or not isinstance(u, (str, int, np.integer)):
            raise ValueError(f"units: unit ids are strings or integers, got {u!r}")
        ids.append(str(u))
    if len(set(ids)) != len(ids):
        twice = next(u for u in ids if ids.count(u) > 1)
        raise ValueError(f"units: unit id {_one_line(twice)!r} is given twice")
    return ids


class _Request(NamedTuple):
    """What ``load(..., window=, units=)`` asks for: (t0, t1) in s and unit ids, or None."""

    window: tuple | None
    units: list | None

    @property
    def asked(self):
        return self.window is not None or self.units is not None


def _unit_index(unit_ids, request, source):
    """Indices of the asked units among the file's ``unit_ids`` (all units: None)."""
    if request.units is None:
        return None
    pos = {str(u): i for i, u in enumerate(unit_ids)}
    missing = next((u for u in request.units if u not in pos), None)
    if missing is not None:
        raise SpikeDataError(f"unit id {_one_line(missing)!r} is not in the file (it has "
                             f"{len(pos)} units)", source, "units")
    return np.array([pos[u] for u in request.units], dtype=np.int64)


def _window_in(request, t_start, t_stop, source):
    """The asked window clipped to the recording [t_start, t_stop] (all of it: None)."""
    if request.window is None:
        return None
    t0, t1 = request.window
    if t1 < t_start or t0 > t_stop:
        raise SpikeDataError(f"window [{t0}, {t1}] s does not overlap the recording "
                             f"[{t_start}, {t_stop}] s", source, "window")
    return max(t0, t_start), min(t1, t_stop)


def _restrict(data, request, source):
    """``data`` restricted to the asked units and window (see :func:`load`)."""
    index = _unit_index(data.unit_ids, request, source)
    if index is not None:
        data = data.select_units(index)
    window = _window_in(request, data.t_start, data.t_stop, source)
    if window is not None:
        data = data.time_slice(*window)
    return data


class _Budget:
    """What the arrays of one file may take in memory once read (``load``'s ``max_bytes``).

    Readers call :meth:`take` with the expanded size of each part before reading it."""

    def __init__(self, max_bytes):
        if max_bytes is None:
            max_bytes = available_memory() // 2
        elif isinstance(max_bytes, bool) or not isinstance(max_bytes, (int, float)) \
                or not 0 < max_bytes < math.inf:
            raise ValueError(f"max_bytes: must be a positive number of bytes, got {max_bytes!r}")
        self.total = self.left = int(max_bytes)

    def take(self, nbytes, source, where):
        if nbytes > self.left:
            raise SpikeDataError(
                f"needs {_size(nbytes)} in memory, more than the {_size(self.left)} left of "
                f"the budget for this file ({_size(self.total)}, max_bytes)", source, where)
        self.left -= nbytes


def _size(nbytes):
    return f"{nbytes / 1e9:.2f} GB" if nbytes >= 1e8 else f"{nbytes / 1e6:.2f} MB"


def _one_line(text):
    """``text`` with line breaks and other control characters escaped (None stays None)."""
    if text is None:
        return None
    text = str(text)
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def _is_one_line(exc):
    return all(p is None or str(p).isprintable() for p in (exc.reason, exc.source, exc.where))


def _describe(exc):
    """One line: exception type and message, whitespace collapsed, at most 300 characters."""
    msg = " ".join(str(exc).split())
    if len(msg) > 300:
        msg = msg[:297] + "..."
    return f"{type(exc).__name__}: {msg}" if msg else type(exc).__name__


# ====================================================================== JSON metadata
def _json_default(v):
    plain = _plain(v)
    return str(v) if plain is v else plain


def _jsonable(obj):
    return json.loads(json.dumps(obj, default=_json_default))


def _encode_array(a, what):
    """A JSON-friendly ``{"dtype", "shape", "data"}`` record that restores ``a`` exactly."""
    a = np.asarray(a)
    kind = a.dtype.kind
    if kind in "biufU":
        data = a.ravel().tolist()
    elif kind == "S":
        data = [x.decode("latin-1") for x in a.ravel().tolist()]
    elif kind in "mM":
        data = a.ravel().view(np.int64).tolist()
    elif kind == "c":
        flat = a.ravel()
        data = np.column_stack([flat.real, flat.imag]).tolist()
    elif kind == "O":
        data = _jsonable(a.ravel().tolist())
    else:
        raise SpikeDataError(f"arrays of dtype {a.dtype} cannot be stored", where=what)
    return {"dtype": a.dtype.str, "shape": list(a.shape), "data": data}


def _decode_array(rec, what, source, budget):
    """The array of an ``_encode_array`` record; its declared size is checked (against
    the data it holds and the budget) before anything is allocated."""
    try:
        dtype = np.dtype(rec["dtype"])
        shape = tuple(int(s) for s in rec["shape"])
        data = rec["data"]
    except Exception as exc:
        raise SpikeDataError(f"malformed array record ({_describe(exc)})", source, what) \
            from None
    if dtype.kind not in "biufcUSmMO":  # structured and subarray dtypes are kind "V"
        raise SpikeDataError(f"malformed array record (dtype {dtype} is not stored here)",
                             source, what)
    n = math.prod(shape)
    if min(shape, default=0) < 0 or not isinstance(data, list) or len(data) != n:
        raise SpikeDataError(f"malformed array record (shape {shape} does not match its "
                             f"data)", source, what)
    budget.take(n * dtype.itemsize, source, what)
    try:
        kind = dtype.kind
        if kind == "O":
            arr = np.empty(len(data), dtype=object)
            for i, x in enumerate(data):
                arr[i] = x
        elif kind == "S":
            arr = np.array([x.encode("latin-1") for x in data], dtype=dtype)
        elif kind in "mM":
            arr = np.array(data, dtype=np.int64).view(dtype)
        elif kind == "c":
            parts = np.array(data, dtype=np.float64).reshape(-1, 2)
            arr = (parts[:, 0] + 1j * parts[:, 1]).astype(dtype)
        else:
            arr = np.array(data, dtype=dtype)
        return arr.reshape(shape)
    except Exception as exc:
        raise SpikeDataError(f"malformed array record ({_describe(exc)})", source, what) \
            from None


def _metadata(data):
    """The JSON metadata object for ``data`` (everything except the spike times)."""
    epochs = None
    if data.epochs is not None:
        epochs = {"start": data.epochs.start.tolist(), "stop": data.epochs.stop.tolist(),
                  "label": data.epochs.label.tolist()}
    return {
        "format": "spikelens", "version": _META_VERSION,
        "t_start": data.t_start, "t_stop": data.t_stop,
        "unit_ids": data.unit_ids.tolist(),
        "annotations": _jsonable(data.annotations),
        "unit_annotations": {k: _encode_array(v, f"unit annotation {k!r}")
                             for k, v in data.unit_annotations.items()},
        "epochs": epochs,
        "truth": {k: _encode_array(v, f"truth {k!r}") for k, v in data.truth.items()},
    }


class _Meta(NamedTuple):
    t_start: float
    t_stop: float
    unit_ids: list
    annotations: dict
    unit_annotations: dict
    epochs: object
    truth: dict


def _json_object(raw, source, where):
    """The JSON object in ``raw``; SpikeDataError when it is not one (or nests too deep)."""
    try:
        obj = json.loads(raw)
    except RecursionError:
        raise SpikeDataError("JSON nests too deeply", source, where) from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise SpikeDataError(f"is not valid JSON ({_describe(exc)})", source, where) from None
    if not isinstance(obj, dict):
        raise SpikeDataError("must be a JSON object", source, where)
    return obj


def _parse_metadata(raw, source, budget):
    """Validate the JSON metadata written by :func:`save` and decode its arrays."""
    where = "spikelens metadata"
    meta = _json_object(raw, source, where)
    missing = [k for k in ("t_start", "t_stop", "unit_ids") if k not in meta]
    if missing:
        raise SpikeDataError(f"lacks the key(s) {', '.join(map(repr, missing))}", source, where)
    try:
        t0, t1 = float(meta["t_start"]), float(meta["t_stop"])
    except (TypeError, ValueError):
        raise SpikeDataError("t_start and t_stop must be numbers", source, where) from None
    ids = meta["unit_ids"]
    if not isinstance(ids, list) or not all(isinstance(u, str) for u in ids):
        raise SpikeDataError("unit_ids must be a list of strings", source, where)
    annotations = meta.get("annotations") or {}
    unit_ann = meta.get("unit_annotations") or {}
    truth = meta.get("truth") or {}
    if not all(isinstance(x, dict) for x in (annotations, unit_ann, truth)):
        raise SpikeDataError("annotations, unit_annotations and truth must be objects",
                             source, where)
    unit_ann = {k: _decode_array(v, f"{where}, unit annotation {k!r}", source, budget)
                for k, v in unit_ann.items()}
    truth = {k: _decode_array(v, f"{where}, truth {k!r}", source, budget)
             for k, v in truth.items()}
    epochs = meta.get("epochs")
    if epochs is not None:
        try:
            epochs = Epochs(epochs["start"], epochs["stop"], epochs["label"])
        except SpikeDataError as exc:
            raise SpikeDataError(exc.reason, source, f"{where}, epochs") from None
        except Exception as exc:
            raise SpikeDataError(f"malformed epochs ({_describe(exc)})", source, where) \
                from None
    return _Meta(t0, t1, ids, annotations, unit_ann, epochs, truth)


# ====================================================================== flat tables
class _Codes(NamedTuple):
    """A categorical column: per-row code (-1 = missing) into ``values`` (strings)."""

    codes: np.ndarray
    values: list
    numeric: bool  # the values were integers in the file


def _codes_from_strings(values):
    """Codes of an array or Series of strings (NaN and "" are missing)."""
    codes, uniques = pd.factorize(pd.Series(values, dtype=object), use_na_sentinel=True)
    codes = np.asarray(codes, dtype=np.int64)
    uniques = [str(u) for u in uniques]
    if "" in uniques:
        codes[codes == uniques.index("")] = -1
    used = [u for u in uniques if u != ""]
    return _Codes(codes, uniques, bool(used) and all(_INT_RE.match(u) for u in used))


def _codes_from_numpy(arr, column, source):
    arr = np.asarray(arr).ravel()
    kind = arr.dtype.kind
    if kind == "f":
        finite = np.isfinite(arr)
        if np.any(finite & (arr != np.round(arr))):
            row = int(np.flatnonzero(finite & (arr != np.round(arr)))[0])
            raise SpikeDataError(
                f"{column} must be an integer or a string, got {arr[row].item()!r}",
                source, f"row {row}")
        codes = np.full(arr.size, -1, dtype=np.int64)
        uniq, inv = np.unique(arr[finite].astype(np.int64), return_inverse=True)
        codes[finite] = inv
        return _Codes(codes, [str(u) for u in uniq.tolist()], True)
    if kind in "iu":
        uniq, inv = np.unique(arr, return_inverse=True)
        return _Codes(inv.astype(np.int64).ravel(), [str(u) for u in uniq.tolist()], True)
    if kind in "US":
        if kind == "S":
            arr = np.char.decode(arr, "utf-8", errors="replace")
        return _codes_from_strings(arr)
    raise SpikeDataError(f"{column} must hold integers or strings, not {arr.dtype}",
                         source, column)


def _codes_from_arrow(column, name, source, trim=None):
    """Codes of a pyarrow column; ``trim`` (a pyarrow function such as
    ``utf8_trim_whitespace``) is applied to string values first."""
    import pyarrow as pa
    import pyarrow.compute as pc

    typ = column.type
    value_type = typ.value_type if pa.types.is_dictionary(typ) else typ
    if pa.types.is_floating(value_type):
        return _codes_from_numpy(column.to_numpy(), name, source)
    if not (pa.types.is_integer(value_type) or pa.types.is_string(value_type)
            or pa.types.is_large_string(value_type)):
        raise SpikeDataError(f"has type {typ}; expected integers or strings", source,
                             f"column {name!r}")
    if pa.types.is_dictionary(typ):
        arr = pa.table({"c": column}).unify_dictionaries().column("c").combine_chunks()
    else:
        arr = pc.dictionary_encode(column.combine_chunks())
    codes = pc.fill_null(arr.indices, -1).to_numpy(zero_copy_only=False)
    if codes.dtype.itemsize < 4:
        codes = codes.astype(np.int32)
    dictionary = arr.dictionary
    if trim is not None and not pa.types.is_integer(value_type):
        # trimmed on the distinct values; values that become equal become one
        dictionary = trim(dictionary)
    values = [str(v) for v in dictionary.to_pylist()]
    if len(set(values)) < len(values):
        first = {}
        remap = np.array([first.setdefault(v, len(first)) for v in values] + [-1],
                         dtype=np.int64)
        codes = remap[codes]
        values = list(first)
    if pa.types.is_integer(value_type):
        return _Codes(codes, values, True)
    if "" in values:  # empty strings are missing values (values are distinct here)
        codes = np.where(codes == values.index(""), -1, codes)
    used = [v for v in values if v != ""]
    return _Codes(codes, values, bool(used) and all(_INT_RE.match(v) for v in used))


def _index_dtype(n):
    """The narrowest integer type for indices below ``n`` (unsigned up to 32 bits)."""
    for dtype in (np.uint8, np.uint16, np.uint32):
        if n <= np.iinfo(dtype).max:
            return dtype
    return np.int64


def _ordered_values(codes):
    """Used values of a _Codes column in file order: numeric if all integers, else str."""
    c = codes.codes
    if c.size and c.min() < 0:
        c = c[c >= 0]
    used = np.flatnonzero(np.bincount(c, minlength=len(codes.values)))
    vals = [codes.values[i] for i in used]
    if vals and all(_INT_RE.match(v) for v in vals):
        key = sorted(range(len(vals)), key=lambda i: (int(vals[i]), vals[i]))
    else:
        key = sorted(range(len(vals)), key=lambda i: vals[i])
    return used[key], [vals[i] for i in key]


def _assemble(times, units, *, source, row, sort, t_start, t_stop, meta=None, epoch=None,
              label=None):
    """Keyword arguments for ``SpikeTrains`` from per-row columns (vectorised).

    ``times`` are seconds (float64), ``units``/``epoch``/``label`` are :class:`_Codes`;
    ``row(i)`` names row ``i`` in messages.
    """
    times = np.asarray(times, dtype=np.float64)
    n = times.size
    # whole-array reductions first; the row of a problem is searched only when there is one
    lo, hi = (float(times.min()), float(times.max())) if n else (0.0, 0.0)
    if not (math.isfinite(lo) and math.isfinite(hi)):  # min/max propagate NaN
        r = int(np.flatnonzero(~np.isfinite(times))[0])
        reason = "time is missing or NaN" if np.isnan(times[r]) else \
            f"time {times[r]} is not finite"
        raise SpikeDataError(reason, source, row(r))
    if n and units.codes.min() < 0:
        raise SpikeDataError("unit is missing", source,
                             row(int(np.flatnonzero(units.codes < 0)[0])))

    # ---- unit ids and the unit index of every row
    if meta is not None:
        unit_ids = list(meta.unit_ids)
        pos = {u: i for i, u in enumerate(unit_ids)}
        lookup = np.array([pos.get(v, -1) for v in units.values] + [-1], dtype=np.int64)
    else:
        used, unit_ids = _ordered_values(units)
        lookup = np.full(len(units.values) + 1, -1, dtype=np.int64)
        lookup[used] = np.arange(used.size)
    if meta is not None and n and (lookup[:-1] < 0).any():
        unknown = np.flatnonzero(lookup[units.codes] < 0)
        if unknown.size:
            r = int(unknown[0])
            raise SpikeDataError(
                f"unit {units.values[units.codes[r]]!r} is not among the unit_ids of the "
                f"file's spikelens metadata", source, row(r))
    # the narrowest type: the grouping below sorts by it, in linear time up to 16 bits
    unit_idx = lookup.astype(_index_dtype(len(unit_ids)))[units.codes]

    # ---- bounds
    if t_start is None:
        t_start = meta.t_start if meta is not None else 0.0
        if meta is None and n and lo < 0:
            r = int(np.flatnonzero(times < 0)[0])
            raise SpikeDataError(f"negative time {float(times[r])!r} s (pass t_start= for a "
                                 f"recording that starts before 0 s)", source, row(r))
    if n and lo < t_start:
        r = int(np.flatnonzero(times < t_start)[0])
        raise SpikeDataError(f"time {float(times[r])!r} s is before t_start = {t_start!r} s",
                             source, row(r))
    if t_stop is None:
        t_stop = meta.t_stop if meta is not None else (hi if n else t_start)
    if n and hi > t_stop:
        r = int(np.flatnonzero(times > t_stop)[0])
        raise SpikeDataError(f"time {float(times[r])!r} s is after t_stop = {t_stop!r} s",
                             source, row(r))

    # ---- group rows by unit (a stable sort), keeping (or making) time order within each
    order = None
    counts = np.bincount(unit_idx, minlength=len(unit_ids)) if n else \
        np.zeros(len(unit_ids), dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    checked = False
    if n > 1 and (unit_idx[1:] < unit_idx[:-1]).any():
        # one counting-sort pass that also checks the order within units; a table out of
        # time order within a unit takes the argsort path below, which names the row
        g_times, checked = group_times_by_unit(unit_idx, times, offsets)
        if not checked:
            order = np.argsort(unit_idx, kind="stable")  # radix sort for <= 16-bit types
            g_times = times[order]
    else:
        g_times = times
    if n > 1 and not checked:
        # a time that goes back is fine only where a unit starts
        back = np.flatnonzero(g_times[1:] < g_times[:-1]) + 1
        back = back[~np.isin(back, offsets)] if back.size else back
        if back.size:
            if not sort:
                k = int(back[0])
                r = k if order is None else int(order[k])
                unit = int(np.searchsorted(offsets, k, side="right")) - 1
                raise SpikeDataError(
                    f"rows are not sorted by time within unit {unit_ids[unit]!r}; "
                    f"pass sort=True to sort them", source, row(r))
            order = np.lexsort((times, unit_idx))
            g_times = times[order]

    # ---- epochs
    epochs = None
    if meta is not None:
        epochs = meta.epochs
    elif epoch is not None:
        epochs = _infer_epochs(times, epoch, label, source, row)
    elif label is not None:
        raise SpikeDataError("a 'label' column needs an 'epoch' column", source, "columns")

    # the readers' arrays are their own: SpikeTrains takes them over without a copy
    kwargs = dict(times=g_times, offsets=offsets, t_start=t_start, t_stop=t_stop,
                  unit_ids=unit_ids, epochs=epochs, source=source, copy=False)
    if meta is not None:
        kwargs.update(annotations=meta.annotations, unit_annotations=meta.unit_annotations,
                      truth=meta.truth)
    return kwargs


def _infer_epochs(times, epoch, label, source, row):
    """Epochs [first, last spike] per distinct epoch id; see :func:`load`."""
    codes = epoch.codes.copy()
    for i, v in enumerate(epoch.values):
        if v in _MISSING_EPOCH:
            codes[codes == i] = -1
    inside = codes >= 0
    used, ids = _ordered_values(_Codes(codes, epoch.values, epoch.numeric))
    if not ids:
        return Epochs(np.empty(0), np.empty(0), np.empty(0, dtype=str))
    lookup = np.full(len(epoch.values) + 1, -1, dtype=np.int64)
    lookup[used] = np.arange(used.size)
    idx = lookup[codes[inside]]
    t = times[inside]
    start = np.full(len(ids), np.inf)
    stop = np.full(len(ids), -np.inf)
    np.minimum.at(start, idx, t)
    np.maximum.at(stop, idx, t)
    if label is None:
        labels = list(ids)
    else:
        lab = label.codes[inside]
        lab = np.where(lab < 0, len(label.values), lab)  # missing label -> ""
        values = list(label.values) + [""]
        rows_inside = np.flatnonzero(inside)
        first = np.full(len(ids), -1, dtype=np.int64)
        seen, first_pos = np.unique(idx, return_index=True)  # first row of each epoch
        first[seen] = lab[first_pos]
        clash = np.flatnonzero(lab != first[idx])
        if clash.size:
            k = int(clash[0])
            e = int(idx[k])
            r0 = int(rows_inside[np.flatnonzero(idx == e)[0]])
            raise SpikeDataError(
                f"epoch {ids[e]!r} has more than one label ({values[first[e]]!r} in "
                f"{row(r0)}, {values[lab[k]]!r})", source, row(int(rows_inside[k])))
        labels = [values[c] for c in first]
    return Epochs(start, stop, np.asarray(labels, dtype=str))


def _check_columns(columns, source):
    columns = [str(c) for c in columns]
    unknown = [c for c in columns if c not in TABLE_COLUMNS]
    if unknown:
        raise SpikeDataError(
            f"unknown column(s) {', '.join(map(repr, unknown))}; allowed columns are "
            f"{', '.join(TABLE_COLUMNS)}", source, "columns")
    missing = [c for c in ("time", "unit") if c not in columns]
    if missing:
        raise SpikeDataError(
            f"missing column(s) {', '.join(map(repr, missing))}; found "
            f"{', '.join(map(repr, columns)) or 'none'} (need time, unit[, epoch][, label])",
            source, "columns")


def _spike_epochs(times, epochs):
    """Index of the first epoch containing each spike (inclusive bounds), -1 if none."""
    out = np.full(times.size, -1, dtype=np.int64)
    if epochs is None or not len(epochs) or not times.size:
        return out
    start, stop = epochs.start, epochs.stop
    if np.all(start[1:] > stop[:-1]):  # sorted and disjoint: one search
        k = np.searchsorted(start, times, side="right") - 1
        ok = (k >= 0) & (times <= stop[np.maximum(k, 0)])
        out[ok] = k[ok]
        return out
    order = np.argsort(times, kind="stable")
    st = times[order]
    lo = np.searchsorted(st, start, side="left")
    hi = np.searchsorted(st, stop, side="right")
    sorted_ep = np.full(times.size, -1, dtype=np.int64)
    for k in range(len(epochs) - 1, -1, -1):  # earlier epochs overwrite later ones
        sorted_ep[lo[k]:hi[k]] = k
    out[order] = sorted_ep
    return out


def _table_columns(data):
    """Per-spike columns of the table form: time (s), unit index and epoch index."""
    cols = {"time": data.times, "unit": data.units}
    if data.epochs is not None:
        cols["epoch"] = _spike_epochs(data.times, data.epochs)
    return cols


# ---------------------------------------------------------------------- CSV
def _read_csv(path, source, *, sort, t_start, t_stop, budget):
    """Read with pyarrow's multithreaded CSV parser: times parsed as float64 and the id
    columns dictionary-encoded while parsing (no Python object per value, no string
    column); a time that is not a number is looked up in a second, string read, which
    names its row."""
    import pyarrow as pa
    import pyarrow.compute as pc

    meta, skip, header = None, 0, None
    with open(path, "r", encoding="utf-8", newline="") as f:
        for line in f:
            if not line.startswith("#"):
                header = line
                break
            skip += 1
            body = line[1:].strip()
            if body.startswith(_META_KEY + ":") and meta is None:
                meta = _parse_metadata(body[len(_META_KEY) + 1:], source, budget)
    if header is None or not header.strip():
        raise SpikeDataError("has no header row (expected columns time, unit[, epoch]"
                             "[, label])", source)
    raw_names = next(csv.reader([header]))
    names = [n.strip() for n in raw_names]
    _check_columns(names, source)
    # a header written "time, unit" marks a file with spaces after its commas, which
    # are skipped (pandas' skipinitialspace); elsewhere values are taken as written
    # (pyarrow skips spaces around a number itself)
    spaced = any(n != n.lstrip() for n in raw_names[1:])
    first_line = skip + 2  # 1-based line of data row 0: comments, header

    def row(r):
        return f"row {r} (line {r + first_line})"

    # a bound: strings would take about the file's size in memory, their offsets 8 bytes
    # a row; parsed, a row takes 8 bytes (time) and 4 per id column
    budget.take(2 * path.stat().st_size, source, "rows")
    types = {n: pa.float64() if n == "time" else pa.dictionary(pa.int32(), pa.string())
             for n in names}
    try:
        table = _arrow_csv(path, source, skip + 1, names, row, types)
    except _TimeNotANumber:
        strings = _arrow_csv(path, source, skip + 1, names, row,
                             dict.fromkeys(names, pa.string()))
        _raise_time_error(strings.column("time"), source, row)
    if meta is None and not table.num_rows:
        raise SpikeDataError("contains no spikes (no data rows) and no spikelens metadata",
                             source)

    ltrim = pc.utf8_ltrim_whitespace if spaced else None
    times = table.column("time").to_numpy()
    units = _codes_from_arrow(table.column("unit"), "unit", source, trim=ltrim)
    # with metadata the epochs come from it and these columns are informative only
    epoch = _codes_from_arrow(table.column("epoch"), "epoch", source,
                              trim=pc.utf8_trim_whitespace) \
        if "epoch" in names and meta is None else None
    label = _codes_from_arrow(table.column("label"), "label", source, trim=ltrim) \
        if "label" in names and meta is None else None
    del table
    kwargs = _assemble(times, units, source=source, row=row, sort=sort, t_start=t_start,
                       t_stop=t_stop, meta=meta, epoch=epoch, label=label)
    return SpikeTrains(**kwargs)


class _TimeNotANumber(Exception):
    """pyarrow could not parse a time as a number (its message has no row)."""


def _arrow_csv(path, source, skip_rows, names, row, types):
    """The data rows of a CSV file as a pyarrow Table with the column ``types``; a row
    with a wrong number of fields is a SpikeDataError naming it; a time that is not a
    number raises :class:`_TimeNotANumber`."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    bad = []

    def invalid(r):
        bad.append(r)
        return "skip"

    def read(threads):
        return pacsv.read_csv(
            path,
            read_options=pacsv.ReadOptions(skip_rows=skip_rows, column_names=names,
                                           use_threads=threads),
            parse_options=pacsv.ParseOptions(invalid_row_handler=invalid),
            convert_options=pacsv.ConvertOptions(
                column_types=types, null_values=[], strings_can_be_null=False,
                quoted_strings_can_be_null=False))

    try:
        table = read(True)
        if bad:  # only a single-threaded parse knows the rows' line numbers
            bad.clear()
            read(False)
    except pa.ArrowInvalid as exc:
        if "conversion error to double" in str(exc):
            raise _TimeNotANumber from None
        raise SpikeDataError(f"malformed CSV ({_describe(exc)})", source) from None
    if bad:
        first = min(bad, key=lambda r: r.number)
        r = first.number - (skip_rows + 1)
        if first.actual_columns < first.expected_columns:
            missing = names[first.actual_columns]
            reason = (f"{missing} is missing (the row has {first.actual_columns} of "
                      f"{first.expected_columns} fields)")
        else:
            reason = (f"the row has {first.actual_columns} fields, the header "
                      f"{first.expected_columns}")
        raise SpikeDataError(reason, source, row(r))
    return table


def _raise_time_error(column, source, row):
    """The error for the first time in a CSV's time column of strings that is not a
    number, found with pyarrow's parse (as in the read): block by block, then value by
    value in the first block that fails."""
    import pyarrow as pa
    import pyarrow.compute as pc

    def numbers(values):
        try:
            pc.cast(pc.utf8_trim_whitespace(values), pa.float64())
        except pa.ArrowInvalid:
            return False
        return True

    column = column.combine_chunks()
    block = 4096
    for start in range(0, len(column), block):
        if numbers(column.slice(start, block)):
            continue
        for r in range(start, min(start + block, len(column))):
            if not numbers(column.slice(r, 1)):
                v = column[r].as_py()
                reason = "time is missing" if v.strip() == "" else \
                    f"time {v!r} is not a number"
                raise SpikeDataError(reason, source, row(r))
    raise SpikeDataError("time column cannot be read as numbers", source, "column 'time'")


def _write_csv(data, tmp):
    meta = json.dumps(_metadata(data), separators=(",", ":"), allow_nan=True)
    cols = _table_columns(data)
    # times: float64, which pandas writes in the shortest form that reads back exactly;
    # strings (unit, label) always quoted, so that leading spaces, '\r' and the like
    # survive (the reader skips spaces after a delimiter, and '\r' ends a row)
    frame = {"time": np.asarray(cols["time"], dtype=np.float64),
             "unit": data.unit_ids[cols["unit"]] if data.n_spikes else
             np.empty(0, dtype=str)}
    if "epoch" in cols:
        ep = cols["epoch"]
        frame["epoch"] = ep
        labels = np.append(data.epochs.label, "") if len(data.epochs) else np.array([""])
        frame["label"] = labels[np.where(ep < 0, len(labels) - 1, ep)]
    with open(tmp, "w", encoding="utf-8", newline="") as f:
        f.write(f"# {_META_KEY}: {meta}\n")
        f.write(",".join(frame) + "\n")  # plain header: the column names need no quotes
        pd.DataFrame(frame).to_csv(f, index=False, header=False, lineterminator="\n",
                                   quoting=csv.QUOTE_NONNUMERIC)


# ---------------------------------------------------------------------- Parquet
def _read_parquet(path, source, *, sort, t_start, t_stop, budget, request=None):
    """Read a Parquet spike table; with ``request`` (and spikelens metadata, which names
    every unit and the bounds) only the row groups whose statistics may hold asked rows,
    and of those only the asked rows are kept."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    with open(path, "rb") as f:
        pf = pq.ParquetFile(f)
        info = pf.metadata  # declared sizes: pages compress very well
        raw_meta = (pf.schema_arrow.metadata or {}).get(_META_KEY.encode())
        meta = _parse_metadata(raw_meta, source, budget) if raw_meta is not None else None
        names = [c for c in pf.schema_arrow.names if not c.startswith("__index_level_")]
        _check_columns(names, source)
        groups = list(range(info.num_row_groups))
        if request is not None and meta is not None:
            _unit_index(meta.unit_ids, request, source)  # unknown ids: before reading
            window = _window_in(request, meta.t_start if t_start is None else t_start,
                                meta.t_stop if t_stop is None else t_stop, source)
            groups = _parquet_groups(info, window, request.units)
        else:
            request = None
        budget.take(sum(8 * info.row_group(g).num_rows * info.num_columns
                        + info.row_group(g).total_byte_size for g in groups), source, "rows")
        table = pf.read_row_groups(groups)
        first_rows = np.cumsum([0] + [info.row_group(g).num_rows
                                      for g in range(info.num_row_groups)])
    file_rows = None  # the rows read, when not all: their numbers in the file

    def row(r):
        return f"row {r if file_rows is None else file_rows[r]}"

    if meta is None and table.num_rows == 0:
        raise SpikeDataError("contains no spikes (no rows) and no spikelens metadata", source)
    tcol = table.column("time")
    if not (pa.types.is_floating(tcol.type) or pa.types.is_integer(tcol.type)):
        raise SpikeDataError(f"has type {tcol.type}; expected numbers (seconds)", source,
                             "column 'time'")
    times = np.asarray(tcol.to_numpy(), dtype=np.float64)
    units = _codes_from_arrow(table.column("unit"), "unit", source)
    if request is not None:  # the asked rows of the groups read (missing units stay)
        keep = np.ones(times.size, dtype=bool)
        if window is not None:
            keep &= ~((times < window[0]) | (times > window[1]))
        if request.units is not None:
            asked = np.append(np.isin(units.values, request.units), True)
            keep &= asked[units.codes]
        times = times[keep]
        units = units._replace(codes=units.codes[keep])
        file_rows = np.concatenate([np.arange(first_rows[g], first_rows[g + 1])
                                    for g in groups] + [np.empty(0, np.int64)])[keep]
    # with metadata the epochs come from it and these columns are informative only
    epoch = _codes_from_arrow(table.column("epoch"), "epoch", source) \
        if "epoch" in names and meta is None else None
    label = _codes_from_arrow(table.column("label"), "label", source) \
        if "label" in names and meta is None else None
    kwargs = _assemble(times, units, source=source, row=row, sort=sort, t_start=t_start,
                       t_stop=t_stop, meta=meta, epoch=epoch, label=label)
    return SpikeTrains(**kwargs)


#: rows per row group in the Parquet files :func:`save` writes (see docs/data.md)
_PARQUET_ROW_GROUP = 1 << 16


def _parquet_groups(info, window, unit_ids):
    """Row groups of a Parquet file (its ``FileMetaData``) whose column statistics may hold
    rows with a time in ``window`` and a unit among ``unit_ids`` (None: any)."""
    names = [info.schema.column(i).path for i in range(info.num_columns)]
    t_col, u_col = names.index("time"), names.index("unit")
    as_int = [int(u) for u in unit_ids or () if _INT_RE.match(u)]
    groups = []
    for g in range(info.num_row_groups):
        rg = info.row_group(g)
        st = rg.column(t_col).statistics
        if window is not None and st is not None and st.has_min_max \
                and (st.max < window[0] or st.min > window[1]):
            continue
        st = rg.column(u_col).statistics
        if unit_ids is not None and st is not None and st.has_min_max:
            values = unit_ids if isinstance(st.min, str) else \
                as_int if isinstance(st.min, int) else None
            if values is not None and not any(st.min <= u <= st.max for u in values):
                continue
        groups.append(g)
    return groups


def _write_parquet(data, tmp):
    import pyarrow as pa
    import pyarrow.parquet as pq

    cols = _table_columns(data)
    arrays = {
        "time": pa.array(cols["time"], type=pa.float64()),
        "unit": pa.DictionaryArray.from_arrays(
            pa.array(cols["unit"].astype(np.int32), type=pa.int32()),
            pa.array(data.unit_ids.tolist(), type=pa.string())),
    }
    if "epoch" in cols:
        ep = cols["epoch"]
        arrays["epoch"] = pa.array(ep, type=pa.int64())
        uniq, inv = np.unique(np.append(data.epochs.label, ""), return_inverse=True)
        idx = inv[np.where(ep < 0, len(data.epochs), ep)]
        arrays["label"] = pa.DictionaryArray.from_arrays(
            pa.array(idx.astype(np.int32), type=pa.int32()),
            pa.array(uniq.tolist(), type=pa.string()))
    table = pa.table(arrays).replace_schema_metadata(
        {_META_KEY.encode(): json.dumps(_metadata(data), allow_nan=True).encode()})
    # row groups of bounded size: readers of a window or a few units skip the others;
    # times plain (a dictionary of distinct floats per small row group is larger)
    pq.write_table(table, str(tmp), row_group_size=_PARQUET_ROW_GROUP,
                   use_dictionary=["unit", "label"])


# ---------------------------------------------------------------------- NPZ
_NPZ_FLAT = {("times", "units"): ("times", "units"),
             ("spike_times", "spike_clusters"): ("spike_times", "spike_clusters")}


def _npy_header(fp):
    """(shape, dtype, header length) of an open ``.npy`` stream, read without the data."""
    from numpy.lib import format as npformat

    version = npformat.read_magic(fp)
    if version == (1, 0):
        shape, _, dtype = npformat.read_array_header_1_0(fp, max_header_size=2 ** 16)
    else:
        shape, _, dtype = npformat.read_array_header_2_0(fp, max_header_size=2 ** 16)
    return shape, dtype, fp.tell()


def _check_npy_size(shape, dtype, available, source, where):
    """Refuse a header whose shape needs more bytes than follow it (no huge allocation)."""
    if any(int(d) < 0 for d in shape):
        raise SpikeDataError(f"array header has a negative dimension {tuple(shape)}",
                             source, where)
    need = math.prod(int(d) for d in shape) * max(dtype.itemsize, 0)
    if dtype.hasobject:
        raise SpikeDataError("holds a Python object array (pickled data is refused)",
                             source, where)
    if need > available:
        raise SpikeDataError(f"array header claims shape {tuple(shape)} of {dtype} "
                             f"({need} bytes) but only {available} bytes follow it "
                             f"(truncated or corrupted)", source, where)


def _check_npz_members(zf, source, budget, partial=()):
    """Check an NPZ archive (a ``zipfile.ZipFile``) before reading any member.

    The members' declared uncompressed sizes (zipfile never yields more) must fit the
    budget together, and every ``.npy`` header must fit its member, so that neither a
    compressed member nor a header can make a reader allocate more than the budget.
    Members named in ``partial`` are read in part: their reader counts what it reads."""
    for info in zf.infolist():
        where = _one_line(info.filename.removesuffix(".npy"))
        if info.filename not in partial:
            budget.take(info.file_size, source, where)
        if not info.filename.endswith(".npy"):
            continue
        try:
            with zf.open(info) as fp:
                shape, dtype, head = _npy_header(fp)
        except SpikeDataError:
            raise
        except Exception as exc:
            raise SpikeDataError(f"malformed array header ({_describe(exc)})", source,
                                 where) from None
        _check_npy_size(shape, dtype, info.file_size - head, source, where)


def _read_npz(path, source, *, sort, t_start, t_stop, budget, request=None):
    with open(path, "rb") as f, np.load(f, allow_pickle=False) as z:
        keys = set(z.files)
        if request is not None and not {"times", "offsets", "t_stop"} <= keys:
            request = None  # the asked part cannot be found without reading all times
        _check_npz_members(z.zip, source, budget, ("times.npy",) if request else ())
        if {"times", "offsets"} <= keys:
            return _read_npz_csr(z, keys, source, sort, t_start, t_stop, budget,
                                 request and _NpzPart(path, request))
        for (tk, uk) in _NPZ_FLAT:
            if {tk, uk} <= keys:
                return _read_npz_flat(z, keys, tk, uk, source, sort, t_start, t_stop)
    raise SpikeDataError(
        f"unknown NPZ layout (keys: {', '.join(map(_one_line, sorted(keys))) or 'none'}); "
        f"expected times + "
        f"offsets (spikelens), times + units, or spike_times + spike_clusters", source)


def _npz_array(z, key, source, kinds):
    try:
        a = z[key]
    except ValueError as exc:
        if "allow_pickle" in str(exc):
            raise SpikeDataError("holds a Python object array (pickled data is refused)",
                                 source, key) from None
        raise
    if a.dtype.kind not in kinds:
        raise SpikeDataError(f"has dtype {a.dtype}", source, key)
    return a


def _npz_scalar(z, key, source):
    a = _npz_array(z, key, source, "iuf")
    if a.size != 1:
        raise SpikeDataError(f"must be one number, got shape {a.shape}", source, key)
    return float(a.ravel()[0])


def _read_npz_csr(z, keys, source, sort, t_start, t_stop, budget, part=None):
    """SpikeTrains from the CSR layout; with ``part`` (an :class:`_NpzPart`) only the
    asked units' spikes in the asked window (all units kept, the others empty)."""
    offsets = _npz_array(z, "offsets", source, "iu").ravel()
    times = _npz_array(z, "times", source, "iuf").ravel() if part is None else None
    if t_start is None:
        t_start = _npz_scalar(z, "t_start", source) if "t_start" in keys else 0.0
    if t_stop is None:
        t_stop = (_npz_scalar(z, "t_stop", source) if "t_stop" in keys else
                  float(np.nanmax(times)) if times.size else t_start)
    unit_ids = None
    if "unit_ids" in keys:
        unit_ids = _npz_array(z, "unit_ids", source, "USiu").ravel()
        if unit_ids.dtype.kind == "S":
            unit_ids = np.char.decode(unit_ids, "utf-8")
    if part is not None:
        ids = unit_ids if unit_ids is not None else np.arange(offsets.size - 1).astype(str)
        times, offsets = part.read(z.zip, offsets, ids, t_start, t_stop, source, budget)
    meta = {}
    if "meta" in keys:
        meta = _json_object(str(_npz_array(z, "meta", source, "U").ravel()[0]), source,
                            "meta")
    epochs = None
    ep_keys = {"epochs_start", "epochs_stop", "epochs_label"} & keys
    if ep_keys:
        if len(ep_keys) < 2 or "epochs_start" not in ep_keys or "epochs_stop" not in ep_keys:
            raise SpikeDataError("needs both epochs_start and epochs_stop", source, "epochs")
        start = _npz_array(z, "epochs_start", source, "iuf")
        stop = _npz_array(z, "epochs_stop", source, "iuf")
        label = (_npz_array(z, "epochs_label", source, "USiu") if "epochs_label" in keys
                 else np.arange(start.size).astype(str))
        if label.dtype.kind == "S":
            label = np.char.decode(label, "utf-8")
        epochs = Epochs(start, stop, label)
    objects = meta.get("object_arrays") or {}
    truth = {k[len("truth__"):]: _npz_array(z, k, source, "biufcUSmM")
             for k in keys if k.startswith("truth__")}
    truth.update({k: _decode_array(v, f"meta, truth {k!r}", source, budget)
                  for k, v in (objects.get("truth") or {}).items()})
    unit_ann = {k[len("unit__"):]: _npz_array(z, k, source, "biufcUSmM")
                for k in keys if k.startswith("unit__")}
    unit_ann.update({k: _decode_array(v, f"meta, unit annotation {k!r}", source, budget)
                     for k, v in (objects.get("unit") or {}).items()})
    return SpikeTrains(times, offsets, t_start, t_stop, unit_ids=unit_ids,
                       annotations=meta.get("annotations") or {}, unit_annotations=unit_ann,
                       epochs=epochs, truth=truth, sort=sort, source=source,
                       copy=False)  # read from the file: ours to take over


class _NpzPart:
    """Reads the asked part of the ``times`` member of a spikelens NPZ file.

    Parameters
    ----------
    path : pathlib.Path
        The NPZ file.
    request : _Request
        The asked units and window.

    Notes
    -----
    A stored (uncompressed) member, as :func:`save` writes it, is read in place: two
    binary searches per asked unit find its spikes in the window (:func:`_search_window`;
    the file unbuffered so that each read takes only what it asks), then one read per unit
    takes them. A compressed member cannot be entered in
    the middle: it is streamed in chunks of at most ``CHUNK`` values (fewer, down to 4096,
    when half the budget left cannot hold them), of which only the asked ones are kept.
    """

    CHUNK = 1 << 20

    def __init__(self, path, request):
        self.path = path
        self.request = request

    def read(self, zf, offsets, unit_ids, t_start, t_stop, source, budget):
        """The asked times (float64, grouped by unit as in the file) and their offsets
        (one unit per unit of the file, the units not asked empty)."""
        info = zf.getinfo("times.npy")
        with zf.open(info) as fp:
            shape, dtype, head = _npy_header(fp)
            size = math.prod(shape)
            if sum(d != 1 for d in shape) > 1 or dtype.kind not in "iuf":
                raise SpikeDataError(f"must be a one-dimensional array of numbers to be read "
                                     f"in part, got shape {tuple(shape)} of {dtype}", source,
                                     "times")
            if offsets.size == 0 or offsets[0] != 0 or offsets[-1] != size \
                    or np.any(np.diff(offsets) < 0):
                raise SpikeDataError(f"offsets must rise from 0 to the number of spikes "
                                     f"({size})", source, "offsets")
            n = offsets.size - 1
            index = _unit_index(unit_ids, self.request, source)
            asked = np.ones(n, dtype=bool)
            if index is not None:
                asked[:] = False
                asked[index] = True
            window = _window_in(self.request, t_start, t_stop, source)
            if info.compress_type == zipfile.ZIP_STORED:
                return self._in_place(info, head, dtype, offsets, asked, window, source,
                                      budget)
            return self._streamed(fp, size, dtype, offsets, asked, window, source, budget)

    def _in_place(self, info, head, dtype, offsets, asked, window, source, budget):
        with open(self.path, "rb", buffering=0) as f:
            return self._read_in_place(f, info, head, dtype, offsets, asked, window, source,
                                       budget)

    @staticmethod
    def _read_in_place(f, info, head, dtype, offsets, asked, window, source, budget):
        f.seek(info.header_offset)
        local = f.read(30)  # the member's local header: its name and extra field follow
        if len(local) != 30 or local[:4] != b"PK\x03\x04":
            raise SpikeDataError("zip member header is damaged", source, "times")
        name_len, extra_len = struct.unpack("<HH", local[26:30])
        values = _StoredValues(f, info.header_offset + 30 + name_len + extra_len + head,
                               dtype)
        lo, hi = offsets[:-1].copy(), offsets[1:].copy()
        hi[~asked] = lo[~asked]
        if window is not None:
            for i in np.flatnonzero(asked):
                lo[i], hi[i] = _search_window(values, window, lo[i], hi[i])
        counts = hi - lo
        budget.take(8 * int(counts.sum()), source, "times")
        times = np.empty(int(counts.sum()), dtype=np.float64)
        at = 0
        for i in np.flatnonzero(counts):
            times[at:at + counts[i]] = values.read(lo[i], hi[i])
            at += counts[i]
        return times, np.concatenate([[0], np.cumsum(counts)])

    def _streamed(self, fp, size, dtype, offsets, asked, window, source, budget):
        per_value = dtype.itemsize + 17  # the value, its unit (int64), the mask
        chunk = max(1, min(size, max(4096, min(self.CHUNK, budget.left // (2 * per_value)))))
        budget.take(chunk * per_value, source, "times")
        pieces, counts = [], np.zeros(offsets.size - 1, dtype=np.int64)
        for start in range(0, size, chunk):
            m = min(chunk, size - start)
            raw = fp.read(m * dtype.itemsize)
            if len(raw) != m * dtype.itemsize:
                raise SpikeDataError("member ends early (truncated)", source, "times")
            v = np.frombuffer(raw, dtype=dtype)
            unit = np.searchsorted(offsets, np.arange(start, start + m), side="right") - 1
            keep = asked[unit]
            if window is not None:  # NaN stays, for SpikeTrains to name it
                keep &= ~((v < window[0]) | (v > window[1]))
            kept = v[keep].astype(np.float64)
            budget.take(kept.nbytes, source, "times")
            pieces.append(kept)
            counts += np.bincount(unit[keep], minlength=counts.size)
        times = np.concatenate(pieces) if pieces else np.empty(0)
        return times, np.concatenate([[0], np.cumsum(counts)])


#: a range of at most this many values is read whole, then searched in memory
_SEARCH_BLOCK = 512


def _search_window(values, window, lo, hi):
    """The range ``[lo', hi')`` of the sorted ``values[lo:hi]`` that lies in ``window``
    (inclusive bounds), reading few values: binary search by single values until a range
    holds at most ``_SEARCH_BLOCK`` values (a 4 KiB page of float64), which is read whole.

    ``values`` is a :class:`_StoredValues` or :class:`_H5Values`.
    """
    start = _search(values, window[0], "left", lo, hi)
    return start, _search(values, window[1], "right", start, hi)


def _search(values, x, side, lo, hi):
    """``lo + np.searchsorted(values[lo:hi], x, side)``, reading few of the values."""
    while hi - lo > _SEARCH_BLOCK:
        mid = (lo + hi) // 2
        v = values[mid]
        if v < x or (side == "right" and v == x):
            lo = mid + 1
        else:
            hi = mid
    return lo + int(np.searchsorted(values.read(lo, hi), x, side))


class _StoredValues:
    """The values of an uncompressed ``.npy`` array inside a file, read where they lie:
    ``values[k]`` one value, :meth:`read` a range (for :func:`_search_window`).
    """

    def __init__(self, f, start, dtype):
        self.f, self.start, self.dtype = f, start, dtype

    def __getitem__(self, k):
        return float(self.read(k, k + 1)[0])

    def read(self, lo, hi):
        nbytes = (hi - lo) * self.dtype.itemsize
        self.f.seek(self.start + lo * self.dtype.itemsize)
        raw = self.f.read(nbytes)
        if len(raw) != nbytes:
            raise SpikeDataError("member ends early (truncated)", where="times")
        return np.frombuffer(raw, dtype=self.dtype)


def _read_npz_flat(z, keys, tk, uk, source, sort, t_start, t_stop):
    allowed = {tk, uk, "epoch", "label"} | ({"sample_rate"} if tk == "spike_times" else set())
    extra = sorted(keys - allowed)
    if extra:
        raise SpikeDataError(f"unknown key(s) {', '.join(map(repr, extra))}; allowed with "
                             f"{tk} + {uk}: {', '.join(sorted(allowed))}", source, "keys")
    times = _npz_array(z, tk, source, "iuf").ravel()
    if "sample_rate" in keys:
        rate = _npz_scalar(z, "sample_rate", source)
        if not (math.isfinite(rate) and rate > 0):
            raise SpikeDataError(f"must be > 0 Hz, got {rate}", source, "sample_rate")
        times = times.astype(np.float64) / rate
    elif times.dtype.kind in "iu" and tk == "spike_times":
        raise SpikeDataError("spike_times are integer sample indices but there is no "
                             "sample_rate (Hz) to convert them to seconds", source, tk)
    units_arr = _npz_array(z, uk, source, "iufUS").ravel()
    if units_arr.size != times.size:
        raise SpikeDataError(f"{tk} has {times.size} entries but {uk} has {units_arr.size}",
                             source, uk)
    epoch = label = None
    if "epoch" in keys:
        epoch = _codes_from_numpy(_npz_array(z, "epoch", source, "iufUS"), "epoch", source)
        if epoch.codes.size != times.size:
            raise SpikeDataError(f"has {epoch.codes.size} entries for {times.size} spikes",
                                 source, "epoch")
    if "label" in keys:
        label = _codes_from_numpy(_npz_array(z, "label", source, "iuUS"), "label", source)
        if label.codes.size != times.size:
            raise SpikeDataError(f"has {label.codes.size} entries for {times.size} spikes",
                                 source, "label")
    if not times.size:
        raise SpikeDataError("contains no spikes", source, tk)
    units = _codes_from_numpy(units_arr, uk, source)
    kwargs = _assemble(times, units, source=source, row=lambda r: f"{tk}[{r}]", sort=sort,
                       t_start=t_start, t_stop=t_stop, epoch=epoch, label=label)
    return SpikeTrains(**kwargs)


def _write_npz(data, tmp):
    arrays = {"times": np.asarray(data.times), "offsets": np.asarray(data.offsets),
              "t_start": np.float64(data.t_start), "t_stop": np.float64(data.t_stop),
              "unit_ids": np.asarray(data.unit_ids)}
    if data.epochs is not None:
        arrays.update(epochs_start=np.asarray(data.epochs.start),
                      epochs_stop=np.asarray(data.epochs.stop),
                      epochs_label=np.asarray(data.epochs.label))
    objects = {"truth": {}, "unit": {}}
    for prefix, group, items in (("truth__", "truth", data.truth),
                                 ("unit__", "unit", data.unit_annotations)):
        for k, v in items.items():
            if v.dtype.kind == "O":  # np.load(allow_pickle=False) cannot read these
                objects[group][k] = _encode_array(v, f"{group} {k!r}")
            else:
                arrays[prefix + k] = np.asarray(v)
    meta = {"format": "spikelens", "version": _META_VERSION,
            "annotations": _jsonable(data.annotations), "object_arrays": objects}
    arrays["meta"] = np.array(json.dumps(meta, allow_nan=True))
    with open(tmp, "wb") as f:
        np.savez(f, **arrays)


# ---------------------------------------------------------------------- HDF5 (NIX, NWB)
def _check_hdf5(path, source, budget, partial=()):
    """Refuse an HDF5 file that reaches outside itself or declares more data than the budget.

    Every link is visited before pynwb opens the file (:func:`analysis.hdf5_walk.walk`):
    external and user-defined links, datasets with external raw storage and virtual
    datasets are refused (h5py would read other files through them); soft links are paths
    inside this file, whose every link is visited here. Each dataset counts with its
    declared size (a chunked dataset can declare gigabytes it never wrote). Attributes have
    no chunking and no fill value: their data lie in the file in full, so the file's bytes
    outside the storage of its datasets (those over 64 KiB) bound them, and count once for
    all. Datasets named in ``partial`` (paths without the leading ``/``) are read in part:
    their reader counts what it reads.
    """
    import h5py

    from .hdf5_walk import walk

    with h5py.File(path, "r") as f:
        walk(f, source, budget, partial).close()


# ---------------------------------------------------------------------- NIX (neo)
def _read_nix(path, source, *, sort, t_start, t_stop, budget):
    import h5py

    from .hdf5_walk import walk
    from .neo_io import from_records
    from .nix_io import NEWEST_VERSION, file_version, read_block

    # no chunk cache: each small dataset is read once, and setting up a cache for each of
    # thousands of them costs more than the reads
    with h5py.File(path, "r", rdcc_nbytes=0, rdcc_nslots=1) as f:
        # one open for the safety walk and the reader: the walk's map of the file spares
        # the reader every second open of an object
        objects = walk(f, source, budget)
        version = file_version(f)
        try:
            block = read_block(f, source, objects, metadata_key=_NIX_META_KEY)
        except SpikeDataError:
            raise
        except MemoryError:
            raise
        except Exception as exc:
            if version is None or version >= NEWEST_VERSION:
                raise
            # an older format with something this reader does not know: nixio's upgrade
            raise SpikeDataError(
                f"cannot read NIX format {'.'.join(map(str, version))} ({_describe(exc)}); "
                f"upgrade a copy with 'nixio upgrade COPY' and load the copy", source) \
                from exc
        finally:
            objects.close()
    raw_meta = block.annotations.pop(_NIX_META_KEY, None)
    meta = _parse_metadata(raw_meta, source, budget) if raw_meta is not None else None
    for seg_no, seg in enumerate(block.segments):
        for k, t in enumerate(seg.spiketrains):
            mag = t.times
            if not sort and mag.size > 1 and np.any(np.diff(mag) < 0):
                s = int(np.flatnonzero(np.diff(mag) < 0)[0]) + 1
                name = meta.unit_ids[k] if meta is not None and k < len(meta.unit_ids) \
                    else t.annotations.get("unit_id", t.name if t.name else k)
                in_seg = f"segment {seg_no}, " if len(block.segments) > 1 else ""
                raise SpikeDataError("spike times are not sorted (pass sort=True to sort)",
                                     source, f"{in_seg}unit {name}, spike {s}")
    if meta is not None:
        return _nix_with_metadata(block, meta, source, t_start, t_stop)
    # one segment, or consecutive trials of the same units: SpikeTrains.from_neo decides
    st = from_records(block, source=source)
    changes = {}
    if t_start is not None:
        changes["t_start"] = t_start
    if t_stop is not None:
        changes["t_stop"] = t_stop
    if changes:
        changes["source"] = source
        st = st.replace(**changes)
    return st


def _nix_with_metadata(block, meta, source, t_start, t_stop):
    """SpikeTrains from the records of a NIX block with spikelens metadata: the spike
    trains' times (their records carry nothing else, see ``nix_io.read_block``), joined
    across segments (consecutive trials of the same units) by position; units, bounds,
    annotations, epochs and ground truth from the metadata."""
    from .neo_io import _block_where, _same

    segments = block.segments
    if "spikelens_unit_annotations" in block.annotations and len(segments) > 1:
        raise SpikeDataError(f"a spikelens Block has one segment, this one has "
                             f"{len(segments)}", source, _block_where(block))
    n_units = len(meta.unit_ids)
    for seg in segments or [None]:
        held = len(seg.spiketrains) if seg is not None else 0
        if held != n_units:
            raise SpikeDataError(f"holds {held or 'no'} spike trains but its metadata lists "
                                 f"{n_units} units", source, "block")
    spikes = [np.concatenate([seg.spiketrains[i].times for seg in segments])
              for i in range(n_units)] if segments else []
    # Elephant's segment annotation, when every segment has the same (as from_neo reads
    # it); the metadata's ground truth comes first
    truth = {}
    orderings = [seg.annotations.get("spiketrain_ordering") for seg in segments]
    if orderings and orderings[0] is not None and \
            all(_same(o, orderings[0]) for o in orderings):
        truth["ordering"] = np.asarray(orderings[0], dtype=np.int64)
    return SpikeTrains.from_lists(
        spikes, t_start=meta.t_start if t_start is None else t_start,
        t_stop=meta.t_stop if t_stop is None else t_stop, unit_ids=meta.unit_ids,
        annotations=meta.annotations, unit_annotations=meta.unit_annotations,
        epochs=meta.epochs, truth={**truth, **meta.truth}, source=source)


# keyword arguments of neo.Block / neo.SpikeTrain that annotations must not shadow
_NEO_BLOCK_ARGS = {"name", "description", "file_origin", "file_datetime", "rec_datetime",
                   "index"}
_NEO_TRAIN_ARGS = {"times", "t_stop", "units", "dtype", "copy", "sampling_rate", "t_start",
                   "waveforms", "left_sweep", "name", "file_origin", "description",
                   "array_annotations", "unit_id"}


def _write_nix(data, tmp):
    """Write via ``to_neo`` + NixIO; everything neo cannot hold goes into the metadata."""
    from neo.io import NixIO

    annotations = _jsonable(data.annotations)
    name = annotations.get("name")
    view = data.replace(  # what neo can carry, for readers other than spikelens
        annotations={k: v for k, v in annotations.items()
                     if k not in _NEO_BLOCK_ARGS and not k.startswith(("spikelens", "nix_"))},
        unit_annotations={k: v for k, v in data.unit_annotations.items()
                          if v.ndim == 1 and v.dtype.kind in "biufUO"
                          and k not in _NEO_TRAIN_ARGS},
        truth={k: v for k, v in data.truth.items() if v.dtype.kind in "biufU"})
    block = view.to_neo()
    if name is not None and NEO_LAYOUT_KEY not in annotations:
        block.name = str(name)  # a foreign layout restores the block's own name
    block.annotate(**{_NIX_META_KEY: json.dumps(_metadata(data), allow_nan=True)})
    _nix_safe_annotations(block)
    with NixIO(str(tmp), mode="ow") as io:
        io.write_block(block)


def _nix_safe_annotations(block):
    """Annotation values NIX can store: scalars and flat lists of one scalar type stay,
    ``None`` is left out, anything else (dicts, nested or mixed lists) becomes JSON."""
    objects = [block]
    for seg in block.segments:
        objects += [seg, *seg.spiketrains, *seg.epochs]
    for obj in objects:
        for key, value in list(obj.annotations.items()):
            if value is None:
                del obj.annotations[key]
            else:
                obj.annotations[key] = _nix_value(value)


def _nix_value(v):
    v = _plain(v)
    if isinstance(v, (str, bytes, bool, int, float)):
        return v
    if isinstance(v, (list, tuple)):
        kinds = {type(x) for x in v}
        if not v or (len(kinds) == 1 and kinds <= {str, bool, int, float}):
            return list(v)
    if hasattr(v, "isoformat"):  # datetime, date, time: NIX stores these
        return v
    return json.dumps(v, default=_json_default)


# ---------------------------------------------------------------------- NWB
_NWB_RESERVED = {"spike_times", "obs_intervals", "electrodes", "electrode_group",
                 "waveform_mean", "waveform_sd", "waveforms", "unit_name"}


def _read_nwb(path, source, *, sort, t_start, t_stop, budget, epochs=None, epoch_label=None,
              request=None):
    """Read the units table; with ``request`` only the asked units' ranges of
    ``spike_times`` in the asked window (all units kept, the others empty)."""
    from hdmf.common.table import DynamicTableRegion, VectorIndex
    from pynwb import NWBHDF5IO

    _check_hdf5(path, source, budget, (b"units/spike_times",) if request else ())
    with NWBHDF5IO(str(path), "r") as io:
        nwb = io.read()
        units = nwb.units
        if units is None:
            raise SpikeDataError("NWB file has no units table", source, "units")
        n = len(units)
        if "spike_times" not in units.colnames:
            raise SpikeDataError("has no spike_times column", source, "units")
        spike_times = units.spike_times.data
        ends = np.asarray(units.spike_times_index.data[:], dtype=np.int64).ravel()
        times = (np.asarray(spike_times[:], dtype=np.float64).ravel() if request is None
                 else None)
        if "unit_name" in units.colnames:
            ids = [_nwb_str(v) for v in units["unit_name"].data[:]]
        else:
            ids = [str(v) for v in np.asarray(units.id.data[:]).tolist()]
        obs = None
        if "obs_intervals" in units.colnames:
            obs = np.asarray(units.obs_intervals.data[:], dtype=np.float64).reshape(-1, 2)
        unit_ann = {}
        for col in units.colnames:
            if col in _NWB_RESERVED:
                continue
            vd = units[col]
            if isinstance(vd, (VectorIndex, DynamicTableRegion)):
                continue
            vals = np.asarray(vd.data[:])
            if vals.ndim != 1 or vals.size != n:
                continue
            if vals.dtype.kind in "OS":
                vals = np.asarray([_nwb_str(v) for v in vals], dtype=str)
            unit_ann[col] = vals
        unit_ann.update({k: v for k, v in _nwb_electrodes(units, n, source).items()
                         if k not in unit_ann})
        epochs = _nwb_epochs(nwb, epochs, epoch_label, source)
        size = spike_times.shape[0] if request else times.size
        if ends.size != n or (n and (ends[-1] != size or np.any(np.diff(ends) < 0))):
            raise SpikeDataError("spike_times_index does not match spike_times", source,
                                 "units")
        offsets = np.concatenate([[0], ends]).astype(np.int64)
        if request is not None:
            if t_start is None:
                t_start = float(obs[:, 0].min()) if obs is not None and obs.size else 0.0
            if t_stop is None:  # the last spike of each unit (sorted) stands for all
                last = offsets[1:][np.diff(offsets) > 0] - 1
                budget.take(8 * last.size, source, "units/spike_times")
                times = np.asarray(spike_times[last] if last.size else [], dtype=np.float64)
            t_stop = _nwb_t_stop(t_stop, t_start, times, epochs, obs)
            times, offsets = _nwb_part(spike_times, offsets, ids, request, t_start, t_stop,
                                       source, budget)
    if t_start is None:
        t_start = float(obs[:, 0].min()) if obs is not None and obs.size else 0.0
        neg = np.flatnonzero(times < t_start)
        if neg.size:
            k = int(neg[0])
            i = int(np.searchsorted(offsets, k, side="right") - 1)
            reason = (f"negative time {float(times[k])!r} s (pass t_start= for a recording that "
                      f"starts before 0 s)" if obs is None else
                      f"time {float(times[k])!r} s is before the first observation interval "
                      f"({t_start} s)")
            raise SpikeDataError(reason, source, f"unit {ids[i]}, spike {k - offsets[i]}")
    t_stop = _nwb_t_stop(t_stop, t_start, times, epochs, obs)
    return SpikeTrains(times, offsets, t_start, t_stop, unit_ids=ids,
                       unit_annotations=unit_ann, epochs=epochs, sort=sort, source=source,
                       copy=False)


def _nwb_t_stop(t_stop, t_start, times, epochs, obs):
    """``t_stop`` if given, else the latest of the spikes, epochs and observation intervals."""
    if t_stop is not None:
        return t_stop
    finite = times[np.isfinite(times)]
    candidates = [t_start] + ([finite.max()] if finite.size else [])
    if epochs is not None and len(epochs):
        candidates.append(epochs.stop.max())
    if obs is not None and obs.size:
        candidates.append(obs[:, 1].max())
    return float(max(candidates))


def _nwb_part(spike_times, offsets, unit_ids, request, t_start, t_stop, source, budget):
    """The asked spikes of an NWB ``spike_times`` dataset (h5py, read by slices) and their
    offsets (one unit per unit of the file, the units not asked empty): the window is found
    by a binary search in each asked unit's range (times sorted within a unit)."""
    n = offsets.size - 1
    index = _unit_index(unit_ids, request, source)
    window = _window_in(request, t_start, t_stop, source)
    lo, hi = offsets[:-1].copy(), offsets[1:].copy()
    if index is not None:
        asked = np.zeros(n, dtype=bool)
        asked[index] = True
        hi[~asked] = lo[~asked]
    if window is not None:
        values = _H5Values(spike_times)
        for i in np.flatnonzero(hi > lo):
            lo[i], hi[i] = _search_window(values, window, lo[i], hi[i])
    counts = hi - lo
    budget.take(8 * int(counts.sum()), source, "units/spike_times")
    parts = [np.asarray(spike_times[lo[i]:hi[i]], dtype=np.float64).ravel()
             for i in np.flatnonzero(counts)]
    times = np.concatenate(parts) if parts else np.empty(0)
    return times, np.concatenate([[0], np.cumsum(counts)])


class _H5Values:
    """The values of a one-dimensional h5py dataset, read by ranges (h5py reads only
    those): ``values[k]`` one value, :meth:`read` a range (for :func:`_search_window`)."""

    def __init__(self, dataset):
        self.dataset = dataset

    def __getitem__(self, k):
        return float(self.dataset[k])

    def read(self, lo, hi):
        return np.asarray(self.dataset[lo:hi]).ravel()


def _nwb_epochs(nwb, table_name, label, source):
    """Epochs from an interval table of the file (see :func:`load`), or None."""
    tables = dict(nwb.intervals) if nwb.intervals is not None else {}
    if table_name is None:
        table_name = "trials"
        if table_name not in tables:
            return None
    if table_name not in tables:
        raise SpikeDataError(f"has no interval table {table_name!r} (tables: "
                             f"{', '.join(map(repr, sorted(tables))) or 'none'})", source,
                             "intervals")
    table = tables[table_name]
    where = f"intervals/{table_name}"
    if not len(table):
        return None
    start = np.asarray(table["start_time"].data[:], dtype=np.float64)
    stop = np.asarray(table["stop_time"].data[:], dtype=np.float64)
    if label is None and "label" in table.colnames:
        label = "label"
    if label is None:
        labels = np.arange(start.size).astype(str)
    elif label not in table.colnames:
        raise SpikeDataError(f"has no column {label!r} (columns: "
                             f"{', '.join(map(repr, table.colnames))})", source, where)
    else:
        values = table[label][:]  # a ragged column gives one list per row
        labels = [",".join(map(_nwb_str, v)) if isinstance(v, (list, np.ndarray))
                  else _nwb_str(v) for v in values]
    try:
        return Epochs(start, stop, np.asarray(labels, dtype=str))
    except SpikeDataError as exc:
        raise SpikeDataError(exc.reason, source, where) from None


def nwb_interval_tables(path):
    """The interval tables of an NWB file and their columns, for choosing epochs:
    ``{table: [column, ...]}`` (start and stop times, tags and time-series references
    left out), read from the HDF5 layout without building the NWB object model.

    ``load(path, epochs=table, epoch_label=column)`` turns one of them into epochs. The
    file is walked for unsafe HDF5 features first, as :func:`load` does.
    """
    import h5py

    source = str(path)
    _check_hdf5(path, source, _Budget(None), ())
    out = {}
    with h5py.File(path, "r") as f:
        group = f.get("intervals")
        if not isinstance(group, h5py.Group):
            return out
        for name, table in group.items():
            if not isinstance(table, h5py.Group) or "start_time" not in table:
                continue
            names = table.attrs.get("colnames", [])
            columns = [_nwb_str(c) for c in np.atleast_1d(names)]
            out[str(name)] = [c for c in columns if c not in _NWB_INTERVAL_FIXED]
    return out


_NWB_INTERVAL_FIXED = ("start_time", "stop_time", "tags", "timeseries")


def _nwb_electrodes(units, n, source):
    """Per unit, its first electrode (row of the electrodes table, -1 if none) and that
    electrode's ``location`` and ``group_name`` (as ``electrode_group``)."""
    from hdmf.common.table import VectorIndex

    if "electrodes" not in units.colnames:
        return {}
    column = units["electrodes"]
    if isinstance(column, VectorIndex):  # several electrodes per unit
        ends = np.asarray(column.data[:], dtype=np.int64)
        rows = np.asarray(column.target.data[:], dtype=np.int64)
        table = column.target.table
    else:
        rows = np.asarray(column.data[:], dtype=np.int64)
        ends = np.arange(1, rows.size + 1)
        table = column.table
    if ends.size != n or (n and ends[-1] != rows.size) or np.any(np.diff(ends) < 0):
        raise SpikeDataError("electrodes index does not match its electrodes", source,
                             "units/electrodes")
    starts = np.concatenate([[0], ends[:-1]]).astype(np.int64)
    has = ends > starts
    first = np.full(n, -1, dtype=np.int64)
    first[has] = rows[starts[has]]
    n_rows = len(table)
    if np.any(first >= n_rows) or np.any(rows < 0):
        raise SpikeDataError(f"refers to electrode rows outside the electrodes table "
                             f"({n_rows} rows)", source, "units/electrodes")
    out = {"electrode": first}
    for col, key in (("location", "location"), ("group_name", "electrode_group")):
        if col in table.colnames:
            values = np.asarray([_nwb_str(v) for v in table[col].data[:]] + [""], dtype=str)
            out[key] = values[first]  # -1: the "" appended
    return out


def _nwb_str(v):
    return v.decode("utf-8", errors="replace") if isinstance(v, bytes) else str(v)


def _write_nwb(data, tmp):
    from datetime import UTC, datetime

    from pynwb import NWBHDF5IO, NWBFile

    if not data.n_units:
        raise SpikeDataError("cannot write a recording without units to NWB (its units "
                             "table cannot be empty)", where="units")
    nwb = NWBFile(session_description=str(data.annotations.get("session_description",
                                                               "spikelens export")),
                  identifier=str(uuid.uuid4()),
                  session_start_time=datetime.now(UTC))
    nwb.add_unit_column("unit_name", "unit id in spikelens")
    columns = {k: v for k, v in data.unit_annotations.items()
               if v.ndim == 1 and v.dtype.kind in "biufU" and k not in _NWB_RESERVED}
    for k in columns:
        nwb.add_unit_column(k, f"spikelens unit annotation {k}")
    for i, uid in enumerate(data.unit_ids.tolist()):
        nwb.add_unit(spike_times=np.asarray(data[i]), unit_name=uid, id=i,
                     obs_intervals=[[data.t_start, data.t_stop]],
                     **{k: v[i].item() for k, v in columns.items()})
    if data.epochs is not None and len(data.epochs):
        nwb.add_trial_column("label", "epoch label")
        for s, e, lab in zip(data.epochs.start.tolist(), data.epochs.stop.tolist(),
                             data.epochs.label.tolist()):
            nwb.add_trial(start_time=s, stop_time=e, label=lab)
    with NWBHDF5IO(str(tmp), "w") as io:
        io.write(nwb)


# ---------------------------------------------------------------------- phy / Kilosort
def _read_phy(folder, source, *, sort, t_start, t_stop, budget, within):
    def file(name):
        return _inside(folder / name, within)

    st_path = file("spike_times.npy")
    if not st_path.is_file():
        raise SpikeDataError("is not a phy/Kilosort folder (no spike_times.npy)", source)
    params_path = file("params.py")
    params = _read_params(params_path)
    if "sample_rate" not in params:
        raise SpikeDataError("has no sample_rate", str(params_path), "sample_rate")
    rate = params["sample_rate"]
    if isinstance(rate, bool) or not isinstance(rate, (int, float)) or \
            not math.isfinite(rate) or rate <= 0:
        raise SpikeDataError(f"sample_rate must be a positive number (Hz), got {rate!r}",
                             str(params_path), "sample_rate")
    samples = _load_npy(st_path, "iuf", budget)
    cl_path = file("spike_clusters.npy")
    if not cl_path.is_file():
        cl_path = file("spike_templates.npy")
        if not cl_path.is_file():
            raise SpikeDataError("has neither spike_clusters.npy nor spike_templates.npy",
                                 source)
    clusters = _load_npy(cl_path, "iu", budget)
    if clusters.size != samples.size:
        raise SpikeDataError(f"has {clusters.size} entries but spike_times.npy has "
                             f"{samples.size}", str(cl_path))
    if not samples.size:
        raise SpikeDataError("contains no spikes", str(st_path))
    times = samples.astype(np.float64) / float(rate)
    units = _codes_from_numpy(clusters, "cluster", str(cl_path))
    kwargs = _assemble(times, units, source=source, row=lambda r: f"spike {r}", sort=sort,
                       t_start=t_start, t_stop=t_stop)
    kwargs["unit_annotations"] = _phy_cluster_tables(folder, kwargs["unit_ids"], file)
    kwargs["annotations"] = {"format": "phy", **{k: v for k, v in params.items()
                                                 if isinstance(v, (str, int, float, bool))
                                                 or v is None}}
    return SpikeTrains(**kwargs)


def _load_npy(path, kinds, budget):
    try:
        with open(path, "rb") as fp:
            shape, dtype, head = _npy_header(fp)
    except Exception as exc:
        raise SpikeDataError(f"cannot read .npy file ({_describe(exc)})", str(path)) from exc
    _check_npy_size(shape, dtype, path.stat().st_size - head, str(path), None)
    budget.take(math.prod(shape) * dtype.itemsize, str(path), None)
    try:
        a = np.load(path, allow_pickle=False)
    except Exception as exc:
        raise SpikeDataError(f"cannot read .npy file ({_describe(exc)})", str(path)) from exc
    if a.ndim == 2 and 1 in a.shape:
        a = a.ravel()
    if a.ndim != 1:
        raise SpikeDataError(f"must be one-dimensional, got shape {a.shape}", str(path))
    if a.dtype.kind not in kinds:
        raise SpikeDataError(f"has dtype {a.dtype}; expected integers", str(path))
    return a


_PARAMS_MAX_BYTES = 1 << 20  # real params.py files are about ten lines


def _read_params(path):
    """Assignments ``name = <literal>`` of a phy ``params.py``, parsed, never executed."""
    if not path.is_file():
        raise SpikeDataError("is missing (it gives the sample_rate)", str(path))
    if path.stat().st_size > _PARAMS_MAX_BYTES:
        raise SpikeDataError("is larger than 1 MB; a phy params.py holds a few lines",
                             str(path))
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise SpikeDataError(f"cannot be read ({_describe(exc)})", str(path)) from exc
    try:
        return _parse_params(text)
    except (RecursionError, MemoryError):  # the parser's limits on nesting
        raise SpikeDataError("nests too deeply to be parsed", str(path)) from None


def _parse_params(text):
    """The literal assignments of a ``params.py`` source (see :func:`_read_params`)."""
    params = {}
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError):
        tree = None
    if tree is not None:
        for node in tree.body:
            if isinstance(node, ast.Assign) and len(node.targets) == 1 \
                    and isinstance(node.targets[0], ast.Name):
                try:
                    params[node.targets[0].id] = ast.literal_eval(node.value)
                except (ValueError, TypeError, SyntaxError, RecursionError):
                    pass  # not a literal (e.g. os.path.join(...)); ignored
        return params
    for line in text.splitlines():  # not valid Python as a whole: line by line
        m = re.match(r"^\s*([A-Za-z_]\w*)\s*=\s*(.+?)\s*$", line)
        if m:
            try:
                params[m.group(1)] = ast.literal_eval(m.group(2))
            except (ValueError, TypeError, SyntaxError, RecursionError):
                pass
    return params


def _phy_cluster_tables(folder, unit_ids, file):
    """Per-unit annotations from cluster_info.tsv, cluster_KSLabel.tsv, cluster_group.tsv
    (``file(name)`` gives the path, checked); messages never quote the tables' lines."""
    ann = {}
    for name in ("cluster_info.tsv", "cluster_KSLabel.tsv", "cluster_group.tsv"):
        p = file(name)
        if not p.is_file():
            continue
        try:
            df = pd.read_csv(p, sep="\t")
        except pd.errors.EmptyDataError:
            raise SpikeDataError("is empty (expected a header with cluster_id)", str(p)) \
                from None
        except Exception as exc:
            raise SpikeDataError(f"cannot be read as a tab-separated table "
                                 f"({type(exc).__name__})", str(p)) from None
        id_col = "cluster_id" if "cluster_id" in df else "id" if "id" in df else None
        if id_col is None:
            raise SpikeDataError(f"its header row of {len(df.columns)} column(s) has no "
                                 f"cluster_id column", str(p), "columns")
        ids = df[id_col]
        if not pd.api.types.is_integer_dtype(ids):
            raise SpikeDataError("cluster_id values must be integers", str(p), id_col)
        df = df.assign(**{id_col: ids.astype(np.int64).astype(str)})
        df = df.drop_duplicates(id_col, keep="last").set_index(id_col).reindex(unit_ids)
        for col in df.columns:
            key = str(col)
            if name == "cluster_group.tsv" and key in ("group", "KSLabel"):
                key = "group"  # the curated label
            ann[key] = _phy_column(df[col])
    return ann


def _phy_column(series):
    if pd.api.types.is_bool_dtype(series) and not series.isna().any():
        return series.to_numpy(dtype=bool)
    if pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series):
        if pd.api.types.is_integer_dtype(series) and not series.isna().any():
            return series.to_numpy(dtype=np.int64)
        return series.to_numpy(dtype=np.float64, na_value=np.nan)
    return np.asarray(["" if pd.isna(v) else str(v) for v in series], dtype=str)


#: formats whose reader reads only the part that ``load(..., window=, units=)`` asks for
_RESTRICTED = ("npz", "parquet", "nwb")
_READERS = {"nix": _read_nix, "nwb": _read_nwb, "phy": _read_phy, "csv": _read_csv,
            "parquet": _read_parquet, "npz": _read_npz}
_WRITERS = {"nix": _write_nix, "nwb": _write_nwb, "csv": _write_csv,
            "parquet": _write_parquet, "npz": _write_npz}
