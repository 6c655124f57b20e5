"""The ASSET page: parameters, a run in a worker thread, the matrices, SSEs and orderings.

ASSET (Torre et al. 2016) finds sequences of synchronous events (SSEs); its matrices are
bins x bins. All five are drawn with bin-centre times in seconds on both axes, bin j on x
("time j (s)") and bin i on y ("time i (s)"), origin at the bottom left: the main diagonal
runs from bottom left to top right, and a synfire chain shows as short stripes parallel to
it. The five plots share their axes, so zooming one zooms all. With them: the SSE table, and
rasters in the original, ASSET's and (when known) the true order, with close-ups of the
highlighted SSE, where the chain shows as a diagonal. A click on a row of the SSE table
highlights that SSE in every plot (its entries in each matrix, its neurons' spikes and its
time span on every raster); a second click on the row, or **Clear highlight**, removes it.

A recording with more than ``max_bins`` bins is not run at once: the page offers a tiled run
(``Asset.run(tiled=True)``: row tiles, only the significant entries kept) or a restriction
to the first window that fits (``analysis.restrict``, shown in the whole app as a
hand-over), each one click. The tiled run is also a choice of its own (**Run in row
tiles**); a tiled result draws its significant entries instead of the five matrices.

A new alpha or clustering setting reruns only the mask and what follows (``Asset`` caches the
slow steps) and the matrices redraw at the current zoom; settings that need the slow steps
wait for the Run button. The figures are ``dashboard.asset_views``' (the report draws the
same).
"""

from __future__ import annotations

import holoviews as hv
import numpy as np
import panel as pn
import param
from bokeh.models.widgets.tables import NumberFormatter

from analysis.asset import Asset, AssetResult, sse_neurons, sse_time_bins

from . import views, widgets
from .asset_views import (MATRICES, TILED_NOTE, closeups, is_tiled, matrix_plots,
                          raster_orders, sse_spikes, sse_window, summary_facts)
from .handover import hand_over, handover_controls, sse_units
from .page_base import AnalysisPage
from .text import Markdown, escape_markdown

# parameters in seconds, shown in milliseconds (their labels say "(ms)")
MS_PARAMETERS = ["bin_size", "kernel_width"]
# a change here needs the slow steps again: the Run button applies it
SLOW_PARAMETERS = ["bin_size", "kernel_width", "binary", "filter_shape", "n_largest",
                   "min_p_value"]
# a change here reruns only cheap steps (the mask and after, or the displayed intersection
# matrix's normalization): applied at once when results are shown
CHEAP_PARAMETERS = ["normalization", "alpha_p", "alpha_j", "max_distance", "min_neighbors",
                    "stretch"]
# ... except after a tiled run, which keeps no matrices: new alphas need the tiles again
TILED_SLOW_PARAMETERS = ["alpha_p", "alpha_j"]
PARAMETER_GROUPS = [
    # (normalization is left out: Panel's Select cannot show its None choice; it only
    # changes the intersection matrix's display, and a notebook can still set it)
    ("Intersection matrix", ["binary"]),
    ("Joint probability", ["filter_shape", "n_largest", "min_p_value"]),
    ("Significance", ["alpha_p", "alpha_j"]),
    ("Clustering (DBSCAN)", ["max_distance", "min_neighbors", "stretch"]),
]
PARAMETER_WIDGETS = {
    "min_p_value": {"type": pn.widgets.FloatInput, "step": 1e-5, "format": "0.[000000]"},
    "alpha_p": {"type": pn.widgets.FloatInput, "step": 0.001, "format": "0.[00000]"},
    "alpha_j": {"type": pn.widgets.FloatInput, "step": 0.001, "format": "0.[00000]"},
    "max_distance": {"type": pn.widgets.FloatInput, "step": 1.0},
    "stretch": {"type": pn.widgets.FloatInput, "step": 0.5},
}
MATRIX_GUIDE = """**Reading the matrices.** Entry (i, j) compares time bin i (y axis) with
bin j (x axis); the diagonal runs from bottom left to top right. A sequence of synchronous
events that repeats shows as a stripe parallel to the diagonal, away from it.

Pink squares mark the entries of the highlighted SSE (click a row of the SSE table;
click it again, or **Clear highlight**, to remove it). Drag to pan and scroll to zoom: the five
matrices move together; hover for values. Tick **Zoom matrices to the SSE** to look closer.

Below, the rasters with units in ASSET's order: the SSE's neurons come first, in chain order,
so the chain shows as a diagonal in the close-ups."""
TILED_GUIDE = """**Reading the plot.** Entry (i, j) compares time bin i (y axis) with
bin j (x axis), as in a full run's matrices; only the entries found significant are drawn,
in their SSE's colour (grey: noise). A sequence of synchronous events that repeats shows as
a stripe parallel to the diagonal, away from it. Pink squares mark the entries of the
highlighted SSE (click a row of the SSE table; click it again, or **Clear highlight**, to
remove it)."""
TILED_HELP = """For many bins (20,000 and more): keeps only the entries found significant,
not the five matrices; a new alpha then needs Run."""


