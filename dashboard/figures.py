"""A page's figures as PNG and SVG files, drawn on the server without a browser.

Bokeh can only write an image through a browser (``export_png`` drives a webdriver), and a
lab server may have none. The figures are HoloViews objects, so they are drawn again with
HoloViews' matplotlib backend, which writes PNG and SVG itself: the same elements, the same
data, and for a rasterized (datashader) plot the image of the zoom it shows now (its
DynamicMap is called with the range its plot last reported). The colours, limits, titles
and axis labels that the page set for Bokeh are carried over where matplotlib has the same
option; tooltips and tools are not (they mean nothing in a file).

Drawing takes from a tenth of a second to a few seconds: the page runs it in a worker
thread (``dashboard.page_base.JobPage``). matplotlib's figure bookkeeping is not thread
safe, so one figure is drawn at a time (``_LOCK``).
"""

from __future__ import annotations

import io
import re
import threading
import warnings

import holoviews as hv

#: The formats a figure is written in: label -> (file extension, matplotlib format)
FORMATS = {"PNG": ("png", "png"), "SVG": ("svg", "svg")}
#: Size of a figure whose pane and options say nothing fixed (pixels)
DEFAULT_SIZE = (900, 400)
#: Resolution the pixel sizes are converted with (matplotlib works in inches)
DPI = 100
#: Bokeh options matplotlib has under the same name and meaning
_SHARED_PLOT = ("clim", "clipping_colors", "title", "xlabel", "ylabel", "logx", "logy",
                "logz", "colorbar", "invert_yaxis", "invert_xaxis", "xlim", "ylim",
                "show_legend")
_SHARED_STYLE = ("cmap", "color", "alpha", "marker")
_RENAMED_STYLE = {"line_width": "linewidth", "size": "s", "fill_color": "facecolor",
                  "line_color": "edgecolor"}

#: Bokeh marker names matplotlib spells differently
_MARKERS = {"square": "s", "circle": "o", "triangle": "^", "inverted_triangle": "v",
            "diamond": "D", "cross": "+", "x": "x", "asterisk": "*", "dot": ".",
            "hex": "h", "plus": "P", "star": "*", "dash": "_"}

_LOCK = threading.Lock()
_setup_done = False


def available():
    """Whether figures can be written (matplotlib is installed)."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


def _setup():
    """Load HoloViews' matplotlib backend once, without making it the current backend."""
    global _setup_done
    if _setup_done:
        return
    import matplotlib

    matplotlib.use("Agg", force=False)
    # the views carry Bokeh options (tools, ...): in a fresh Python (a script, the docs'
    # example) the Bokeh backend must be loaded too, or HoloViews refuses those options
    hv.renderer("bokeh")
    backend = hv.Store.current_backend
    hv.renderer("matplotlib")
    hv.Store.set_current_backend(backend)
    # images fill the figure, as on the page (matplotlib's default keeps pixels square)
    for name in ("Image", "RGB", "QuadMesh", "HeatMap", "Raster", "HSV"):
        if hasattr(hv.opts, name):
            hv.opts.defaults(getattr(hv.opts, name)(aspect="auto"), backend="matplotlib")
    _setup_done = True


def _bokeh_options(element, group):
    try:
        return hv.Store.lookup_options("bokeh", element, group).kwargs
    except Exception:  # noqa: BLE001 (an element without bokeh options)
        return {}


def _shown_range(obj):
    """``{"xlim", "ylim"}`` of the zoom a rasterized plot shows now: the last ranges its
    Bokeh plot reported (its ``RangeXY`` stream); empty for a plot without one."""
    from holoviews.plotting.util import get_nested_streams

    for stream in get_nested_streams(obj) if not isinstance(obj, hv.Element) else []:
        if isinstance(stream, hv.streams.RangeXY):
            out = {k: tuple(v) for k, v in (("xlim", stream.x_range),
                                            ("ylim", stream.y_range))
                   if v is not None and None not in v}
            if out:
                return out
    return {}


