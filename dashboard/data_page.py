"""The Data page: choose a demo, a simulator or a file; see its summary, raster and rate."""

from __future__ import annotations

import io as _io
import logging
import os
import re
import tempfile

import holoviews as hv
import numpy as np
import panel as pn
import param

from analysis import demo, io, simulate
from analysis.errors import SpikeDataError
from analysis.restrict import restrict, restriction_of

from . import simulator_form, views
from .handover import result_choices
from .page_base import JobPage
from .state import CONFIG
from .text import Markdown, escape_markdown
from .upload import BoundedFileDropper
from .widgets import OptionalFloatInput
from .work import WORK_SUFFIX, read_work_file

log = logging.getLogger(__name__)

UPLOAD_TYPES = [".npz", ".nix", ".nwb", ".parquet", ".csv", ".zip", WORK_SUFFIX]
SERVER_TYPES = [".npz", ".nix", ".nwb", ".parquet", ".csv"]
#: An upload may expand to at most this many times the upload limit (zip and compression
#: bombs): the unpacked zip, and the arrays any reader allocates.
ZIP_EXPANSION_LIMIT = 20
#: Most entries a zipped phy folder may have (a real one has a few dozen).
ZIP_MAX_ENTRIES = 1000
#: Seconds between checks for an upload whose next chunk never came.
STALLED_UPLOAD_CHECK_MS = 5000
#: The "where" choice that keeps units whatever their annotations.
ANY = "(any)"
#: Most values of a unit annotation offered in the "where" choice.
MAX_WHERE_VALUES = 500
#: The epochs choice "no epochs" for an NWB file.
NO_EPOCHS = "(no epochs)"
DOWNLOAD_FORMATS = {"NPZ": ".npz", "Parquet": ".parquet", "CSV": ".csv", "NIX": ".nix"}
#: The "from a result" choice that takes no result's units.
NO_RESULT = "(none)"
#: The restriction window drawn on the raster (start/end in s; None: no window).
WindowBand = hv.streams.Stream.define("WindowBand", start=None, end=None)


def window_band(start=None, end=None):
    """The chosen time window as a band across the raster (nothing when there is none)."""
    spans = [] if start is None or end is None else [(float(start), float(end))]
    return hv.VSpans(spans, kdims=["time (s)", "unit"]).opts(
        color="#f0a30a", alpha=0.25, line_width=0)


