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
  baseline's scores, and the scores of a window sweep;
* linked views (issue 15 item 4): ``epoch_table`` (one row per epoch), and for a set of
  highlighted epochs ``map_highlight`` (rings on the map), ``matrix_highlight`` (their rows
  and columns on the sorted matrix, merged into bands at pixel resolution) and
  ``epochs_raster`` (their spikes, superimposed in time from each epoch's start). These
  take only the result's arrays: a new highlight recomputes nothing.

Drawing cost (issue 15 item 6, docs/spotdis.md "Drawing a result"): the plots are drawn
on a 2-D canvas (``CANVAS``), not WebGL, which without a GPU copies every frame back
through ``drawImage``; a matrix or delay image no larger than its plot's pixels is sent as
it is (float32 for the matrix), not rasterized, so the browser's ranges do not make the
server compute and send it a second time.
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

#: Bokeh's output backend for this page's plots: its few thousand glyphs draw fast on a 2-D
#: canvas, while WebGL (HoloViews' default) without a GPU (software rendering, as on the
#: 2-core machine's headless Chromium) copies each frame back with ``drawImage``: 7.2 s of
#: the page's 28 s busy after a run of the pulse-pattern demo at load 12 (docs/spotdis.md,
#: "Drawing a result")
CANVAS = {"backend_opts": {"plot.output_backend": "canvas"}}
#: the matrix plot's pixels (rasterized above this many epochs, sent as it is below)
MATRIX_PIXELS = 600
#: the delay image's pixels (rasterized above, sent as it is below)
XCORR_PIXELS = 400

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


def matrix_image(matrix, labels, name="SPOTDis", full=(0.0, 1.0), dtype=None):
    """A dissimilarity matrix (SPOTDis by default) with rows and columns in
    ``cluster_order``: hv.Image, epoch rank on both axes (rank 0 at the top-left), values
    named ``name`` in the range ``full``, as ``dtype`` (default: the matrix's)."""
    order = cluster_order(labels)
    ranks = np.arange(order.size, dtype=np.float64)
    z = np.asarray(matrix)[np.ix_(order, order)]
    if dtype is not None:
        z = z.astype(dtype, copy=False)
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
                dynamic=True, name="SPOTDis", highlight=None):
    """The sorted matrix with its cluster frames; ``highlight`` (an element or DynamicMap in
    rank coordinates, e.g. of ``matrix_highlight``) is drawn on top.

    Up to ``MATRIX_PIXELS`` epochs the matrix is sent as it is, in float32 (rasterizing
    would not shrink it, and a dynamic rasterize sends it again once the browser reports
    the plot's ranges); above, it is rasterized to that many pixels (``dynamic``: again
    on zoom)."""
    M = len(labels)
    # the axes are ranks: the tooltip turns the rank under the cursor into the epoch there
    names = row_name_hover(epoch_names(labels))
    if M <= MATRIX_PIXELS:
        image = matrix_image(matrix, labels, name, clim, dtype=np.float32)
    else:
        image = rasterize(matrix_image(matrix, labels, name, clim), dynamic=dynamic,
                          width=MATRIX_PIXELS, height=MATRIX_PIXELS, aggregator="mean")
    image = image.opts(
        cmap="viridis", clim=tuple(clim), colorbar=True, invert_yaxis=True, tools=["hover"],
        hover_tooltips=[("row", "$y{custom}"), ("column", "$x{custom}"),
                        (name, "@image{0.000}")],
        hover_formatters={"$x": names, "$y": names},
        framewise=True, xlabel="epoch (sorted by cluster)",
        ylabel="epoch (sorted by cluster)", clabel=name)
    # white frames: visible on every colour of the map (cluster colours are on the t-SNE map);
    # no tooltip of their own, the matrix's names the clusters
    blocks = cluster_blocks(labels).opts(fill_alpha=0, line_color="white", line_width=1.5)
    layers = image * blocks if highlight is None else image * blocks * highlight
    return layers.opts(
        hv.opts.Overlay(title=title,
                        xlim=(-0.5, M - 0.5), ylim=(-0.5, M - 0.5), frame_width=340,
                        frame_height=340, fontsize={"title": 11}, **CANVAS))


def dissimilarity_plot(result, full_range=False, dynamic=True, highlight=None):
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
                       title=f"{title}, epochs sorted by cluster", dynamic=dynamic, name=name,
                       highlight=highlight)


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
        # box and lasso select pick epochs too; the page rings the picked epochs itself
        # (``map_highlight``), so Bokeh's own selection look stays off: it would keep an
        # old pick dimmed after a table click picked other epochs
        tools=["tap", "box_select", "lasso_select", map_hover(truth is not None)],
        nonselection_alpha=1.0, selection_alpha=1.0, selection_line_color="white",
        responsive=True, show_legend=True, legend_position="bottom", legend_cols=4,
        framewise=True,
        title=f"t-SNE map, coloured by {'true pattern' if by_truth else what}",
        xlabel="t-SNE 1", ylabel="t-SNE 2", xaxis=None, yaxis=None, fontsize={"title": 11},
        **CANVAS)


