"""HoloViews elements shared by the pages: datashaded rasters and rate curves.

Rasters go through datashader: one point per spike, rasterized to the plot's pixels and
spread where sparse (dynspread), which stays interactive at 1e7 spikes (``hv.Points``
rasterizes 10M spikes in about 0.5 s here; ``hv.Spikes`` or ``hv.Segments`` are 10-60x slower).
The raster's tooltip names the unit of the row under the cursor (its id, not the y coordinate)
and the spikes in the hovered pixel. Its counts go to the browser in the smallest unsigned
integer type that holds them (``compact_counts``: usually one byte a pixel, not four). A
raster of a few spikes (a close-up) is better drawn as the spikes themselves
(``spike_points``): no image to compute, send or redraw at the browser's size.
"""

import holoviews as hv
import numpy as np
import param
from bokeh.models import CustomJSHover
from holoviews.core.operation import Operation
from holoviews.operation.datashader import dynspread, rasterize

# a light-to-dark ramp on a linear scale: a single spike stays visible, a crowded pixel is dark
RASTER_OPTS = {"cmap": ["#6b9bd1", "#08306b"], "cnorm": "linear", "colorbar": False,
               "tools": ["hover"], "responsive": True, "min_height": 320, "framewise": True,
               "xlabel": "time (s)", "ylabel": "unit"}

# the name of the row nearest to a y (or x) coordinate, for a tooltip: rows sit at 0, 1, ...
ROW_NAME_JS = "const k = Math.round(value); return (k >= 0 && k < names.length) ? names[k] : '';"


def row_name_hover(names):
    """A tooltip formatter that shows ``names[k]`` for a coordinate near row ``k``."""
    return CustomJSHover(args={"names": [str(n) for n in names]}, code=ROW_NAME_JS)


def raster_hover(unit_ids):
    """Tooltips of a raster whose row k shows unit ``unit_ids[k]``: the unit's id, the time and
    the spikes in the hovered pixel."""
    return {"hover_tooltips": [("unit", "$y{custom}"), ("time (s)", "$x{0.000}"),
                               ("spikes in pixel", "@image{0}")],
            "hover_formatters": {"$y": row_name_hover(unit_ids)}}


class compact_counts(Operation):
    """An image of counts (non-negative integers) in the smallest unsigned integer type
    that holds its largest count: uint8 up to 255, uint16 up to 65,535, else unchanged.
    Lossless; a raster's image is what the page sends to the browser (and what each zoom
    sends again), so this makes it 4 times smaller where counts are small."""

    group = param.String(default="", doc="(unused: the element keeps its group)")

    def _process(self, element, key=None):
        data = getattr(element, "data", None)
        vdims = element.vdims
        if not vdims or not hasattr(data, "data_vars"):  # only datashader's xarray images
            return element
        name = vdims[0].name
        values = data[name].values
        if values.dtype.kind not in "ui" or values.size == 0:
            return element
        top = int(values.max())
        if values.dtype.kind == "i" and int(values.min()) < 0:
            return element
        for kind in (np.uint8, np.uint16):
            if top <= np.iinfo(kind).max:
                if values.dtype.itemsize <= np.dtype(kind).itemsize:
                    return element
                data = data.copy()
                data[name] = data[name].astype(kind)
                return element.clone(data=data)
        return element


