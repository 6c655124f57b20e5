"""Analysis results as files: save a result, reopen it later without recomputing.

One result is one ``.npz`` file (a zip of ``.npy`` arrays, readable with
``numpy.load(path, allow_pickle=False)`` and from any language with a zip and an NPY
reader). It holds

* every array of the result as its own entry, bit for bit with its dtype and shape, and
* one entry, ``__spikelens_result__``: a JSON document (a 0-d unicode array) with the
  file format and its version, the result's kind (its class name), the spikelens version
  that wrote it, and every other field of the result -- parameters, scores, scalars --
  with references to the array entries.

Conversions, all undone on load:

* Python ``float`` is written in its shortest exact decimal form (NaN and infinities as
  JSON's ``NaN``/``Infinity`` tokens), so it reads back to the same float; NumPy scalars
  (``np.float32(…)``, ``np.int64(…)``) are stored as 0-d arrays and keep their type.
* ``tuple``, ``set``, ``frozenset`` and dicts with non-string keys are tagged in the JSON
  (``{"__tuple__": […]}`` …) and come back as the same types; ``None`` stays ``None``.
* pandas DataFrames store one entry per numeric or boolean column; object columns and
  pandas extension columns (``str``, ``Int64`` …) go into the JSON with their dtype.
* ASSET's SSEs (``{cluster: {(i, j): frozenset(neurons)}}``) are stored as integer arrays
  (cluster keys, pixels per cluster, pixel coordinates, CSR neuron lists).
* A parameter value that is not plain data (a callable, a client object) cannot be
  stored: it is written as its ``repr`` string and reads back as that string. Any other
  field of such a type is refused when saving.

Nothing is pickled, and ``load_result`` only builds the result classes it knows.
"""

from __future__ import annotations

import dataclasses
import json
import os
import zipfile
import zlib
from pathlib import Path

import numpy as np

from .errors import SpikeDataError
from .io import _Budget, _check_npz_members

__all__ = ["FORMAT", "FORMAT_VERSION", "load_result", "result_table", "save_result",
           "save_table"]

FORMAT = "spikelens-result"
FORMAT_VERSION = 1
HEADER = "__spikelens_result__"

# classes load_result may build besides the methods' result classes (analysis.methods):
# parts of a result; no other class is ever built
_NESTED = {"SpotDis": "analysis.spotdis.matrix:SpotDis",
           "SpotDisGraph": "analysis.spotdis.graph:SpotDisGraph",
           "SpikeShip": "analysis.spotdis.spikeship:SpikeShip",
           "PatternSequence": "analysis.spotdis.windows:PatternSequence"}
# result kinds that are not a registered method's result: the sliding-window time course
# (``SlidingWindows`` runs on the whole recording, beside SpotDisClust)
_EXTRA_KINDS = {"SlidingWindowsResult": "analysis.spotdis.windows:SlidingWindowsResult"}
_TAGS = ("__array__", "__tuple__", "__set__", "__frozenset__", "__dict__", "__dataframe__",
         "__dataclass__", "__repr__", "__sses__")


def _spikelens_version():
    try:
        from importlib.metadata import version
        return version("spikelens")
    except Exception:  # not installed (a plain checkout on sys.path)
        return "unknown"


def _result_kinds():
    """Result class name -> its "module:Class", for every registered method."""
    from . import methods

    return {**{m.result_name: m.result for m in methods.methods()}, **_EXTRA_KINDS}


def _buildable():
    """Class name -> "module:Class" of every class load_result may build."""
    return {**_NESTED, **_result_kinds()}


def _class(name):
    from .methods import resolve

    return resolve(_buildable()[name])


