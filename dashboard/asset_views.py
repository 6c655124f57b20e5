"""ASSET's figures (Torre et al. 2016), drawn from an ``AssetResult`` and its data.

Plain functions, no state: the ASSET page, the report and the notebook display
(``dashboard.inline``, which shows the page) draw the same figures.

The five matrices are bins x bins. Each is drawn with bin-centre times in seconds on both
axes, bin j on x ("time j (s)") and bin i on y ("time i (s)"), origin at the bottom left: the
main diagonal runs from bottom left to top right, and a synfire chain shows as short stripes
parallel to it (``matrix_image``, ``matrix_plot``; ``matrix_plots`` redraws through streams).
The rasters show the units in the original, ASSET's and (when known) the true order
(``raster_orders``), with a highlighted SSE's spikes and bins (``sse_spikes``) and close-ups
of its occurrences (``closeups``), where the chain shows as a diagonal.
"""

from __future__ import annotations

import holoviews as hv
import numpy as np
from holoviews.operation.datashader import rasterize

from analysis.spiketrains import bin_indices

from . import views

MATRICES = ["imat", "pmat", "jmat", "mask", "cmat"]
# cluster ids cycle through a qualitative palette; noise grey; not significant transparent
NOISE_COLOR = "#9e9e9e"
# (no pink: that is the highlight's colour)
CLUSTER_COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b",
                  "#17becf", "#bcbd22", "#393b79", "#637939", "#843c39", "#3182bd",
                  "#e6550d", "#31a354", "#756bb1", "#636363", "#6baed6", "#fd8d3c"]
HIGHLIGHT = "#ff1493"
MATRIX_FRAME = 250  # pixels per side of each matrix plot
MATRIX_STYLES = {
    # 'max' keeps thin stripes and single significant entries visible when many bins share
    # a pixel; probabilities are averaged, else the overview would be all near 1
    "imat": dict(cmap="viridis", colorbar=True, aggregator="max"),
    "pmat": dict(cmap="inferno", colorbar=True, aggregator="mean"),
    "jmat": dict(cmap="inferno", colorbar=True, aggregator="mean"),
    "mask": dict(cmap=["#1f4e79"], colorbar=False, aggregator="max"),
    "cmat": dict(cmap=[NOISE_COLOR] + CLUSTER_COLORS, colorbar=False, aggregator="max"),
}
CLOSEUP_MARGIN = 0.03  # s of context either side of an SSE in the close-up rasters
# a close-up with more spikes than this is datashaded like the whole rasters (points are
# cheaper to compute, send and draw where there are few)
CLOSEUP_POINTS_MAX = 20_000


def bins_text(result):
    """"200 bins of 5 ms": the binning of an ``AssetResult`` (its bin count where it
    records one)."""
    bins = result.data_summary.get("bins")
    size = f"{result.bin_size * 1e3:g} ms"
    return f"{bins} bins of {size}" if bins is not None else f"{size} bins"


def summary_facts(result, n_units):
    """The run's findings in a few words each: SSEs, significant entries, units ordered,
    the ordering's score against the ground truth, the binning."""
    r = result
    facts = [f"**{len(r.sses)} SSE{'s' if len(r.sses) != 1 else ''}**"]
    if r.mask is not None:
        n_sig = int(np.count_nonzero(r.mask))
        facts.append(f"{n_sig // 2 if r.symmetric else n_sig:,} significant entries")
    elif is_tiled(r):
        facts.append(f"{np.asarray(r.significant['rows']).size:,} significant entries")
    if r.n_found:
        facts.append(f"{r.n_found} of {n_units} units ordered by the largest SSE")
    if r.score is not None:
        facts.append(f"ordering score against the ground truth: **{r.score:.3f}**")
    facts.append(bins_text(r))
    return facts


def is_tiled(result):
    """Whether ``result`` comes from a tiled run (``Asset.run(tiled=True)``): it keeps the
    significant entries (``result.significant``) and the SSEs, not the bins x bins
    matrices."""
    return result.cmat is None and bool(result.significant)


TILED_NOTE = ("**Tiled run.** ASSET worked through the matrices in row tiles and kept only "
              "the entries found significant: the five bins x bins matrices (intersection, "
              "probability, joint probability, mask, clusters) are not kept, so they are "
              "not drawn. Shown: those entries coloured by SSE (grey: noise), the SSE table, "
              "the orderings and the rasters.")