class DataPage(JobPage):
    """Load data into the session and look at it."""

    pool_kind = "load"
    reports_progress = False
    kept_text = ": the data shown is still the recording loaded before"
    source_kind = param.Selector(default="Demo", objects=["Demo", "Simulator", "Upload",
                                                          "Server files"], label="Source")
    server_file = param.Selector(default=None, objects=[], label="File", doc="""
        A spike file (or phy folder) in the server's data folder.""")
    demo_name = param.Selector(default=demo.DEFAULT, objects=list(demo.DEMOS), label="Demo")
    simulator = param.Selector(default="synfire_chain", objects=list(simulate.SIMULATORS),
                               label="Simulator")
    download_format = param.Selector(default="NPZ", objects=list(DOWNLOAD_FORMATS),
                                     label="Download as")

    def __init__(self, **params):
        super().__init__(**params)
        self._settings = {}
        self._init_job_controls(cancel_help="Stop loading; the data loaded before stays.")
        self._load_button = pn.widgets.Button(label="Load demo", color="primary")
        self._load_button.on_click(self._on_load_demo)
        self._sim_button = pn.widgets.Button(label="Simulate", color="primary")
        self._sim_button.on_click(self._on_simulate)
        # no accepted_filetypes: the browser widget checks MIME types and refuses .parquet
        # and .nix; load_uploaded checks the extension and says what it accepts
        self._max_upload_mb = CONFIG.max_upload_mb
        self._data_dir = CONFIG.data_dir
        if self._data_dir is None:
            self.param.source_kind.objects = ["Demo", "Simulator", "Upload"]
        self._server_button = pn.widgets.Button(label="Open file", color="primary")
        self._server_button.on_click(self._on_open_server_file)
        self._reload = None  # (label, loader) of the NWB file shown, to load it again
        self._nwb_tables = {}
        self._epoch_table = pn.widgets.Select(
            label="Epochs from (interval table)", options=[NO_EPOCHS],
            description="Which of the NWB file's interval tables (trials, epochs, stimulus "
                        "presentations ...) becomes the recording's epochs.")
        self._epoch_label = pn.widgets.Select(
            label="Epoch labels (column)", options=["(epoch number)"],
            description="The column of that table that labels each epoch (e.g. the "
                        "stimulus or condition).")
        self._epoch_table.param.watch(lambda e: self._fill_label_columns(), "value")
        self._epochs_button = pn.widgets.Button(label="Use these epochs", color="primary")
        self._epochs_button.on_click(self._on_apply_epochs)
        self._nwb_box = pn.Column(Markdown("**NWB epochs**"), self._epoch_table,
                                  self._epoch_label, self._epochs_button, visible=False,
                                  sizing_mode="stretch_width")
        self._init_restrict_controls()
        self._job_buttons += [self._load_button, self._sim_button, self._server_button,
                              self._epochs_button, self._restrict_button, self._all_button]
        self._dropper = BoundedFileDropper(
            multiple=False, max_file_size=f"{self._max_upload_mb}MB",
            max_bytes=int(self._max_upload_mb * 1e6), chunk_size=10_000_000,
            sizing_mode="stretch_width")
        self._dropper.param.watch(self._on_upload, "value")
        self._dropper.param.watch(self._on_upload_refused, "refused")
        if pn.state.curdoc is not None and pn.state.curdoc.session_context is not None:
            pn.state.add_periodic_callback(self._dropper.expire,
                                           period=STALLED_UPLOAD_CHECK_MS)
        self._download = pn.widgets.FileDownload(
            callback=self._download_bytes, filename=self._download_name(),
            label="Download data", disabled=True)
        self.param.watch(lambda e: setattr(self._download, "filename",
                                           self._download_name()), "download_format")
        self.session.param.watch(self._on_data, "data")
        self._plots = pn.Column(sizing_mode="stretch_width")
        self._summary = pn.pane.DataFrame(None, index=False, sizing_mode="stretch_width")
        if self.session.data is not None:
            self._on_data()

    # ------------------------------------------------------------------ loading
    def _settings_for(self, name):
        if name not in self._settings:
            cls = simulator_form.settings_class(name, simulate.SIMULATORS[name])
            self._settings[name] = cls()
        return self._settings[name]

    def _has_kept(self):
        return self.session.data is not None

    async def _run_in_worker(self, label, func):
        """Load with ``func`` in a worker of the load pool (progress, Cancel, one-line
        errors); the loaded data replaces the session's only when it finished."""
        data = await self._in_worker(f"Loading {label}", func)
        if data is not None:
            self._nwb_box.visible = False  # shown again by _load_file for an NWB file
            self.session.load(data, label)

    async def _on_load_demo(self, event=None):
        name = self.demo_name
        await self._run_in_worker(f"demo '{name}'", lambda: demo.load_demo(name))

    async def _on_simulate(self, event=None):
        settings = self._settings_for(self.simulator)
        await self._run_in_worker(f"simulator {self.simulator}",
                                  lambda: simulator_form.call(settings))

    async def _on_upload(self, event):
        if not event.new:
            return
        filename, content = next(iter(event.new.items()))  # the dropper holds one file
        limit = self._max_upload_mb
        if filename.lower().endswith(WORK_SUFFIX):
            await self._open_work(filename, content, limit)
            return
        if filename.lower().endswith(".npz") and is_result_file(content):
            return await self._open_result(filename, content, limit)
        await self._load_file(f"file '{filename}'", lambda tables, **options: load_uploaded(
            filename, content, limit, tables, **options))

    async def _open_work(self, filename, content, limit):
        """Open a work file (Save work): its recording, and its results on their pages
        without computing."""
        from analysis import methods

        keys = [m.key for m in methods.methods()]
        budget = int(ZIP_EXPANSION_LIMIT * limit * 1e6)
        work = await self._in_worker(f"Opening work '{filename}'", lambda: read_work_file(
            content, os.path.basename(filename), budget, keys))
        if work is None:
            return
        if work["data"] is None:
            self._show_error(f"{filename}: the work file holds no recording")
            return
        self._nwb_box.visible = False
        self.session.load(work["data"], work["source"])
        self.session.opened = work["results"]

    async def _open_result(self, filename, content, limit):
        """Open a saved result (``.npz`` of ``analysis.results``, e.g. a page's download) on
        its page without computing, when it belongs to the recording loaded now; else say
        which recording it needs. Returns the title of the page that shows it, or None."""
        base = os.path.basename(filename)
        result = await self._in_worker(f"Opening result '{base}'",
                                       lambda: load_uploaded_result(base, content, limit))
        if result is None:
            return
        method = method_of(result)
        if method is None:
            self._show_error(f"{base}: a saved {type(result).__name__}, which no page shows")
            return
        summary = getattr(result, "data_summary", None) or {}
        data = self.session.data
        if data is None or summary.get("units") != data.n_units \
                or summary.get("spikes") != data.n_spikes:
            source = summary.get("source") or "another recording"
            self._show_error(
                f"{base}: a saved {method.title} result of {source} "
                f"({summary.get('units', '?')} units, {summary.get('spikes', '?')} spikes), "
                f"not of the recording loaded now: load that recording first, then drop "
                f"the result again")
            return
        self.session.opened = {method.key: result}
        self._show_message(f"{base}: the {method.title} result is shown on the "
                           f"{method.page_title} page (not computed again)", "success")
        return method.page_title

    def _on_upload_refused(self, event):
        if event.new:
            self._show_error(f"Upload: {event.new}")

    def refresh_server_files(self):
        """List the data folder again (files may come and go)."""
        files = list_data_files(self._data_dir) if self._data_dir else []
        self.param.server_file.objects = files
        if self.server_file not in files:
            self.server_file = files[0] if files else None
        self._server_button.disabled = not files

    async def _on_open_server_file(self, event=None):
        name = self.server_file
        if name is None:
            self._show_error("Server files: no file chosen")
            return
        folder = self._data_dir
        await self._load_file(f"server file '{name}'", lambda tables, **options:
                              load_server_file(folder, name, tables, **options))

    # ------------------------------------------------------------------ NWB epochs
    async def _load_file(self, label, loader, **options):
        """Load a file with ``loader(tables, **options)``; for an NWB file, offer its
        interval tables as epochs (``_nwb_box``) and remember how to load it again."""
        tables = {}
        before = self.session.data
        await self._run_in_worker(label, lambda: loader(tables, **options))
        if self.session.data is before:  # failed or cancelled: the earlier choice stays
            return
        self._reload = (label, loader) if tables else None
        self._show_nwb_tables(tables, options.get("epochs"), options.get("epoch_label"))

    def _show_nwb_tables(self, tables, table=None, column=None):
        self._nwb_tables = tables
        self._nwb_box.visible = bool(tables)
        if not tables:
            return
        data = self.session.data
        if table is None:  # what load chose: "trials" when there is one
            table = "trials" if data.epochs is not None and "trials" in tables else NO_EPOCHS
        ordered = sorted(tables, key=lambda t: (t != "trials", t))  # trials first
        self._epoch_table.options = [NO_EPOCHS, *ordered]
        self._epoch_table.value = table
        self._fill_label_columns(column)

    def _fill_label_columns(self, column=None):
        columns = self._nwb_tables.get(self._epoch_table.value, [])
        self._epoch_label.options = ["(epoch number)", *columns]
        if column is None and "label" in columns:
            column = "label"
        self._epoch_label.value = column if column in columns else "(epoch number)"
        self._epoch_label.disabled = self._epoch_table.value == NO_EPOCHS

    async def _on_apply_epochs(self, event=None):
        if self._reload is None:
            return
        label, loader = self._reload
        table = self._epoch_table.value
        column = self._epoch_label.value
        options = {"epochs": table}
        if table != NO_EPOCHS and column != "(epoch number)":
            options["epoch_label"] = column
        await self._load_file(label, loader, **options)

    # ------------------------------------------------------------------ restrict
    def _init_restrict_controls(self):
        self._annotations_of = None  # the recording whose annotations "where" offers
        number = dict(value=None, sizing_mode="stretch_width")
        # emptied by the page when no window is in force (``_show_window_in_force``)
        self._window_from = OptionalFloatInput(label="From (s)", **number)
        self._window_to = OptionalFloatInput(label="To (s)", **number)
        self._units_text = pn.widgets.TextInput(
            label="Units", placeholder="all; e.g. 0-49, 60", sizing_mode="stretch_width",
            description="Unit ids, or ranges of ids (first-last, in recording order), "
                        "separated by commas.")
        self._rate_min = pn.widgets.FloatInput(label="Rate from (Hz)", start=0, **number)
        self._rate_max = pn.widgets.FloatInput(label="Rate to (Hz)", start=0, **number)
        self._where_key = pn.widgets.Select(label="Where (unit annotation)",
                                            options=[ANY], sizing_mode="stretch_width")
        self._where_value = pn.widgets.Select(label="is", options=[],
                                              sizing_mode="stretch_width", disabled=True)
        self._where_key.param.watch(lambda e: self._fill_where_values(), "value")
        self._from_result = pn.widgets.Select(
            label="Units or epochs from a result", options={NO_RESULT: ""},
            sizing_mode="stretch_width",
            description="The units (or epochs) one of this session's results names: the "
                        "assembly run's significant units, an ASSET SSE's neurons, the "
                        "epochs of a SPOTDis cluster.")
        self._result_choices = {}
        # the choice in full (a select cuts long provenance lines)
        self._from_result_text = Markdown("", sizing_mode="stretch_width",
                                          margin=(0, 10), visible=False)
        self._from_result.param.watch(lambda e: self._show_result_choice(), "value")
        self.session.param.watch(lambda e: self._fill_result_choices(), "results")
        self._fill_result_choices()
        # the window as a band on the raster; brushing the raster (its x-select tool) fills
        # the window fields (``_on_brush``)
        self._window_band = WindowBand()
        self._brush = None
        for field in (self._window_from, self._window_to):
            field.param.watch(lambda e: self._show_window_band(), "value")
        self._restrict_button = pn.widgets.Button(label="Restrict", color="primary",
                                                  sizing_mode="stretch_width")
        self._restrict_button.on_click(self._on_restrict)
        self._all_button = pn.widgets.Button(label="Whole recording", disabled=True,
                                             sizing_mode="stretch_width")
        self._all_button.on_click(self._on_whole_recording)
        self._restriction_text = Markdown("", sizing_mode="stretch_width")
        self._restrict_card = pn.Card(
            Markdown("Every page analyses the restricted recording and says so. Type a time "
                     "window, or brush one on the raster (drag across it: its x-select "
                     "tool is on)."),
            pn.Row(self._window_from, self._window_to), self._units_text,
            self._from_result, self._from_result_text,
            pn.Row(self._rate_min, self._rate_max), self._where_key, self._where_value,
            pn.Row(self._restrict_button, self._all_button), self._restriction_text,
            title="Restrict: time window and units", collapsed=True,
            sizing_mode="stretch_width")

    def _fill_where_values(self):
        full = self.session.whole_recording()[0]
        key = self._where_key.value
        if full is None or key == ANY or key not in full.unit_annotations:
            self._where_value.options, self._where_value.disabled = [], True
            return
        values = np.unique(np.asarray(full.unit_annotations[key]).astype(str))
        self._where_value.options = values[:MAX_WHERE_VALUES].tolist()
        self._where_value.disabled = False

    def _fill_result_choices(self):
        """Offer what this session's results name (``handover.result_choices``)."""
        self._result_choices = result_choices(self.session.results)
        options = {NO_RESULT: ""}
        options.update({text: key for key, (text, _, _) in self._result_choices.items()})
        value = self._from_result.value
        self._from_result.options = options
        self._from_result.value = value if value in options.values() else ""
        self._show_result_choice()

    def _show_result_choice(self):
        key = self._from_result.value
        text = self._result_choices[key][0] if key in self._result_choices else ""
        self._from_result_text.object = f"*{escape_markdown(text)}*" if text else ""
        self._from_result_text.visible = bool(text)

    def _on_brush(self, boundsx=None):
        """A window brushed on the raster: into the window fields (ms precision, within
        the whole recording); the card opens to show them."""
        if boundsx is None:
            return
        full = self.session.whole_recording()[0]
        lo, hi = sorted(float(v) for v in boundsx)
        if full is not None:
            lo, hi = max(lo, full.t_start), min(hi, full.t_stop)
        if not hi > lo:
            return
        self._window_from.value, self._window_to.value = round(lo, 3), round(hi, 3)
        self._restrict_card.collapsed = False

    def _show_window_band(self):
        t0, t1 = self._window_from.value, self._window_to.value
        if t0 is None and t1 is None:
            self._window_band.event(start=None, end=None)
            return
        data = self.session.data
        lo = t0 if t0 is not None else (data.t_start if data is not None else 0.0)
        hi = t1 if t1 is not None else (data.t_stop if data is not None else lo)
        self._window_band.event(start=lo, end=hi)

    def _show_window_in_force(self, data, full):
        """From and To show the time window of the recording shown (a restriction, by this
        card, a hand-over or a reload that brought it back), empty when it spans the whole
        recording: the fields always say what is in force."""
        window = restricted_window(data, full)
        if window is None:
            self._window_from.value = self._window_to.value = None
        else:
            self._window_from.value, self._window_to.value = window

    def _restriction(self):
        """The restrict() arguments the controls ask for (None where a control is empty),
        and the recording they restrict (None: the whole one)."""
        window = None
        t0, t1 = self._window_from.value, self._window_to.value
        if t0 is not None or t1 is not None:
            full = self.session.whole_recording()[0]
            window = (full.t_start if t0 is None else t0, full.t_stop if t1 is None else t1)
        rate = None
        if self._rate_min.value is not None or self._rate_max.value is not None:
            rate = (self._rate_min.value, self._rate_max.value)
        where = None
        if self._where_key.value != ANY and self._where_value.value is not None:
            where = (self._where_key.value, self._where_value.value)
        units = (self._units_text.value or "").strip() or None
        options = {"window": window, "units": units, "rate": rate, "where": where}
        base = None
        if self._from_result.value:
            _, choice, base = self._result_choices[self._from_result.value]
            if units is not None and "units" in choice:
                raise ValueError("units: give unit ids or units from a result, not both")
            options.update(choice)
        return options, base

    async def _on_restrict(self, event=None):
        full, source = self.session.whole_recording()
        if full is None:
            self._show_error("Restrict: no data loaded")
            return
        try:
            options, base = self._restriction()
        except ValueError as exc:
            self._show_error(f"Restrict: {exc}")
            return
        if all(v is None for v in options.values()):
            await self._on_whole_recording()
            return
        base = full if base is None else base
        data = await self._in_worker("Restricting", lambda: restrict(base, **options))
        if data is not None:
            self.session.restrict(data)

    async def _on_whole_recording(self, event=None):
        full, source = self.session.whole_recording()
        if full is self.session.data and restriction_of(full):
            self._show_error("Whole recording: it was too large to keep for a reload; load "
                             "it again")
            return
        if full is not None and self.session.data is not full:
            self.session.source, self.session.data = source, full

    # ------------------------------------------------------------------ display
    def _on_data(self, *events):
        data = self.session.data
        full = self.session.whole_recording()[0]
        if full is not self._annotations_of:  # a new recording: offer its annotations
            self._annotations_of = full
            keys = list(full.unit_annotations) if full is not None else []
            self._where_key.options = [ANY, *keys]
            self._where_key.value = ANY
            self._fill_where_values()
        restricted = restriction_of(data)
        self._restriction_text.object = (f"**Restricted:** {escape_markdown(restricted)}"
                                         if restricted else "")
        self._all_button.disabled = not restricted
        self._show_window_in_force(data, full)
        self._summary.object = summary_frame(data)
        # new panes rather than new objects in old panes: a reused Bokeh figure keeps the
        # previous recording's axis ranges
        self._plots[:] = [
            pn.pane.HoloViews(self._brushable_raster(data), sizing_mode="stretch_width",
                              min_height=380),
            pn.pane.HoloViews(views.population_rate(data), sizing_mode="stretch_width",
                              height=200),
        ]
        self._download.disabled = data is None
        self._figures_changed()  # the Figures row lists the new plots

    def _brushable_raster(self, data):
        """The raster with the window band over it; its x-select tool brushes a window
        (``_on_brush``). The tool is the active drag: wheel zoom stays on the wheel."""
        raster = views.raster(data, title=self.session.source)
        if data is None or data.n_units == 0:
            return raster
        raster = raster.opts(tools=["hover", "xbox_select"],
                             active_tools=["xbox_select", "wheel_zoom"])
        if self._brush is not None:
            self._brush.clear()  # the raster it watched is gone
        self._brush = hv.streams.BoundsX(source=raster)
        self._brush.add_subscriber(self._on_brush)
        self._show_window_band()
        band = hv.DynamicMap(window_band, streams=[self._window_band])
        return raster * band

    def _download_name(self):
        return "spikelens_data" + DOWNLOAD_FORMATS[self.download_format]

    def _download_bytes(self):
        suffix = DOWNLOAD_FORMATS[self.download_format]
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "data" + suffix)
            io.save(self.session.data, path)
            with open(path, "rb") as fh:
                return _io.BytesIO(fh.read())

    @param.depends("source_kind", "simulator")
    def _source_controls(self):
        if self.source_kind == "Demo":
            return pn.Column(pn.widgets.Select.from_param(self.param.demo_name),
                             self._load_button)
        if self.source_kind == "Simulator":
            settings = self._settings_for(self.simulator)
            return pn.Column(pn.widgets.Select.from_param(self.param.simulator),
                             pn.Param(settings, show_name=False, width=300),
                             self._sim_button)
        if self.source_kind == "Server files":
            self.refresh_server_files()
            return pn.Column(
                Markdown("Files in the server's data folder (set by "
                                 "`spikelens serve --data-dir`)."),
                pn.widgets.Select.from_param(self.param.server_file),
                self._server_button)
        return pn.Column(Markdown(
            "Drop a spike file: NPZ, NIX, NWB, Parquet or CSV (`time, unit[, epoch][, "
            f"label]`, seconds), a zipped Kilosort/phy folder, or a work file "
            f"(`{WORK_SUFFIX}`, from **Save work**), up to {self._max_upload_mb} MB. Large "
            "files upload in chunks."), self._dropper)

    def __panel__(self):
        controls = pn.Column(
            "## Data",
            pn.widgets.RadioButtonGroup.from_param(self.param.source_kind,
                                                   color="primary"),
            self._source_controls,
            self._nwb_box,
            self._cancel_button,
            self._progress,
            self._progress_text,
            self._restrict_card,
            pn.layout.Divider(),
            "### Summary",
            self._summary,
            pn.Row(pn.widgets.Select.from_param(self.param.download_format, width=110),
                   self._download),
            width=340,
        )
        plots = pn.Column(self._status, self._plots, self._figures_row(),
                          sizing_mode="stretch_width")
        return pn.Row(controls, plots, sizing_mode="stretch_width")