# ============================================================================ encoding
class _Encoder:
    """Turns a result into a JSON-able tree plus a dict of arrays."""

    def __init__(self):
        self.arrays = {}

    def _key(self, path):
        key = "".join(c if c.isalnum() or c in "._-" else "_" for c in path) or "array"
        base, n = key, 1
        while key in self.arrays or key == HEADER:
            n += 1
            key = f"{base}.{n}"
        return key

    def array(self, value, path):
        a = np.asarray(value)
        if a.dtype.hasobject:
            raise ValueError(f"{path}: cannot store an array of Python objects")
        key = self._key(path)
        self.arrays[key] = a
        return key

    def __call__(self, v, path, lenient=False):
        if v is None or isinstance(v, (bool, str)) or type(v) in (int, float):
            return v
        if isinstance(v, np.generic):
            return {"__array__": self.array(v, path), "scalar": True}
        if isinstance(v, np.ndarray):
            return {"__array__": self.array(v, path)}
        if isinstance(v, tuple):
            return {"__tuple__": [self(x, f"{path}.{i}", lenient) for i, x in enumerate(v)]}
        if isinstance(v, list):
            return [self(x, f"{path}.{i}", lenient) for i, x in enumerate(v)]
        if isinstance(v, (set, frozenset)):
            tag = "__frozenset__" if isinstance(v, frozenset) else "__set__"
            try:
                items = sorted(v)
            except TypeError:
                items = list(v)
            return {tag: [self(x, f"{path}.{i}", lenient) for i, x in enumerate(items)]}
        if isinstance(v, dict):
            if all(isinstance(k, str) and not k.startswith("__") for k in v):
                return {k: self(x, f"{path}.{k}", lenient) for k, x in v.items()}
            return {"__dict__": [[self(k, f"{path}.key{i}", lenient),
                                  self(x, f"{path}.{i}", lenient)]
                                 for i, (k, x) in enumerate(v.items())]}
        if dataclasses.is_dataclass(v) and not isinstance(v, type) \
                and type(v).__name__ in _buildable() and type(v) is _class(type(v).__name__):
            return self.dataclass(v, path)
        if type(v).__name__ == "DataFrame" and type(v).__module__.startswith("pandas"):
            return self.frame(v, path)
        if lenient:
            return {"__repr__": repr(v)}
        raise ValueError(f"{path}: cannot store a {type(v).__module__}.{type(v).__name__}")

    def dataclass(self, obj, path):
        name = type(obj).__name__
        fields = {}
        for f in dataclasses.fields(obj):
            value = getattr(obj, f.name)
            sub = f"{path}.{f.name}" if path else f.name
            if name == "AssetResult" and f.name == "sses":
                fields[f.name] = self.sses(value, sub)
            else:
                fields[f.name] = self(value, sub, lenient=f.name == "params")
        return {"__dataclass__": name, "fields": fields}

    def sses(self, sses, path):
        """{cluster: {(i, j): frozenset(neurons)}} as integer arrays."""
        keys, sizes, pixels, offsets, neurons = [], [], [], [0], []
        try:
            for k, sse in sses.items():
                keys.append(int(k))
                sizes.append(len(sse))
                for (i, j), members in sse.items():
                    pixels.append((int(i), int(j)))
                    members = sorted(int(u) for u in members)
                    neurons.extend(members)
                    offsets.append(offsets[-1] + len(members))
        except (TypeError, ValueError, AttributeError):
            raise ValueError(f"{path}: expected {{cluster: {{(i, j): set of neurons}}}}") \
                from None
        out = {"keys": np.array(keys, np.int64), "sizes": np.array(sizes, np.int64),
               "pixels": np.array(pixels, np.int64).reshape(-1, 2),
               "offsets": np.array(offsets, np.int64), "neurons": np.array(neurons, np.int64)}
        return {"__sses__": {k: self.array(a, f"{path}.{k}") for k, a in out.items()}}

    def frame(self, df, path):
        import pandas as pd

        if isinstance(df.columns, pd.MultiIndex) or isinstance(df.index, pd.MultiIndex):
            raise ValueError(f"{path}: cannot store a DataFrame with a MultiIndex")
        if df.columns.has_duplicates:
            raise ValueError(f"{path}: cannot store a DataFrame with duplicate column names")
        columns = []
        for i, name in enumerate(df.columns):
            columns.append(self.series(df.iloc[:, i], f"{path}.{name}", name))
        idx = df.index
        if isinstance(idx, pd.RangeIndex):
            index = {"range": [idx.start, idx.stop, idx.step]}
        else:
            index = self.series(idx.to_series(), f"{path}.index", None)
        index["name"] = self(idx.name, f"{path}.index.name")
        return {"__dataframe__": {"columns": columns, "index": index}}

    def series(self, s, path, name):
        import pandas as pd

        out = {"name": self(name, f"{path}.name")}
        dtype = s.dtype
        if isinstance(dtype, np.dtype) and not dtype.hasobject:
            out["values"] = {"__array__": self.array(s.to_numpy(), path)}
            return out
        text = str(dtype)
        if text != "object":
            try:
                same = pd.api.types.pandas_dtype(text) == dtype
            except TypeError:
                same = False
            if not same or text == "category":
                raise ValueError(f"{path}: cannot store a column of dtype {text}")
        values = s.astype(object).where(s.notna(), None) if text != "object" else s
        out["dtype"] = text
        out["values"] = [self(x, f"{path}.{i}") for i, x in enumerate(values.tolist())]
        return out