def map_overlay(points, highlight, height=440):
    """The map ``points`` with ``highlight`` (an element or DynamicMap of
    ``map_highlight``) on top, keeping the map's title and legend; ``height`` in pixels
    (a responsive overlay with a DynamicMap in it collapses to a strip without one)."""
    keep = ("show_legend", "legend_position", "legend_cols", "framewise",
            "title", "xlabel", "ylabel", "xaxis", "yaxis", "fontsize", "backend_opts")
    opts = points.opts.get("plot").kwargs
    return (points * highlight).opts(
        hv.opts.Overlay(responsive=True, height=height,
                        **{k: opts[k] for k in keep if k in opts}))


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
        title=title or f"epoch {k}", fontsize={"title": 11}, **CANVAS)


def xcorr_plot(data, epochs, reference, title="", sort=True, dynamic=True):
    """Neurons x delay image of ``cross_correlation`` (rows by delay with ``sort``); sent
    as it is up to ``XCORR_PIXELS`` neurons and delays, else rasterized."""
    centres, hist = cross_correlation(data, epochs, reference)
    n = data.n_units
    order = delay_order(centres, hist, reference) if sort else np.arange(n)
    ylabel = "neuron j (sorted by delay)" if sort else "neuron j"
    image = hv.Image((centres * 1e3, np.arange(n, dtype=np.float64), hist[order]),
                     kdims=["delay t_j - t_i (ms)", "row"],
                     vdims=["spike pairs per epoch"])
    step = max(1, int(np.ceil(n / 25)))
    ticks = [(float(r), str(int(order[r]))) for r in range(0, n, step)]
    if max(n, centres.size) > XCORR_PIXELS:
        image = rasterize(image, dynamic=dynamic, width=XCORR_PIXELS, height=XCORR_PIXELS)
    return image.opts(
        yticks=ticks, ylabel=ylabel,
        cmap="Greys", colorbar=True, tools=["hover"], responsive=True, framewise=True,
        title=title, fontsize={"title": 11}, clabel="spike pairs per epoch", **CANVAS)


HIGHLIGHT_COLOUR = "#e6007e"   # magenta: not a cluster colour, visible on viridis and white


def selected_spikes(data, epochs):
    """Spikes of the epochs ``epochs`` (indices into ``data.epochs``), pooled.

    Returns ``(times, units, which)``: each spike's time from its epoch's start (s), its unit
    index and its position in ``epochs``. An epoch is [start, stop), closed at ``t_stop`` (as
    ``SpikeTrains.epoch_spikes``); overlapping epochs each get their spikes. One
    ``searchsorted`` per unit over all epochs: a cluster of thousands of epochs is fast.
    """
    epochs = np.asarray(epochs, dtype=np.int64)
    start = np.asarray(data.epochs.start)[epochs]
    stop = np.asarray(data.epochs.stop)[epochs]
    closed = stop >= data.t_stop
    times, units, which = [], [], []
    for i in range(data.n_units):
        t = data[i]
        lo = np.searchsorted(t, start, "left")
        hi = np.where(closed, np.searchsorted(t, stop, "right"),
                      np.searchsorted(t, stop, "left"))
        n = hi - lo
        total = int(n.sum())
        if total == 0:
            continue
        owner = np.repeat(np.arange(epochs.size), n)
        # index of each spike: its epoch's first spike plus its rank within the epoch
        first = np.repeat(lo - np.concatenate([[0], np.cumsum(n)[:-1]]), n)
        idx = first + np.arange(total)
        times.append(t[idx] - start[owner])
        units.append(np.full(total, i, dtype=np.int64))
        which.append(owner)
    if not times:
        empty = np.empty(0)
        return empty, empty.astype(np.int64), empty.astype(np.int64)
    return np.concatenate(times), np.concatenate(units), np.concatenate(which)


def epoch_table(labels, embedding, data=None, truth=None):
    """One row per epoch (row k is epoch k): its cluster, start (s), true label and t-SNE
    coordinates; the table the page's rows pick epochs from."""
    labels = np.asarray(labels)
    emb = np.asarray(embedding)
    frame = {"epoch": np.arange(labels.size), "cluster": labels}
    if data is not None and data.epochs is not None and len(data.epochs) == labels.size:
        frame["start (s)"] = np.asarray(data.epochs.start)
    if truth is not None:
        frame["true label"] = np.asarray(truth)
    frame["t-SNE 1"] = emb[:, 0]
    frame["t-SNE 2"] = emb[:, 1]
    return pd.DataFrame(frame)