def restricted_window(data, full):
    """``(t_start, t_stop)`` of ``data`` (s) when it is a restriction of the recording
    ``full`` to a time window, else None. ``full`` may be ``data`` itself (the whole
    recording was too large to keep over a reload): its restriction line says then."""
    if data is None or not restriction_of(data):
        return None
    if full is not None and full is not data:
        if (data.t_start, data.t_stop) == (full.t_start, full.t_stop):
            return None
    elif not re.search(r"(^|; then )time ", restriction_of(data)):
        return None
    return float(data.t_start), float(data.t_stop)


def summary_frame(data):
    import pandas as pd

    if data is None:
        return pd.DataFrame({"": ["no data loaded"]})
    rows = []
    for key, value in data.summary().items():
        if isinstance(value, float):
            value = f"{value:.4g}"
        rows.append((key, str(value)))
    return pd.DataFrame(rows, columns=["quantity", "value"])


def list_data_files(folder, max_depth=3):
    """Spike files (and phy folders) under ``folder``, as sorted relative paths.

    Only what lies inside the folder: links that resolve elsewhere and hidden entries are
    left out; at most ``max_depth`` levels deep.
    """
    root = os.path.realpath(folder)
    out = []
    for here, dirs, files in os.walk(root, followlinks=False):
        depth = os.path.relpath(here, root).count(os.sep) + (here != root)
        dirs[:] = sorted(d for d in dirs if not d.startswith(".")) if depth < max_depth \
            else []
        if here != root and os.path.exists(os.path.join(here, "spike_times.npy")):
            out.append(os.path.relpath(here, root) + os.sep)
        for f in files:
            path = os.path.join(here, f)
            if f.startswith(".") or os.path.splitext(f)[1].lower() not in SERVER_TYPES:
                continue
            if _inside(root, path):
                out.append(os.path.relpath(path, root))
    return sorted(out)