# ============================================================================ decoding
class _Corrupt(Exception):
    pass


class _Decoder:
    def __init__(self, arrays):
        self.arrays = arrays
        self.used = set()

    def array(self, key):
        if not isinstance(key, str) or key not in self.arrays:
            raise _Corrupt(f"the array entry {key!r} is missing")
        self.used.add(key)
        return self.arrays[key]

    def __call__(self, v):
        if v is None or isinstance(v, (bool, str, int, float)):
            return v
        if isinstance(v, list):
            return [self(x) for x in v]
        if not isinstance(v, dict):
            raise _Corrupt(f"unexpected JSON value {v!r:.40}")
        tag = next((t for t in _TAGS if t in v), None)
        if tag is None:
            return {k: self(x) for k, x in v.items()}
        body = v[tag]
        if tag == "__array__":
            a = self.array(body)
            if v.get("scalar"):
                if a.ndim != 0:
                    raise _Corrupt(f"the scalar entry {body!r} has shape {a.shape}")
                return a[()]
            return a
        if tag == "__tuple__":
            return tuple(self(x) for x in body)
        if tag == "__set__":
            return {self(x) for x in body}
        if tag == "__frozenset__":
            return frozenset(self(x) for x in body)
        if tag == "__dict__":
            return {_hashable(self(k)): self(x) for k, x in body}
        if tag == "__repr__":
            return str(body)
        if tag == "__sses__":
            return self.sses(body)
        if tag == "__dataframe__":
            return self.frame(body)
        return self.dataclass(body, v.get("fields"))

    def dataclass(self, name, fields):
        if name not in _buildable() or not isinstance(fields, dict):
            raise _Corrupt(f"unknown object type {name!r}")
        cls = _class(name)
        known = {f.name for f in dataclasses.fields(cls)}
        extra = sorted(set(fields) - known)
        if extra:
            raise _Corrupt(f"{name} has no field(s) {', '.join(extra)}")
        try:
            return cls(**{k: self(x) for k, x in fields.items()})
        except TypeError as exc:
            raise _Corrupt(f"cannot rebuild {name} ({exc})") from None

    def sses(self, body):
        a = {k: self.array(body[k]) for k in ("keys", "sizes", "pixels", "offsets", "neurons")}
        if a["sizes"].sum() != len(a["pixels"]) or len(a["offsets"]) != len(a["pixels"]) + 1 \
                or a["offsets"][-1] != len(a["neurons"]) or len(a["keys"]) != len(a["sizes"]):
            raise _Corrupt("the SSE arrays do not fit together")
        keys, sizes, offsets = (a[k].tolist() for k in ("keys", "sizes", "offsets"))
        pixels, neurons = a["pixels"].tolist(), a["neurons"].tolist()
        sses, p = {}, 0
        for k, n in zip(keys, sizes):
            sses[k] = {tuple(pixels[q]): frozenset(neurons[offsets[q]:offsets[q + 1]])
                       for q in range(p, p + n)}
            p += n
        return sses

    def frame(self, body):
        import pandas as pd

        def series(col):
            values = self(col["values"])
            if "dtype" not in col:
                return values
            if col["dtype"] == "object":
                out = np.empty(len(values), dtype=object)
                out[:] = values
                return out
            return pd.array(values, dtype=col["dtype"])

        index = body["index"]
        if "range" in index:
            idx = pd.RangeIndex(*index["range"], name=self(index["name"]))
        else:
            idx = pd.Index(series(index), name=self(index["name"]))
        cols = body["columns"]
        names = [self(c["name"]) for c in cols]
        return pd.DataFrame({n: series(c) for n, c in zip(names, cols)}, index=idx,
                            columns=names)


