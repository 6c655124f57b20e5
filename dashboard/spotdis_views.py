"""SPOTDisClust's figures (Grossberger, Battaglia & Vinck 2018), drawn from a
``SpotDisClustResult`` and the data it was computed on.

Plain functions, no state: the SPOTDis page, the report and the notebook display
(``dashboard.inline``, which shows the page) draw the same figures.

* ``dissimilarity_plot`` / ``matrix_plot``: the dissimilarity matrix (SPOTDis, SpikeShip or
  the rate vectors, ``dissimilarity_scale``) with the epochs sorted by cluster
  (``cluster_order``), each cluster a block on the diagonal framed in white;
* ``map_points``: the t-SNE map, one dot per epoch, coloured by cluster or true label;
* ``epoch_raster``: one epoch's spikes; ``xcorr_plot``: a cluster's average delays of every
  neuron to a reference neuron (the paper's Fig. 1E);
* ``cluster_table``, ``baseline_text``, ``sweep_view``: the clusters, the rate-vector
  baseline's scores, and the scores of a window sweep.
"""

from __future__ import annotations

import holoviews as hv
import numpy as np
import pandas as pd
import panel as pn
from bokeh.models import HoverTool
from holoviews.operation.datashader import rasterize

from analysis.spotdis.epochs import cross_correlation, delay_order

from .text import Alert
from .views import row_name_hover

PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
           "#bcbd22", "#17becf", "#393b79", "#637939", "#8c6d31", "#843c39", "#7b4173"]
NOISE_COLOUR = "#b0b0b0"


def cluster_order(labels):
    """Epoch indices sorted by cluster label (clusters first, noise last), stable."""
    labels = np.asarray(labels)
    key = np.where(labels < 0, np.iinfo(np.int64).max, labels)
    return np.argsort(key, kind="stable")


def colour_of(label):
    return NOISE_COLOUR if label < 0 else PALETTE[int(label) % len(PALETTE)]


def cluster_name(label):
    """"cluster 3", or "noise" for a negative label."""
    return "noise" if label < 0 else f"cluster {label}"


def epoch_names(labels):
    """For each rank of ``cluster_order``: the epoch there and its cluster, as a tooltip
    shows them ("epoch 12 (cluster 3)", "epoch 40 (noise)")."""
    labels = np.asarray(labels)
    return [f"epoch {k} ({cluster_name(labels[k])})" for k in cluster_order(labels)]


def matrix_image(matrix, labels, name="SPOTDis", full=(0.0, 1.0)):
    """A dissimilarity matrix (SPOTDis by default) with rows and columns in
    ``cluster_order``: hv.Image, epoch rank on both axes (rank 0 at the top-left), values
    named ``name`` in the range ``full``."""
    order = cluster_order(labels)
    ranks = np.arange(order.size, dtype=np.float64)
    z = np.asarray(matrix)[np.ix_(order, order)]
    return hv.Image((ranks, ranks, z), kdims=["epoch rank x", "epoch rank y"],
                    vdims=[hv.Dimension(name, range=tuple(full))])


def cluster_blocks(labels):
    """Rectangles around each cluster's block on the sorted matrix's diagonal."""
    labels = np.asarray(labels)[cluster_order(labels)]
    rows = []
    start = 0
    for k in range(1, labels.size + 1):
        if k == labels.size or labels[k] != labels[start]:
            if labels[start] >= 0:
                rows.append((start - 0.5, start - 0.5, k - 0.5, k - 0.5, int(labels[start]),
                             colour_of(labels[start])))
            start = k
    return hv.Rectangles(rows, kdims=["epoch rank x", "epoch rank y", "x1", "y1"],
                         vdims=["cluster", "colour"])


def result_matrix(r):
    """The matrix a result clustered: SPOTDis, SpikeShip or the rate-vector baseline."""
    if getattr(r, "dissimilarity", None) is not None:
        return np.asarray(r.dissimilarity)
    return r.spotdis.matrix