def _sync_overlay_ranges(root_view, root_model):
    """After Panel links the axes of panes (``linked_axes``), point the layers of overlaid
    plots at the shared ranges too.

    Panel gives an overlay's figure the shared ranges but leaves its layers' ``handles``
    on the old ones; HoloViews' RangeXY callback then reports the old (whole) range, and
    a rasterized matrix under a highlight overlay did not redraw for a zoom made in
    another matrix. A Panel preprocessing hook, run after Panel's own ``link_axes``.
    """
    from holoviews.plotting.bokeh.element import ElementPlot

    ref = root_model.ref["id"]
    for pane in root_view.select(pn.pane.HoloViews):
        if not pane.linked_axes or ref not in pane._plots:
            continue
        for plot in pane._plots[ref][0].traverse(specs=[ElementPlot]):
            fig = getattr(plot, "state", None)
            for name in ("x_range", "y_range"):
                shared = getattr(fig, name, None)
                if shared is not None and name in plot.handles \
                        and plot.handles[name] is not shared:
                    plot.handles[name] = shared


if _sync_overlay_ranges.__name__ not in {h.__name__ for h in
                                         pn.viewable.Viewable._preprocessing_hooks}:
    pn.viewable.Viewable._preprocessing_hooks.append(_sync_overlay_ranges)


def _one_update():
    """Hold the session's document while the page changes several plots at once: the
    browser gets one message and lays the page out once, and Bokeh walks its model graph
    once instead of once per changed layout (seven times when a result was shown). Does
    nothing outside a served session."""
    return pn.io.hold(freeze=True)


def _send_new(pipe, result, cluster):
    """Send ``(result, cluster)`` through the highlight ``pipe`` unless it holds them
    already (a resend redraws every plot the pipe feeds)."""
    old = pipe.data
    if not (isinstance(old, tuple) and len(old) == 2 and old[0] is result
            and old[1] == cluster):
        pipe.send((result, cluster))


class TooManyBins(ValueError):
    """More bins than the page computes full matrices for (``AssetPage.max_bins``)."""