# ---------------------------------------------------------------------- matrices
def matrix_axes(r, n_rows, n_cols):
    """Bin-centre times (s) of the columns and rows of a result's matrices, and the x and y
    dimensions (``time_j``, ``time_i``)."""
    # distinct labels also in the symmetric case: HoloViews looks dimensions up by label
    # too, and two "time (s)" axes put the highlight's y values on x's
    ti = hv.Dimension("time_i", label="time i (s)")
    tj = hv.Dimension("time_j", label="time j (s)")

    def centres(n):
        return r.t_start + (np.arange(n) + 0.5) * r.bin_size
    return centres(n_cols), centres(n_rows), tj, ti


def matrix_title(name, result):
    """The title of matrix ``name``'s plot, with the parameters ``result`` was computed with
    (its ``params``), without drawing the matrix."""
    p = result.params
    if name == "mask":
        return (f"mask: pmat > {p['alpha_p']:g} and jmat > {p['alpha_j']:g}"
                if "alpha_p" in p else "mask: significant entries")
    return MATRIX_TITLES[name]


MATRIX_TITLES = {"imat": "intersection matrix", "pmat": "probability matrix",
                 "jmat": "joint-probability matrix", "cmat": "clusters (grey: noise)"}


def _off_diagonal(z):
    """The entries of square matrix ``z`` off its main diagonal, as a view where ``z`` is
    contiguous: the flat entries after the first, in rows of n + 1, end with a diagonal
    entry each (no n x n boolean mask, no copy)."""
    n = z.shape[0]
    return np.ravel(z)[1:].reshape(n - 1, n + 1)[:, :-1]


def matrix_image(name, result):
    """One matrix as an image: x = time of bin j, y = time of bin i (origin bottom left).

    Titles and labels state the parameters ``result`` was computed with (its ``params``).
    ``hv.Image((xs, ys, z))`` puts z[0] at the bottom; ``hv.Image(z)`` would flip it.
    The image holds float32 values: counts, cluster colours and the mask exactly,
    probabilities to 7 digits (more than a colour or a tooltip shows); half the memory and
    half the bytes a plot sends of float64.
    """
    matrix = getattr(result, name)
    xs, ys, tj, ti = matrix_axes(result, *matrix.shape)
    p = result.params
    if name == "imat":
        z = np.asarray(matrix, dtype=np.float32)
        # the diagonal (a bin with itself) would set the colour scale: leave it out
        square = z.ndim == 2 and z.shape[0] == z.shape[1] and z.shape[0] > 1
        off = _off_diagonal(z) if result.symmetric and square else z
        hi = float(off.max()) if off.size else 0.0
        hi = hi if hi > 0 else 1.0
        normalization = p.get("normalization")
        label = "neurons" if normalization is None else f"{normalization} overlap"
        vdim = hv.Dimension("imat", label=label, range=(0, hi))
    elif name in ("pmat", "jmat"):
        z = np.asarray(matrix, dtype=np.float32)
        vdim = hv.Dimension(name, label="probability", range=(0, 1))
    elif name == "mask":
        z = np.where(matrix, np.float32(1), np.float32(np.nan))
        vdim = hv.Dimension("mask", label="significant", range=(0, 1))
    else:  # clusters: ids cycle through the palette, noise 0 (grey), others transparent
        matrix = np.asarray(matrix)
        z = np.full(matrix.shape, np.nan, dtype=np.float32)
        positive = matrix > 0
        z[positive] = (matrix[positive] - 1) % len(CLUSTER_COLORS) + 1
        z[matrix < 0] = 0
        vdim = hv.Dimension("cluster", label="cluster colour",
                            range=(-0.5, len(CLUSTER_COLORS) + 0.5))
    return hv.Image((xs, ys, z), kdims=[tj, ti], vdims=[vdim]).relabel(
        matrix_title(name, result))


def matrix_plot(image, name, size=(MATRIX_FRAME, MATRIX_FRAME), dynamic=True, **opts):
    """``image`` (a ``matrix_image`` of matrix ``name``, or a DynamicMap of them) rasterized
    to ``size`` (width, height) pixels in the matrix's style; ``opts`` add plot options."""
    style = dict(MATRIX_STYLES[name])
    w, h = size
    return rasterize(image, aggregator=style.pop("aggregator"), dynamic=dynamic, width=w,
                     height=h).opts(
        frame_width=w, frame_height=h, tools=["hover"], colorbar_opts={"width": 10},
        clipping_colors={"NaN": "white"}, **opts, **style)