def _inside(root, path):
    real = os.path.realpath(path)
    return real.startswith(root + os.sep)


def resolve_data_file(folder, name):
    """The server path of ``name``, a relative path ``list_data_files`` gives; anything
    else (absolute paths, ``..``, links out of the folder, unlisted files) is refused."""
    root = os.path.realpath(folder)
    if name not in list_data_files(folder):
        raise SpikeDataError("not a spike file in the server's data folder", name)
    path = os.path.join(root, name)
    if not _inside(root, path):
        raise SpikeDataError("outside the server's data folder", name)
    return path


def load_server_file(folder, name, tables=None, **options):
    """Load ``name`` (as ``list_data_files`` gives it) from the data folder. Nothing is read
    through a link that leaves the folder, and errors name paths relative to it.

    ``options`` go to ``analysis.load`` (an NWB file's ``epochs=``/``epoch_label=``); an
    NWB file's interval tables are put in the dict ``tables`` when one is given."""
    path = resolve_data_file(folder, name)
    root = os.path.realpath(folder)
    try:
        return _load_file(path, tables, within=root, **options)
    except SpikeDataError as exc:
        raise SpikeDataError(str(exc).replace(root + os.sep, "")) from None


def _load_file(path, tables, **kwargs):
    """``analysis.load`` with the Data page's NWB epochs choice (``epochs=NO_EPOCHS``: none);
    an NWB file's interval tables go into ``tables``."""
    no_epochs = kwargs.get("epochs") == NO_EPOCHS
    if no_epochs:
        kwargs.pop("epochs")
        kwargs.pop("epoch_label", None)
    data = io.load(path, **kwargs)
    if tables is not None and path.lower().endswith(".nwb"):
        tables.update(io.nwb_interval_tables(path))
    return data.replace(epochs=None) if no_epochs and data.epochs is not None else data