def _like_bokeh(element, fontscale=1.0, shown=None):
    """``element`` with the matplotlib options that match the Bokeh ones it is shown with
    (and text scaled by ``fontscale``, for a small figure; ``shown``: the zoom's axis
    limits)."""
    plot, style = _bokeh_options(element, "plot"), _bokeh_options(element, "style")
    wanted = {k: plot[k] for k in _SHARED_PLOT if k in plot}
    wanted.update(shown or {})
    if fontscale != 1.0:
        wanted["fontscale"] = fontscale
    wanted.update({k: style[k] for k in _SHARED_STYLE if k in style})
    wanted.update({new: style[old] for old, new in _RENAMED_STYLE.items() if old in style
                   and not callable(style[old])})
    if isinstance(wanted.get("marker"), str):
        wanted["marker"] = _MARKERS.get(wanted["marker"], wanted["marker"])
    if "min" in (wanted.get("clipping_colors") or {}) \
            and wanted["clipping_colors"]["min"] == "transparent":
        wanted["clipping_colors"] = {**wanted["clipping_colors"], "min": (1, 1, 1, 0)}
    clim = wanted.get("clim")
    if isinstance(clim, tuple) and any(v is not None and v != v for v in clim):
        # Bokeh reads NaN as "from the data"; matplotlib would draw nothing
        wanted["clim"] = _data_clim(element, clim)
    out = element
    for key, value in wanted.items():
        try:  # one at a time: an option this element's matplotlib plot lacks is skipped
            out = out.opts(**{key: value}, backend="matplotlib", clone=True)
        except Exception:  # noqa: BLE001
            continue
    return out


def _data_clim(element, clim):
    """``clim`` with its NaN ends taken from the element's values."""
    import numpy as np

    try:
        values = np.asarray(element.dimension_values(element.vdims[0]), dtype=float)
        finite = values[np.isfinite(values)]
    except Exception:  # noqa: BLE001
        finite = np.empty(0)
    lo = clim[0] if clim[0] == clim[0] else (finite.min() if finite.size else 0.0)
    hi = clim[1] if clim[1] == clim[1] else (finite.max() if finite.size else 1.0)
    return (float(lo), float(max(hi, lo)))


def _drawn(obj):
    """``obj`` as drawn now: a DynamicMap's last value (drawn here, as its plot would,
    when the page has not drawn it yet; None when it cannot be)."""
    if isinstance(obj, hv.DynamicMap):
        if obj.last is None and not obj.kdims:
            try:
                obj[()]
            except Exception:  # noqa: BLE001 (its plot would show the error, not the list)
                return None
        return obj.last
    return obj


def _first_element(obj):
    """The first element of ``obj`` as drawn now (see ``_drawn``; None when it cannot
    be drawn)."""
    obj = _drawn(obj)
    if obj is None:
        return None
    if isinstance(obj, (hv.Overlay, hv.Layout, hv.NdLayout, hv.GridSpace, hv.NdOverlay,
                        hv.HoloMap)):
        values = list(obj.values()) if hasattr(obj, "values") else []
        return _first_element(values[0]) if values else None
    return obj


def title_of(obj, default):
    """The title a figure shows, for the list of figures: its own, or that of what it
    draws (an overlay a DynamicMap returns, e.g. an ASSET matrix under its highlight), or
    that of its first element."""
    for candidate in (obj, _drawn(obj), _first_element(obj)):
        if candidate is None:
            continue
        title = _bokeh_options(candidate, "plot").get("title")
        if isinstance(title, str) and title.strip() and "{" not in title:
            return " ".join(title.split())[:60]
    label = getattr(obj, "label", "") or ""
    return label[:60] if label else default


