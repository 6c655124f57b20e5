"""The Assembly neurons page: parameters, a cancellable run, ranked surrogate box plots, a
results table, the evaluation against ground truth and a baseline sweep.

Assembly-neuron identification (Berger et al. 2010) compares each neuron's statistic (CPC or
CSF) with the distribution of that statistic over surrogates that move only the neuron's own
spikes. The page draws, for every neuron in rank order, the original statistic as a dot over a
box plot of its surrogates (box 5-95 %, narrow box 1-99 %, whiskers min-max, tick median), so
the neurons whose dot sits above their own box stand out at the left.

A new statistic, alpha or correction reruns only the table: ``AssemblyNeurons`` caches the
surrogates, which hold both statistics. Settings that change the surrogates wait for the Run
button. A run (and a sweep) can be cancelled: the progress callback raises ``Cancelled`` once
the Cancel button is pressed, which stops the computation after the current block of work
(a bounded number of surrogates, see ``analysis.assembly.work_blocks``). The figures are
``dashboard.assembly_views``' (the report draws the same).
"""

from __future__ import annotations


import numpy as np
import pandas as pd
import panel as pn
import param
from bokeh.models.widgets.tables import NumberFormatter

from analysis.assembly import (AssemblyNeurons, AssemblyResult, assembly_membership, evaluate,
                               evaluation_sweeps, pairwise_coincidences, sweep)

from .assembly_views import (PLOT_CAPTION, box_plot, box_plot_title, evaluation_figure,
                             evaluation_text, format_baseline, pairwise_plot, rank_table,
                             settings_text, statistic_label, surrogate_columns,
                             surrogate_label, sweep_plot)
from . import views
from .handover import assembly_units, hand_over, handover_controls
from .page_base import AnalysisPage
from .text import Alert, Markdown, escape_markdown
from .widgets import ColumnPicker, milliseconds_input

# parameters whose change needs new surrogates: the Run button applies them
SLOW_PARAMETERS = ["power", "normalized", "bin_size", "surrogate", "baseline", "trial_length",
                   "n_surrogates", "seed"]
# parameters whose change rebuilds only the table (the surrogates hold both statistics):
# applied at once when results are shown
CHEAP_PARAMETERS = ["statistic", "alpha", "correction"]
# detector settings a baseline sweep takes from the page (it sets surrogate and baseline)
SWEEP_SETTINGS = ["statistic", "power", "normalized", "bin_size", "n_surrogates", "alpha",
                  "correction"]
SWEEP_BASELINES = [0.0, 0.1, 0.3, 1.0, 3.0, 10.0, np.inf]

CORRECTIONS = {"none": None, "Holm": "holm", "BH (FDR)": "bh"}


class OptionalChoice(pn.widgets.RadioButtonGroup):
    """Buttons for a choice that includes None (the correction).

    Panel 1.9 leaves None-valued parameters out when it builds a widget's model, so with
    ``value=None`` no button showed as chosen (and a ``Select`` shows None as a blank entry).
    """

    def _init_params(self):
        params = super()._init_params()
        params.setdefault("value", self.value)
        return params