def load_uploaded(filename, content, max_mb=None, tables=None, **options):
    """Write an uploaded file to a private temporary folder and load it.

    A ``.zip`` is taken as a zipped Kilosort/phy folder (or a zipped single file). Error
    messages name the uploaded file, never the server's temporary folder. ``max_mb``: the
    upload limit, checked here again (and a zip may expand to ``ZIP_EXPANSION_LIMIT``
    times it).
    """
    base = os.path.basename(filename)
    suffix = os.path.splitext(base)[1].lower()
    if suffix not in UPLOAD_TYPES:
        raise SpikeDataError(f"unsupported file type {suffix!r} "
                             f"(expected one of {', '.join(UPLOAD_TYPES)})", base)
    if isinstance(content, str):
        content = content.encode()
    max_mb = CONFIG.max_upload_mb if max_mb is None else max_mb
    if len(content) > max_mb * 1e6:
        raise SpikeDataError(f"{len(content) / 1e6:.1f} MB is more than this server's "
                             f"upload limit of {max_mb} MB", base)
    budget = int(ZIP_EXPANSION_LIMIT * max_mb * 1e6)
    with tempfile.TemporaryDirectory(prefix="spikelens-upload-") as tmp:
        path = os.path.join(tmp, base)
        with open(path, "wb") as fh:
            fh.write(content)
        try:
            if suffix == ".zip":
                return _load_zip(path, tmp, budget)
            return _load_file(path, tables, max_bytes=budget, within=tmp, **options)
        except SpikeDataError as exc:
            raise SpikeDataError(str(exc).replace(path, base).replace(tmp + os.sep, ""))


