"""Work that lasts a reload: each browser session's data and results, kept on the server.

A session gets a random token (``?work=<token>`` in its URL) and a random secret that only
its browser holds (a cookie named after the token, ``SameSite=Strict``). The server keeps
the session's loaded recording, its page, its pages' settings and each method's last
result in ``<work dir>/<token>/`` with a hash of the secret. A reload sends both back and restores
them without computing anything. Another browser (another cookie jar) that has, guesses
or is sent the token gets a fresh session: the folder opens only with the secret
(``hmac.compare_digest`` on its hash). Tokens are 128-bit random hex; a name that is not
one is never joined to a path.

Folders older than ``max_age_days`` are removed when the store starts; a recording larger
than ``max_data_mb`` is not kept (its results are, and the page says the data must be
loaded again). A restricted recording is kept with the whole one it was cut from
(``whole.npz``), so that **Whole recording** still works after a reload; both count
against ``max_data_mb`` together, and when both do not fit only the restriction is kept.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import re
import secrets
import shutil
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import param
from panel.custom import JSComponent

log = logging.getLogger(__name__)

TOKEN = re.compile(r"[0-9a-f]{32}")
COOKIE_PREFIX = "spikelens_work_"
#: How much lower than the server's the writer thread's CPU priority is (a nice increment)
WRITER_NICENESS = 10


def _lower_priority():
    """Give the writer thread a lower CPU priority than the sessions' threads: compressing a
    result (1.4 CPU s for the ASSET demo's five matrices) then waits while a page draws on a
    busy machine instead of taking a core from it. Linux keeps a nice value per thread;
    elsewhere this does nothing."""
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(),
                       os.getpriority(os.PRIO_PROCESS, 0) + WRITER_NICENESS)
    except (AttributeError, OSError):
        pass


#: Results are written in this one background thread, in order (never on the event loop).
_writer = ThreadPoolExecutor(1, thread_name_prefix="spikelens-work",
                             initializer=_lower_priority)


#: results kept beside a method's own (``Work.save_result`` with these keys; ``load`` gives
#: them as ``extras``; a work file holds them as ``result-<key>.npz``): key -> (the method
#: whose page shows it, the result class it must be). The SPOTDis page's sliding windows.
EXTRA_RESULTS = {"spotdis-windows": ("spotdis", "SlidingWindowsResult")}


def default_root():
    return os.path.join(tempfile.gettempdir(), f"spikelens-work-{os.getuid()}")


def _digest(secret):
    return hashlib.sha256(secret.encode()).hexdigest()


class WorkStore:
    """The server's folder of per-session work (see the module docstring)."""

    def __init__(self, root=None, max_age_days=7.0, max_data_mb=500):
        self.root = os.path.realpath(root or default_root())
        self.max_age_s = max_age_days * 86400
        self.max_data_bytes = int(max_data_mb * 1e6)
        os.makedirs(self.root, mode=0o700, exist_ok=True)
        self.sweep()

    def sweep(self):
        """Remove work folders not written for ``max_age_days``."""
        now = time.time()
        for name in os.listdir(self.root):
            path = os.path.join(self.root, name)
            if TOKEN.fullmatch(name) and os.path.isdir(path) \
                    and now - os.path.getmtime(path) > self.max_age_s:
                shutil.rmtree(path, ignore_errors=True)

    def new(self):
        """A new session's work: ``(Work, secret)``."""
        token, secret = secrets.token_hex(16), secrets.token_urlsafe(32)
        folder = os.path.join(self.root, token)
        os.makedirs(folder, mode=0o700)
        with open(os.path.join(folder, "owner"), "w") as fh:
            fh.write(_digest(secret))
        return Work(folder, token, self.max_data_bytes), secret

    def open(self, token, secret):
        """The work of ``token`` when ``secret`` is its owner's, else None."""
        if not isinstance(token, str) or not TOKEN.fullmatch(token) or not secret:
            return None
        folder = os.path.join(self.root, token)
        try:
            with open(os.path.join(folder, "owner")) as fh:
                owner = fh.read().strip()
        except OSError:
            return None
        if not hmac.compare_digest(owner, _digest(secret)):
            return None
        return Work(folder, token, self.max_data_bytes)


class Work:
    """One session's stored work: its recording, its page and its methods' last results."""

    def __init__(self, folder, token, max_data_bytes):
        self.folder, self.token, self.max_data_bytes = folder, token, max_data_bytes
        self._lock = threading.Lock()
        self._kept_whole = None  # the whole recording whole.npz holds (not written again)

    # -------------------------------------------------------------- writing
    def _state(self):
        try:
            with open(os.path.join(self.folder, "state.json")) as fh:
                return json.load(fh)
        except (OSError, ValueError):
            return {}

    def _write_state(self, **changes):
        with self._lock:
            state = {**self._state(), **changes}
            tmp = os.path.join(self.folder, "state.json.tmp")
            with open(tmp, "w") as fh:
                json.dump(state, fh)
            os.replace(tmp, os.path.join(self.folder, "state.json"))

    def save_page(self, page):
        _writer.submit(self._guard, self._write_state, page=page)

    def save_params(self, params):
        """Keep the analysis pages' settings (``{method key: {parameter: text}}``)."""
        _writer.submit(self._guard, self._write_state, params=params)

    def save_runs(self, runs):
        """Keep how many runs each method has had (``Session.runs``)."""
        _writer.submit(self._guard, self._write_state, runs=dict(runs))

    def save_data(self, data, source, whole=None, whole_source=""):
        """Keep the recording (in the background); drop the results of the one before.

        ``whole``: the whole recording ``data`` is a restriction of (``Session.whole``),
        kept beside it when both fit in ``max_data_mb``; None or ``data`` itself: none.
        """
        _writer.submit(self._guard, self._save_data, data, source, whole, whole_source)

    def _save_data(self, data, source, whole=None, whole_source=""):
        from analysis import io

        path = os.path.join(self.folder, "data.npz")
        whole_path = os.path.join(self.folder, "whole.npz")
        for name in os.listdir(self.folder):
            if name.startswith("result-"):
                os.remove(os.path.join(self.folder, name))
        size = _stored_bytes(data)
        if data is None or size > self.max_data_bytes:
            for old in (path, whole_path):
                if os.path.exists(old):
                    os.remove(old)
            self._kept_whole = None
            self._write_state(source=source, data_kept=False, whole_kept=False, results=[])
            return
        io.save(data, path)
        keep_whole = whole is not None and whole is not data \
            and size + _stored_bytes(whole) <= self.max_data_bytes
        if keep_whole and not (whole is self._kept_whole and os.path.exists(whole_path)):
            io.save(whole, whole_path)  # once per whole recording, not per restriction
        elif not keep_whole and os.path.exists(whole_path):
            os.remove(whole_path)
        self._kept_whole = whole if keep_whole else None
        self._write_state(source=source, data_kept=True, whole_kept=keep_whole,
                          whole_source=whole_source if keep_whole else "",
                          whole_dropped=whole is not None and whole is not data
                          and not keep_whole, results=[])

    def save_result(self, method, result):
        _writer.submit(self._guard, self._save_result, method, result)

    def _save_result(self, method, result):
        from analysis.results import save_result

        path = os.path.join(self.folder, f"result-{method}.npz")
        done = [m for m in self._state().get("results", []) if m != method]
        if result is None:
            if os.path.exists(path):
                os.remove(path)
        else:
            save_result(result, path)
            done.append(method)
        self._write_state(results=done)

    def _guard(self, write, *args, **kwargs):
        try:
            write(*args, **kwargs)
            os.utime(self.folder)
        except Exception:  # a full disk must not break the session: it just lasts less
            log.exception("could not keep the work of session %s", self.token)

    def flush(self):
        """Wait until every write asked for so far is done (tests, shutdown)."""
        _writer.submit(lambda: None).result()

    # -------------------------------------------------------------- reading
    def load(self):
        """``{"data", "source", "whole", "whole_source", "page", "results": {method:
        result}, "extras": {key: result}, "params": {method: {parameter: text}}}`` as
        kept (data None when it was not kept; whole None when ``data`` is the whole
        recording, or the whole one was too large to keep: then ``whole_dropped``;
        ``extras``: a page's further results, ``EXTRA_RESULTS``, which the page restores
        itself, ``keep_work``; the settings are text, checked by each page like a URL's;
        ``runs``: how many runs each method had, ``Session.runs``)."""
        from analysis import io
        from analysis.results import load_result

        state = self._state()
        path = os.path.join(self.folder, "data.npz")
        data = io.load(path) if state.get("data_kept") and os.path.exists(path) else None
        whole_path = os.path.join(self.folder, "whole.npz")
        whole = None
        if data is not None and state.get("whole_kept") and os.path.exists(whole_path):
            whole = io.load(whole_path)
            self._kept_whole = whole
        results, extras = {}, {}
        for method in state.get("results", []):
            try:
                result = load_result(os.path.join(self.folder, f"result-{method}.npz"))
            except Exception:  # noqa: BLE001 (a damaged file: that result is not restored)
                log.exception("result %s of work %s not restored", method, self.token)
                continue
            (extras if method in EXTRA_RESULTS else results)[method] = result
        params = state.get("params")
        params = {str(k): {str(n): str(t) for n, t in v.items()}
                  for k, v in params.items() if isinstance(v, dict)} \
            if isinstance(params, dict) else {}
        runs = state.get("runs")
        runs = {str(k): v for k, v in runs.items()
                if isinstance(v, int) and not isinstance(v, bool) and v > 0} \
            if isinstance(runs, dict) else {}
        return {"data": data, "source": state.get("source", ""), "page": state.get("page"),
                "runs": runs,
                "data_kept": state.get("data_kept", False), "whole": whole,
                "whole_source": state.get("whole_source", "") if whole is not None else "",
                "whole_dropped": bool(state.get("whole_dropped")) and data is not None,
                "results": results, "extras": extras, "params": params}

    def restore_data(self, session, kept):
        """Put the kept recording (``load()``) into ``session``: the whole recording, and
        the restriction of it that was shown."""
        if kept["data"] is None:
            return
        if kept["whole"] is not None:
            session.load(kept["whole"], kept["whole_source"])
            session.restrict(kept["data"])
        else:
            session.load(kept["data"], kept["source"])


def _stored_bytes(data):
    """About what a recording takes in memory and in its ``.npz``."""
    return 0 if data is None else 8 * data.n_spikes + 16 * data.n_units


class WorkTag(JSComponent):
    """Puts the session's work token in the URL (``?work=``) and, for a new work, its
    secret in a cookie only this browser sends back (``SameSite=Strict``, 30 days)."""

    token = param.String(default="")
    secret = param.String(default="")

    _esm = """
    export function render({ model }) {
      if (model.token) {
        const url = new URL(window.location.href)
        if (url.searchParams.get("work") !== model.token) {
          url.searchParams.set("work", model.token)
          window.history.replaceState(window.history.state, "", url)
        }
        if (model.secret) {
          document.cookie = `COOKIE_PREFIX${model.token}=${model.secret}; ` +
                            `path=${window.location.pathname}; max-age=2592000; SameSite=Strict`
        }
      }
      return document.createElement("span")
    }
    """.replace("COOKIE_PREFIX", COOKIE_PREFIX)


# ---------------------------------------------------------------------- work files
#: The extension of a work file (Save work / Open work): a zip of the session's recording
#: and its methods' results, which reopens without computing.
WORK_SUFFIX = ".spikelens"


def write_work_file(data, source, results):
    """The bytes of a work file: ``data`` (SpikeTrains), its ``source`` and ``results``
    (``{method key: result}``, and ``{EXTRA_RESULTS key: result}`` for a page's further
    results)."""
    import io as _io
    import zipfile

    from analysis import io
    from analysis.results import save_result

    buf = _io.BytesIO()
    with tempfile.TemporaryDirectory(prefix="spikelens-work-file-") as tmp, \
            zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as zf:
        state = {"format": "spikelens work", "version": 1, "source": source,
                 "results": sorted(results)}
        zf.writestr("state.json", json.dumps(state))
        if data is not None:
            path = os.path.join(tmp, "data.npz")
            io.save(data, path)
            zf.write(path, "data.npz")
        for key, result in results.items():
            path = os.path.join(tmp, f"result-{key}.npz")
            save_result(result, path)
            zf.write(path, f"result-{key}.npz")
    return buf.getvalue()


def read_work_file(content, name, max_bytes, keys):
    """``{"data", "source", "results": {key: result}}`` from the bytes of a work file.

    The file is an upload, so: only ``state.json``, ``data.npz`` and ``result-<key>.npz``
    for the method ``keys`` (and the ``EXTRA_RESULTS`` of those methods) may be in it,
    their unpacked sizes count against ``max_bytes`` before anything is unpacked, each
    array file is read within that budget, and each result must be its key's class. Raises
    SpikeDataError (one line, naming ``name``) otherwise.
    """
    import io as _io
    import zipfile

    from analysis import io, methods
    from analysis.errors import SpikeDataError
    from analysis.results import load_result

    kinds = {m.key: m.result_name for m in methods.methods() if m.key in keys}
    kinds.update({k: kind for k, (owner, kind) in EXTRA_RESULTS.items() if owner in keys})
    keys = list(kinds)
    allowed = {"state.json", "data.npz"} | {f"result-{k}.npz" for k in keys}
    try:
        zf = zipfile.ZipFile(_io.BytesIO(content))
    except zipfile.BadZipFile:
        raise SpikeDataError("not a spikelens work file (not a zip archive)", name) from None
    with zf, tempfile.TemporaryDirectory(prefix="spikelens-open-work-") as tmp:
        infos = zf.infolist()
        names = [i.filename for i in infos]
        unknown = sorted(set(names) - allowed)
        if unknown or len(names) != len(set(names)) or "state.json" not in names:
            what = f"unexpected entry {unknown[0]!r}" if unknown else "no state.json"
            raise SpikeDataError(f"not a spikelens work file ({what})", name)
        total = sum(i.file_size for i in infos)
        if total > max_bytes:
            raise SpikeDataError(f"unpacks to {total / 1e6:.0f} MB, more than this server "
                                 f"allows ({max_bytes / 1e6:.0f} MB)", name)
        state_info = zf.getinfo("state.json")
        if state_info.file_size > 1_000_000:
            raise SpikeDataError("state.json is larger than 1 MB", name)
        try:
            state = json.loads(zf.read("state.json"))
        except ValueError:
            raise SpikeDataError("state.json is not JSON", name) from None
        if not isinstance(state, dict) or state.get("format") != "spikelens work":
            raise SpikeDataError("state.json does not describe spikelens work", name)
        data, results = None, {}
        try:
            if "data.npz" in names:
                zf.extract("data.npz", tmp)
                data = io.load(os.path.join(tmp, "data.npz"), max_bytes=max_bytes,
                               within=tmp)
            for key in keys:
                entry = f"result-{key}.npz"
                if entry in names:
                    zf.extract(entry, tmp)
                    results[key] = load_result(os.path.join(tmp, entry),
                                               max_bytes=max_bytes)
                    found = type(results[key]).__name__
                    if found != kinds[key]:
                        raise SpikeDataError(f"{entry} holds a {found}, not a {kinds[key]}")
        except (SpikeDataError, ValueError) as exc:
            text = " ".join(str(exc).replace(tmp + os.sep, "").split())
            raise SpikeDataError(text, name) from None
    source = state.get("source")
    return {"data": data, "source": str(source) if source else name, "results": results}


def show_results(results, page_of):
    """Show a work file's ``results`` (``read_work_file``) on their pages without
    computing: each method's result (``page.restore``), then the ``EXTRA_RESULTS`` beside
    them (``page.restore_extra``, kept with the session's work). ``page_of(method key)``
    gives the page, built if need be, or None. Returns the keys shown."""
    shown = []
    main = [k for k in results if k not in EXTRA_RESULTS]
    for key in main + [k for k in results if k in EXTRA_RESULTS]:
        owner = EXTRA_RESULTS[key][0] if key in EXTRA_RESULTS else key
        page = page_of(owner)
        if page is None:
            continue
        try:
            done = page.restore_extra(key, results[key], keep=True) \
                if key in EXTRA_RESULTS else page.restore(results[key])
        except Exception:  # noqa: BLE001 (a result that does not fit: not shown)
            log.exception("opened result %s not shown", key)
            continue
        if done is not False:
            shown.append(key)
    return shown
