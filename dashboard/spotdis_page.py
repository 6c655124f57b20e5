"""The SPOTDis page: parameters, a run in a worker thread, the dissimilarity matrix sorted by
cluster, the t-SNE map, scores, and for a chosen epoch or cluster the epoch's raster and the
cluster-average cross-correlation of one neuron against the others.

SPOTDisClust (Grossberger, Battaglia & Vinck 2018) compares epochs by the optimal-transport
distance between their pairwise spike-delay distributions (SPOTDis), clusters the epochs with
HDBSCAN on that matrix and maps them to 2-D with t-SNE. The dissimilarity can also be
SpikeShip (Sotomayor-Gómez, Battaglia & Vinck 2023: each neuron's transport left after one
common shift of the epoch; the matrix in ms) or the rate-vector baseline. The page shows the matrix with the
epochs sorted by cluster, so each cluster is a dark block on the diagonal, and the map with one
dot per epoch. Tapping a dot (or picking a cluster) shows that epoch's spikes and, as in the
paper's Fig. 1E, for a reference neuron i the histogram of delays t_j - t_i of every other
neuron j pooled over the cluster's epochs.

The views are linked (issue 15 item 4): a row of the clusters' or the epochs' table, a tap,
box or lasso on the map, or a cluster picked in the list sets ``highlight``, the epochs
ringed on the map, marked as row and column bands on the matrix, selected in the tables and
drawn in the raster (one epoch, or several superimposed). The overlays are ``DynamicMap``s
fed by ``Pipe`` streams: a new highlight sends a few coordinates, nothing is recomputed.

Above ``max_full_epochs`` epochs (or windows) the run is in graph mode (the dissimilarity,
SPOTDis, SpikeShip or rate vectors, on each epoch's nearest neighbours, no full matrix):
the map, clusters, tables and highlighting work, the matrix view says there is no matrix
(``GRAPH_NOTE``); the rate baseline and the window sweep run in graph mode too.
Sliding-window results are kept with the session's work (``keep_work``, key
``WINDOWS_KEY``), in its work file (``work_results``, ``restore_extra``) and go into the
report (``report_sections``).

The epochs are the recording's own, or windows cut around event times typed in the sidebar
("events + window": each window starts at a chosen offset from its event and has a chosen
length), as the paper does for recordings without trials. Recordings without epochs get the
second source only. Ground-truth epoch labels describe the recording's epochs, so the map's
truth colouring and the ARI are available with those only.

``SpotDisClust`` caches its steps: a new clustering parameter reruns only HDBSCAN, a new
perplexity only the t-SNE. Settings are applied by the Run button.

The figures are ``dashboard.spotdis_views``' (the report draws the same); the events' text
and windows are ``analysis.spotdis.events``'.
"""

from __future__ import annotations

import holoviews as hv
import numpy as np
import panel as pn
import param

from analysis import demo
from analysis.errors import SpikeDataError
from analysis.spiketrains import Epochs
from analysis.spotdis import SpotDisClust, SpotDisClustResult
from analysis.spotdis.epochs import has_epochs, most_active, true_labels
from analysis.spotdis.events import (EVENTS_LABEL, MAX_EVENTS, epoch_start_labels,
                                     format_events, grid_period, parse_events)
from analysis.spotdis.spikeship import neuron_flows
from analysis.spotdis.windows import SlidingWindows

from .handover import cluster_epochs, hand_over, handover_controls, run_name
from .page_base import AnalysisPage
from .spotdis_views import (baseline_text, cluster_name, cluster_table, dissimilarity_plot,
                            epoch_table, epochs_raster, map_highlight, map_overlay,
                            map_points, matrix_highlight, sweep_view, xcorr_plot)
from .spotdis_views import (band_legend, flows_plot, pattern_name, sequence_plot,
                            window_course_plot, windows_text)
from .text import Markdown

# parameters shown as widgets (sampling_period gets its own ms input: it may be None)
PARAMETERS = ["method", "min_cluster_size", "min_samples", "cluster_selection", "perplexity",
              "seed", "dissimilarity"]
#: rows per page of the epochs' table (it pages on the server)
EPOCH_PAGE_SIZE = 10
# where the epochs come from
RECORDING = "recording's epochs"
EVENTS = "events + window"
START_LABEL = "Window start (ms)"
LENGTH_LABEL = "Window length (ms)"
#: the sliding windows' key among the session's kept results (``dashboard.work``)
WINDOWS_KEY = "spotdis-windows"
#: what the matrix view shows in graph mode
GRAPH_NOTE = ("*Graph mode (more epochs than max_full_epochs): no full matrix to show; "
              "the map, clusters and tables come from each epoch's nearest neighbours.*")
WINDOW_LENGTH_LABEL = "Length of sliding windows (ms)"
WINDOW_STEP_LABEL = "Step of sliding windows (ms)"
#: epochs on each side of the flows view (a seeded sample)
FLOW_EPOCHS = 100
NO_EPOCHS = ("this recording has no epochs: SPOTDis compares epochs, so this page cuts them "
             "around events. Give the event times and a window under **Epochs** and press "
             "**Run** (or load data with epochs, e.g. the pulse-pattern demo: the button "
             "below, or the **Data** page).")
#: the demo with epochs that a recording without them is pointed to
EPOCH_DEMO = next(name for name in demo.DEMOS if "epochs" in name)