class AssemblyPage(AnalysisPage):
    """Assembly-neuron identification on the session's data."""

    result = param.ClassSelector(class_=AssemblyResult, allow_None=True, precedence=-1, doc="""
        The last run's result for the session's current data (None before a run).""")
    evaluation = param.Dict(default=None, allow_None=True, precedence=-1, doc="""
        The result against the data's ground-truth assembly membership (None without it).""")
    sweep_table = param.DataFrame(default=None, allow_None=True, precedence=-1, doc="""
        Detections per baseline of the last sweep.""")
    pairwise = param.Boolean(default=False, label="Compare with pairwise coincidences", doc="""
        Add each unit's coincidences with all others to the table and plot its rank score
        against them, with Spearman's rho (Berger et al. 2010, Figs. 8c and 9b).""")
    top_k = param.Integer(default=50, bounds=(1, None), label="Units shown (best rank first)",
                          doc="How many units the box plot shows, in rank-score order.")
    evaluation_table = param.DataFrame(default=None, allow_None=True, precedence=-1, doc="""
        FP and FN rates of the last simulated evaluation (``evaluation_sweeps``).""")
    sweep_values = param.List(default=SWEEP_BASELINES, item_type=float, doc="""
        Baselines of the sweep (0: the population histogram, inf: uniform shuffling).""")

    def __init__(self, **params):
        super().__init__(**params)
        self.detector = AssemblyNeurons(data=self.session.data, progress=self._on_progress)
        self._pending = False
        self._init_run_controls("Run")
        self._evaluation = Markdown("", visible=False, sizing_mode="stretch_width")
        self._run_button.on_click(self._run)
        self._sweep_button = pn.widgets.Button(
            label="Sweep baseline", color="primary", variant="outline",
            sizing_mode="stretch_width",
            description="Detections with weighted shuffling for baselines " + ", ".join(
                format_baseline(v) for v in self.sweep_values) + " (inf: uniform), other "
                "settings as above.")
        self._sweep_button.on_click(self._sweep)
        self._evaluation_button = pn.widgets.Button(
            label="Evaluation figures (simulated SIP)", color="primary", variant="outline",
            description="FP and FN rates against coincidence rate, assembly size, number of "
                        "neurons and baseline, on SIP recordings simulated with the current "
                        "detector settings (Berger et al. 2010, Sec. 4)")
        self._evaluation_button.on_click(self._evaluate_simulated)
        self._evaluation_box = pn.Column(sizing_mode="stretch_width")
        self._job_buttons += [self._sweep_button, self._evaluation_button]
        self._top_k = pn.widgets.IntSlider.from_param(self.param.top_k, start=1, end=100,
                                                      sizing_mode="stretch_width")
        self._plot = pn.Column(sizing_mode="stretch_width")
        self._table = pn.widgets.Tabulator(
            None, show_index=False, disabled=True, height=400, sizing_mode="stretch_width",
            layout="fit_data_stretch", pagination=None, frozen_columns=["rank", "unit"],
            selectable=True)
        self._table.param.watch(lambda e: self._draw_members(), "selection")
        self._members = pn.Column(sizing_mode="stretch_width")
        # 15+ columns: the decisive ones first (``rank_table``), the surrogates' quantiles
        # (q01 ... q99, min, max) hidden until picked; downloads keep them all
        self._columns = ColumnPicker(self._table, default_hidden=surrogate_columns,
                                     always=("rank", "unit"))
        # the table enters the page only once it has rows and its box is shown: Tabulator
        # cannot lay out rows it receives while hidden, and then shows none (a race)
        self._table_holder = pn.Column(sizing_mode="stretch_width")
        self._pairwise_box = pn.Column(sizing_mode="stretch_width")
        self._results = pn.Column(self._top_k, self._plot,
                                  pn.widgets.Checkbox.from_param(self.param.pairwise),
                                  self._pairwise_box, "**All units, in rank order**",
                                  self._columns.box,
                                  self._table_holder, self._download_row(), self._members,
                                  visible=False,
                                  sizing_mode="stretch_width")
        self._sweep_box = pn.Column(sizing_mode="stretch_width")
        self._handover = handover_controls(self._analyse_units, exclude=("Assembly neurons",))
        self._results.insert(0, self._handover.row)

        self.detector.param.watch(self._on_slow_change, SLOW_PARAMETERS)
        self.detector.param.watch(self._on_cheap_change, CHEAP_PARAMETERS)
        self.session.param.watch(self._on_data, "data")
        self.param.watch(lambda e: self._draw_plot(), "top_k")
        self.param.watch(self._on_pairwise, "pairwise")
        self._layout = self._build_layout()
        self._on_data()

    # ------------------------------------------------------------------ layout
    def _build_layout(self):
        det = self.detector
        rx_statistic, rx_surrogate = det.param.statistic.rx(), det.param.surrogate.rx()
        widgets = {
            "statistic": {"type": pn.widgets.RadioButtonGroup, "color": "primary",
                          "variant": "outline"},
            "normalized": {"type": pn.widgets.Checkbox, "disabled": rx_statistic != "csf"},
            "surrogate": {"type": pn.widgets.RadioButtonGroup, "color": "primary",
                          "variant": "outline"},
            "baseline": {"type": pn.widgets.FloatInput, "step": 0.1,
                         "disabled": rx_surrogate != "weighted"},
            "trial_length": {"type": pn.widgets.FloatInput, "step": 0.1,
                             "disabled": rx_surrogate != "trial"},
            "n_surrogates": {"type": pn.widgets.IntInput, "step": 100},
            "alpha": {"type": pn.widgets.FloatInput, "step": 0.005, "format": "0.[00000]"},
            "correction": {"type": OptionalChoice, "options": CORRECTIONS,
                           "color": "primary", "variant": "outline"},
        }

        def group(names):
            return pn.Param(det, parameters=names, show_name=False, sizing_mode="stretch_width",
                            widgets={n: widgets[n] for n in names if n in widgets})

        controls = pn.Column(
            "## Assembly neurons",
            Markdown("Which neurons take part in coincident firing (Berger et al. "
                             "2010): each neuron's statistic against surrogates that move "
                             "only its own spikes.", styles={"font-size": "0.9em"}),
            "**Statistic**", group(["statistic", "power", "normalized"]),
            "**Binning**", milliseconds_input(det, "bin_size", on_error=self._show_error),
            "**Surrogates**",
            group(["surrogate", "baseline", "trial_length", "n_surrogates", "seed"]),
            "**Significance**", group(["alpha", "correction"]),
            self._run_row(),
            self._sweep_button, self._evaluation_button,
            width=300,
        )
        results = pn.Column(self._status, self._stale, self._summary, self._evaluation,
                            self._results, self._sweep_box, self._evaluation_box,
                            sizing_mode="stretch_width")
        return pn.Row(controls, results, sizing_mode="stretch_width")

    def report_section(self):
        """This page's result as a report section (``dashboard.report``)."""
        from .report import Section

        section = Section("assembly", self.result, self.detector.data)
        if self.evaluation:
            section.extra["evaluation"] = self.evaluation
        if self.evaluation_table is not None:
            section.extra["evaluation_table"] = self.evaluation_table
        section.extra["pairwise"] = self.pairwise
        return section

    def __panel__(self):
        return self._layout

    # ------------------------------------------------------------------ running
    async def _run(self, event=None):
        """Run the detector in a worker thread and show the result (or why not)."""
        if self._running:
            self._pending = True  # settings changed meanwhile: run again afterwards
            return
        while True:
            self._pending = False
            out = await self._in_worker("Assembly neurons", self._compute)
            if out is None:
                return
            if not self._pending:
                break
        self._stale.visible = False
        self._show_result(*out)

    async def _sweep(self, event=None):
        """Detections against the weighted-shuffling baseline, in a worker thread."""
        if self._running:
            return
        out = await self._in_worker("Baseline sweep", self._compute_sweep)
        if out is not None:
            self.sweep_table, skipped = out
            self._show_sweep(skipped)
        if self._pending and self.result is not None:
            await self._run()

    async def _evaluate_simulated(self, event=None):
        """The paper's evaluation figures on simulated recordings with ground truth."""
        settings = {k: getattr(self.detector, k) for k in SWEEP_SETTINGS}
        out = await self._in_worker("Evaluation", lambda: evaluation_sweeps(
            progress=self._on_progress, **settings))
        if out is not None:
            self.evaluation_table = out
            self._evaluation_box[:] = [
                "### Evaluation on simulated SIP recordings",
                Markdown(escape_markdown(settings_text(out)), styles={"font-size": "0.85em"}),
                pn.pane.HoloViews(evaluation_figure(out), sizing_mode="stretch_width")]

    async def _in_worker(self, label, compute):
        data = self.detector.data
        return await super()._in_worker(label, compute, data, lambda: self.detector.data)

    def _compute(self):
        """Worker thread: all steps (the surrogates come from the cache when they can)."""
        det = self.detector
        if det.data is None:
            raise ValueError("no data loaded: pick a data set on the Data page")
        self._on_progress(0.0, "surrogates...")
        result = det.run()
        membership = assembly_membership(det.data)
        evaluation = evaluate(result, membership) if membership is not None else None
        return result, evaluation

    def _compute_sweep(self):
        """Worker thread: one detector run per baseline; values the detector refuses (e.g.
        baseline 0 where a neuron has nowhere to go) are skipped with their reason."""
        det = self.detector
        if det.data is None:
            raise ValueError("no data loaded: pick a data set on the Data page")
        settings = {k: getattr(det, k) for k in SWEEP_SETTINGS}
        values = list(self.sweep_values)
        frames, skipped = [], []
        for i, value in enumerate(values):
            def progress(fraction, message, i=i, value=value):
                self._on_progress((i + fraction) / len(values),
                                  f"baseline {format_baseline(value)}: {message}")
            progress(0.0, "starting")
            try:
                frames.append(sweep([value], "baseline", data=det.data, seeds=(det.seed,),
                                    surrogate="weighted", progress=progress, **settings))
            except ValueError as exc:
                skipped.append((value, one_line(exc)))
        if not frames:
            raise ValueError("no baseline could be run (" + "; ".join(
                f"{format_baseline(v)}: {why}" for v, why in skipped) + ")")
        return pd.concat(frames, ignore_index=True), skipped

    def _on_slow_change(self, *events):
        if self.result is not None:
            self._stale.visible = True

    async def _on_cheap_change(self, *events):
        # a stale result would need new surrogates: leave that to the Run button
        if self.result is not None and not self._stale.visible \
                and not self._shows_settings():
            await self._run()

    # ------------------------------------------------------------------ data changes
    def _on_data(self, *events):
        """New data: stop what runs, forget results; settings stay."""
        if self._running:
            self._cancel.set()
        self.detector.clear_cache()
        self.detector.data = data = self.session.data
        self.detector.source = self.session.source
        self.result = self.evaluation = self.sweep_table = None
        self.state = "idle"
        self._status.visible = self._stale.visible = False
        self._evaluation.visible = self._results.visible = False
        self._plot[:] = []
        self._sweep_box[:] = []
        self._table_holder[:] = []
        self._table.value = None
        if data is None:
            self._summary.object = "No data loaded yet: pick one on the **Data** page."
            return
        n = max(data.n_units, 2)
        self.param.top_k.bounds = (1, n)
        self.top_k = min(self.top_k, n)
        truth = " with ground-truth assembly membership" if assembly_membership(data) \
            is not None else ""
        self._summary.object = (f"**{data.n_units} units, {data.duration:g} s**{truth}. Set "
                                f"the parameters and press **Run**.")

    # ------------------------------------------------------------------ results
    def _show_result(self, result, evaluation):
        self.result, self.evaluation = result, evaluation
        self._summary.object = self._summary_text()
        self._evaluation.object = evaluation_text(evaluation) if evaluation else ""
        self._evaluation.visible = evaluation is not None
        table = self.results_frame()
        self._table.value = table
        self._table.formatters = {
            c: NumberFormatter(format="0.0000" if c.startswith("p_") else "0.000")
            for c in table.columns if table[c].dtype.kind == "f"}
        n_sig = int(result.table["significant"].sum())
        self._handover.offer(n_sig, f"Analyse these {n_sig} significant units in")
        self._results.visible = True
        if not len(self._table_holder):
            self._table_holder[:] = [self._table]
        self._draw_plot()
        self._draw_pairwise()
        self._draw_members()

    def _draw_members(self):
        """A raster of the units picked in the table (click, ctrl-click), else of the
        significant units: the assembly's spikes, members in rank order."""
        table = self._table.value
        if self.result is None or table is None or not len(table):
            self._members[:] = []
            return
        picked = [i for i in (self._table.selection or []) if 0 <= i < len(table)]
        rows = table.iloc[picked] if picked else table[table["significant"].astype(bool)]
        if not len(rows):
            self._members[:] = []
            return
        data = self.detector.data
        pos = {u: i for i, u in enumerate(data.unit_ids.astype(str).tolist())}
        order = np.array([pos[str(u)] for u in rows["unit"]])[::-1]  # best rank on top
        what = (f"{len(rows)} unit{'s' if len(rows) > 1 else ''} picked in the table"
                if picked else f"the {len(rows)} significant units")
        self._members[:] = [
            f"**Raster of {what}** (best rank on top; click table rows to pick others)",
            # not linked: other rasters of the app share its axis names, not its rows
            pn.pane.HoloViews(views.raster(data, order=order, title="").opts(
                yticks=[(float(k), str(data.unit_ids[u])) for k, u in enumerate(order)]
                if len(order) <= 40 else None),
                              sizing_mode="stretch_width", linked_axes=False,
                              height=min(120 + 14 * len(rows), 420))]

    def _analyse_units(self, page):
        """Hand-over: the session's recording restricted to the significant units, shown on
        ``page`` (Berger et al. 2010: find the assembly, then analyse its members)."""
        if self.result is None:
            return
        hand_over(self.session, **assembly_units(self.result), page=page,
                  on_error=self._show_error)

    def _on_pairwise(self, event=None):
        if self.result is not None:
            self._show_result(self.result, self.evaluation)

    def _draw_pairwise(self):
        self._pairwise_box[:] = []
        if self.pairwise and self.result is not None:
            coincidences, rho = pairwise_coincidences(self.result, self.detector.data)
            self._pairwise_box[:] = [pn.pane.HoloViews(
                pairwise_plot(self.result.table, coincidences, rho), height=320)]

    def results_frame(self):
        """The result table in rank order, with a rank column and (with ground truth) each
        unit's membership."""
        data = self.detector.data
        coincidences = (pairwise_coincidences(self.result, data)[0] if self.pairwise
                        else None)
        return rank_table(self.result.table, coincidences, assembly_membership(data))

    def _result_summary(self):
        r, p = self.result, self.result.params
        n_sig = int(r.table["significant"].sum())
        correction = {None: "no correction", "holm": "Holm", "bh": "Benjamini-Hochberg"}[
            p["correction"]]
        n_surr = r.n_surrogates  # fewer than asked with trial shuffling: all orders
        text = (f"**{n_sig} of {len(r.table)} units significant** · {statistic_label(p)} "
                f"· α = {p['alpha']:g}, {correction} · {n_surr} "
                f"{surrogate_label(p)} surrogates · {p['bin_size'] * 1e3:g} ms bins · "
                f"{r.elapsed:.1f} s")
        # p-values cannot go below 1 / (surrogates + 1): say so when that hides detections
        smallest = 1.0 / (1 + n_surr)
        at_floor = int(np.sum(r.table["p_value"].to_numpy() <= smallest * (1 + 1e-9)))
        more = "use more surrogates"
        if r.all_trial_orders:
            more = "use more (shorter) trials"
            text += (f"  \nTrial shuffling: all {n_surr} trial orders other than the "
                     f"recorded one were used (exact test).")
        # (a run where even the smallest p could not pass is refused by ``run``)
        if n_sig == 0 and at_floor:
            text += (f"  \n{at_floor} units have the smallest p-value {n_surr} "
                     f"surrogates allow ({smallest:.2g}), but none stays below α after the "
                     f"correction for {len(r.table)} units: {more}.")
        return text

    def _draw_plot(self):
        if self.result is None:
            return
        plot = box_plot(self.result.table, self.top_k,
                        membership=assembly_membership(self.detector.data),
                        ylabel=statistic_label(self.result.params),
                        title=box_plot_title(self.result, self.top_k))
        # a new pane: a reused Bokeh figure would keep the previous axis ranges
        self._plot[:] = [pn.pane.HoloViews(plot, sizing_mode="stretch_width", height=470),
                         Markdown(PLOT_CAPTION, styles={"font-size": "0.85em"})]

    def _show_sweep(self, skipped):
        frame = self.sweep_table
        det = self.detector
        title = (f"Detections against the baseline (weighted shuffling, "
                 f"{statistic_label(det.param.values())}, {det.n_surrogates} surrogates, "
                 f"α = {det.alpha:g})")
        members = assembly_membership(det.data)
        n_members = int(members.sum()) if members is not None else None
        parts = [pn.pane.HoloViews(sweep_plot(frame, n_members, title=title),
                                   sizing_mode="stretch_width", height=320)]
        if skipped:
            parts.append(Alert(
                "Skipped: " + "; ".join(f"baseline {format_baseline(v)}: {escape_markdown(why)}"
                                        for v, why in skipped),
                alert_type="warning", sizing_mode="stretch_width"))
        self._sweep_box[:] = ["### Baseline sweep", *parts]

    analysis_attr = "detector"

    def _restore_result(self, result):
        membership = assembly_membership(self.detector.data)
        evaluation = evaluate(result, membership) if membership is not None else None
        self._show_result(result, evaluation)
        return True

    @property
    def download_stem(self):
        r = self.result
        return "assembly_neurons" + (f"_{r.statistic}" if r is not None else "")

    def _table_frame(self):
        return self.results_frame()


# ---------------------------------------------------------------------- helpers (no state)
def one_line(text):
    return " ".join(str(text).split())