class AssetPage(AnalysisPage):
    """ASSET on the session's data: set parameters, run, and look at matrices and SSEs."""

    result = param.ClassSelector(class_=AssetResult, allow_None=True, precedence=-1, doc="""
        The last run's result for the session's current data (None before a run).""")
    cluster = param.Integer(default=0, label="Highlight SSE", doc="""
        Cluster id whose entries and spikes are highlighted; 0 for none.""")
    zoom_to_sse = param.Boolean(default=False, label="Zoom matrices to the SSE", doc="""
        Show the matrices around the highlighted SSE instead of the whole recording.""")
    max_bins = param.Integer(default=5000, bounds=(1, None), doc="""
        Largest number of bins the page computes ASSET's full matrices for: each matrix
        holds bins x bins values (5000 bins: 200 MB per float matrix). Above it the page
        offers the tiled run or a shorter window.""")
    tiled = param.Boolean(default=False, label="Run in row tiles (large recordings)", doc="""
        Run ASSET in row tiles (``Asset.run(tiled=True)``): only the significant entries are
        kept, not the bins x bins matrices, so any number of bins that fits the memory
        budget runs.""")

    def __init__(self, **params):
        super().__init__(**params)
        self.asset = Asset(data=self.session.data, progress=self._on_progress)
        self._pending = False
        # Pipes feeding the shown plots: a cheap rerun or a new selection redraws through
        # them, keeping the zoom; new plots get new pipes, so old plots are not fed
        self._matrix_stream = self._matrix_marks = self._raster_marks = None
        self._shown_matrices = None  # (shape, zoom window) of the shown matrix plots
        self._shown_order = None

        self._init_run_controls("Run ASSET")
        self._run_button.on_click(self._run)
        self._cluster_select = pn.widgets.Select(label=self.param.cluster.label,
                                                 options={"none": 0}, width=280)
        self._cluster_select.param.watch(lambda e: setattr(self, "cluster", e.new), "value")
        self._clear_button = pn.widgets.Button(
            label="Clear highlight", width=130, margin=(28, 10, 5, 5),
            description="Remove the highlighted SSE from every plot.")
        self._clear_button.on_click(lambda e: setattr(self, "cluster", 0))
        self._syncing_table = False  # True while the page itself sets the table
        self._table = pn.widgets.Tabulator(
            # "toggle": a second click on the selected row deselects it (with 1, Panel's
            # table keeps the row selected); the page keeps one row selected at most
            None, show_index=False, disabled=True, selectable="toggle", height=150,
            sizing_mode="stretch_width", layout="fit_data_fill", widths={"units": 200},
            # short titles so that every column fits beside the matrices
            titles={"start i (s)": "i start", "end i (s)": "i end", "start j (s)": "j start",
                    "end j (s)": "j end"},
            header_tooltips={"start i (s)": "first bin of the SSE on the i axis (s)",
                             "end i (s)": "last bin of the SSE on the i axis (s)",
                             "start j (s)": "first bin of the SSE on the j axis (s)",
                             "end j (s)": "last bin of the SSE on the j axis (s)",
                             "entries": "significant matrix entries in the cluster",
                             "neurons": "neurons spiking in the SSE's bins",
                             "units": "their unit ids"},
            formatters={c: NumberFormatter(format="0.000") for c in
                        ["start i (s)", "end i (s)", "start j (s)", "end j (s)"]})
        self._table.param.watch(self._on_table_selection, "selection")
        # the table enters the page only once it has rows and its box is shown: Tabulator
        # cannot lay out rows it receives while hidden, and then shows none (a race)
        self._table_holder = pn.Column(sizing_mode="stretch_width")
        self._sse_units = handover_controls(self._hand_over_units)
        self._sse_span = handover_controls(self._hand_over_span)
        self._sse_box = pn.Column(
            "### Synchronous events (SSEs)",
            pn.Row(self._cluster_select, self._clear_button,
                   pn.widgets.Checkbox.from_param(self.param.zoom_to_sse, margin=(30, 10))),
            self._table_holder, self._download_row(), self._sse_units.row,
            self._sse_span.row, visible=False,
            sizing_mode="stretch_width")
        self._matrices = pn.Column(sizing_mode="stretch_width")
        self._rasters = pn.Column(sizing_mode="stretch_width")
        self._closeups = pn.Row(sizing_mode="stretch_width")
        self._tiled_note = Markdown(TILED_NOTE, visible=False, sizing_mode="stretch_width",
                                    styles={"font-size": "0.9em"})
        self._init_offer()

        self.asset.param.watch(self._on_slow_change, SLOW_PARAMETERS)
        self.asset.param.watch(self._on_cheap_change, CHEAP_PARAMETERS)
        self.session.param.watch(self._on_data, "data")
        self.param.watch(self._on_cluster, "cluster")
        self.param.watch(lambda e: self._update_matrices(), "zoom_to_sse")
        self.param.watch(self._on_slow_change, "tiled")
        self._layout = self._build_layout()
        self._on_data()

    # ------------------------------------------------------------------ layout
    def _build_layout(self):
        asset = self.asset
        groups = []
        for title, names in PARAMETER_GROUPS:
            groups += [f"**{title}**", pn.Param(
                asset, parameters=names, show_name=False, sizing_mode="stretch_width",
                widgets={n: PARAMETER_WIDGETS[n] for n in names if n in PARAMETER_WIDGETS})]
        controls = pn.Column(
            "## ASSET",
            Markdown("Sequences of synchronous events (Torre et al. 2016): a synfire "
                             "chain shows as stripes parallel to the diagonal.",
                             styles={"font-size": "0.9em"}),
            "**Binning**",
            *[widgets.milliseconds_input(asset, n, on_error=self._show_error)
              for n in MS_PARAMETERS],
            *groups,
            "**Large recordings**",
            pn.widgets.Checkbox.from_param(self.param.tiled),
            Markdown(TILED_HELP, styles={"font-size": "0.85em"}),
            self._run_row(),
            width=280,
        )
        results = pn.Column(self._status, self._offer, self._stale, self._summary,
                            self._sse_box, self._tiled_note, self._matrices, self._rasters,
                            sizing_mode="stretch_width")
        return pn.Row(controls, results, sizing_mode="stretch_width")

    def __panel__(self):
        return self._layout

    # ------------------------------------------------------------------ running
    async def _run(self, event=None):
        """Run ASSET in a worker thread; show the result, or one line saying what failed."""
        if self._running:
            self._pending = True  # settings changed during the run: run again afterwards
            return
        self._offer.visible = False
        if self._make_offer():
            return
        while True:
            self._pending = False
            data = self.asset.data
            result = await self._in_worker("ASSET", self._compute, data,
                                           lambda: self.asset.data)
            if result is None:
                if self.asset.data is not data:
                    # the data changed meanwhile: drop the cache too, whose steps may have
                    # read the old data under new keys
                    self.asset.clear_cache()
                return
            if not self._pending:
                break
        self._stale.visible = False
        self.result = result
        self._show_result()

    def _compute(self):
        """The worker-thread part of a run: check the size, then all steps (cached)."""
        asset = self.asset
        if asset.data is None:
            raise ValueError("no data loaded: pick a data set on the Data page")
        if asset.data.duration < asset.bin_size:
            raise ValueError(f"Bin size: {asset.bin_size * 1e3:g} ms is longer than the "
                             f"recording ({asset.data.duration:g} s)")
        if self.tiled:
            return asset.run(tiled=True)  # its memory guard: Asset.memory_needed(tiled=True)
        n_bins = asset.data.n_bins(asset.bin_size)
        if n_bins > self.max_bins:
            raise TooManyBins(self._too_many_bins_text(n_bins))
        return asset.run()

    def _too_many_bins_text(self, n_bins):
        return (f"Bin size: {self.asset.bin_size * 1e3:g} ms gives {n_bins} bins; this page "
                f"computes ASSET's full matrices on at most {self.max_bins} bins (each "
                f"matrix has bins x bins entries)")

    def _on_slow_change(self, *events):
        if self.result is not None:
            self._stale.visible = True

    async def _on_cheap_change(self, *events):
        if self.result is None or self._shows_settings():
            return
        if is_tiled(self.result) and (self._stale.visible or any(
                e.name in TILED_SLOW_PARAMETERS for e in events)):
            # the tiles hold no matrices to threshold again: new alphas, or a setting
            # waiting for the Run button, need the tiles again
            self._stale.visible = True
            return
        await self._run()

    # ------------------------------------------------------------------ too many bins
    def _init_offer(self):
        """The way out of "too many bins": a tiled run or a shorter window, one click each."""
        self._offer_text = Markdown("", sizing_mode="stretch_width")
        self._offer_tiles = pn.widgets.Button(
            label="Run in tiles", color="primary", width=150,
            description="Run ASSET in row tiles: only the entries found significant are kept.")
        self._offer_window = pn.widgets.Button(
            label="Restrict to a window", color="primary", width=250,
            description="Restrict the recording (in the whole app, as the Data page's "
                        "Restrict does) to a window that fits, and run ASSET on it.")
        self._offer_tiles.on_click(self._run_in_tiles)
        self._offer_window.on_click(self._run_on_window)
        self._offer_window_s = None
        self._offer = pn.Column(
            self._offer_text, pn.Row(self._offer_tiles, self._offer_window),
            visible=False, sizing_mode="stretch_width",
            styles={"background": "#fff3cd", "border": "1px solid #ffe69c",
                    "border-radius": "6px", "padding": "4px 10px"})
        self._job_buttons += [self._offer_tiles, self._offer_window]

    def _make_offer(self):
        """Before a full run: when the data have more than ``max_bins`` bins, show the offer
        instead and return True."""
        asset, data = self.asset, self.asset.data
        if self.tiled or data is None or not 0 < asset.bin_size <= data.duration:
            return False  # a tiled run, or an error that _compute reports
        n_bins = data.n_bins(asset.bin_size)
        if n_bins <= self.max_bins:
            return False
        window = self._fitting_window()
        self._offer_window_s = window
        length = window[1] - window[0]
        self._offer_window.label = f"Restrict to a window of {length:g} s"
        lines = [f"**{escape_markdown(self._too_many_bins_text(n_bins))}.** Either:",
                 f"- **Run in tiles**: all {n_bins} bins, in row tiles; only the entries found "
                 f"significant are kept (the matrices are not drawn); {self._tiles_memory()}",
                 f"- **Restrict to a window of {length:g} s** ({window[0]:g}-{window[1]:g} "
                 f"s, {self.max_bins} bins or fewer; the whole app shows the restricted "
                 f"recording, and **Whole recording** on the Data page goes back),",
                 "- or use larger bins or a shorter recording."]
        self._offer_text.object = "\n".join(lines)
        self._offer_tiles.disabled = self._tiles_refused() is not None
        self._offer.visible = True
        self.session.message = self._too_many_bins_text(n_bins)
        self.state = "idle"
        return True

    def _fitting_window(self):
        """(t0, t1): the first window of the data with at most ``max_bins`` bins."""
        data, bin_size = self.asset.data, self.asset.bin_size
        length = self.max_bins * bin_size
        # shorter by a hair where rounding would give one bin too many
        while data.time_slice(data.t_start, data.t_start + length).n_bins(bin_size) \
                > self.max_bins:
            length -= bin_size
        return data.t_start, data.t_start + length

    def _tiles_refused(self):
        """Why the tiled run would not fit the memory budget (one line), or None."""
        asset = self.asset
        need, budget = asset.memory_needed(tiled=True), asset._budget()
        if need <= budget:
            return None
        return (f"the tiled run needs about {need / 1e9:.2f} GB, more than the memory "
                f"budget of {budget / 1e9:.2f} GB")

    def _tiles_memory(self):
        refused = self._tiles_refused()
        if refused:
            return f"not possible here: {refused}."
        return f"it needs about {self.asset.memory_needed(tiled=True) / 1e6:,.0f} MB."

    async def _run_in_tiles(self, event=None):
        self._offer.visible = False
        self.tiled = True
        await self._run()

    async def _run_on_window(self, event=None):
        window = self._offer_window_s
        if window is None or self.session.data is None:
            return
        self._offer.visible = False
        restricted = hand_over(self.session, window=window, on_error=self._show_error)
        if restricted is not None:
            await self._run()

    # ------------------------------------------------------------------ data changes
    def _on_data(self, *events):
        """New data: clear the results (and the Asset cache, to free the old matrices)."""
        self.asset.clear_cache()
        self.asset.data = self.session.data
        self.asset.source = self.session.source
        self.result = None
        self.cluster = 0
        self._status.visible = self._stale.visible = self._offer.visible = False
        self._sse_box.visible = self._tiled_note.visible = False
        self._table_holder[:] = []
        self._set_table(value=None)
        self._cluster_select.options = {"none": 0}
        self._matrices[:] = []
        self._closeups[:] = []
        self._matrix_stream = self._matrix_marks = self._raster_marks = None
        self._shown_matrices = self._shown_order = None
        data = self.session.data
        if data is None:
            self._summary.object = "No data loaded yet: pick one on the **Data** page."
            self._rasters[:] = []
            return
        self._summary.object = (f"**{data.n_units} units, {data.duration:g} s.** Set the "
                                f"parameters and press **Run ASSET**.")
        self._rasters[:] = [self._raster_pane(views.raster(data, title="original order"))]

    # ------------------------------------------------------------------ results
    def _set_table(self, **values):
        """Set the table's value or selection without taking it for a click."""
        self._syncing_table = True
        try:
            self._table.param.update(**values)
        finally:
            self._syncing_table = False

    def _show_result(self):
        with _one_update():
            self._fill_result()

    def _fill_result(self):
        result, data = self.result, self.asset.data
        table = result.sse_table(data.unit_ids)
        self._set_table(value=table)
        # header ~60 px and rows ~50 px as rendered: no empty rows, at most 5 before scrolling
        self._table.height = 60 + 50 * min(len(table), 5)
        self._sse_box.visible = True
        if not len(self._table_holder):
            self._table_holder[:] = [self._table]
        options = {"none": 0}
        for row in table.itertuples(index=False):
            options[f"SSE {row.cluster}: {row.entries} entries, {row.neurons} neurons"] = \
                int(row.cluster)
        self._cluster_select.options = options
        self._summary.object = self._summary_text()
        self._tiled_note.visible = is_tiled(result)
        # keep the user's SSE if it still exists, else the largest (the one the ordering
        # comes from)
        largest = (int(table.sort_values(["entries", "cluster"], ascending=[False, True])
                       .iloc[0]["cluster"]) if len(table) else 0)
        keep = self.cluster if self.cluster and self.cluster in options.values() else largest
        with param.parameterized.discard_events(self):
            self.cluster = keep
        order = tuple(result.order.tolist())
        if order != self._shown_order:
            self._rasters[:] = [self._raster_grid()]
            self._shown_order = order
        self._on_cluster()

    def _result_summary(self):
        r = self.result
        text = " · ".join([*summary_facts(r, self.asset.data.n_units),
                           f"run {r.elapsed:.1f} s"])
        missing = [n for n in MATRICES if getattr(r, n) is None]
        if is_tiled(r):
            text += ("  \n**Tiled run** (row tiles): only the entries found "
                     "significant were kept; the matrices are not shown.")
        elif missing:
            text += f"  \n(not kept by this run, so not shown: {', '.join(missing)})"
        return text

    # ------------------------------------------------------------------ selection
    def _on_table_selection(self, event):
        """A click on a row highlights its SSE; a second click (no row selected) clears."""
        table = self._table.value
        if self._syncing_table or table is None or not len(table):
            return
        rows = [i for i in (event.new or []) if 0 <= i < len(table)]
        added = [i for i in rows if i not in (event.old or [])]
        pick = added[-1] if added else (rows[-1] if rows else None)
        self.cluster = int(table.iloc[pick]["cluster"]) if pick is not None else 0
        # one row at most: a click on a second row moves the selection there
        keep = [] if pick is None else [pick]
        if self._table.selection != keep:
            self._set_table(selection=keep)

    def _on_cluster(self, *events):
        with _one_update():
            self._show_cluster()

    def _show_cluster(self):
        cluster = self.cluster
        if cluster in self._cluster_select.options.values():
            self._cluster_select.value = cluster
        table = self._table.value
        if table is not None and len(table):
            rows = np.flatnonzero(table["cluster"].to_numpy() == cluster).tolist()
            if self._table.selection != rows:
                self._set_table(selection=rows)
        if self.result is None:
            return
        self._offer_hand_over()
        self._update_matrices()
        if self._raster_marks is not None:
            _send_new(self._raster_marks, self.result, cluster)
        self._closeups[:] = self._closeup_panes()

    download_stem = "asset_sses"
    analysis_attr = "asset"

    def _restore_result(self, result):
        self.tiled = is_tiled(result)  # a rerun works as the result was computed
        self.result = result
        self._show_result()
        self._stale.visible = False
        return True

    def _table_unit_ids(self):
        return self.asset.data.unit_ids if self.asset.data is not None else None

    # ------------------------------------------------------------------ hand-over
    def _sse_span_s(self):
        """(start, stop) in s of the chosen SSE: both its occurrences where the j axis is
        the same recording, else its i span."""
        r, sse = self.result, self.result.sses.get(self.cluster)
        start, end = sse_time_bins(sse)
        t0 = r.t_start + start[0] * r.bin_size
        t1 = r.t_start + (end[0] + 1) * r.bin_size
        if r.symmetric:
            t0 = min(t0, r.t_start + start[1] * r.bin_size)
            t1 = max(t1, r.t_start + (end[1] + 1) * r.bin_size)
        return t0, t1

    def _offer_hand_over(self):
        r = self.result
        sse = r.sses.get(self.cluster) if r is not None and self.cluster else None
        if not sse:
            self._sse_units.offer(0, "")
            self._sse_span.offer(0, "")
            return
        t0, t1 = self._sse_span_s()
        self._sse_units.offer(1, f"SSE {self.cluster}: analyse its "
                                 f"{len(sse_neurons(sse))} neurons in")
        self._sse_span.offer(1, f"SSE {self.cluster}: analyse its time span "
                                f"({t0:.3f}-{t1:.3f} s) in")

    def _hand_over_units(self, page):
        r, data = self.result, self.asset.data
        if r is None or not r.sses.get(self.cluster):
            return
        hand_over(self.session, **sse_units(r, data, self.cluster), page=page,
                  on_error=self._show_error)

    def _hand_over_span(self, page):
        if self.result is None or not self.result.sses.get(self.cluster):
            return
        hand_over(self.session, window=self._sse_span_s(), page=page,
                  on_error=self._show_error)

    # ------------------------------------------------------------------ matrices
    def _update_matrices(self):
        """Redraw the matrices in place when their axes stay, else make new plots."""
        if self.result is None:
            return
        shape = next((getattr(self.result, n).shape for n in MATRICES
                      if getattr(self.result, n) is not None),
                     ("tiled", self.result.data_summary.get("bins")))
        window = sse_window(self.result, self.cluster) if self.zoom_to_sse else None
        if self._matrix_stream is not None and self._shown_matrices == (shape, window):
            # only what changed: a new highlight redraws the marks, not five matrices
            if self._matrix_stream.data is not self.result:
                self._matrix_stream.send(self.result)
            _send_new(self._matrix_marks, self.result, self.cluster)
        else:
            self._matrices[:] = [self._matrix_grid(window)]
            self._shown_matrices = (shape, window)

    def _matrix_grid(self, window=None):
        """The five matrices, one pane each: Panel links the axes of panes with the same
        dimensions, so they zoom together (an hv.Layout in one pane collapsed to zero width
        inside the app's stretching main area). New plots get new streams, so old plots are
        not fed."""
        self._matrix_stream = hv.streams.Pipe(data=self.result)
        self._matrix_marks = hv.streams.Pipe(data=(self.result, self.cluster))
        panes = [pn.pane.HoloViews(plot, linked_axes=True, sizing_mode="fixed") for plot in
                 matrix_plots(self.result, self._matrix_stream, self._matrix_marks, window)]
        guide = TILED_GUIDE if is_tiled(self.result) else MATRIX_GUIDE
        return pn.GridBox(*panes, Markdown(guide, width=300, styles={"font-size": "0.85em"}),
                          ncols=2)

    # ------------------------------------------------------------------ rasters
    @staticmethod
    def _raster_pane(raster, height=340):
        # each raster zooms alone: their rows are units in different orders
        return pn.pane.HoloViews(raster, sizing_mode="stretch_width", height=height,
                                 linked_axes=False)

    def _raster_grid(self):
        spikes, r = self.asset.data, self.result
        self._raster_marks = hv.streams.Pipe(data=(r, self.cluster))
        panes = []
        for order, title in raster_orders(r, spikes):
            # the stream sends (result, cluster): the highlight follows the selected SSE,
            # its neurons on their rows in this raster's order
            rows = "original" if order is None else order
            highlight = hv.DynamicMap(
                lambda data, rows=rows: sse_spikes(data[0], spikes, data[1], order=rows),
                streams=[self._raster_marks])
            panes.append(self._raster_pane(
                views.raster(spikes, order=order, title=title) * highlight))
        return pn.Column("### Rasters", pn.GridBox(*panes, ncols=len(panes)),
                         self._closeups, sizing_mode="stretch_width")

    def _closeup_panes(self):
        return [self._raster_pane(raster)
                for raster in closeups(self.result, self.asset.data, self.cluster)]