def raster(data, order=None, title="", dynamic=True, width=None, height=None):
    """A datashaded spike raster: x = time (s), y = row (unit index, or rank in ``order``).

    Parameters
    ----------
    data : SpikeTrains
    order : array of int, optional
        Unit indices from top to bottom rows; units not listed are left out.
    dynamic : bool
        Re-rasterize on zoom (served app); False freezes an image of ``width x height``
        pixels (default 900 x 400), for static reports.
    width, height : int, optional
        Pixels of the image; when dynamic, of the first one only (default 450 x 300):
        the browser's plot size replaces them once the page is laid out (the PlotSize
        stream), so a larger first image is sent and drawn for nothing (four 900 x 400
        rasters were 6 MB of the ASSET page's 13 MB).
    """
    if width is None or height is None:
        width, height = (450, 300) if dynamic else (900, 400)
    if data is None or data.n_units == 0:
        return hv.Points([], kdims=["time (s)", "unit"]).opts(title=title or "no data")
    rows, times, unit_ids, y_hi = _ordered_rows(data, order)
    points = hv.Points((times, rows.astype(np.float64)), kdims=["time (s)", "unit"])
    shaded = rasterize(points, dynamic=dynamic, width=width, height=height,
                       x_range=(data.t_start, data.t_stop), y_range=(-0.5, y_hi - 0.5))
    # dynspread grows points only where the image is sparse, so dense rasters stay legible;
    # with "max" a pixel shows the largest count within the spread (the default adds up the
    # neighbours, which the tooltip would show as spikes that were never there)
    spread = dynspread(shaded, max_px=2, threshold=0.5, how="max", dynamic=dynamic)
    spread = compact_counts(spread, dynamic=dynamic)
    # empty pixels hold 0 spikes, not "no data" (Bokeh shows NaN in a tooltip, without calling
    # its formatter); below the colour range (clim from 0.5) they are drawn transparent
    return spread.redim.nodata(Count=None).opts(
        title=title, clim=(0.5, np.nan), clipping_colors={"min": "transparent"},
        **RASTER_OPTS, **raster_hover(unit_ids))


def _ordered_rows(data, order):
    """``(rows, times, unit_ids, n_rows)`` of ``data``'s spikes: each spike's row (its unit
    index, or the unit's rank in ``order``; spikes of units ``order`` leaves out are
    dropped), their times, the units' ids by row and the number of rows."""
    rows, times, unit_ids = data.units, data.times, data.unit_ids
    if order is None:
        return rows, times, unit_ids, data.n_units
    order = np.asarray(order)
    rank = np.full(data.n_units, -1)
    rank[order] = np.arange(order.size)
    rows = rank[rows]
    keep = rows >= 0
    return rows[keep], times[keep], unit_ids[order], len(order)


POINTS_COLOR = "#2f5f9e"  # between the raster's light and dark ends


def spike_points(data, order=None, title=""):
    """The spikes as points, for a raster of few spikes (a close-up of a short window):
    x = time (s), y = row as in ``raster`` (unit index, or rank in ``order``; units that
    ``order`` leaves out are not drawn). Bokeh draws the points itself at any size and zoom,
    so the server sends them once (two float64 values a spike) and never an image; the
    tooltip names the unit as on ``raster``.

    Parameters
    ----------
    data : SpikeTrains
    order : array of int, optional
        Unit indices from top to bottom rows.
    """
    if data is None or data.n_units == 0:
        return hv.Points([], kdims=["time (s)", "unit"]).opts(title=title or "no data")
    rows, times, unit_ids, y_hi = _ordered_rows(data, order)
    return hv.Points((times, rows.astype(np.float64)), kdims=["time (s)", "unit"]).opts(
        title=title, color=POINTS_COLOR, marker="square", size=3, line_color=None,
        xlim=(data.t_start, data.t_stop), ylim=(-0.5, y_hi - 0.5), tools=["hover"],
        responsive=True, min_height=320, framewise=True, xlabel="time (s)", ylabel="unit",
        hover_tooltips=[("unit", "$y{custom}"), ("time (s)", "@{time (s)}{0.000}")],
        hover_formatters={"$y": row_name_hover(unit_ids)})


def population_rate(data, n_bins=1000):
    """Population rate (spikes/s per unit) as a curve, in about ``n_bins`` bins."""
    if data is None or data.n_units == 0 or data.duration <= 0:
        return hv.Curve([], "time (s)", "rate (Hz)")
    bin_size = max(data.duration / n_bins, 1e-3)
    bin_size = min(bin_size, data.duration)
    centres, rate = data.population_rate(bin_size)
    return hv.Curve((centres, rate), "time (s)", "rate (Hz)").opts(
        responsive=True, height=180, framewise=True, color="#1f4e79",
        title=f"population rate ({bin_size * 1e3:.3g} ms bins)", tools=["hover"])
