"""The run lifecycle every page shares, written once.

A page runs long work (loading a file, a method's steps, its comparisons and sweeps) in the
server's worker pools (``dashboard.workers``). :class:`JobPage` owns what every such job
needs: the Cancel button, the progress bar and its text, the error alert, the ``state`` a
test or the UI can watch, the session's busy flag and activity (shown in the header), one
job at a time, and dropping a result whose data changed while it ran. Cancel acts on the
page within a fraction of a second, even inside a step without a checkpoint; the work
itself stops at its next checkpoint. :class:`AnalysisPage` adds the Run button, the
"stale settings" alert and the summary. A page builds its own controls and views around
these and calls :meth:`JobPage._in_worker` with the work to do. What the page showed
before (data, results) stays during a job and after a cancelled or failed one.

Every page with figures gets a **Figures** row (:meth:`JobPage._figures_row`): each
HoloViews plot the page shows, as PNG or SVG, drawn on the server in a worker thread
(``dashboard.figures``). An analysis page's settings travel in the URL
(:meth:`AnalysisPage.url_values`, ``dashboard.history``), so a reload or Back keeps them
even before a run.
"""

from __future__ import annotations

import io as _io
import logging
import os
import tempfile
import threading
import time

import panel as pn
import param
from panel.viewable import Viewer

from analysis.errors import SpikeDataError

from . import figures, history, widgets, workers
from .state import Session
from .text import escape_html, escape_markdown
from .workers import Cancelled, TimeLimitExceeded

log = logging.getLogger(__name__)

#: Fewest seconds between two progress messages that do not move the bar (a run may report
#: more often; a report that moves the bar, and a run's last, is always sent).
PROGRESS_INTERVAL_S = 0.25

#: What the results' Download button writes: the main table, or the whole result as the
#: ``.npz`` that ``analysis.load_result`` reads back (no recomputation)
DOWNLOADS = {"Table (CSV)": ".csv", "Table (Parquet)": ".parquet",
             "Result (.npz for Python)": ".npz"}


