"""Per-browser-session state shared by all pages of the app."""

import param

from analysis.spiketrains import SpikeTrains

from .workers import SessionJobs


class Session(param.Parameterized):
    """What one browser session has loaded. Every page holds a reference to the same object.

    A new ``Session`` is made for each browser session (``create_app`` runs per session), so
    two users never see each other's data.
    """

    data = param.ClassSelector(class_=SpikeTrains, allow_None=True, doc="The loaded recording.")
    source = param.String(default="", doc="Where the data came from (demo, simulator, file).")
    whole = param.ClassSelector(class_=SpikeTrains, allow_None=True, doc="""
        The whole recording last loaded, which restrictions and hand-overs start from
        (``data`` is it or a restriction of it); None: ``data`` itself.""")
    whole_source = param.String(default="", doc="Where ``whole`` came from.")
    results = param.Dict(default={}, doc="""
        This session's last result of each method on the whole recording or a restriction
        of it, ``{method key: (result, data it was computed on)}``: what the Data page's
        "from a result" choice offers (``dashboard.handover.result_choices``). Loading a new
        recording empties it; restricting keeps it.""")
    runs = param.Dict(default={}, doc="""
        How many runs each method has had in this session, ``{method key: count}``: a new
        result is numbered with the next one (``number_run``), the number that hand-over
        provenance names ("12 significant units of assembly run 2"). Kept over a reload
        (``dashboard.work``); loading a new recording does not reset it.""")
    page = param.String(default="", doc="""
        A page to show: set by a hand-over (e.g. "ASSET"), followed by the app's navigation.""")
    opened = param.Dict(default=None, allow_None=True, doc="""
        Results of an opened work file (``{method key: result}``) for the pages to show
        without computing; set by the Data page, taken by the app.""")
    busy = param.Boolean(default=False, doc="True while a long step runs.")
    activity = param.String(default="", doc="What the long step that runs is (the header shows it).")
    message = param.String(default="", doc="The last error or status line shown to the user.")

    def __init__(self, **params):
        super().__init__(**params)
        if self.whole is None and self.data is not None:
            self.whole, self.whole_source = self.data, self.source
        #: this session's share of the server's worker threads (``dashboard.workers``)
        self.jobs = SessionJobs()

    def load(self, data, source):
        """A new recording: it becomes the whole one, and the one shown."""
        self.results = {}
        self.whole, self.whole_source = data, source
        self.source = source
        self.data = data

    def restrict(self, data, page=None):
        """Show ``data``, a restriction of ``whole`` (``analysis.restrict``), and optionally
        go to ``page``."""
        self.source = self.whole_source
        self.data = data
        if page:
            self.page = ""
            self.page = page

    def keep_result(self, key, result, data):
        """Note method ``key``'s new ``result``, computed on ``data`` (a None result keeps
        the one before: it still names units of this recording)."""
        if result is not None and data is not None:
            self.results = {**self.results, key: (result, data)}

    def number_run(self, key, result, new=True):
        """The ordinal of ``result`` among method ``key``'s runs in this session (1 for the
        first), kept in ``result.data_summary["run"]`` so that it is saved, reloaded and
        opened with the result.

        A ``new`` result without a number gets the next one; a result that already has one
        (restored after a reload, opened from a file, shown again) keeps it, and later runs
        are numbered after it. Returns the number, or None (a restored result from before
        results were numbered).
        """
        summary = getattr(result, "data_summary", None)
        if not isinstance(summary, dict):
            return None
        n = summary.get("run")
        if not _is_count(n):
            if not new:
                return None
            n = int(self.runs.get(key, 0)) + 1
            summary["run"] = n
        if n > int(self.runs.get(key, 0)):
            self.runs = {**self.runs, key: n}
        return n

    def whole_recording(self):
        """(data, source) that restrictions start from."""
        if self.whole is not None:
            return self.whole, self.whole_source
        return self.data, self.source


def _is_count(value):
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


class ServerConfig(param.Parameterized):
    """What the lab's server allows; set once by ``spikelens serve`` (``dashboard.app.serve``)."""

    max_upload_mb = param.Integer(default=1000, bounds=(1, None), doc="""
        Largest upload in MB (the browser refuses larger files; the server checks again).""")
    max_run_minutes = param.Number(default=60, bounds=(0, None), inclusive_bounds=(False, True),
                                   doc="""
        Longest run of one analysis; a longer one stops with a message.""")
    work = param.Parameter(default=None, doc="""
        The server's ``dashboard.work.WorkStore`` (each session's work kept for a reload),
        or None: nothing is kept.""")
    open_work = param.String(default=None, allow_None=True, doc="""
        A work file (``.spikelens``) every new session opens (``spikelens serve --open``).""")
    data_dir = param.String(default=None, allow_None=True, doc="""
        A folder whose spike files every session may open (the "Server files" source).
        No page reads any other server path.""")


#: The running server's settings (one per process).
CONFIG = ServerConfig()
