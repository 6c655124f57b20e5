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
(a bounded number of surrogates, see ``analysis.assembly.work_blocks``).
"""

from __future__ import annotations

import io as _io

import holoviews as hv
import numpy as np
import pandas as pd
import panel as pn
import param
from bokeh.models.widgets.tables import NumberFormatter

from analysis.assembly import (AssemblyNeurons, AssemblyResult, assembly_membership, evaluate,
                               evaluation_sweeps, pairwise_coincidences, ranked, sweep)

from .assembly_views import evaluation_figure, pairwise_plot, settings_text
from .page_base import AnalysisPage
from .text import Alert, Markdown, escape_markdown
from .widgets import milliseconds_input

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

SIGNIFICANT = "#d62728"
NOT_SIGNIFICANT = "#3a3a3a"
BOX_5_95 = "#6b9bd1"
BOX_1_99 = "#c6dbef"
BOX_LINE = "#4a6f96"
WHISKER = "#8c8c8c"
MAX_TICK_LABELS = 120  # more units than this: label every n-th one


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
            layout="fit_data_stretch", pagination=None)
        self._download = pn.widgets.FileDownload(
            callback=self._csv_bytes, filename="assembly_neurons.csv",
            label="Download table (CSV)", color="primary", variant="outline",
            width=220)
        # the table enters the page only once it has rows and its box is shown: Tabulator
        # cannot lay out rows it receives while hidden, and then shows none (a race)
        self._table_holder = pn.Column(sizing_mode="stretch_width")
        self._pairwise_box = pn.Column(sizing_mode="stretch_width")
        self._results = pn.Column(self._top_k, self._plot,
                                  pn.widgets.Checkbox.from_param(self.param.pairwise),
                                  self._pairwise_box, "**All units, in rank order**",
                                  self._table_holder, self._download, visible=False,
                                  sizing_mode="stretch_width")
        self._sweep_box = pn.Column(sizing_mode="stretch_width")

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
        if self.result is not None and not self._stale.visible:
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
        self._download.filename = f"assembly_neurons_{result.statistic}.csv"
        self._results.visible = True
        if not len(self._table_holder):
            self._table_holder[:] = [self._table]
        self._draw_plot()
        self._draw_pairwise()

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
        table = self.result.table
        if self.pairwise:
            table = table.assign(coincidences=pairwise_coincidences(self.result,
                                                                    self.detector.data)[0])
        table = ranked(table)
        table.insert(0, "rank", np.arange(1, len(table) + 1))
        membership = assembly_membership(self.detector.data)
        if membership is not None:
            table["member (truth)"] = membership[table.index.to_numpy()]
        return table.reset_index(drop=True)

    def _summary_text(self):
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
        det, p = self.detector, self.result.params
        title = (f"{statistic_label(p)} against {self.result.n_surrogates} "
                 f"{surrogate_label(p)} "
                 f"surrogates: top {min(self.top_k, len(self.result.table))} of "
                 f"{len(self.result.table)} units by rank score")
        plot = box_plot(self.result.table, self.top_k,
                        membership=assembly_membership(det.data),
                        ylabel=statistic_label(p), title=title)
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

    def _csv_bytes(self):
        if self.result is None:
            return _io.BytesIO(b"")
        return _io.BytesIO(self.results_frame().to_csv(index=False).encode())


PLOT_CAPTION = ("Each column is one unit, best rank score at the left. **Dot**: the unit's "
                "statistic, red where significant. **Box**: its surrogates' 5-95 % range "
                "(wide box), 1-99 % range (narrow box), minimum to maximum (whiskers) and "
                "median (tick). **Diamond**: a member of the assembly in the ground truth. "
                "Drag to pan, scroll to zoom, hover for values.")


# ---------------------------------------------------------------------- helpers (no state)
def one_line(text):
    return " ".join(str(text).split())


def format_baseline(value):
    return "inf" if np.isinf(value) else f"{value:g}"


def statistic_label(params):
    """"CPC (r = 2)": the statistic of ``params`` (a result's ``params``)."""
    name = params["statistic"].upper()
    extra = ", normalized" if params["statistic"] == "csf" and params["normalized"] else ""
    return f"{name} (r = {params['power']:g}{extra})"


def surrogate_label(params):
    """The surrogate method of ``params`` (a result's ``params``) in words."""
    if params["surrogate"] == "weighted":
        return f"weighted (b = {format_baseline(params['baseline'])})"
    if params["surrogate"] == "trial":
        return f"trial-shuffled ({params['trial_length']:g} s trials)"
    return "uniform"


def evaluation_text(ev):
    missed = ", ".join(escape_markdown(u) for u in ev["missed"]) or "none"
    members = ev["true_positives"] + ev["false_negatives"]
    return (f"**Against the ground truth:** {ev['true_positives']} of {members} assembly "
            f"members found, {ev['false_positives']} false positives · false-positive rate "
            f"**{ev['fp_rate']:.3f}** (of non-members) · false-negative rate "
            f"**{ev['fn_rate']:.3f}** (of members) · missed: {missed}")


def box_plot(table, top_k, membership=None, ylabel="statistic", title=""):
    """Each unit's statistic over a box plot of its surrogates, units in rank order.

    x is the rank (0 = best rank score), labelled with the unit ids; boxes come from the
    table's quantile columns: wide box q05-q95, narrow box q01-q99, whiskers min-max, tick q50.
    Dots are red for significant units; with ``membership`` (bool per unit, in table order)
    members are drawn as diamonds.
    """
    top = ranked(table).head(top_k)
    k = len(top)
    x = np.arange(k, dtype=np.float64)
    units = top["unit"].astype(str).to_numpy()
    rank = hv.Dimension("rank", label="unit (in rank order)")
    stat = hv.Dimension("statistic", label=ylabel)
    col = {c: top[c].to_numpy(dtype=np.float64) for c in
           ["statistic", "q01", "q05", "q50", "q95", "q99", "min", "max"]}
    whiskers = hv.Segments((x, col["min"], x, col["max"]),
                           kdims=[rank, stat, "rank1", "statistic1"],
                           label="surrogates: min-max").opts(color=WHISKER, line_width=1)
    wide, narrow = 0.36, 0.14
    box_1_99 = hv.Rectangles((x - narrow, col["q01"], x + narrow, col["q99"]),
                             kdims=[rank, stat, "rank1", "statistic1"],
                             label="surrogates: 1-99 %").opts(
        color=BOX_1_99, line_color=BOX_LINE, line_width=0.5)
    box_5_95 = hv.Rectangles((x - wide, col["q05"], x + wide, col["q95"]),
                             kdims=[rank, stat, "rank1", "statistic1"],
                             label="surrogates: 5-95 %").opts(
        color=BOX_5_95, line_color=BOX_LINE, line_width=0.5)
    medians = hv.Segments((x - wide, col["q50"], x + wide, col["q50"]),
                          kdims=[rank, stat, "rank1", "statistic1"]).opts(
        color="white", line_width=1.5)

    significant = top["significant"].to_numpy(dtype=bool)
    member = (np.asarray(membership, dtype=bool)[top.index.to_numpy()]
              if membership is not None else np.zeros(k, dtype=bool))
    points = pd.DataFrame({
        "rank": x, "statistic": col["statistic"], "unit": units,
        "spikes": top["spikes"].to_numpy(), "p_value": top["p_value"].to_numpy(),
        "p_adjusted": top["p_adjusted"].to_numpy(), "rank_score": top["rank_score"].to_numpy(),
    })
    vdims = [stat, "unit", "spikes", "p_value", "p_adjusted", "rank_score"]
    if membership is not None:
        groups = [("significant, assembly member", significant & member, SIGNIFICANT,
                   "diamond"),
                  ("significant, not a member", significant & ~member, SIGNIFICANT, "circle"),
                  ("missed assembly member", ~significant & member, NOT_SIGNIFICANT,
                   "diamond"),
                  ("not significant", ~significant & ~member, NOT_SIGNIFICANT, "circle")]
    else:
        groups = [("significant", significant, SIGNIFICANT, "circle"),
                  ("not significant", ~significant, NOT_SIGNIFICANT, "circle")]
    dots = []
    for label, mask, color, marker in groups:
        if mask.any():
            dots.append(hv.Scatter(points[mask], kdims=[rank], vdims=vdims, label=label).opts(
                color=color, marker=marker, size=12 if marker == "diamond" else 7,
                line_color="white", line_width=0.5, tools=["hover"]))

    finite = np.concatenate([col[c][np.isfinite(col[c])] for c in ["min", "max", "statistic"]])
    lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
    pad = 0.06 * (hi - lo) if hi > lo else 1.0
    step = int(np.ceil(k / MAX_TICK_LABELS)) if k else 1
    ticks = [(float(i), units[i]) for i in range(0, k, step)]
    return hv.Overlay([whiskers, box_1_99, box_5_95, medians, *dots]).opts(
        hv.opts.Overlay(
            title=title, responsive=True, height=470, xlim=(-0.7, max(k, 1) - 0.3),
            ylim=(lo - pad, hi + pad), xticks=ticks, xrotation=90 if k > 25 else 0,
            fontsize={"xticks": 7 if k > 60 else 9, "title": 11},
            legend_position="top_right", show_grid=True, xlabel="unit (in rank order)",
            ylabel=ylabel, toolbar="right"))


def sweep_plot(frame, n_members=None, title=""):
    """Detected neurons against the baseline, on a log x axis.

    Baseline 0 and inf cannot sit on a log axis: they are drawn a decade below the smallest
    and above the largest finite value, and their ticks say "0" and "inf (uniform)".
    """
    values = frame["baseline"].to_numpy(dtype=np.float64)
    finite = values[np.isfinite(values) & (values > 0)]
    lo = finite.min() / 10 if finite.size else 0.01
    hi = finite.max() * 10 if finite.size else 100.0
    position = np.where(values == 0, lo, np.where(np.isinf(values), hi, values))
    ticks = [(float(p), "0" if v == 0 else "inf (uniform)" if np.isinf(v) else f"{v:g}")
             for p, v in sorted(set(zip(position.tolist(), values.tolist())))]
    frame = frame.assign(position=position,
                         baseline_text=[format_baseline(v) for v in values])
    base = hv.Dimension("position", label="baseline b (weighted shuffling)")
    # detected under true positives: a larger marker, so both show where they are equal
    measures = [("detected", "detected", "#1f4e79", 13)]
    if "true_positives" in frame:
        measures += [("true_positives", "true positives", SIGNIFICANT, 7),
                     ("false_positives", "false positives", "#ff7f0e", 7)]
    elements = []
    for column, label, color, size in measures:
        y = hv.Dimension(column, label="neurons")
        data = frame.sort_values("position")
        elements.append(hv.Curve(data, base, y, label=label).opts(color=color))
        elements.append(hv.Scatter(data, base, [y, "baseline_text"], label=label).opts(
            color=color, size=size, tools=["hover"]))
    if n_members is not None:
        elements.append(hv.HLine(n_members).opts(color="#888888", line_dash="dashed"))
        elements.append(hv.Text(hi, n_members, f"{n_members} assembly members  ",
                                halign="right", valign="bottom").opts(
            text_font_size="9pt", text_color="#666666"))
    top = max(float(frame["detected"].max()), float(n_members or 0), 1.0)
    return hv.Overlay(elements).opts(
        hv.opts.Overlay(title=title, logx=True, xticks=ticks, responsive=True, height=320,
                        ylim=(-0.5, top * 1.15 + 0.5), xlim=(lo / 1.5, hi * 1.5),
                        legend_position="right", show_grid=True, ylabel="neurons",
                        xlabel="baseline b (weighted shuffling; 0: population histogram, "
                               "inf: uniform)", fontsize={"title": 11}))