def _hashable(k):
    if isinstance(k, list):
        return tuple(_hashable(x) for x in k)
    if isinstance(k, np.ndarray):
        raise _Corrupt("an array cannot be a dict key")
    return k


# ============================================================================ public API
def _kind(result):
    name = type(result).__name__
    if name in _result_kinds() and type(result) is _class(name):
        return name
    raise TypeError(f"result: expected one of {', '.join(_result_kinds())}, got "
                    f"{type(result).__name__}")


def _atomic_write(path, write):
    """Call ``write(file)`` on a temporary file beside ``path``, then rename it to ``path``."""
    from .io import temp_path

    path = Path(os.fspath(path))
    tmp = temp_path(path)
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        try:
            tmp.unlink()
        except OSError:
            pass
        raise
    return path


def save_result(result, path, compress=True):
    """Write an analysis result to one ``.npz`` file (see the module docstring).

    Parameters
    ----------
    result : AssetResult, AssemblyResult, SpotDisClustResult or SlidingWindowsResult
    path : str or path-like
        The file to write, used as given (``.npz`` is the customary extension). The file
        is written beside it under a temporary name and renamed when complete, so a
        failure never leaves a partial file, and an existing file is replaced at once.
    compress : bool
        Deflate the arrays (smaller files; slower for large matrices).

    Returns
    -------
    pathlib.Path
        The file written.

    Raises
    ------
    TypeError
        When ``result`` is not one of the result classes.
    ValueError
        When a field holds something that cannot be stored (named by its path).
    """
    kind = _kind(result)
    enc = _Encoder()
    tree = enc.dataclass(result, "")
    header = {"format": FORMAT, "version": FORMAT_VERSION, "kind": kind,
              "spikelens_version": _spikelens_version(), "result": tree}
    arrays = dict(enc.arrays)
    arrays[HEADER] = np.array(json.dumps(header, allow_nan=True))
    savez = np.savez_compressed if compress else np.savez

    def write(tmp):
        with open(tmp, "wb") as fh:
            savez(fh, **arrays)
    return _atomic_write(path, write)


