"""The shared views: the raster is datashaded (an image of the plot's pixels, not one glyph
per spike) and the population rate is a histogram of the spike times."""

import holoviews as hv
import numpy as np
import pytest

from analysis import SpikeTrains, simulate
from dashboard import views

hv.extension("bokeh", logo=False)


def pipeline(obj):
    """The operations from the outermost DynamicMap inwards, and the element they start from."""
    ops = []
    while isinstance(obj, hv.DynamicMap):
        callback = obj.callback
        ops.append(getattr(callback, "operation", None))
        assert len(callback.inputs) == 1
        obj = callback.inputs[0]
    return ops, obj


def op_names(ops):
    return [getattr(op, "name", type(op).__name__) for op in ops]


def counts(image):
    """The per-pixel spike counts of a rasterized image (empty pixels are NaN)."""
    return np.nan_to_num(np.asarray(image.dimension_values(2, flat=False), dtype=float))


@pytest.fixture(scope="module")
def data():
    return simulate.poisson(n_units=40, rate=12.0, t_stop=8.0, seed=3)


def test_raster_is_rasterized_then_spread_from_one_point_per_spike(data):
    raster = views.raster(data, title="demo")
    assert isinstance(raster, hv.DynamicMap)
    ops, source = pipeline(raster)
    names = op_names(ops)
    # rasterize (datashader aggregation to pixels) feeds dynspread, which feeds the opts
    assert "rasterize" in names and "dynspread" in names
    assert names.index("dynspread") < names.index("rasterize")  # outer before inner
    # the source is the points (one per spike, at (time, row)), never a glyph element
    assert isinstance(source, hv.Points)
    assert len(source) == data.n_spikes
    np.testing.assert_array_equal(np.sort(source.dimension_values(0)), np.sort(data.times))
    # what is drawn: one Image of fixed pixel size whose counts add up to the spikes
    image = raster[()]
    assert isinstance(image, hv.Image)
    inner = next(dm for dm in _maps(raster) if getattr(dm.callback, "operation", None)
                 is not None and dm.callback.operation.name == "rasterize")
    aggregated = inner[()]
    assert counts(aggregated).shape == (300, 450)  # (height, width): the first image
    assert counts(aggregated).sum() == data.n_spikes
    assert image.opts.get().kwargs["title"] == "demo"


def _maps(obj):
    while isinstance(obj, hv.DynamicMap):
        yield obj
        obj = obj.callback.inputs[0]


def test_rendered_raster_is_one_image_glyph(data):
    from bokeh.models import GlyphRenderer, Image, ImageRGBA

    plot = hv.renderer("bokeh").get_plot(views.raster(data))
    glyphs = [r.glyph for r in plot.state.renderers if isinstance(r, GlyphRenderer)]
    assert len(glyphs) == 1 and isinstance(glyphs[0], (Image, ImageRGBA))
    source = plot.handles["source"].data
    assert len(source["image"]) == 1  # one image, not one glyph per spike


def test_static_raster_is_a_frozen_image_of_the_requested_size(data):
    image = views.raster(data, dynamic=False, width=300, height=120)
    assert isinstance(image, hv.Image)
    assert counts(image).shape == (120, 300)


def test_raster_order_picks_and_orders_rows(data):
    order = np.array([5, 2, 7])
    _, source = pipeline(views.raster(data, order=order))
    rows = source.dimension_values(1)
    assert len(source) == sum(len(data[i]) for i in order)
    for rank, unit in enumerate(order):
        np.testing.assert_array_equal(np.sort(source.dimension_values(0)[rows == rank]),
                                      data[unit])


def test_empty_data_gives_an_empty_plot():
    empty = views.raster(None)
    assert isinstance(empty, hv.Points) and len(empty) == 0
    assert len(views.population_rate(None)) == 0


@pytest.mark.parametrize("n_bins", [1000, 37])
def test_population_rate_is_a_histogram_per_second_per_unit(data, n_bins):
    curve = views.population_rate(data, n_bins=n_bins)
    assert isinstance(curve, hv.Curve)
    bin_size = max(data.duration / n_bins, 1e-3)
    n = round(data.duration / bin_size)
    edges = data.t_start + np.arange(n + 1) * bin_size
    hist, _ = np.histogram(data.times, bins=edges)
    np.testing.assert_allclose(curve.dimension_values(0), (edges[:-1] + edges[1:]) / 2)
    np.testing.assert_allclose(curve.dimension_values(1), hist / bin_size / data.n_units)
    # its mean is the mean rate per unit
    np.testing.assert_allclose(curve.dimension_values(1).mean(),
                               data.n_spikes / data.duration / data.n_units)
    assert f"{bin_size * 1e3:.3g} ms bins" in curve.opts.get().kwargs["title"]


def test_population_rate_bins_are_never_below_1_ms():
    short = SpikeTrains(np.array([0.0001, 0.0004, 0.0015]), np.array([0, 3]), 0.0, 0.002)
    curve = views.population_rate(short, n_bins=1000)
    np.testing.assert_allclose(curve.dimension_values(0), [0.0005, 0.0015])
    np.testing.assert_allclose(curve.dimension_values(1), [2 / 0.001, 1 / 0.001])