def matrix_plots(result, matrices, marks, window=None):
    """The matrices ``result`` holds, redrawn through two streams: ``matrices`` sends
    results, ``marks`` sends ``(result, cluster)`` for the highlighted SSE's entries, which
    every plot marks. A tiled result (``is_tiled``) has no matrices: one plot of its
    significant entries instead (``entries_plot``).

    Not framewise: a redraw through the streams keeps the user's zoom, and rasterize fills
    that zoom (framewise reset the axes to the whole matrix but left only the zoomed patch
    drawn); a new shape or zoom ``window`` ((x0, x1), (y0, y1)) in s wants new plots.
    """
    limits = {} if window is None else {"xlim": window[0], "ylim": window[1]}
    if is_tiled(result):
        return [entries_plot(result, matrices, marks, limits)]
    plots = []
    for name in MATRICES:
        if getattr(result, name) is None:
            continue
        image = hv.DynamicMap(lambda data, name=name: matrix_image(name, data),
                              streams=[matrices])
        plot = matrix_plot(image, name, backend_opts={"plot.toolbar.autohide": True},
                           **limits)
        highlight = hv.DynamicMap(lambda data: cluster_marks(*data), streams=[marks])
        plots.append((plot * highlight).opts(title=matrix_title(name, result)))
    return plots


def entry_pixels(result, cluster):
    """(rows, cols): the bins (i, j) of SSE ``cluster``'s entries (none for 0 or an unknown
    cluster), both triangles in the symmetric case, as the matrices show them."""
    sse = result.sses.get(cluster) if cluster else None
    if not sse:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    pixels = np.array(list(sse), dtype=np.int64).reshape(-1, 2)
    rows, cols = pixels[:, 0], pixels[:, 1]
    if result.symmetric:  # the SSEs hold the lower triangle; the matrices mirror it
        off = rows != cols
        rows, cols = np.concatenate([rows, cols[off]]), np.concatenate([cols, rows[off]])
    return rows, cols


def _bin_times(result, bins):
    return result.t_start + (np.asarray(bins, dtype=np.float64) + 0.5) * result.bin_size


def cluster_marks(result, cluster):
    """Hollow squares on the entries of SSE ``cluster`` (none for 0): they mark the entries
    and let the matrix's colours show (full and tiled results alike)."""
    _, _, tj, ti = matrix_axes(result, 0, 0)
    rows, cols = entry_pixels(result, cluster)
    return hv.Points((_bin_times(result, cols), _bin_times(result, rows)),
                     kdims=[tj, ti]).opts(
        marker="square", size=7, fill_alpha=0, line_color=HIGHLIGHT, line_width=1.5)


def entries_points(result):
    """A tiled result's significant entries as points (x = time of bin j, y = time of bin
    i; both triangles in the symmetric case) with their cluster colour as in the clusters
    matrix (0: noise, grey)."""
    sig = result.significant
    rows = np.asarray(sig["rows"], dtype=np.int64)
    cols = np.asarray(sig["cols"], dtype=np.int64)
    labels = np.asarray(sig.get("labels", np.full(rows.size, -1)), dtype=np.int64)
    if result.symmetric:
        off = rows != cols
        rows, cols, labels = (np.concatenate([rows, cols[off]]),
                              np.concatenate([cols, rows[off]]),
                              np.concatenate([labels, labels[off]]))
    colour = np.where(labels > 0, (labels - 1) % len(CLUSTER_COLORS) + 1.0, 0.0)
    _, _, tj, ti = matrix_axes(result, 0, 0)
    vdim = hv.Dimension("cluster", label="cluster colour",
                        range=(-0.5, len(CLUSTER_COLORS) + 0.5))
    return hv.Points((_bin_times(result, cols), _bin_times(result, rows), colour),
                     kdims=[tj, ti], vdims=[vdim])


def entries_plot(result, entries, marks, limits=None, size=(MATRIX_FRAME, MATRIX_FRAME)):
    """A tiled result's significant entries, rasterized over the whole recording, coloured
    by SSE (grey: noise), with the highlighted SSE marked: ``entries`` sends results,
    ``marks`` sends ``(result, cluster)``."""
    import datashader as ds
    from holoviews.operation.datashader import dynspread

    bins = result.data_summary.get("bins") or int(
        max(np.max(result.significant["rows"], initial=0),
            np.max(result.significant["cols"], initial=0)) + 1)
    extent = (result.t_start, result.t_start + bins * result.bin_size)
    w, h = size
    points = hv.DynamicMap(lambda data: entries_points(data), streams=[entries])
    shaded = dynspread(rasterize(points, aggregator=ds.max("cluster"), width=w, height=h,
                                 x_range=extent, y_range=extent),
                       max_px=2, threshold=0.5, how="max")
    highlight = hv.DynamicMap(lambda data: cluster_marks(*data), streams=[marks])
    title = "significant entries (tiled run)"
    return (shaded.opts(frame_width=w, frame_height=h, tools=["hover"],
                        cmap=[NOISE_COLOR] + CLUSTER_COLORS, colorbar=False,
                        clim=(-0.5, len(CLUSTER_COLORS) + 0.5),
                        clipping_colors={"NaN": "white"},
                        backend_opts={"plot.toolbar.autohide": True},
                        xlim=extent, ylim=extent, **(limits or {}))
            * highlight).opts(title=title)