class JobPage(Viewer):
    """Base of every page that runs work in a worker: the job lifecycle (see the module
    docstring)."""

    session = param.ClassSelector(class_=Session)
    state = param.Selector(default="idle", objects=["idle", "running", "done", "cancelled",
                                                    "failed"], precedence=-1, doc="""
        What the last job did.""")

    #: The worker pool the page's jobs run in (``dashboard.workers``).
    pool_kind = "analysis"
    #: Whether the page's jobs report how far they are (else the bar just moves).
    reports_progress = True
    #: What stays on the page after a cancelled job, for its message.
    kept_text = ": the results shown are from the last finished run"

    def _init_job_controls(self, run_label="Run",
                           cancel_help="Stop the running computation; the last results stay."):
        """Build the controls every job needs; call from the subclass's ``__init__``."""
        controls = widgets.run_controls(run_label)
        self._status = controls.status
        self._progress, self._progress_text = controls.progress, controls.progress_text
        self._cancel_button = pn.widgets.Button(
            label="Cancel", color="danger", variant="outline", disabled=True,
            sizing_mode="stretch_width", description=cancel_help)
        self._cancel_button.on_click(self.cancel)
        self._cancel = threading.Event()
        self._running = False
        self._job_buttons = []  # disabled while a job goes on
        return controls

    @property
    def figure_stem(self):
        """File names of the page's figures start with this (``<stem>_<title>.png``)."""
        return type(self).__name__.lower().removesuffix("page") or "figure"

    def _figures_row(self):
        """"Figures": pick one of the page's plots, PNG or SVG, and download it. The list
        follows the plots the page shows; the drawing runs in a worker thread."""
        if getattr(self, "_figure_select", None) is None:
            self._figure_select = pn.widgets.Select(options=[], width=230, margin=(5, 5),
                                                    description="A plot of this page")
            self._figure_format = pn.widgets.RadioButtonGroup(
                options=list(figures.FORMATS), value="PNG", width=110, margin=(5, 5),
                color="primary", variant="outline")
            self._figure_download = pn.widgets.FileDownload(
                callback=self._figure_file, filename="figure.png", label="Download figure",
                color="primary", variant="outline", width=160, disabled=True,
                description="The plot as it is shown now (its zoom, its highlight), drawn "
                            "on the server: PNG, or SVG for editing and print.")
            self._figure_select.param.watch(self._on_figure_choice, "value")
            self._figure_format.param.watch(self._on_figure_choice, "value")
            self.param.watch(self._figures_changed,
                             [n for n in self.param if n not in ("name", "session")])
            self._figures_pending = False
            doc = pn.state.curdoc
            if doc is not None and doc.session_context is not None:
                # the plots the page shows once its layout is built
                self._figures_pending = True
                doc.add_next_tick_callback(self.refresh_figures)
        self._figures_box = pn.Row(
            pn.pane.Markdown("**Figures**", margin=(12, 5, 5, 5), width=70),
            self._figure_select, self._figure_format, self._figure_download,
            sizing_mode="stretch_width", visible=figures.available())
        return self._figures_box

    def _figures_changed(self, *events):
        """Refresh the list of figures once the page has drawn (after this callback)."""
        if getattr(self, "_figure_select", None) is None:
            return  # no Figures row (yet)
        doc = pn.state.curdoc
        if doc is None or doc.session_context is None:
            self.refresh_figures()
        elif not self._figures_pending:
            self._figures_pending = True
            doc.add_next_tick_callback(self.refresh_figures)

    def page_figures(self):
        """``[(title, HoloViews object, pane)]`` of the plots the page shows now (in its
        built layout, ``_layout``, or its plots' column, ``_plots``: a page whose
        ``__panel__`` builds a new layout each time is not rebuilt for this)."""
        for name in ("_layout", "_plots"):
            area = getattr(self, name, None)
            if area is not None:
                return figures.figures_of(area)
        return []

    def refresh_figures(self):
        """Fill the list of figures with the plots the page shows now."""
        self._figures_pending = False
        if getattr(self, "_figure_select", None) is None:
            return
        found = self.page_figures()
        # the download draws the figure listed under its title now, even if a plot's
        # title changes once it is drawn
        self._figure_map = {title: (obj, pane) for title, obj, pane in found}
        titles = list(self._figure_map)
        if titles != self._figure_select.options:
            keep = self._figure_select.value
            self._figure_select.options = titles
            self._figure_select.value = keep if keep in titles else \
                (titles[0] if titles else None)
        self._figure_download.disabled = not titles
        self._on_figure_choice()

    def _on_figure_choice(self, *events):
        title = self._figure_select.value or "figure"
        self._figure_download.filename = figures.file_name(self.figure_stem, title,
                                                           self._figure_format.value)

    def figure_bytes(self, title, fmt="PNG"):
        """The figure ``title`` of the page drawn as ``fmt`` (PNG or SVG); runs in the
        calling thread (see ``_figure_file`` for the page's own download)."""
        found = dict(getattr(self, "_figure_map", None) or {})
        found.update({t: (obj, pane) for t, obj, pane in self.page_figures()})
        if title not in found:
            raise ValueError(f"Figure: {title!r} is not shown on this page")
        obj, pane = found[title]
        return figures.render(obj, fmt, figures.size_of(obj, pane))

    async def _figure_file(self):
        """The download's file: the chosen figure drawn in a worker thread of the "load"
        pool (short jobs; an analysis that runs on the page does not hold it up)."""
        title, fmt = self._figure_select.value, self._figure_format.value
        self._figure_download.filename = figures.file_name(self.figure_stem, title or "",
                                                           fmt)
        try:
            data = await workers.run(self.session.jobs,
                                     lambda: self.figure_bytes(title, fmt), kind="load",
                                     cancel=threading.Event())
        except Exception as exc:
            if not isinstance(exc, (ValueError, OSError, MemoryError, Cancelled)):
                log.exception("figure %s not drawn", title)
            self._show_message(f"Figure {title}: {' '.join(str(exc).split())}", "danger")
            raise
        return _io.BytesIO(data)

    def _has_kept(self):
        """Whether the page still shows something from before the cancelled job."""
        return getattr(self, "result", None) is not None

    @property
    def running(self):
        return self._running

    def cancel(self, event=None):
        """Stop the running computation at its next progress report."""
        if self._running:
            self._cancel.set()
            self._progress_text.object = "cancelling..."

    async def _in_worker(self, label, compute, data=None, current=None):
        """``compute()`` in a worker thread with progress, Cancel and one-line errors.

        ``current()`` (optional) returns the data the page shows now; when it is no longer
        ``data`` at the end, the result belongs to old data and is dropped. Returns the
        result, or None when the run did not finish (cancelled, failed, data changed).
        """
        if self._running:
            return None
        self._running = True
        self._cancel.clear()
        self.state = "running"
        self.session.busy = True
        self.session.activity = label
        with pn.io.hold():  # one message, so the browser lays the page out once
            for button in self._job_buttons:
                button.disabled = True
            self._cancel_button.disabled = False
            self._status.visible = False
            # without progress reports: a bar that moves without saying how far
            self._progress.value = 0 if self.reports_progress else -1
            self._progress.active = True
            self._progress.visible = self._progress_text.visible = True
            self._progress_text.object = ("starting..." if self.reports_progress
                                          else f"{label}...")
        try:
            try:
                out = await workers.run(self.session.jobs, compute, kind=self.pool_kind,
                                        cancel=self._cancel)
            except TimeLimitExceeded as exc:
                self._show_error(f"{label}: {exc}")
                return None
            except Cancelled:
                if self.session.jobs.ended.is_set():
                    return None  # nobody is looking any more
                self.state = "cancelled"
                kept = self.kept_text if self._has_kept() else ""
                self._show_message(f"{label} cancelled{kept}.", "info")
                if pn.state.notifications is not None:
                    pn.state.notifications.info(escape_html(f"{label} cancelled."),
                                                duration=4000)
                return None
            except (SpikeDataError, ValueError, TypeError, MemoryError, OSError) as exc:
                self._show_error(f"{label}: {exc}")
                return None
            except Exception as exc:  # unexpected: one line here, details in the log
                log.exception("%s failed", label)
                self._show_error(f"{label} failed: {type(exc).__name__}: {exc}")
                return None
            if current is not None and current() is not data:
                self.state = "idle"  # new data meanwhile: the page was reset for it
                return None
            self.state = "done"
            return out
        finally:
            self._running = False
            self.session.busy = False
            self.session.activity = ""
            with pn.io.hold():
                self._enable_buttons()
                self._cancel_button.disabled = True
                self._progress.active = False
                self._progress.visible = self._progress_text.visible = False

    def _enable_buttons(self):
        """After a run: the buttons that start work (a page may keep some disabled)."""
        for button in self._job_buttons:
            button.disabled = False

    def _on_progress(self, fraction, message):
        # called from the worker thread: raising here (Cancel, or the session ended) stops
        # the computation between two blocks of work
        workers.checkpoint()
        # a report that moves the bar is always sent; one that only changes the text at
        # most about 4 times a second: a run that reports every 0.15 s (assembly blocks)
        # kept the session's event loop busy with messages, and a Cancel click waited
        # behind them
        value = int(round(100 * fraction))
        now = time.monotonic()
        if value == self._progress.value and fraction < 1.0 \
                and now - getattr(self, "_progress_shown_at", 0.0) < PROGRESS_INTERVAL_S:
            return
        self._progress_shown_at = now
        self._progress.value = value
        self._progress_text.object = message

    def _show_message(self, text, kind):
        """One line of plain text in the page's alert (escaped here)."""
        self.session.message = text
        self._status.object = escape_markdown(text)
        self._status.alert_type = kind
        self._status.visible = True

    def _show_error(self, text):
        widgets.show_error(self.session, self._status, " ".join(str(text).split()))
        self._status.alert_type = "danger"
        self.state = "failed"


