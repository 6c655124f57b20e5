"""The assembly-neuron test's figures (Berger et al. 2010), drawn from a result and tables.

Plain functions, no state and no widgets, so the dashboard page, the report and the notebook
display (``dashboard.inline``, which shows the page) show the same figures:

* ``box_plot``: each unit's statistic over a box plot of its surrogates, units in rank order
  (``rank_table``: the units in that order, as the page's and the report's tables show them);
* ``sweep_plot``: detections against the weighted-shuffling baseline;
* ``error_rates`` / ``evaluation_figure``: false-positive and false-negative rates against
  one factor of ``analysis.assembly.evaluation_sweeps`` (coincidence rate, assembly size,
  number of neurons, baseline; the paper's Figs. 4-7), titled with the simulator settings;
* ``pairwise_plot``: rank score against each neuron's pairwise coincidence count with
  Spearman's rho (Figs. 8c and 9b), from ``analysis.assembly.pairwise_coincidences``.
"""

from __future__ import annotations

import holoviews as hv
import numpy as np
import pandas as pd

from analysis.assembly import ranked

from .text import escape_markdown

FACTOR_LABELS = {"coincidence_rate": "coincidence rate (Hz)",
                 "assembly_size": "assembly size (neurons)",
                 "n_units": "number of neurons",
                 "baseline": "baseline b (weighted shuffling; inf: uniform)"}
FP_COLOR, FN_COLOR = "#ff7f0e", "#1f77b4"
SIGNIFICANT = "#d62728"
NOT_SIGNIFICANT = "#3a3a3a"
BOX_5_95 = "#6b9bd1"
BOX_1_99 = "#c6dbef"
BOX_LINE = "#4a6f96"
WHISKER = "#8c8c8c"
MAX_TICK_LABELS = 120  # more units than this: label every n-th one


PLOT_CAPTION = ("Each column is one unit, best rank score at the left. **Dot**: the unit's "
                "statistic, red where significant. **Box**: its surrogates' 5-95 % range "
                "(wide box), 1-99 % range (narrow box), minimum to maximum (whiskers) and "
                "median (tick). **Diamond**: a member of the assembly in the ground truth. "
                "Drag to pan, scroll to zoom, hover for values.")


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


def rank_table(table, coincidences=None, membership=None):
    """A result's table in rank order with a rank column; with ``coincidences`` (per unit,
    in table order) their column, with ``membership`` (bool per unit) each unit's
    membership in the ground truth."""
    if coincidences is not None:
        table = table.assign(coincidences=coincidences)
    table = ranked(table)
    table.insert(0, "rank", np.arange(1, len(table) + 1))
    if membership is not None:
        table["member (truth)"] = membership[table.index.to_numpy()]
    # the decisive columns first: a narrow screen still shows the verdict
    first = [c for c in DECISIVE_COLUMNS if c in table.columns]
    table = table[first + [c for c in table.columns if c not in first]]
    return table.reset_index(drop=True)


#: The columns a reader decides by, in the order the table shows them first.
DECISIVE_COLUMNS = ("rank", "unit", "significant", "p_value", "p_adjusted", "statistic",
                    "rank_score", "member (truth)", "spikes", "coincidences")


def surrogate_columns(table):
    """The columns describing each unit's surrogates (quantiles, min, max), which the page
    shows on request."""
    return [c for c in table.columns
            if (c.startswith("q") and c[1:].isdigit()) or c in ("min", "max")]


def box_plot_title(result, top_k):
    """The box plot's title: the statistic, the surrogates and how many units it shows."""
    p, n = result.params, len(result.table)
    return (f"{statistic_label(p)} against {result.n_surrogates} {surrogate_label(p)} "
            f"surrogates: top {min(top_k, n)} of {n} units by rank score")


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


def settings_text(frame):
    """The simulator and detector settings of an evaluation table, one line."""
    sim = frame.attrs.get("settings", {})
    det = frame.attrs.get("detector", {})
    parts = [f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}" for k, v in sim.items()]
    parts += [f"{k}={v}" for k, v in det.items() if k != "progress"]
    return "SIP: " + ", ".join(parts)


def error_rates(frame, factor):
    """FP rate (of non-members) and FN rate (of members) against one factor, mean over
    seeds; inf (uniform shuffling) is drawn one step right of the largest value."""
    rows = frame[frame["factor"] == factor]
    mean = rows.groupby("value", sort=True)[["fp_rate", "fn_rate"]].mean().reset_index()
    values = mean["value"].to_numpy(dtype=float)
    finite = values[np.isfinite(values)]
    top = finite.max() * 2 if finite.size else 1.0
    mean["x"] = np.where(np.isinf(values), top, values)
    mean["label"] = [("inf" if np.isinf(v) else f"{v:g}") for v in values]
    x = hv.Dimension("x", label=FACTOR_LABELS.get(factor, factor))
    ticks = [(float(p), t) for p, t in zip(mean["x"], mean["label"])]
    parts = []
    for column, label, color in (("fp_rate", "false positives", FP_COLOR),
                                 ("fn_rate", "false negatives", FN_COLOR)):
        y = hv.Dimension(column, label="rate", range=(0, 1))
        parts.append(hv.Curve(mean, x, y, label=label).opts(color=color))
        parts.append(hv.Scatter(mean, x, [y, "label"], label=label).opts(
            color=color, size=7, tools=["hover"]))
    xs = mean["x"].to_numpy(dtype=float)
    log = factor == "baseline"
    span = (xs.max() - xs.min()) or 1.0
    xlim = (xs.min() / 2, xs.max() * 2) if log else (xs.min() - span / 12,
                                                     xs.max() + span / 12)
    return hv.Overlay(parts).opts(
        hv.opts.Overlay(xticks=ticks, ylim=(-0.05, 1.05), xlim=xlim, logx=log,
                        show_grid=True, legend_position="top_right", width=380,
                        height=260, title=FACTOR_LABELS.get(factor, factor),
                        fontsize={"title": 10}))


def evaluation_figure(frame):
    """The four error-rate panels of an evaluation table as one layout (show
    ``settings_text(frame)`` beside it: a long title would be cut off)."""
    panels = [error_rates(frame, f) for f in frame["factor"].unique()]
    n_seeds = frame["seed"].nunique()
    return hv.Layout(panels).cols(2).opts(hv.opts.Layout(
        title=f"False positives and negatives (mean over {n_seeds} seed"
              f"{'s' if n_seeds > 1 else ''}), one factor varied at a time",
        fontsize={"title": 10}))


def pairwise_plot(table, coincidences, rho):
    """Rank score against pairwise coincidence count per neuron, Spearman's rho in the
    title (the paper's Figs. 8c and 9b)."""
    data = table.assign(coincidences=coincidences)
    ok = np.isfinite(data["rank_score"].to_numpy(dtype=float))
    return hv.Scatter(data[ok], hv.Dimension("coincidences",
                                             label="coincidences with all other neurons"),
                      [hv.Dimension("rank_score", label="rank score"), "unit"]).opts(
        color="#1f4e79", size=6, tools=["hover"], width=420, height=300, show_grid=True,
        title=f"Rank score against pairwise coincidences (Spearman ρ = {rho:.2f})")