def test_a_million_spikes_render():
    rng = np.random.default_rng(0)
    n_units, per_unit = 200, 5000  # 1e6 spikes
    times = np.sort(rng.uniform(0, 100.0, size=(n_units, per_unit)), axis=1).ravel()
    big = SpikeTrains(times, np.arange(n_units + 1) * per_unit, 0.0, 100.0)
    assert big.n_spikes == 1_000_000
    raster = views.raster(big)
    plot = hv.renderer("bokeh").get_plot(raster)  # rasterizes: datashader, not 1e6 glyphs
    image = np.asarray(plot.handles["source"].data["image"][0])
    assert image.shape == (300, 450)  # the first image; the browser's plot size follows
    static = hv.renderer("bokeh").get_plot(views.raster(big, dynamic=False))
    assert np.asarray(static.handles["source"].data["image"][0]).shape == (400, 900)
    rate = views.population_rate(big)
    assert len(rate) == 1000
    hv.renderer("bokeh").get_plot(rate)


def _hover(obj):
    from bokeh.models import HoverTool

    plot = hv.renderer("bokeh").get_plot(obj)
    tools = [t for t in plot.state.tools if isinstance(t, HoverTool)]
    assert len(tools) == 1
    return tools[0]


@pytest.mark.parametrize("order", [None, [5, 2, 7]])
def test_raster_hover_names_the_unit_and_counts_the_pixel(order):
    data = simulate.poisson(n_units=10, rate=5.0, t_stop=2.0, seed=1)
    data = data.replace(unit_ids=[f"ch{i}#a" for i in range(10)])
    hover = _hover(views.raster(data, order=order))
    assert hover.tooltips == [("unit", "$y{custom}"), ("time (s)", "$x{0.000}"),
                              ("spikes in pixel", "@image{0}")]
    # row k (the y coordinate nearest the cursor) -> the id of the unit drawn in that row
    names = hover.formatters["$y"].args["names"]
    expected = data.unit_ids if order is None else data.unit_ids[order]
    assert names == list(expected)
    assert hover.formatters["$y"].code == views.ROW_NAME_JS


def test_empty_raster_pixels_hold_zero_spikes_and_are_transparent(data):
    # Bokeh writes NaN in a tooltip for NaN pixels: empty ones must be 0, below the colours
    plot = hv.renderer("bokeh").get_plot(views.raster(data))
    image = np.asarray(plot.handles["source"].data["image"][0])
    assert not np.isnan(image).any() and (image == 0).any()
    mapper = plot.handles["color_mapper"]
    assert mapper.low == 0.5 and mapper.high == image.max()
    assert mapper.low_color == "rgba(0, 0, 0, 0)"


def test_spread_pixels_never_show_more_spikes_than_a_pixel_holds(data):
    # sparse raster: dynspread grows the spikes, and a grown pixel takes its neighbour's count
    sparse = simulate.poisson(n_units=5, rate=2.0, t_stop=4.0, seed=2)
    raster = views.raster(sparse)
    inner = next(dm for dm in _maps(raster) if dm.callback.operation.name == "rasterize")
    shown, raw = counts(raster[()]), counts(inner[()])
    assert (shown > 0).sum() > (raw > 0).sum()  # it was spread
    assert shown.max() == raw.max()


def test_raster_counts_go_to_the_browser_in_the_smallest_integer_type(data):
    # what the page sends: one byte a pixel where no pixel holds more than 255 spikes
    plot = hv.renderer("bokeh").get_plot(views.raster(data))
    image = np.asarray(plot.handles["source"].data["image"][0])
    assert image.dtype == np.uint8
    inner = next(dm for dm in _maps(views.raster(data))
                 if dm.callback.operation.name == "rasterize")
    raw = inner[()].dimension_values(2, flat=False)
    assert raw.dtype.itemsize > 1  # datashader's own counts are wider
    # lossless: the same counts (spread as before)
    spread = views.dynspread(inner[()], max_px=2, threshold=0.5, how="max")
    np.testing.assert_array_equal(image, counts(spread))


@pytest.mark.parametrize("top, dtype", [(0, np.uint8), (255, np.uint8), (256, np.uint16),
                                        (65535, np.uint16), (65536, np.uint32)])
def test_compact_counts_keeps_every_count(top, dtype):
    import xarray as xr

    counts = np.zeros((3, 4), dtype=np.uint32)
    counts[1, 2], counts[2, 0] = top, 1
    image = hv.Image(xr.Dataset({"Count": (("y", "x"), counts)},
                                coords={"y": np.arange(3.0), "x": np.arange(4.0)}),
                     kdims=["x", "y"], vdims=["Count"])
    out = views.compact_counts(image)
    values = out.dimension_values(2, flat=False)
    assert values.dtype == dtype
    np.testing.assert_array_equal(values, image.dimension_values(2, flat=False))
    # negative values are not counts: left alone
    signed = image.clone(data=image.data.assign(Count=image.data["Count"].astype(np.int32)
                                                 - 5))
    assert views.compact_counts(signed).dimension_values(2, flat=False).dtype == np.int32


def test_spike_points_draw_each_spike_in_its_row_with_the_unit_named(data):
    window = data.time_slice(1.0, 1.2)
    order = np.array([7, 3, 11])
    points = views.spike_points(window, order=order, title="close-up")
    assert isinstance(points, hv.Points)
    rows = points.dimension_values(1)
    assert len(points) == sum(len(window[i]) for i in order)
    for rank, unit in enumerate(order):
        np.testing.assert_array_equal(np.sort(points.dimension_values(0)[rows == rank]),
                                      window[unit])
    plot = hv.renderer("bokeh").get_plot(points)
    assert plot.state.title.text == "close-up"
    assert "image" not in plot.handles["source"].data  # spikes, not an image
    hover = _hover(points)
    assert hover.formatters["$y"].args["names"] == [str(u) for u in window.unit_ids[order]]
    assert ("unit", "$y{custom}") in hover.tooltips
    assert len(views.spike_points(None)) == 0