class AnalysisPage(JobPage):
    """Base of the analysis pages: a job page with a Run button, a "settings changed since
    the last run" alert and a summary."""

    #: file name stem of the results' downloads
    download_stem = "result"

    def _init_run_controls(self, run_label):
        """Build the shared controls; call from the subclass's ``__init__``."""
        controls = self._init_job_controls(run_label)
        self._stale, self._summary = controls.stale, controls.summary
        self._run_button = controls.run_button
        self._job_buttons.append(self._run_button)
        self._download_kind = pn.widgets.Select(options=list(DOWNLOADS), width=230,
                                                margin=(5, 5))
        self._result_download = pn.widgets.FileDownload(
            callback=self._download_bytes, filename=self._download_name(), label="Download",
            color="primary", variant="outline", width=140, disabled=True)
        self._download_kind.param.watch(
            lambda e: setattr(self._result_download, "filename", self._download_name()),
            "value")
        self.param.watch(self._on_result_for_download, "result")
        self.param.watch(self._on_result_for_session, "result")

    def _on_result_for_download(self, event):
        self._result_download.disabled = event.new is None
        self._result_download.filename = self._download_name()

    def _on_result_for_session(self, event):
        """Offer the new result's units (or epochs) to the Data page's restriction."""
        if event.new is None:
            return
        from analysis import methods

        method = methods.by_result(event.new)
        if method is not None:
            # a run's result gets the next run number; a restored one keeps its own
            self.session.number_run(method.key, event.new,
                                    new=not getattr(self, "_restoring", False))
            self.session.keep_result(method.key, event.new, self._result_recording())

    def _result_recording(self):
        """The recording the shown result was computed on (with its epochs)."""
        data = getattr(self, "_result_data", None)  # SPOTDis: its run's epochs
        if data is None and self.analysis_attr:
            data = getattr(getattr(self, self.analysis_attr, None), "data", None)
        return data

    #: the attribute that holds the page's analysis object
    analysis_attr = None

    def restore(self, result):
        """Show ``result`` (kept from an earlier visit, ``dashboard.work``) without
        computing: the analysis object takes the parameters it was computed with. Returns
        False when it does not belong to the data shown (then nothing changes)."""
        data = self.session.data
        summary = getattr(result, "data_summary", None) or {}
        if data is None or summary.get("units") != data.n_units \
                or summary.get("spikes") != data.n_spikes:
            return False
        obj = getattr(self, self.analysis_attr)
        settable = {k: (tuple(v) if isinstance(v, list) and isinstance(
                        obj.param[k], (param.Tuple, param.NumericTuple)) else v)
                    for k, v in (result.params or {}).items()
                    if k in obj.param and k not in ("name", "data", "data_j", "source",
                                                    "progress")}
        try:
            obj.param.update(**settable)
        except (ValueError, TypeError) as exc:
            log.warning("restoring %s: parameters not taken (%s)", type(self).__name__, exc)
        self._restoring = True  # a result shown again, not a new run (``number_run``)
        try:
            if not self._restore_result(result):
                return False
        finally:
            self._restoring = False
        self.state = "done"
        return True

    def _shows_settings(self):
        """Whether the result shown was computed with the analysis object's settings now
        (then a setting's watcher has nothing to rerun: e.g. a restore set them)."""
        obj = getattr(self, self.analysis_attr) if self.analysis_attr else None
        if obj is None or self.result is None or not getattr(self.result, "params", None):
            return False
        return _plain(obj.run_params()) == _plain(self.result.params)

    def _restore_result(self, result):
        """Show a kept result (see ``restore``); False when the page cannot."""
        raise NotImplementedError

    def _download_row(self):
        """The results' downloads: the table as CSV or Parquet, or the result as .npz; and
        under it each figure as PNG or SVG."""
        return pn.Column(pn.Row(self._download_kind, self._result_download),
                         self._figures_row(), sizing_mode="stretch_width")

    # ------------------------------------------------------------------ settings in the URL
    @property
    def url_prefix(self):
        """The URL keys' prefix (``<prefix>.<parameter>``): the key of the method whose
        page this is (``analysis.methods``), else the class name in lower case."""
        from analysis import methods

        here = f"{type(self).__module__}:{type(self).__name__}"
        for method in methods.methods():
            if method.page == here or method.page is type(self):
                return method.key
        return type(self).__name__.lower()

    @property
    def figure_stem(self):
        return self.url_prefix
    #: never from a URL: the data, and what the server decides (limits, scheduler)
    URL_NEVER = ("name", "data", "data_j", "source", "progress", "scheduler",
                 "memory_budget")

    def url_parameters(self):
        """The analysis object's parameters that the page shows as widgets: the ones a URL
        may set (a limit the page does not offer, such as a memory budget, never)."""
        if getattr(self, "_url_parameters", None) is None:
            obj = getattr(self, self.analysis_attr)
            names = []
            layout = self.__panel__()
            for pane in layout.select(pn.Param):
                if pane.object is obj:
                    names += list(pane.parameters or [])
            for widget in layout.select(pn.widgets.Widget):
                tag = getattr(widget, "_sets_parameter", None)
                if tag is not None and tag[0] is obj:
                    names.append(tag[1])
            self._url_parameters = [n for n in dict.fromkeys(names)
                                    if n in obj.param and n not in self.URL_NEVER
                                    and (obj.param[n].precedence or 0) >= 0]
        return self._url_parameters

    def url_values(self):
        """``{parameter: text}`` of the page's settings that are not at their defaults."""
        return history.url_values(getattr(self, self.analysis_attr), self.url_parameters())

    def apply_url_values(self, raw):
        """Take the settings ``raw`` (``{parameter: text}``, from the URL or the session's
        kept work). A value that does not fit is ignored and named in one line of the
        page's alert; returns those lines."""
        if not raw:
            return []
        _, notices = history.decode_params(getattr(self, self.analysis_attr),
                                           self.url_parameters(), raw, self.url_prefix)
        for line in notices:
            log.info("%s", line)
        if notices:
            self._show_message(" · ".join(notices), "warning")
        return notices

    def watch_url_values(self, callback):
        """Call ``callback(url_values())`` whenever one of the page's settings changes."""
        obj = getattr(self, self.analysis_attr)
        names = self.url_parameters()
        if names:
            obj.param.watch(lambda *events: callback(self.url_values()), names)

    def _download_name(self):
        return self.download_stem + DOWNLOADS[self._download_kind.value]

    def _table_frame(self):
        """The table the download writes (a page may add columns)."""
        from analysis.results import result_table

        return result_table(self.result, self._table_unit_ids())

    def _table_unit_ids(self):
        return None

    def _download_bytes(self):
        if self.result is None:
            return _io.BytesIO(b"")
        ext = DOWNLOADS[self._download_kind.value]
        if ext == ".csv":
            return _io.BytesIO(self._table_frame().to_csv(index=False).encode())
        with tempfile.TemporaryDirectory(prefix="spikelens-download-") as tmp:
            path = os.path.join(tmp, "out" + ext)
            if ext == ".parquet":
                self._table_frame().to_parquet(path, index=False)
            else:
                from analysis.results import save_result

                save_result(self.result, path)
            with open(path, "rb") as fh:
                return _io.BytesIO(fh.read())

    def _summary_text(self):
        """The summary of the shown result (the page's ``_result_summary``) and, for a
        result computed on a restricted recording, what it was restricted to."""
        text = self._result_summary()
        restricted = (getattr(self.result, "data_summary", None) or {}).get("restriction")
        if restricted:
            text += f"  \n*Restricted recording: {escape_markdown(restricted)}*"
        return text

    def _run_row(self):
        """Run and Cancel side by side, with the progress right under them."""
        return pn.Column(pn.Row(self._run_button, self._cancel_button,
                                sizing_mode="stretch_width"),
                         self._progress, self._progress_text, sizing_mode="stretch_width")


def _plain(value):
    """Parameter values compared as a results file stores them (tuples as lists, NumPy
    scalars as Python numbers)."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if hasattr(value, "item") and getattr(value, "ndim", 1) == 0:
        return value.item()
    return value
