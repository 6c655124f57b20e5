"""Evaluation figures of the assembly-neuron test (Berger et al. 2010, Sec. 4).

Plain functions of tables, returning HoloViews elements; no state and no widgets, so the
dashboard page and the report show the same figures:

* ``error_rates`` / ``evaluation_figure``: false-positive and false-negative rates against
  one factor of ``analysis.assembly.evaluation_sweeps`` (coincidence rate, assembly size,
  number of neurons, baseline; the paper's Figs. 4-7), titled with the simulator settings;
* ``pairwise_plot``: rank score against each neuron's pairwise coincidence count with
  Spearman's rho (Figs. 8c and 9b), from ``analysis.assembly.pairwise_coincidences``.
"""

from __future__ import annotations

import holoviews as hv
import numpy as np

FACTOR_LABELS = {"coincidence_rate": "coincidence rate (Hz)",
                 "assembly_size": "assembly size (neurons)",
                 "n_units": "number of neurons",
                 "baseline": "baseline b (weighted shuffling; inf: uniform)"}
FP_COLOR, FN_COLOR = "#ff7f0e", "#1f77b4"


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