def is_result_file(content):
    """Whether uploaded ``.npz`` bytes are a saved result (``analysis.results``), not a
    recording: the archive names a ``__spikelens_result__`` member."""
    import zipfile

    try:
        with zipfile.ZipFile(_io.BytesIO(content)) as z:
            return any(n.split("/")[-1].startswith("__spikelens_result__")
                       for n in z.namelist()[:1000])
    except (zipfile.BadZipFile, OSError, ValueError):
        return False  # the recording loader names what is wrong with it


def load_uploaded_result(filename, content, max_mb=None):
    """A saved result from uploaded bytes, with the upload limit and the loader's checks
    (``load_result``: no pickles, bounded sizes); errors name the uploaded file only."""
    from analysis.results import load_result

    base = os.path.basename(filename)
    max_mb = CONFIG.max_upload_mb if max_mb is None else max_mb
    if len(content) > max_mb * 1e6:
        raise SpikeDataError(f"{len(content) / 1e6:.1f} MB is more than this server's "
                             f"upload limit of {max_mb} MB", base)
    with tempfile.TemporaryDirectory(prefix="spikelens-upload-") as tmp:
        path = os.path.join(tmp, base)
        with open(path, "wb") as fh:
            fh.write(content)
        try:
            return load_result(path, max_bytes=int(ZIP_EXPANSION_LIMIT * max_mb * 1e6))
        except SpikeDataError as exc:
            raise SpikeDataError(str(exc).replace(path, base).replace(tmp + os.sep, ""))