def dissimilarity_scale(r):
    """``(name, factor, full range)`` of the matrix result ``r`` clustered, as drawn:
    SPOTDis over 0..1; SpikeShip in ms (``factor`` 1e3 from seconds) over 0 to its
    undefined entries' value; the rate vectors over 0..2."""
    ship = getattr(r, "spikeship", None)
    if ship is not None:
        return "SpikeShip (ms)", 1e3, (0.0, ship.fill_value * 1e3)
    if r.spotdis is not None or getattr(r, "graph", None) is not None:
        return "SPOTDis", 1.0, (0.0, 1.0)
    return "Rate-vector dissimilarity", 1.0, (0.0, 2.0)


def contrast_range(d):
    """1-99 % range of the off-diagonal values of a ``SpotDis`` or ``SpikeShip`` (defined
    entries) or of a plain matrix (0..1 without any)."""
    if isinstance(d, np.ndarray):
        matrix, undefined = d, np.zeros(d.shape, dtype=bool)
    else:
        matrix, undefined = d.matrix, d.undefined
    M = matrix.shape[0]
    off = ~np.eye(M, dtype=bool) & ~undefined
    values = matrix[off]
    if values.size == 0:
        return (0.0, 1.0)
    lo, hi = np.percentile(values, [1, 99])
    return (float(lo), float(hi)) if hi > lo else (0.0, 1.0)


def matrix_plot(matrix, labels, clim=(0.0, 1.0), title="SPOTDis, epochs sorted by cluster",
                dynamic=True, name="SPOTDis"):
    M = len(labels)
    # the axes are ranks: the tooltip turns the rank under the cursor into the epoch there
    names = row_name_hover(epoch_names(labels))
    image = rasterize(matrix_image(matrix, labels, name, clim), dynamic=dynamic, width=600,
                      height=600, aggregator="mean").opts(
        cmap="viridis", clim=tuple(clim), colorbar=True, invert_yaxis=True, tools=["hover"],
        hover_tooltips=[("row", "$y{custom}"), ("column", "$x{custom}"),
                        (name, "@image{0.000}")],
        hover_formatters={"$x": names, "$y": names},
        framewise=True, xlabel="epoch (sorted by cluster)",
        ylabel="epoch (sorted by cluster)", clabel=name)
    # white frames: visible on every colour of the map (cluster colours are on the t-SNE map);
    # no tooltip of their own, the matrix's names the clusters
    blocks = cluster_blocks(labels).opts(fill_alpha=0, line_color="white", line_width=1.5)
    return (image * blocks).opts(
        hv.opts.Overlay(title=title,
                        xlim=(-0.5, M - 0.5), ylim=(-0.5, M - 0.5), frame_width=340,
                        frame_height=340, fontsize={"title": 11}))


def dissimilarity_plot(result, full_range=False, dynamic=True):
    """``matrix_plot`` of the matrix ``result`` clustered (SPOTDis, SpikeShip in ms, or the
    rate-vector baseline's), coloured over its whole range with ``full_range``
    (``dissimilarity_scale``), else over ``contrast_range``."""
    name, factor, full = dissimilarity_scale(result)
    matrix = result_matrix(result) * factor
    if full_range:
        clim = full
    elif getattr(result, "spikeship", None) is not None:   # its defined entries, in ms
        clim = tuple(factor * v for v in contrast_range(result.spikeship))
    else:
        clim = contrast_range(matrix)
    title = name.split(" (")[0]
    return matrix_plot(matrix, result.labels, clim=clim,
                       title=f"{title}, epochs sorted by cluster", dynamic=dynamic, name=name)