def size_of(obj, pane=None):
    """``(width, height)`` in pixels of a figure: its pane's fixed size, else its Bokeh
    options' width and height, else ``DEFAULT_SIZE`` (a stretching plot's width is only
    known in the browser)."""
    element = _first_element(obj) if not isinstance(obj, hv.Element) else obj
    plot = {**_bokeh_options(element, "plot"), **_bokeh_options(obj, "plot")} \
        if element is not None else _bokeh_options(obj, "plot")
    width = getattr(pane, "width", None) or plot.get("frame_width") or \
        (plot.get("width") if not plot.get("responsive") else None) or DEFAULT_SIZE[0]
    height = getattr(pane, "height", None) or plot.get("frame_height") or plot.get(
        "height") or plot.get("min_height") or DEFAULT_SIZE[1]
    return int(max(50, min(width, 4000))), int(max(50, min(height, 4000)))


def render(obj, fmt="PNG", size=DEFAULT_SIZE):
    """The bytes of ``obj`` drawn as a ``fmt`` file ("PNG" or "SVG") of ``size`` pixels
    (``width, height``; an SVG says the same size in points)."""
    if fmt not in FORMATS:
        raise ValueError(f"format: {fmt!r} is not one of {', '.join(FORMATS)}")
    if not available():
        raise ValueError("figures: matplotlib is not installed on the server "
                         "(pip install matplotlib)")
    width, height = (int(v) for v in size)
    with _LOCK:
        _setup()
        # matplotlib's text is sized in points: a figure as small as a 250-pixel matrix
        # gets smaller text so that its labels fit
        scale = round(min(1.0, min(width, height) / 400), 2)
        shown = _shown_range(obj)
        if isinstance(obj, hv.Element):
            styled = _like_bokeh(obj, scale, shown)
        else:
            styled = obj.map(lambda element: _like_bokeh(element, scale, shown),
                             [hv.Element])
        plot = hv.renderer("matplotlib").get_plot(styled)
        fig = plot.state
        try:
            fig.set_size_inches(width / DPI, height / DPI)
            try:  # labels inside the figure's size, which stays as asked
                with warnings.catch_warnings():  # a colour bar's axes: close enough
                    warnings.simplefilter("ignore", UserWarning)
                    fig.tight_layout(pad=0.4, rect=_beside_colorbars(fig))
            except Exception:  # noqa: BLE001 (some layouts cannot: kept as drawn)
                pass
            buf = io.BytesIO()
            import matplotlib

            # an SVG keeps its text as text (editable, searchable), not as glyph outlines
            with matplotlib.rc_context({"svg.fonttype": "none"}):
                fig.savefig(buf, format=FORMATS[fmt][1], dpi=DPI)
        finally:
            import matplotlib.pyplot as plt

            # the plot subscribed to the page's streams (zoom ranges): without this, every
            # zoom on the page would redraw the closed figure
            plot.cleanup()
            plt.close(fig)
    return buf.getvalue()


def _beside_colorbars(fig):
    """The part of ``fig`` (left, bottom, right, top, as fractions) its plot axes may fill:
    left of the axes HoloViews placed beside them (a colour bar, at a fixed position that
    ``tight_layout`` does not move), so that the plot does not grow under its colour bar."""
    extra = [ax for ax in fig.axes if ax.get_subplotspec() is None]
    if not extra or len(extra) == len(fig.axes):
        return (0, 0, 1, 1)
    right = min(ax.get_position().x0 for ax in extra) - 0.02
    return (0, 0, right, 1) if right > 0.3 else (0, 0, 1, 1)


def file_name(stem, title, fmt):
    """A safe file name for figure ``title`` of a page (``stem``) in ``fmt``."""
    slug = re.sub(r"[^A-Za-z0-9]+", "_", title).strip("_").lower()[:40] or "figure"
    return f"{stem}_{slug}.{FORMATS[fmt][0]}"


def figures_of(layout):
    """``[(title, object, pane)]`` of the HoloViews panes in ``layout`` that show something,
    titles made unique."""
    import panel as pn

    out, seen = [], {}
    for pane in layout.select(pn.pane.HoloViews):
        obj = pane.object
        if obj is None:
            continue
        title = title_of(obj, f"figure {len(out) + 1}")
        seen[title] = seen.get(title, 0) + 1
        if seen[title] > 1:
            title = f"{title} ({seen[title]})"
        out.append((title, obj, pane))
    return out