def method_of(result):
    """The registered method (``analysis.methods``) whose runs give ``result``'s class."""
    from analysis import methods

    for m in methods.methods():
        try:
            if type(result) is m.load("result"):
                return m
        except Exception:  # noqa: BLE001 (a method that cannot be imported here)
            continue
    return None


def _load_zip(path, tmp, max_bytes):
    import zipfile

    folder = os.path.join(tmp, "unzipped")
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
            if len(infos) > ZIP_MAX_ENTRIES:
                raise SpikeDataError(f"the archive has {len(infos)} entries, more than this "
                                     f"server allows ({ZIP_MAX_ENTRIES})", path)
            expanded = sum(i.file_size for i in infos)
            if expanded > max_bytes:
                raise SpikeDataError(f"the archive expands to {expanded / 1e6:.0f} MB, more "
                                     f"than this server allows ({max_bytes / 1e6:.0f} MB)",
                                     path)
            for member in zf.namelist():  # refuse paths that escape the folder
                target = os.path.realpath(os.path.join(folder, member))
                if not target.startswith(os.path.realpath(folder) + os.sep):
                    raise SpikeDataError(f"unsafe path {member!r} in archive", path)
            zf.extractall(folder)
    except zipfile.BadZipFile as exc:
        raise SpikeDataError(f"not a valid zip archive ({exc})", path)
    entries = [os.path.join(folder, e) for e in os.listdir(folder)]
    if len(entries) == 1 and os.path.isfile(entries[0]):
        return io.load(entries[0], max_bytes=int(max_bytes), within=tmp)
    if len(entries) == 1:
        folder = entries[0]
    return io.load(folder, max_bytes=int(max_bytes), within=tmp)