def sse_window(result, cluster):
    """((x0, x1), (y0, y1)) in s around SSE ``cluster``, or None."""
    r = result
    if not cluster or cluster not in r.sses:
        return None
    pixels = np.array(list(r.sses[cluster]))
    lo, hi = pixels.min(axis=0), pixels.max(axis=0) + 1
    pad = max(30, int(0.5 * (hi - lo).max()))

    def span(a, b):
        return r.t_start + (a - pad) * r.bin_size, r.t_start + (b + pad) * r.bin_size
    return span(lo[1], hi[1]), span(lo[0], hi[0])  # x = bin j, y = bin i


# ---------------------------------------------------------------------- rasters
def raster_orders(result, data):
    """``(order, title)`` of each raster: the original order (None), ASSET's and, when the
    data know it, the true order."""
    orders = [(None, "original order"), (result.order, "ASSET order")]
    truth = data.truth.get("ordering") if data.truth else None
    if truth is not None and len(truth):
        orders.append((np.asarray(truth), "true order (ground truth)"))
    return orders


def sse_spikes(result, data, cluster, window=None, order=None):
    """SSE ``cluster`` on a raster: the spikes of its neurons in its bins, and the time spans
    of its bins (those inside ``window`` (s) if given). Rows as in ``views.raster`` with
    ``order`` (default: ASSET's order; "original": the units' own order); units that
    ``order`` leaves out are not marked."""
    spans, points = [], (np.empty(0), np.empty(0))
    if cluster and cluster in result.sses:
        sse = result.sses[cluster]
        n_bins = data.n_bins(result.bin_size)
        keys = set()
        for (i, j), units in sse.items():
            for u in units:
                keys.add(u * n_bins + i)
                if result.symmetric:  # the j axis is the same recording
                    keys.add(u * n_bins + j)
        bins = bin_indices(data.times, result.t_start, result.bin_size)
        hit = (bins >= 0) & (bins < n_bins) & np.isin(
            data.units.astype(np.int64) * n_bins + bins, np.fromiter(keys, np.int64))
        rows = (np.arange(data.n_units) if isinstance(order, str) and order == "original"
                else np.asarray(result.order if order is None else order))
        rank = np.full(data.n_units, -1, dtype=np.int64)
        rank[rows] = np.arange(rows.size)
        hit &= rank[data.units] >= 0
        if window is not None:
            hit &= (data.times >= window[0]) & (data.times <= window[1])
        points = (data.times[hit], rank[data.units[hit]].astype(np.float64))
        pixels = np.array(list(sse))
        for axis in ([0, 1] if result.symmetric else [0]):
            lo = result.t_start + pixels[:, axis].min() * result.bin_size
            hi = result.t_start + (pixels[:, axis].max() + 1) * result.bin_size
            if window is None or (lo < window[1] and hi > window[0]):
                spans.append((lo, hi))
    return (hv.VSpans(spans).opts(color=HIGHLIGHT, alpha=0.12)
            * hv.Points(points, kdims=["time (s)", "unit"]).opts(
                color=HIGHLIGHT, size=3, line_color=None))


def closeups(result, data, cluster):
    """The raster in ASSET's order around each occurrence of SSE ``cluster``, highlighted:
    the chain shows as a diagonal there. Each spike is a point (``views.spike_points``):
    a window of a few tens of ms holds few spikes (more than ``CLOSEUP_POINTS_MAX``: a
    datashaded raster). In the symmetric case bin i comes after bin j: the
    j occurrence first."""
    r = result
    if not cluster or cluster not in r.sses:
        return []
    pixels = np.array(list(r.sses[cluster]))
    rasters = []
    for axis in ([1, 0] if r.symmetric else [0]):
        lo = r.t_start + pixels[:, axis].min() * r.bin_size - CLOSEUP_MARGIN
        hi = r.t_start + (pixels[:, axis].max() + 1) * r.bin_size + CLOSEUP_MARGIN
        lo, hi = max(lo, data.t_start), min(hi, data.t_stop)
        window = data.time_slice(lo, hi)
        title = f"SSE {cluster} at {lo + CLOSEUP_MARGIN:.3f} s (ASSET order)"
        # usually a few hundred spikes: points, not an image (views.spike_points)
        draw = views.spike_points if window.n_spikes <= CLOSEUP_POINTS_MAX else views.raster
        raster = draw(window, order=r.order, title=title)
        rasters.append(raster * sse_spikes(r, data, cluster, (lo, hi)))
    return rasters