def map_points(embedding, labels, truth=None, by_truth=False):
    """The t-SNE map: one point per epoch (row k is epoch k), coloured by cluster or by the
    true label."""
    labels = np.asarray(labels)
    n = labels.size
    truth_col = truth if truth is not None else np.full(n, -1)
    colour_labels = truth_col if by_truth else labels
    what = "pattern" if by_truth else "cluster"
    group = np.array([("noise" if c < 0 else f"{what} {c}") for c in colour_labels])
    cmap = {g: colour_of(c) for g, c in zip(group, colour_labels)}
    table = {"x": embedding[:, 0], "y": embedding[:, 1], "group": group,
             "epoch": np.arange(n), "cluster": labels, "true label": truth_col}
    # legend in label order, noise last
    order = np.argsort(np.where(colour_labels < 0, np.iinfo(np.int64).max, colour_labels),
                       kind="stable")
    cmap = {g: cmap[g] for g in dict.fromkeys(group[order])}
    # rows in that order too (bokeh's legend follows the data); "epoch" maps a row back
    table = {key: np.asarray(v)[order] for key, v in table.items()}
    points = hv.Points(table, kdims=["x", "y"],
                       vdims=["group", "epoch", "cluster", "true label"])
    return points.opts(
        color="group", cmap=cmap, size=7, line_color="white", line_width=0.4,
        tools=["tap", map_hover(truth is not None)], nonselection_alpha=0.35,
        selection_line_color="black",
        responsive=True, show_legend=True, legend_position="bottom", legend_cols=4,
        framewise=True,
        title=f"t-SNE map, coloured by {'true pattern' if by_truth else what}",
        xlabel="t-SNE 1", ylabel="t-SNE 2", xaxis=None, yaxis=None, fontsize={"title": 11})


def map_hover(with_truth):
    """The map's tooltip: one epoch, the dot drawn on top under the cursor (dense clusters
    put many dots under it; Bokeh lists them all by default, later rows are drawn on top)."""
    tooltips = [("epoch", "@epoch"), ("cluster", "@cluster")]
    if with_truth:
        tooltips.append(("true label", "@true_label"))
    return HoverTool(tooltips=tooltips, sort_by=[("$index", "descending")], limit=1)


def epoch_raster(data, k, title=""):
    """Spikes of epoch ``k``: x = time from the epoch start (ms), y = unit."""
    times, offsets = data.epoch_spikes(k)
    units = np.repeat(np.arange(data.n_units), np.diff(offsets))
    duration = float(data.epochs.stop[k] - data.epochs.start[k])
    return hv.Points((times * 1e3, units.astype(np.float64)),
                     kdims=["time in epoch (ms)", "unit"]).opts(
        color="#08306b", marker="dash", angle=90, size=9, tools=["hover"], responsive=True,
        xlim=(0, duration * 1e3), ylim=(-0.5, data.n_units - 0.5), framewise=True,
        title=title or f"epoch {k}", fontsize={"title": 11})


def xcorr_plot(data, epochs, reference, title="", sort=True, dynamic=True):
    """Neurons x delay image of ``cross_correlation`` (rows by delay with ``sort``)."""
    centres, hist = cross_correlation(data, epochs, reference)
    n = data.n_units
    order = delay_order(centres, hist, reference) if sort else np.arange(n)
    ylabel = "neuron j (sorted by delay)" if sort else "neuron j"
    image = hv.Image((centres * 1e3, np.arange(n, dtype=np.float64), hist[order]),
                     kdims=["delay t_j - t_i (ms)", "row"],
                     vdims=["spike pairs per epoch"])
    step = max(1, int(np.ceil(n / 25)))
    ticks = [(float(r), str(int(order[r]))) for r in range(0, n, step)]
    return rasterize(image, dynamic=dynamic, width=400, height=400).opts(
        yticks=ticks, ylabel=ylabel,
        cmap="Greys", colorbar=True, tools=["hover"], responsive=True, framewise=True,
        title=title, fontsize={"title": 11}, clabel="spike pairs per epoch")


def cluster_table(labels, truth=None):
    """One row per cluster (noise too): its epochs and, with ``truth``, the true labels
    among them with their counts."""
    labels = np.asarray(labels)
    rows = []
    for c in np.unique(labels):
        members = np.flatnonzero(labels == c)
        row = {"cluster": "noise" if c < 0 else int(c), "epochs": members.size,
               "first epochs": ", ".join(str(k) for k in members[:12])
               + (", ..." if members.size > 12 else "")}
        if truth is not None:
            values, counts = np.unique(truth[members], return_counts=True)
            row["true labels (count)"] = ", ".join(f"{v} ({n})" for v, n in
                                                   zip(values, counts))
        rows.append(row)
    return pd.DataFrame(rows)