class SpotDisPage(AnalysisPage):
    """SPOTDisClust on the session's data."""

    result = param.ClassSelector(class_=SpotDisClustResult, allow_None=True, precedence=-1,
                                 doc="The last run's result for the current data (or None).")
    epoch_source = param.Selector(default=RECORDING, objects=[RECORDING, EVENTS],
                                  label="Epochs from", doc="""
        The recording's own epochs, or windows cut around event times (events + window).""")
    colour_by = param.Selector(default="cluster", objects=["cluster", "ground truth"],
                               label="Colour the map by", doc="""
        Colour the t-SNE map by HDBSCAN cluster or by the true epoch labels.""")
    epoch = param.Integer(default=None, allow_None=True, precedence=-1, doc="""
        The selected epoch (tap a dot on the map).""")
    highlight = param.List(default=[], item_type=int, precedence=-1, doc="""
        The highlighted epochs (rows picked in a table, dots picked on the map, or a
        cluster's epochs): ringed on the map, their rows and columns marked on the matrix,
        their spikes in the raster, their rows selected in the tables.""")
    cluster = param.Integer(default=None, allow_None=True, label="Cluster", doc="""
        The cluster whose cross-correlation is shown (-1: noise).""")
    reference = param.Integer(default=0, bounds=(0, None), label="Reference neuron", doc="""
        Neuron i of the cross-correlation: delays t_j - t_i of every other neuron j.""")
    matrix_scale = param.Selector(default="data range", objects=["data range", "full range"],
                                  label="Matrix colours", doc="""
        Colour range of the matrix: the off-diagonal values' 1-99 % range (contrast), or the
        dissimilarity's whole range (SPOTDis 0 to 1, SpikeShip 0 to its undefined entries'
        value, rate vectors 0 to 2).""")
    sort_by_delay = param.Boolean(default=True, label="Sort neurons by delay", doc="""
        Order the cross-correlation's rows by each neuron's most frequent delay to the
        reference neuron (as the paper's Fig. 1E); otherwise by neuron index.""")

    def __init__(self, **params):
        super().__init__(**params)
        self.clust = SpotDisClust(data=None, progress=self._on_progress)
        self._map_epochs = np.empty(0, dtype=np.int64)  # map row -> epoch
        self._result_data = None   # the data (with its epochs) the shown result belongs to
        self._cut = None           # (recording, epochs, recording with those epochs)
        self._epochs_text = ""

        self._init_run_controls("Run")
        self._run_button.on_click(self._run)
        # for a recording without epochs: one click to a demo that has them
        self._demo_button = pn.widgets.Button(
            label=f"Load the demo with epochs: {EPOCH_DEMO}", color="primary",
            variant="outline", visible=False, width=420,
            description="Replace the recording with the pulse-pattern demo (epochs with "
                        "true pattern labels), as the Data page's demo list does.")
        self._demo_button.on_click(self._load_epoch_demo)
        self._job_buttons.append(self._demo_button)
        self._period = pn.widgets.FloatInput(
            label=self.clust.param.sampling_period.label, value=None, step=0.1,
            placeholder="auto", start=0, sizing_mode="stretch_width",
            description="Milliseconds per sample when spike times lie on a sample grid (the "
                        "exact grid kernel). Empty: detected from the recording, else "
                        "continuous time.")
        self._period.param.watch(self._on_period, "value")
        self._epoch_controls()
        self._colour = pn.widgets.RadioButtonGroup.from_param(
            self.param.colour_by, color="primary", variant="outline",
            sizing_mode="stretch_width")
        self._cluster_select = pn.widgets.Select(label="Cluster", options={},
                                                 sizing_mode="stretch_width")
        self._cluster_select.param.watch(self._on_cluster_select, "value")
        self._reference = pn.widgets.IntInput.from_param(self.param.reference, start=0,
                                                         sizing_mode="stretch_width")
        self._scale = pn.widgets.RadioButtonGroup.from_param(
            self.param.matrix_scale, color="primary", variant="outline",
            sizing_mode="stretch_width")
        self._sort = pn.widgets.Checkbox.from_param(self.param.sort_by_delay)
        self._matrix = pn.Column(width=480)
        self._map = pn.Column(sizing_mode="stretch_width", min_width=340)
        self._epoch_view = pn.Column(sizing_mode="stretch_width")
        self._xcorr_view = pn.Column(sizing_mode="stretch_width")
        self._linked_tables()
        self._labels_handover = handover_controls(self._hand_over_labels)
        self._cluster_handover = handover_controls(self._hand_over_cluster)
        self._results = pn.Column(
            pn.Row(self._matrix, self._map, sizing_mode="stretch_width"),
            "### Clusters and epochs",
            Markdown("Click a row to highlight its epochs in the matrix, on the map and in "
                     "the raster below (ctrl- or shift-click for more rows); a box or lasso "
                     "drawn on the map picks epochs too.", styles={"font-size": "0.85em"}),
            pn.Row(self._cluster_rows_holder, self._epoch_rows_holder,
                   sizing_mode="stretch_width"),
            "### Selected epoch and cluster",
            Markdown("Tap a dot on the map to pick an epoch, or pick a cluster here.",
                             styles={"font-size": "0.85em"}),
            pn.Row(pn.Column(self._cluster_select, width=260),
                   pn.Column(self._reference, width=200), pn.Column(self._sort, width=220)),
            self._labels_handover.row, self._cluster_handover.row, self._download_row(),
            pn.Row(self._epoch_view, self._xcorr_view, sizing_mode="stretch_width"),
            visible=False, sizing_mode="stretch_width")
        # where the results sit in the layout: a new result is drawn with them taken out
        # and put back once drawn (``_show_result``)
        self._results_slot = pn.Column(self._results, sizing_mode="stretch_width")

        self.clust.param.watch(self._on_setting, PARAMETERS + ["sampling_period"])
        self.clust.param.watch(self._on_dissimilarity, "dissimilarity")
        self.session.param.watch(self._on_data, "data")
        self.param.watch(lambda e: self._draw_map(), "colour_by")
        self.param.watch(lambda e: self._draw_matrix(), "matrix_scale")
        self.param.watch(lambda *e: self._draw_selection(),
                         ["epoch", "cluster", "reference", "sort_by_delay", "highlight"])
        self.param.watch(self._on_highlight, "highlight")
        self._init_windows()
        self._layout = self._build_layout()
        self._on_data()

    # ------------------------------------------------------------------ layout
    def _build_layout(self):
        widgets = {
            "method": {"type": pn.widgets.RadioButtonGroup, "color": "primary",
                       "variant": "outline"},
            "cluster_selection": {"type": pn.widgets.RadioButtonGroup, "color": "primary",
                                  "variant": "outline"},
            "min_cluster_size": {"type": pn.widgets.IntInput},
            "min_samples": {"type": pn.widgets.IntInput},
            "perplexity": {"type": pn.widgets.FloatInput, "step": 1},
            "seed": {"type": pn.widgets.IntInput},
            "dissimilarity": {"type": pn.widgets.RadioButtonGroup, "color": "primary",
                              "variant": "outline"},
        }

        def group(names):
            return pn.Param(self.clust, parameters=names, show_name=False,
                            sizing_mode="stretch_width",
                            widgets={n: widgets[n] for n in names})

        # the sample grid and the kernel are SPOTDis's settings: shown with SPOTDis only
        self._spotdis_settings = pn.Column(self._period, group(["method"]),
                                           sizing_mode="stretch_width")
        self._on_dissimilarity()

        controls = pn.Column(
            "## SPOTDis",
            Markdown("Clusters of epochs with similar spike-timing patterns "
                             "(Grossberger et al. 2018): optimal-transport dissimilarity "
                             "between epochs, HDBSCAN clusters and a t-SNE map.",
                             styles={"font-size": "0.9em"}),
            "**Epochs**", self._source, self._events_box,
            "**Dissimilarity**",
            group(["dissimilarity"]),
            self._spotdis_settings,
            "**Clustering (HDBSCAN)**",
            group(["min_cluster_size", "min_samples", "cluster_selection"]),
            "**Map (t-SNE)**", group(["perplexity", "seed"]),
            self._run_row(),
            *self._extra_controls(),
            *self._window_controls(),
            "**Matrix colours**", self._scale,
            "**Map colours**", self._colour,
            width=300,
        )
        results = pn.Column(self._status, self._stale, self._summary, self._demo_button,
                            self._results_slot, self._extra, self._windows_box,
                            sizing_mode="stretch_width")
        return pn.Row(controls, results, sizing_mode="stretch_width")

    def report_section(self):
        """This page's result as a report section (``dashboard.report``), with the epochs
        it was computed on."""
        from .report import Section

        data = getattr(self, "_result_data", None) or self.clust.data
        section = Section("spotdis", self.result, data)
        if getattr(self, "_epochs_text", ""):
            section.extra["epochs"] = self._epochs_text
        return section

    def report_sections(self):
        """The report's sections of this page: the clusters (``report_section``) and the
        sliding windows, each when there is a result."""
        from .report import Section

        out = [self.report_section()] if self.result is not None else []
        if self._windows_result is not None:
            out.append(Section("spotdis", self._windows_result, self._windows_data))
        return out

    def __panel__(self):
        return self._layout

    def _extra_controls(self):
        """Buttons for the rate-vector baseline and the window sweep."""
        self._baseline_box = pn.Column(sizing_mode="stretch_width")
        self._sweep_box = pn.Column(sizing_mode="stretch_width")
        self._extra = pn.Column(self._baseline_box, self._sweep_box,
                                sizing_mode="stretch_width")
        self._baseline_button = pn.widgets.Button(
            label="Compare with rate baseline", color="primary", variant="outline",
            sizing_mode="stretch_width",
            description="Cluster the rate-vector dissimilarity (no timing) with the same "
                        "settings and compare ARI and silhouette.")
        self._baseline_button.on_click(self._baseline)
        self._lengths = pn.widgets.TextInput(
            label="Window lengths (ms)", value="100, 200, 300",
            sizing_mode="stretch_width",
            description="Comma-separated window lengths from each epoch's start (with "
                        "events + window: from each window's start); the sweep reports the "
                        "silhouette (no ground truth needed) of each.")
        self._sweep_button = pn.widgets.Button(
            label="Sweep window length", color="primary", variant="outline",
            sizing_mode="stretch_width")
        self._sweep_button.on_click(self._sweep)
        self._job_buttons += [self._baseline_button, self._sweep_button]
        return ["**Comparisons**", self._baseline_button, self._lengths, self._sweep_button]

    def _epoch_controls(self):
        """The epoch source and, for events + window, the events and the window."""
        self._source = pn.widgets.RadioButtonGroup.from_param(
            self.param.epoch_source, color="primary", variant="outline",
            sizing_mode="stretch_width")
        self._events = pn.widgets.TextInput(
            label=EVENTS_LABEL, placeholder="e.g. 1, 2.5, 4 or 0:60:2",
            sizing_mode="stretch_width",
            description="Event times in seconds, separated by commas or spaces; "
                        "start:stop:step adds a range with the stop left out, as Python's "
                        "range: 0:60:2 is 0, 2, ..., 58. Events are sorted; each one gets a "
                        f"window. At most {MAX_EVENTS} events.")
        self._window_start = pn.widgets.FloatInput(
            label=START_LABEL, value=0.0, step=10, sizing_mode="stretch_width",
            description="Where each window starts, in ms from its event (negative: before "
                        "the event).")
        self._window_length = pn.widgets.FloatInput(
            label=LENGTH_LABEL, value=300.0, step=10, sizing_mode="stretch_width",
            description="Length of each window in ms (> 0). Windows may overlap; each must "
                        "lie inside the recording.")
        self._starts_button = pn.widgets.Button(
            label="Use epoch starts as events", color="primary", variant="outline",
            sizing_mode="stretch_width",
            description="Fill in the recording's epoch starts as the events (the windows "
                        "then keep the epochs' labels), to try another window on the same "
                        "trials.")
        self._starts_button.on_click(self._use_epoch_starts)
        self._events_box = pn.Column(
            self._events, pn.Row(self._window_start, self._window_length,
                                 sizing_mode="stretch_width"),
            self._starts_button, visible=False, sizing_mode="stretch_width")
        self.param.watch(self._on_source, "epoch_source")
        for w in (self._events, self._window_start, self._window_length):
            w.param.watch(self._on_epoch_setting, "value")

    def _use_epoch_starts(self, event=None):
        data = self.session.data
        if data is None or data.epochs is None or not len(data.epochs):
            return
        self._events.value = format_events(data.epochs.start)
        self.epoch_source = EVENTS

    def _on_source(self, event=None):
        self._events_box.visible = self.epoch_source == EVENTS
        self._enable_buttons()
        self._on_epoch_setting()

    def _on_epoch_setting(self, *events):
        if self.result is not None:
            self._stale.visible = True
        elif self.session.data is not None:
            self._summary.object = self._idle_summary()

    def _enable_buttons(self):
        data = self.session.data
        usable = data is not None and (has_epochs(data) or self.epoch_source == EVENTS)
        self._run_button.disabled = self._running or not usable
        self._baseline_button.disabled = self._sweep_button.disabled = \
            self._running or not usable
        self._windows_button.disabled = self._running or data is None
        self._demo_button.disabled = self._running

    # ------------------------------------------------------------------ epochs
    def _apply_epochs(self):
        """Give ``SpotDisClust`` the recording with the epochs the sidebar asks for.

        Returns that data and a few words on its epochs. Raises ValueError with one line
        naming the field at fault. The same settings give the same object, so SpotDisClust's
        cached steps stay valid.
        """
        data = self.session.data
        if data is None:
            raise ValueError("no data loaded: pick a data set on the Data page")
        if self.epoch_source == RECORDING:
            if not has_epochs(data):
                raise ValueError("Epochs: this recording has fewer than 2 epochs; choose "
                                 f"{EVENTS!r}")
            target, text = data, f"the recording's {len(data.epochs)} epochs"
        else:
            epochs = self._event_epochs(data)
            cut = self._cut
            if cut is not None and cut[0] is data and cut[1].equals(epochs):
                target = cut[2]
            else:
                # true epoch labels describe the recording's epochs, not these windows
                truth = {k: v for k, v in data.truth.items() if k != "epoch_labels"}
                target = data.replace(epochs=epochs, truth=truth)
                self._cut = (data, epochs, target)
            start, length = self._window_start.value, self._window_length.value
            text = (f"{len(epochs)} windows [{start:+g}, {start + length:+g}] ms around "
                    "events")
        if self.clust.data is not target:
            self.clust.data = target
        return target, text

    def _event_epochs(self, data):
        """Epochs from the events and the window widgets (ValueError naming the field)."""
        events = parse_events(self._events.value)
        start, length = self._window_start.value, self._window_length.value
        if start is None or not np.isfinite(start):
            raise ValueError(f"{START_LABEL}: give a number of ms (0: at the event)")
        if length is None or not np.isfinite(length) or not length > 0:
            raise ValueError(f"{LENGTH_LABEL}: must be > 0 ms, got {length}")
        if events.size < 2:
            raise ValueError(f"{EVENTS_LABEL}: SPOTDis compares windows: give at least 2 "
                             f"events, got {events.size}")
        events, labels = epoch_start_labels(data, events)
        try:
            return Epochs.from_events(events, start / 1e3, length / 1e3, data.t_start,
                                      data.t_stop, labels=labels,
                                      sampling_period=grid_period(data,
                                                                  self.clust.sampling_period))
        except ValueError as exc:
            name, _, reason = str(exc).partition(": ")
            field = {"events": EVENTS_LABEL, "offset": START_LABEL,
                     "length": LENGTH_LABEL}.get(name)
            raise ValueError(f"{field}: {reason}" if field else str(exc)) from None

    # ------------------------------------------------------------------ running
    async def _run(self, event=None):
        """Run SPOTDisClust in a worker thread and show the result (or why not)."""
        if self._running:
            return
        out = await self._in_worker("SPOTDis", self._compute)
        if out is None:
            return
        result, data, epochs_text = out
        self._stale.visible = False
        self._epochs_text = epochs_text
        self._show_result(result, data)

    async def _load_epoch_demo(self, event=None):
        """Load ``EPOCH_DEMO`` as the session's recording (as the Data page does)."""
        data = await AnalysisPage._in_worker(self, f"Loading demo '{EPOCH_DEMO}'",
                                             lambda: demo.load_demo(EPOCH_DEMO))
        if data is not None:
            self.session.load(data, f"demo '{EPOCH_DEMO}'")

    async def _baseline(self, event=None):
        out = await self._in_worker("Rate baseline", self.clust.baseline)
        if out is not None:
            self._baseline_box[:] = [Markdown(
                "### Rate-vector baseline\n" + baseline_text(out, self.result),
                sizing_mode="stretch_width")]

    async def _sweep(self, event=None):
        try:
            lengths = [float(v) / 1e3 for v in self._lengths.value.replace(";", ",").split(",")
                       if v.strip()]
        except ValueError:
            self._show_error(f"Window lengths: not numbers: {self._lengths.value!r}")
            return
        if not lengths:
            self._show_error("Window lengths: give at least one length in ms")
            return
        out = await self._in_worker("Window sweep",
                                    lambda: self.clust.window_sweep(lengths))
        if out is not None:
            self._sweep_box[:] = ["### Window sweep", sweep_view(out)]

    async def _in_worker(self, label, compute):
        """``compute()`` on the epochs the page's settings give; None if it did not run."""
        if self._running:
            return None
        try:
            data, epochs_text = self._apply_epochs()
        except (SpikeDataError, ValueError) as exc:
            self._show_error(f"{label}: {exc}")
            return None
        out = await super()._in_worker(label, compute, data, lambda: self.clust.data)
        if out is None or compute != self._compute:
            return out
        return out, data, epochs_text

    def _compute(self):
        """Worker thread: all steps (cached where the settings allow)."""
        if self.clust.data is None:
            raise ValueError("no data loaded: pick a data set on the Data page")
        return self.clust.run()

    def _on_period(self, event):
        value = None if event.new in (None, 0) else event.new / 1e3
        try:
            self.clust.sampling_period = value
        except ValueError as exc:
            self._show_error(f"{self.clust.param.sampling_period.label}: {exc}")

    def _on_setting(self, *events):
        if self.result is not None:
            self._stale.visible = True

    def _on_dissimilarity(self, *events):
        self._spotdis_settings.visible = self.clust.dissimilarity == "spotdis"

    # ------------------------------------------------------------------ data changes
    def _on_data(self, *events):
        """New data: forget results; settings stay."""
        self.clust.clear_cache()
        self.clust.data = data = self.session.data
        self.clust.source = self.session.source
        self.result = self._result_data = self._cut = None
        self.state = "idle"
        self._status.visible = self._stale.visible = self._results.visible = False
        for pane in (self._matrix, self._map, self._epoch_view, self._xcorr_view,
                     self._cluster_rows_holder, self._epoch_rows_holder):
            pane[:] = []
        self._cluster_select.options = {}
        self._baseline_box[:] = []
        self._sweep_box[:] = []
        with param.parameterized.batch_call_watchers(self):
            self.epoch = self.cluster = None
            self.highlight = []
        # the recording's epochs where it has them; otherwise windows around events only
        self._source.disabled = not has_epochs(data)
        self._starts_button.visible = data is not None and data.epochs is not None \
            and len(data.epochs) > 0
        self._demo_button.visible = data is not None and not has_epochs(data)
        self.epoch_source = RECORDING if has_epochs(data) else EVENTS
        self._events_box.visible = self.epoch_source == EVENTS
        self._enable_buttons()
        if data is not None:
            self.param.reference.bounds = (0, max(data.n_units - 1, 0))
            self._reference.end = max(data.n_units - 1, 0)
            self.reference = min(self.reference, max(data.n_units - 1, 0))
        self._summary.object = self._idle_summary()

    def _idle_summary(self):
        """The summary line before a run: the data and where its epochs come from."""
        data = self.session.data
        if data is None:
            return "No data loaded yet: pick one on the **Data** page."
        size = f"**{data.n_units} units, {data.duration:g} s**"
        if not has_epochs(data):
            return f"{size}: {NO_EPOCHS}"
        if self.epoch_source == EVENTS:
            return (f"{size}, epochs cut around the events under **Epochs** (the recording's "
                    f"own {len(data.epochs)} epochs are not used; ground-truth labels belong "
                    "to them, so there is no ARI or truth colouring). Set the parameters and "
                    "press **Run**.")
        truth = " with true epoch labels" if true_labels(data) is not None else ""
        return (f"**{len(data.epochs)} epochs, {data.n_units} units**{truth}. "
                f"Set the parameters and press **Run**.")

    # ------------------------------------------------------------------ results
    def _show_result(self, result, data):
        """Show ``result``, computed on ``data`` (the recording with the run's epochs).

        The first cluster is selected before anything is drawn, so that each view is
        drawn once, already showing it (the matrix's bands and the map's rings start from
        the highlight, the tables' rows are selected), and nothing is sent twice."""
        self.result = None  # the selection's watchers draw nothing meanwhile
        self._map_pipe = self._matrix_pipe = None   # the old result's overlays
        self._result_data = data
        if true_labels(data) is None and self.colour_by == "ground truth":
            self.colour_by = "cluster"
        labels = result.labels
        first = int(labels[labels >= 0].min()) if np.any(labels >= 0) else -1
        members = np.flatnonzero(labels == first)
        with param.parameterized.batch_call_watchers(self):
            self.cluster = first
            self.epoch = int(members[0]) if members.size else None
            self.reference = most_active(data, members)
            self.highlight = members.tolist()
        self.result = result
        options = {}
        for c in np.unique(labels):
            n = int(np.sum(labels == c))
            options[f"{cluster_name(c)} ({n} epochs)"] = int(c)
        # one message to the browser with the results drawn while out of the layout and
        # then put back in one step: BokehJS lays out and repaints the whole page after
        # each change of a layout's children (6 here), now once; the document's model
        # graph is recomputed once (freeze)
        with pn.io.hold(freeze=True):
            self._results_slot[:] = []
            self._summary.object = self._summary_text()
            # the cluster is already selected: _on_cluster_select does nothing
            self._cluster_select.param.update(options=options, value=first)
            self._results.visible = True
            self._draw_matrix()
            self._draw_map()
            self._fill_tables()
            self._select_rows()
            self._draw_selection()
            self._draw_flows()
            self._offer_hand_over()
            self._results_slot[:] = [self._results]

    def _result_summary(self):
        r = self.result
        sc, d = r.scores, r.spotdis
        M = len(r.labels)
        ari = "n/a (no true labels)" if not np.isfinite(sc["ari"]) else f"{sc['ari']:.3f}"
        epochs = f" · epochs: {self._epochs_text}" if self._epochs_text else ""
        sil = "n/a" if not np.isfinite(sc["silhouette"]) else f"{sc['silhouette']:.3f}"
        head = (f"**{sc['n_clusters']} clusters**, {sc['n_noise']} noise epochs of {M} · "
                f"ARI **{ari}** · silhouette **{sil}** · ")
        ship = getattr(r, "spikeship", None)
        g = getattr(r, "graph", None)
        if g is not None:
            return head + (f"{r.dissimilarity_name} in **graph mode** ({M} epochs > "
                           f"{r.params.get('max_full_epochs', '?')}): "
                           f"{g.neighbors.shape[1]} nearest epochs each from {g.n_pairs} "
                           f"exact epoch pairs ({g.n_undefined} undefined) · "
                           f"{r.elapsed:.1f} s{epochs}")
        if ship is not None:
            return head + (f"SpikeShip · undefined epoch pairs (fewer than 2 common neurons) "
                           f"**{ship.n_undefined}** of {M * (M - 1) // 2} · epochs with < 2 "
                           f"active neurons: {ship.n_empty_epochs} · {r.elapsed:.1f} s"
                           f"{epochs}")
        if d is None:  # the rate-vector baseline was clustered
            return (head + f"rate-vector dissimilarity (no timing) · {r.elapsed:.1f} s"
                    + epochs)
        kernel = d.method + (f", {d.sampling_period * 1e3:g} ms grid"
                             if d.sampling_period else "")
        return head + (f"undefined epoch pairs **{d.n_undefined}** of {M * (M - 1) // 2} · "
                       f"epochs with < 2 active neurons: {d.n_empty_epochs} · {kernel} "
                       f"kernel · {r.elapsed:.1f} s{epochs}")

    def _draw_matrix(self):
        r = self.result
        if r is None:
            return
        labels = r.labels
        if getattr(r, "graph", None) is not None:
            self._matrix_pipe = self._matrix_marks = None
            self._matrix[:] = [Markdown(GRAPH_NOTE, sizing_mode="stretch_width")]
            return
        self._matrix_pipe = hv.streams.Pipe(data=list(self.highlight))
        marks = self._matrix_marks = hv.DynamicMap(
            lambda data: matrix_highlight(labels, data), streams=[self._matrix_pipe])
        plot = dissimilarity_plot(r, full_range=self.matrix_scale == "full range",
                                  highlight=marks)
        self._matrix[:] = [pn.pane.HoloViews(plot)]

    def _draw_map(self):
        if self.result is None:
            return
        truth = true_labels(self._result_data)
        by_truth = self.colour_by == "ground truth" and truth is not None
        points = map_points(self.result.embedding, self.result.labels, truth,
                            by_truth=by_truth)
        stream = self._map_selection = hv.streams.Selection1D(source=points)
        stream.add_subscriber(self._on_tap)
        self._map_epochs = points.dimension_values("epoch").astype(np.int64)
        self._map_points = points
        embedding = self.result.embedding
        self._map_pipe = hv.streams.Pipe(data=list(self.highlight))
        rings = self._map_rings = hv.DynamicMap(lambda data: map_highlight(embedding, data),
                                                streams=[self._map_pipe])
        self._map[:] = [pn.pane.HoloViews(map_overlay(points, rings), height=460,
                                          sizing_mode="stretch_width", min_width=340)]
        self._colour.disabled = truth is None

    def _on_tap(self, index):
        """A tap (one dot) or a box or lasso (several) on the map picks those epochs."""
        if index and self.result is not None:
            self._pick(self._map_epochs[np.asarray(index, dtype=np.int64)])

    def _pick(self, epochs):
        """Highlight ``epochs``; one epoch also becomes the selected epoch and its cluster
        the selected cluster (cross-correlation, cluster list)."""
        epochs = sorted({int(k) for k in epochs})
        if not epochs:
            return
        if len(epochs) == 1:
            k = epochs[0]
            with param.parameterized.batch_call_watchers(self):
                self.cluster = int(self.result.labels[k])
                self.epoch = k
                self.highlight = epochs
            if self._cluster_select.value != self.cluster:
                self._cluster_select.value = self.cluster
            self._offer_hand_over()   # "Analyse the epochs of" this epoch's cluster
        else:
            self.highlight = epochs

    # ------------------------------------------------------------------ linked tables
    def _linked_tables(self):
        """The clusters' table and the epochs' table; a row click highlights its epochs.

        The tables enter their holders once the results are shown (Tabulator cannot lay
        out rows it receives while hidden). The epochs' table pages on the server, so a
        run of thousands of epochs sends one page at a time."""
        self._syncing = False
        self._cluster_labels = np.empty(0, dtype=np.int64)   # cluster table row -> label
        self._cluster_rows = pn.widgets.Tabulator(
            None, show_index=False, disabled=True, selectable=True, height=300,
            sizing_mode="stretch_width", layout="fit_data_stretch", pagination=None)
        self._epoch_rows = pn.widgets.Tabulator(
            None, show_index=False, disabled=True, selectable=True,
            sizing_mode="stretch_width", layout="fit_data_stretch", pagination="remote",
            page_size=EPOCH_PAGE_SIZE)
        self._cluster_rows.param.watch(self._on_cluster_rows, "selection")
        self._epoch_rows.param.watch(self._on_epoch_rows, "selection")
        self._cluster_rows_holder = pn.Column(width=460)
        self._epoch_rows_holder = pn.Column(sizing_mode="stretch_width", min_width=340)

    def _fill_tables(self):
        r = self.result
        truth = true_labels(self._result_data)
        self._cluster_labels = np.unique(r.labels)
        with self._sync():
            self._cluster_rows.value = cluster_table(r.labels, truth)
            self._epoch_rows.value = epoch_table(r.labels, r.embedding, self._result_data,
                                                 truth)
            self._cluster_rows.selection = self._epoch_rows.selection = []
            self._epoch_rows.page = 1
        self._cluster_rows_holder[:] = ["**Clusters**", self._cluster_rows]
        self._epoch_rows_holder[:] = ["**Epochs** (row k is epoch k)", self._epoch_rows]

    def _sync(self):
        """A context in which the tables' selection watchers do nothing (the page sets the
        selections itself)."""
        page = self

        class _Guard:
            def __enter__(self):
                self.before = page._syncing
                page._syncing = True

            def __exit__(self, *exc):
                page._syncing = self.before

        return _Guard()

    def _on_cluster_rows(self, event):
        if self._syncing or self.result is None:
            return
        rows = [i for i in event.new if 0 <= i < self._cluster_labels.size]
        if not rows:
            return
        clusters = self._cluster_labels[rows]
        if clusters.size == 1:
            c = int(clusters[0])
            if self._cluster_select.value != c:
                self._cluster_select.value = c   # -> _select_cluster
            else:
                self._select_cluster(c)
        else:
            self.highlight = np.flatnonzero(np.isin(self.result.labels, clusters)).tolist()

    def _on_epoch_rows(self, event):
        if self._syncing or self.result is None:
            return
        table = self._epoch_rows.value
        rows = [i for i in event.new if 0 <= i < len(table)]
        if rows:
            self._pick(table["epoch"].to_numpy()[rows])

    def _on_highlight(self, event=None):
        """Send the highlight to the map's and the matrix's overlays and select the tables'
        rows: restyles only, nothing is recomputed."""
        if self.result is None:
            return
        epochs = list(self.highlight)
        for pipe in (getattr(self, "_map_pipe", None), getattr(self, "_matrix_pipe", None)):
            if pipe is not None:
                pipe.send(epochs)
        self._select_rows()

    def _select_rows(self):
        """Select the tables' rows of the highlighted epochs."""
        epochs = list(self.highlight)
        if self.result is None or self._epoch_rows.value is None:
            return
        labels = self.result.labels
        picked = np.zeros(labels.size, dtype=bool)
        picked[epochs] = True
        # a cluster row is selected when the highlight is exactly whole clusters
        clusters = np.unique(labels[picked])
        whole = bool(epochs) and np.array_equal(picked, np.isin(labels, clusters))
        cluster_rows = np.flatnonzero(np.isin(self._cluster_labels, clusters)).tolist() \
            if whole else []
        with self._sync():
            if self._epoch_rows.selection != epochs:
                self._epoch_rows.selection = epochs
            if self._cluster_rows.selection != cluster_rows:
                self._cluster_rows.selection = cluster_rows
            if epochs:   # the page of the table that shows the first highlighted epoch
                self._epoch_rows.page = epochs[0] // EPOCH_PAGE_SIZE + 1

    def _on_cluster_select(self, event):
        if event.new is not None and self.result is not None and event.new != self.cluster:
            self._select_cluster(event.new)

    download_stem = "spotdis_clusters"
    analysis_attr = "clust"

    def _restore_result(self, result):
        data = self.clust.data  # the recording's own epochs (events + window: not kept)
        if data is None or data.epochs is None or len(data.epochs) != len(result.labels):
            return False
        self._epochs_text = f"the recording's {len(data.epochs)} epochs"
        self._show_result(result, data)
        return True

    # ------------------------------------------------------------------ hand-over
    def _offer_hand_over(self):
        r = self.result
        n = len(r.labels) if r is not None else 0
        self._labels_handover.offer(n, "Use the cluster labels as epoch labels in")
        members = int(np.sum(r.labels == self.cluster)) if r is not None and \
            self.cluster is not None else 0
        self._cluster_handover.offer(members, f"Analyse the {members} epochs of "
                                              f"{cluster_name(self.cluster)} in")

    def _hand_over_labels(self, page):
        if self.result is None:
            return
        names = [cluster_name(c) for c in self.result.labels]
        hand_over(self.session, data=self._result_data, epoch_labels=names, page=page,
                  epochs_label=f"epochs labelled by the clusters of "
                               f"{run_name(self.result, 'SPOTDis')}",
                  on_error=self._show_error)

    def _hand_over_cluster(self, page):
        if self.result is None or self.cluster is None:
            return
        hand_over(self.session, data=self._result_data, page=page,
                  **cluster_epochs(self.result, self.cluster), on_error=self._show_error)

    def _select_cluster(self, c):
        """Show cluster ``c`` with its first epoch and its most active neuron as reference."""
        members = np.flatnonzero(self.result.labels == c)
        with param.parameterized.batch_call_watchers(self):
            self.cluster = int(c)
            self.epoch = int(members[0]) if members.size else None
            self.reference = most_active(self._result_data, members)
            self.highlight = members.tolist()
        self._offer_hand_over()

    def _raster_title(self, epochs):
        labels = self.result.labels
        clusters = np.unique(labels[epochs])
        where = cluster_name(int(clusters[0])) if clusters.size == 1 else \
            f"{clusters.size} clusters"
        if len(epochs) == 1:
            return f"epoch {epochs[0]} ({where})"
        return f"{len(epochs)} epochs superimposed ({where})"

    def _draw_selection(self):
        data, r = self._result_data, self.result
        if r is None or data is None:
            return
        shown = list(self.highlight) or ([self.epoch] if self.epoch is not None else [])
        if shown:
            self._epoch_view[:] = [pn.pane.HoloViews(
                epochs_raster(data, shown, title=self._raster_title(shown)),
                height=380, sizing_mode="stretch_width")]
        if self.cluster is not None:
            members = np.flatnonzero(r.labels == self.cluster)
            name = cluster_name(self.cluster)
            self._xcorr_view[:] = [pn.pane.HoloViews(
                xcorr_plot(data, members, self.reference, sort=self.sort_by_delay,
                           title=f"{name}: delays to neuron {self.reference}, "
                                 f"{members.size} epochs"),
                height=380, sizing_mode="stretch_width")]


    # ------------------------------------------------------------------ sliding windows
    # Sliding windows over the whole recording (analysis.spotdis.windows) and SpikeShip's
    # flows of the selected cluster: their own controls, views, watchers and run.
    def _init_windows(self):
        """The sliding-window object, its controls and views, and the flows view."""
        self.windows = SlidingWindows(data=None, progress=self._on_progress)
        self._windows_result = None
        self._windows_data = None
        self._slide_length = pn.widgets.FloatInput(
            label=WINDOW_LENGTH_LABEL, value=200.0, step=10, start=0,
            sizing_mode="stretch_width",
            description="Length of each sliding window in ms (> 0); a pattern should fit "
                        "inside.")
        self._slide_step = pn.widgets.FloatInput(
            label=WINDOW_STEP_LABEL, value=50.0, step=10, start=0,
            sizing_mode="stretch_width",
            description="Time between the starts of consecutive windows in ms (> 0); below "
                        "the length, windows overlap.")
        self._slide_events = pn.widgets.Checkbox.from_param(self.windows.param.events_only)
        self._slide_active = pn.widgets.IntInput.from_param(
            self.windows.param.min_active, sizing_mode="stretch_width",
            description="Windows with fewer active units are not clustered (no pattern): "
                        "sparse windows find close neighbours by chance.")
        self._windows_button = pn.widgets.Button(
            label="Run sliding windows", color="primary", variant="outline",
            sizing_mode="stretch_width",
            description="Cut the whole recording into sliding windows, cluster them with the "
                        "dissimilarity and clustering settings above, and show which pattern "
                        "is active when.")
        self._windows_button.on_click(self._run_windows)
        self._job_buttons.append(self._windows_button)
        self._pattern_select = pn.widgets.Select(label="Pattern", options={},
                                                 sizing_mode="stretch_width")
        self._pattern_select.param.watch(lambda e: self._draw_sequence(), "value")
        self._windows_summary = Markdown("", sizing_mode="stretch_width")
        self._windows_course = pn.Column(sizing_mode="stretch_width")
        self._windows_sequence = pn.Column(sizing_mode="stretch_width")
        self._windows_box = pn.Column(
            "### Sliding windows", self._windows_summary, self._windows_course,
            pn.Column(self._pattern_select, width=260), self._windows_sequence,
            visible=False, sizing_mode="stretch_width")
        # SpikeShip: which neurons lead or lag in the selected cluster
        self._flows_view = pn.Column(sizing_mode="stretch_width")
        self._results.append(self._flows_view)
        self.param.watch(lambda *e: self._draw_flows(), ["cluster"])
        self.session.param.watch(self._on_windows_data, "data")

    def _window_controls(self):
        return ["**Sliding windows** (whole recording)",
                self._slide_length, self._slide_step,
                self._slide_active, self._slide_events, self._windows_button]

    def _on_windows_data(self, *events):
        self.windows.clear_cache()
        self.windows.clust.clear_cache()
        self._windows_result = self._windows_data = None
        self._windows_box.visible = False
        self._windows_course[:] = []
        self._windows_sequence[:] = []
        self._flows_view[:] = []
        self._pattern_select.options = {}
        self._windows_button.disabled = self._running or self.session.data is None

    def _window_settings(self):
        """Length and step in s from the ms inputs (ValueError naming the field)."""
        out = []
        for widget, label in ((self._slide_length, WINDOW_LENGTH_LABEL),
                              (self._slide_step, WINDOW_STEP_LABEL)):
            v = widget.value
            if v is None or not np.isfinite(v) or not v > 0:
                raise ValueError(f"{label}: must be > 0 ms, got {v}")
            out.append(float(v) / 1e3)
        return out

    async def _run_windows(self, event=None):
        """Sliding windows with the page's dissimilarity and clustering settings."""
        if self._running:
            return
        data = self.session.data
        try:
            if data is None:
                raise ValueError("no data loaded: pick a data set on the Data page")
            length, step = self._window_settings()
            c = self.clust
            self.windows.param.update(
                data=data, length=length, step=step, dissimilarity=c.dissimilarity,
                min_cluster_size=c.min_cluster_size, min_samples=c.min_samples,
                cluster_selection=c.cluster_selection, sampling_period=c.sampling_period,
                max_full_epochs=c.max_full_epochs, seed=c.seed)
            self.windows.source = self.session.source
        except (ValueError, TypeError) as exc:
            self._show_error(f"Sliding windows: {exc}")
            return
        out = await AnalysisPage._in_worker(self, "Sliding windows", self.windows.run, data,
                                            lambda: self.session.data)
        if out is not None:
            self._show_windows(out, data)
            work = getattr(self, "_work", None)
            if work is not None:
                work.save_result(WINDOWS_KEY, out)

    def keep_work(self, work, kept):
        """Keep sliding-window results with the session's work (``dashboard.work``, key
        ``WINDOWS_KEY``) and show the one kept from an earlier visit, without recomputing,
        when it belongs to the loaded recording."""
        self._work = work
        r = ((kept or {}).get("extras") or {}).pop(WINDOWS_KEY, None)
        if r is not None:
            self.restore_extra(WINDOWS_KEY, r)

    def work_results(self):
        """This page's results beside its clusters, for a work file (**Save work**):
        ``{WINDOWS_KEY: sliding-windows result}`` when there is one."""
        r = self._windows_result
        return {} if r is None else {WINDOWS_KEY: r}

    def restore_extra(self, key, result, keep=False):
        """Show a kept or opened sliding-windows result without computing, with the
        settings it was computed with in the sidebar (its dissimilarity too, unless the
        clusters shown were computed with another one); ``keep``: also keep it with the
        session's work. False (nothing shown) when it is not one or belongs to another
        recording."""
        data = self.session.data
        if key != WINDOWS_KEY or data is None or \
                type(result).__name__ != "SlidingWindowsResult":
            return False
        d = result.data_summary or {}
        if (d.get("units"), d.get("spikes")) != (data.n_units, data.n_spikes) or \
                result.start.size and (result.start[0] < data.t_start - 1e-9
                                       or result.stop[-1] > data.t_stop + 1e-9):
            return False   # another recording's: not shown
        self._windows_settings(result.params or {})
        self._show_windows(result, data)
        work = getattr(self, "_work", None)
        if keep and work is not None:
            work.save_result(WINDOWS_KEY, result)
        return True

    def _windows_settings(self, p):
        """The sidebar takes a sliding-windows result's parameters ``p``: length and step,
        the windows' own settings, and the clustering's (dissimilarity included) unless a
        clusters result computed with other ones is shown."""
        for widget, name in ((self._slide_length, "length"), (self._slide_step, "step")):
            v = p.get(name)
            if isinstance(v, (int, float)) and np.isfinite(v) and v > 0:
                widget.value = float(v) * 1e3
        own = {k: p[k] for k in ("min_active", "events_only", "event_bin", "event_threshold",
                                 "sequence", "n_neighbors", "max_sequence_windows")
               if k in p}
        shared = {k: p[k] for k in ("dissimilarity", "min_cluster_size", "min_samples",
                                    "cluster_selection", "max_full_epochs") if k in p}
        if self.result is not None and any(
                self.result.params.get(k) != v for k, v in shared.items()):
            shared = {}   # the clusters shown keep their settings in the sidebar
        for obj, values in ((self.windows, own), (self.clust, shared)):
            for k, v in values.items():
                try:
                    obj.param.update(**{k: v})
                except (ValueError, TypeError):   # a value this version refuses: kept as is
                    pass

    def _show_windows(self, result, data):
        self._windows_result, self._windows_data = result, data
        self._windows_summary.object = windows_text(result)
        self._windows_course[:] = [
            pn.pane.HoloViews(window_course_plot(data, result), sizing_mode="stretch_width",
                              height=420),
            Markdown(band_legend(result), sizing_mode="stretch_width",
                     styles={"font-size": "0.9em"})]
        options = {f"{pattern_name(k)} ({int(np.sum(result.labels == k))} windows)": k
                   for k in sorted(result.sequences)}
        self._pattern_select.options = options
        self._windows_box.visible = True
        if options:
            first = next(iter(options.values()))
            if self._pattern_select.value == first:
                self._draw_sequence()
            self._pattern_select.value = first
        else:
            self._windows_sequence[:] = [Markdown(
                "No pattern found: every window is noise at these settings.")]

    def _draw_sequence(self):
        r = self._windows_result
        k = self._pattern_select.value
        if r is None or k is None or k not in r.sequences:
            return
        self._windows_sequence[:] = [pn.pane.HoloViews(
            sequence_plot(r.sequences[k]), sizing_mode="stretch_width", height=300)]

    def _draw_flows(self):
        """SpikeShip's flows of the selected cluster against the other epochs (a seeded
        sample of at most ``FLOW_EPOCHS`` on each side); only with a SpikeShip result."""
        r, data = self.result, self._result_data
        if r is None or data is None or r.dissimilarity_name != "SpikeShip" or self.cluster is None:
            self._flows_view[:] = []
            return
        rng = np.random.default_rng(0)
        members = np.flatnonzero(r.labels == self.cluster)
        others = np.flatnonzero(r.labels != self.cluster)
        if members.size == 0 or others.size == 0:
            self._flows_view[:] = []
            return
        members = np.sort(rng.choice(members, min(members.size, FLOW_EPOCHS), replace=False))
        others = np.sort(rng.choice(others, min(others.size, FLOW_EPOCHS), replace=False))
        flows = neuron_flows(data, members, others)
        self._flows_view[:] = [pn.pane.HoloViews(flows_plot(
            flows, f"{cluster_name(self.cluster)}: SpikeShip flows, {members.size} epochs "
                   f"against {others.size} others"), sizing_mode="stretch_width",
            height=300)]