def map_highlight(embedding, epochs=()):
    """Rings around the highlighted epochs' dots on the t-SNE map (``map_points``)."""
    epochs = np.asarray(epochs, dtype=np.int64)
    emb = np.asarray(embedding)
    return hv.Points({"x": emb[epochs, 0], "y": emb[epochs, 1], "epoch": epochs},
                     kdims=["x", "y"], vdims=["epoch"]).opts(
        color=HIGHLIGHT_COLOUR, fill_alpha=0, line_color=HIGHLIGHT_COLOUR, line_width=2.5,
        size=13, nonselection_alpha=1.0, selection_alpha=1.0, tools=[])


def rank_bands(ranks, n, min_gap=None):
    """Runs of consecutive ``ranks`` (of ``n``) as ``(first, last)`` pairs; runs closer than
    ``min_gap`` ranks (default: 1/1000 of ``n``, under a pixel of the page's matrix) are
    merged, so a scattered pick of 30,000 epochs is a bounded number of bands."""
    ranks = np.unique(np.asarray(ranks, dtype=np.int64))
    if ranks.size == 0:
        return np.empty((0, 2), dtype=np.int64)
    gap = max(1, int(n // 1000)) if min_gap is None else max(1, int(min_gap))
    breaks = np.flatnonzero(np.diff(ranks) > gap)
    first = np.concatenate([[ranks[0]], ranks[breaks + 1]])
    last = np.concatenate([ranks[breaks], [ranks[-1]]])
    return np.column_stack([first, last])


def matrix_highlight(labels, epochs=()):
    """The highlighted epochs' rows and columns on the matrix sorted by cluster
    (``matrix_image``): translucent bands in rank coordinates, one row and one column band
    per run of neighbouring ranks (``rank_bands``)."""
    labels = np.asarray(labels)
    n = labels.size
    rank = np.empty(n, dtype=np.int64)
    rank[cluster_order(labels)] = np.arange(n)
    bands = rank_bands(rank[np.asarray(epochs, dtype=np.int64)], n)
    lo, hi = bands[:, 0] - 0.5, bands[:, 1] + 0.5
    full_lo, full_hi = np.full(len(bands), -0.5), np.full(len(bands), n - 0.5)
    rows = np.column_stack([np.concatenate([full_lo, lo]), np.concatenate([lo, full_lo]),
                            np.concatenate([full_hi, hi]), np.concatenate([hi, full_hi])])
    return hv.Rectangles(rows, kdims=["epoch rank x", "epoch rank y", "x1", "y1"]).opts(
        fill_color=HIGHLIGHT_COLOUR, fill_alpha=0.3, line_color=HIGHLIGHT_COLOUR,
        line_alpha=1.0, line_width=1.5)


#: above this many spikes the raster of highlighted epochs is rasterized (datashader)
RASTER_POINTS_MAX = 20_000


def epochs_raster(data, epochs, title="", dynamic=True):
    """The highlighted epochs' spikes: x = time from each epoch's start (ms), y = unit.

    One epoch: its spikes as ticks. Several: superimposed (a cluster's repeated pattern
    shows as columns of ticks); above ``RASTER_POINTS_MAX`` spikes rasterized, the colour
    counting spikes per pixel."""
    epochs = np.asarray(epochs, dtype=np.int64)
    if epochs.size == 1:
        return epoch_raster(data, int(epochs[0]), title=title)
    times, units, _ = selected_spikes(data, epochs)
    duration = float(np.max(np.asarray(data.epochs.stop)[epochs]
                            - np.asarray(data.epochs.start)[epochs])) if epochs.size else 1.0
    points = hv.Points((times * 1e3, units.astype(np.float64)),
                       kdims=["time in epoch (ms)", "unit"])
    ranges = {"xlim": (0, duration * 1e3), "ylim": (-0.5, data.n_units - 0.5)}
    title = title or f"{epochs.size} epochs superimposed"
    if times.size <= RASTER_POINTS_MAX:
        # drawn as glyphs: float32 halves what is sent (the rasterized path keeps float64,
        # the type the server's warm-up compiled datashader for)
        points = hv.Points((np.float32(1e3) * times.astype(np.float32),
                            units.astype(np.float32)), kdims=["time in epoch (ms)", "unit"])
        alpha = float(np.clip(3.0 / max(epochs.size, 1), 0.08, 1.0))
        return points.opts(color=HIGHLIGHT_COLOUR, alpha=alpha, marker="dash", angle=90,
                           size=9, responsive=True, framewise=True, title=title,
                           fontsize={"title": 11}, **ranges, **CANVAS)
    shaded = rasterize(points, dynamic=dynamic, width=600, height=380,
                       x_range=ranges["xlim"], y_range=ranges["ylim"])
    return shaded.opts(cmap="Reds", cnorm="eq_hist", colorbar=True, clabel="spikes",
                       responsive=True, framewise=True, title=title, tools=["hover"],
                       fontsize={"title": 11}, **ranges, **CANVAS)


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
    g = getattr(baseline, "graph", None)
    if g is not None:
        text += (f" (graph mode: {g.neighbors.shape[1]} nearest epochs each from "
                 f"{g.n_pairs} exact pairs)")
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