def _score(value):
    return "n/a" if not np.isfinite(value) else f"{value:.3f}"


def baseline_text(baseline, result=None):
    """One line comparing the rate-vector baseline's scores with the last run's."""
    b = baseline.scores
    text = (f"Rate vectors (no timing): **{b['n_clusters']} clusters**, ARI "
            f"**{_score(b['ari'])}**, silhouette **{_score(b['silhouette'])}**")
    if result is not None:
        s = result.scores
        text += (f" · this run: {s['n_clusters']} clusters, ARI {_score(s['ari'])}, "
                 f"silhouette {_score(s['silhouette'])}")
    return text


def sweep_view(frame):
    """Silhouette (and ARI) against the window length, with the table below."""
    frame = frame.assign(length_ms=frame["length"] * 1e3).sort_values(["offset", "length"])
    x = hv.Dimension("length_ms", label="window length (ms)")
    curves = []
    for column, label, colour in [("silhouette", "silhouette", "#1f4e79"),
                                  ("ari", "ARI (ground truth)", "#d62728")]:
        y = frame[column].to_numpy(dtype=np.float64)
        if np.isfinite(y).any():
            xy = (frame["length_ms"].to_numpy(dtype=np.float64), y)
            curves += [hv.Curve(xy, x, "score", label=label).opts(color=colour),
                       hv.Scatter(xy, x, "score", label=label).opts(color=colour, size=7,
                                                                     tools=["hover"])]
    if not curves:
        return Alert("No window gave a score (fewer than 2 clusters everywhere).",
                             alert_type="warning", sizing_mode="stretch_width")
    plot = hv.Overlay(curves).opts(
        hv.opts.Overlay(responsive=True, height=260, xlabel="window length (ms)",
                        ylabel="score", show_grid=True, legend_position="right",
                        padding=0.08,
                        title="Which window separates the patterns best"))
    table = pn.widgets.Tabulator(frame.drop(columns=["length_ms"]), show_index=False,
                                 disabled=True, sizing_mode="stretch_width",
                                 layout="fit_data_stretch", pagination=None)
    return pn.Column(pn.pane.HoloViews(plot, sizing_mode="stretch_width", height=280), table,
                     sizing_mode="stretch_width")


# ============================================================================ sliding windows
def pattern_name(label):
    """"pattern 2", or "no pattern" for a negative label (sliding windows' clusters)."""
    return "no pattern" if label < 0 else f"pattern {label}"


def band_rows(n_units):
    """The y range ``(bottom, top)`` of the label band under a raster of ``n_units`` rows
    (rows sit at 0 .. n_units - 1): about a tenth of the raster's height, at least 2 rows,
    half a row below the lowest unit."""
    height = max(2.0, 0.12 * n_units)
    return (-1.0 - height, -1.0)


def label_band(result, y=(0.0, 1.0)):
    """The label time course of a ``SlidingWindowsResult`` as a colour band: one span per
    run of windows with the same pattern (``segments``) from ``y[0]`` to ``y[1]``, coloured
    as the clusters are, windows without a pattern in light grey. x: time (s)."""
    seg = result.segments()
    rows = [(float(r.start), y[0], float(r.stop), y[1], pattern_name(int(r.label)),
             int(r.windows), colour_of(int(r.label)))
            for r in seg.itertuples()]
    band = hv.Rectangles(rows, kdims=["time (s)", "unit", "x1", "y1"],
                         vdims=["pattern", "windows", "colour"])
    return band.opts(color="colour", line_alpha=0, tools=["hover"],
                     hover_tooltips=[("", "@pattern"), ("from (s)", "@{time (s)}{0.000}"),
                                     ("to (s)", "@x1{0.000}"), ("windows", "@windows")])