def load_result(path, expect=None, *, max_bytes=None):
    """Read a result written by ``save_result``; returns the same result class.

    Parameters
    ----------
    path : str or path-like
    expect : type, optional
        The result class the file must hold (the classes' ``load`` pass themselves).
    max_bytes : int, optional
        Memory budget for the file's arrays once decompressed, as in ``analysis.io.load``
        (default: half of the memory available now); checked before any entry is read.

    Raises
    ------
    SpikeDataError
        On one line naming the file, when it does not exist, is not a spikelens result
        file, has a format version this spikelens cannot read, is truncated or
        corrupted, or needs more memory than ``max_bytes``.
    """
    budget = _Budget(max_bytes)
    path = Path(os.fspath(path))
    source = str(path)
    if not path.exists():
        raise SpikeDataError("no such file", source)
    if path.is_file() and path.stat().st_size == 0:
        raise SpikeDataError("empty file (truncated?)", source)
    if path.is_dir():
        raise SpikeDataError("is a folder, not a spikelens result file", source)
    with open(path, "rb") as fh:
        magic = fh.read(4)
    if magic[:2] != b"PK":
        raise SpikeDataError("not a spikelens result file (not an NPZ archive)", source)
    try:
        with np.load(path, allow_pickle=False) as z:
            files = list(z.files)
            if HEADER not in files:
                if {"times", "offsets"} <= set(files):
                    raise SpikeDataError("holds spike trains, not an analysis result "
                                         "(read it with analysis.load)", source)
                raise SpikeDataError(
                    f"not a spikelens result file (no {HEADER} entry; entries: "
                    f"{', '.join(sorted(files)[:8]) or 'none'})", source)
            _check_npz_members(z.zip, source, budget)
            arrays = {k: z[k] for k in files}
    except SpikeDataError:
        raise
    except ValueError as exc:
        if "allow_pickle" in str(exc):
            raise SpikeDataError("holds a Python object array (pickled data is refused)",
                                 source) from None
        raise SpikeDataError(f"truncated or corrupted ({_describe(exc)})", source) from None
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, KeyError) as exc:
        raise SpikeDataError(f"truncated or corrupted ({_describe(exc)})", source) from None

    try:
        header = json.loads(str(arrays.pop(HEADER)[()]))
    except RecursionError:
        raise SpikeDataError(f"corrupted: the {HEADER} entry nests too deeply", source) \
            from None
    except (ValueError, TypeError) as exc:
        raise SpikeDataError(f"corrupted: the {HEADER} entry is not JSON ({_describe(exc)})",
                             source) from None
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise SpikeDataError("not a spikelens result file (its header names no "
                             f"{FORMAT!r} format)", source)
    version = header.get("version")
    if type(version) is not int or version < 1:
        raise SpikeDataError(f"unknown format version {version!r}", source)
    if version > FORMAT_VERSION:
        raise SpikeDataError(f"format version {version} is newer than this spikelens "
                             f"reads ({FORMAT_VERSION}); written by spikelens "
                             f"{header.get('spikelens_version', '?')}, update spikelens",
                             source)
    kind = header.get("kind")
    if kind not in _result_kinds():
        raise SpikeDataError(f"unknown result kind {kind!r}", source)
    if expect is not None and kind != expect.__name__:
        raise SpikeDataError(f"holds a {kind}, not a {expect.__name__}", source)
    tree = header.get("result")
    if not isinstance(tree, dict) or tree.get("__dataclass__") != kind:
        raise SpikeDataError(f"corrupted: the header holds no {kind}", source)
    dec = _Decoder(arrays)
    try:
        result = dec(tree)
    except RecursionError:
        raise SpikeDataError("corrupted: the result nests too deeply", source) from None
    except (_Corrupt, KeyError, TypeError, ValueError, IndexError, AttributeError) as exc:
        why = " ".join(str(exc).split()) if isinstance(exc, _Corrupt) else _describe(exc)
        raise SpikeDataError(f"corrupted: {why}", source) from None
    return result


def result_table(result, unit_ids=None):
    """The main table of a result as a DataFrame.

    ``AssetResult``: ``sse_table(unit_ids)``; ``AssemblyResult``: ``table``;
    ``SpotDisClustResult``: one row per epoch (``epoch``, ``label``, ``x``, ``y``, the
    t-SNE coordinates); ``SlidingWindowsResult``: its ``time_course()`` (one row per
    window).
    """
    import pandas as pd

    kind = _kind(result)
    if kind == "AssetResult":
        return result.sse_table(unit_ids)
    if kind == "AssemblyResult":
        return result.table
    if kind == "SlidingWindowsResult":
        return result.time_course()
    emb = np.asarray(result.embedding)
    return pd.DataFrame({"epoch": np.arange(len(result.labels)), "label": result.labels,
                         "x": emb[:, 0], "y": emb[:, 1]})


def save_table(result, path, unit_ids=None):
    """Write ``result_table(result, unit_ids)`` as Parquet (``.parquet``) or CSV (``.csv``).

    For reports and other tools; ``save_result`` is the file to reopen a result from.
    Written atomically like ``save_result``. Returns the path written.
    """
    path = Path(os.fspath(path))
    ext = path.suffix.lower()
    if ext not in (".parquet", ".csv"):
        raise ValueError(f"path: unknown table extension {path.suffix!r} of {path}; use "
                         f".parquet or .csv")
    table = result_table(result, unit_ids)
    if ext == ".parquet":
        return _atomic_write(path, lambda tmp: table.to_parquet(tmp, index=False))
    return _atomic_write(path, lambda tmp: table.to_csv(tmp, index=False))


def _describe(exc):
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