def window_course_plot(data, result, dynamic=True):
    """The recording's raster with the label time course as a colour band right under it
    (same plot, same time axis): which pattern is active when."""
    from .views import raster

    lo, hi = band_rows(data.n_units)
    top = raster(data, dynamic=dynamic)
    return (top * label_band(result, (lo, hi))).opts(
        hv.opts.Overlay(ylim=(lo - 0.5, data.n_units - 0.5), responsive=True, min_height=320,
                        title=f"{result.dissimilarity} patterns in sliding windows: the band "
                              "under the raster shows which is active when",
                        fontsize={"title": 11}))


def band_legend(result):
    """One Markdown line naming the band's colours: each pattern found (with its windows)
    and "no pattern". Only generated text (pattern numbers, palette colours)."""
    labels = np.asarray(result.labels)
    parts = []
    for lab in [int(k) for k in np.unique(labels[labels >= 0])] + [-1]:
        n = int(np.sum(labels == lab))
        parts.append(f'<span style="color:{colour_of(lab)}">&#9632;</span> '
                     f"{pattern_name(lab)} ({n} windows)")
    return "Band: " + " · ".join(parts)


def lead_lag_plot(unit_ids, value, n, measure, title=""):
    """Bars of one value per neuron (s, drawn in ms), neurons from the one that leads
    (smallest value) to the one that lags, neurons without a value left out.
    ``measure`` "flow" (SpikeShip's mean flow beyond the global shift) or "delay"."""
    value = np.asarray(value, dtype=np.float64)
    ok = np.isfinite(value) & (np.asarray(n) > 0)
    idx = np.flatnonzero(ok)
    idx = idx[np.lexsort((idx, value[idx]))]
    ylabel = ("mean flow beyond the global shift (ms)" if measure == "flow"
              else "mean first-spike delay (ms)")
    frame = pd.DataFrame({"neuron": [str(u) for u in np.asarray(unit_ids)[idx]],
                          "value": value[idx] * 1e3, "n": np.asarray(n)[idx],
                          "side": np.where(value[idx] < 0, "leads", "lags")})
    bars = hv.Bars(frame, kdims=[hv.Dimension("neuron", label="neuron (leading -> lagging)")],
                   vdims=[hv.Dimension("value", label=ylabel), "n", "side"])
    return bars.opts(color="side", cmap={"leads": "#2166ac", "lags": "#b2182b"},
                     responsive=True, min_height=260, tools=["hover"], xrotation=90,
                     title=title, fontsize={"title": 11}, ylabel=ylabel, show_grid=True,
                     show_legend=False)


def sequence_plot(sequence, title=""):
    """A pattern's average sequence (``PatternSequence``) as ``lead_lag_plot``."""
    what = "flows" if sequence.measure == "flow" else "delays"
    return lead_lag_plot(sequence.unit_ids, sequence.value, sequence.n_windows,
                         sequence.measure,
                         title or f"{pattern_name(sequence.label)}: sequence from mean "
                                  f"{what}, {sequence.windows} windows")


def flows_plot(flows, title=""):
    """SpikeShip's neuron-specific flows of a cluster (``NeuronFlows``) as
    ``lead_lag_plot``: which neurons lead (negative) or lag (positive) in the cluster."""
    return lead_lag_plot(flows.unit_ids, flows.mean_flow, flows.n_pairs, "flow",
                         title or f"flows: {flows.epochs.size} epochs against "
                                  f"{flows.reference.size}")


def windows_text(result):
    """One line on a sliding-windows result: windows, patterns, score, time."""
    sc = result.scores
    ari = "" if not np.isfinite(sc["ari"]) else f" · ARI against the embedded times " \
                                                 f"**{sc['ari']:.3f}**"
    sil = "n/a" if not np.isfinite(sc["silhouette"]) else f"{sc['silhouette']:.3f}"
    mode = " · graph mode" if result.graph_mode else ""
    return (f"**{sc['n_clusters']} patterns** in {sc['n_windows']} windows "
            f"({sc['n_clustered']} clustered, {result.dissimilarity}{mode}) · silhouette "
            f"{sil}{ari} · {result.elapsed:.1f} s")
