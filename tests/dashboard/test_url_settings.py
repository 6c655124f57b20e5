"""Issue 15: every analysis page's settings travel in the URL and the session's kept work
(``dashboard.history``), also before a run; values from a URL are checked like hostile input.
And each figure of a page downloads as PNG and SVG (``dashboard.figures``)."""

import asyncio
import re
import struct
import xml.etree.ElementTree as ET

import holoviews as hv
import param
import pytest

from analysis import simulate
from dashboard import figures, history
from dashboard.assembly_page import AssemblyPage
from dashboard.asset_page import AssetPage
from dashboard.spotdis_page import SpotDisPage
from dashboard.state import Session
from dashboard.work import WorkStore

hv.extension("bokeh", logo=False)  # the app does this; the pages' views need it

PAGES = [AssetPage, AssemblyPage, SpotDisPage]


@pytest.fixture(scope="module")
def data():
    return simulate.synfire_chain(n_units=60, n_groups=4, group_size=15, t_stop=1.5, seed=4)


def _other_value(p, value):
    """A valid value of parameter ``p`` that is not ``value``."""
    if isinstance(p, param.Boolean):
        return not value
    if isinstance(p, param.Selector):
        return next(o for o in p.objects if o != value)
    lo, hi = p.bounds if getattr(p, "bounds", None) else (None, None)
    if isinstance(p, param.Integer):
        base = value if value is not None else (lo or 1)
        return base + 1 if hi is None or base + 1 <= hi else base - 1
    if isinstance(p, param.Number):
        base = value if value is not None else (lo or 0.0) + 0.25
        new = base * 0.5 if base else 0.125
        return new if lo is None or new > lo else base + 0.125
    if isinstance(p, param.NumericTuple):
        return tuple(v + 2 for v in value)
    raise AssertionError(f"no other value for {p.name}")


@pytest.mark.parametrize("page_class", PAGES)
def test_every_setting_round_trips_through_the_url_and_the_kept_work(page_class, data,
                                                                     tmp_path):
    page = page_class(session=Session(data=data, source="test"))
    obj = getattr(page, page.analysis_attr)
    names = page.url_parameters()
    assert len(names) >= 5, names
    assert "bin_size" in names or page_class is SpotDisPage
    assert not set(names) & {"data", "memory_budget", "progress", "max_full_epochs"}
    assert page.url_values() == {}  # defaults stay out of the URL
    wanted = {}
    for name in names:
        wanted[name] = _other_value(obj.param[name], getattr(obj, name))
        obj.param.update(**{name: wanted[name]})
    text = page.url_values()
    assert set(text) == set(names)
    # the URL the browser shows, read back as a server reads a request's arguments
    query = history.flat_params({page.url_prefix: text})
    assert all(k.startswith(page.url_prefix + ".") for k in query)
    args = {k: [v.encode()] for k, v in query.items()}
    args["page"] = [b"ASSET"]
    parsed = history.query_params(args, [page.url_prefix])
    # ... and through the session's kept work
    store = WorkStore(tmp_path / "work")
    work, secret = store.new()
    work.save_params(parsed)
    work.flush()
    kept = store.open(work.token, secret).load()["params"]
    assert kept == parsed

    fresh = page_class(session=Session(data=data, source="test"))
    assert fresh.apply_url_values(kept[page.url_prefix]) == []
    fresh_obj = getattr(fresh, fresh.analysis_attr)
    for name, value in wanted.items():
        got = getattr(fresh_obj, name)
        assert got == pytest.approx(value) if isinstance(value, float) else got == value, name
    assert fresh.url_values() == text


HOSTILE = [
    ("bin_size", "abc", "not a number"),
    ("bin_size", "-0.003", "bin_size"),
    ("bin_size", "nan", "finite"),
    ("bin_size", "inf", "finite"),
    ("bin_size", "1" * 500, "too long"),
    ("n_largest", "2.5", "whole number"),
    ("n_largest", "0", "n_largest"),
    ("alpha_p", "1.5", "alpha_p"),
    ("binary", "<script>alert(1)</script>", "true or false"),
    ("filter_shape", "11,3,1", "2 numbers"),
    ("filter_shape", "11,x", "whole number"),
    ("normalization", "union", "not a setting of this page"),  # not shown on the page
    ("memory_budget", "1e15", "not a setting of this page"),
    ("data", "x", "not a setting of this page"),
    ("source", "<img src=x onerror=alert(1)>", "not a setting of this page"),
]


@pytest.mark.parametrize("name, text, reason", HOSTILE)
def test_hostile_url_values_are_ignored_with_one_line_naming_the_parameter(data, name, text,
                                                                          reason):
    page = AssetPage(session=Session(data=data, source="test"))
    before = {n: getattr(page.asset, n) for n in page.asset.param
              if n not in ("data", "progress", "name")}
    notices = page.apply_url_values({name: text, "kernel_width": "0.02"})
    assert len(notices) == 1
    assert f"asset.{name}" in notices[0] and reason in notices[0]
    assert "\n" not in notices[0] and len(notices[0]) < 300
    assert page._status.visible and page._status.alert_type == "warning"
    after = {n: getattr(page.asset, n) for n in before}
    # the good value next to it is taken; the bad one changes nothing
    assert after.pop("kernel_width") == 0.02
    before.pop("kernel_width")
    assert after == before


def test_a_choice_from_the_url_must_be_one_of_the_choices(data):
    page = AssemblyPage(session=Session(data=data, source="test"))
    notices = page.apply_url_values({"statistic": "__import__('os')", "correction": "none",
                                     "surrogate": "trial"})
    assert len(notices) == 1 and "assembly.statistic" in notices[0]
    assert "not one of cpc, csf" in notices[0]
    assert page.detector.statistic == "cpc" and page.detector.surrogate == "trial"
    assert page.detector.correction is None


def test_query_params_keep_only_named_method_keys_and_plain_names():
    args = {"page": [b"ASSET"], "asset.bin_size": [b"0.01", b"0.005"],
            "asset.__class__": [b"x"], "asset.Bin": [b"1"], "other.bin_size": [b"1"],
            "work": [b"abc"], "asset.alpha_p": ["0.9".encode()],
            "assembly.alpha": [b"\xff\xfe"]}
    assert history.query_params(args, ["asset", "assembly"]) == {
        "asset": {"bin_size": "0.005", "alpha_p": "0.9"},
        "assembly": {"alpha": "\ufffd\ufffd"}}


def _png_size(data):
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


@pytest.fixture(scope="module")
def ran(data):
    page = AssetPage(session=Session(data=data, source="test chain"))
    page.asset.bin_size = 0.005
    asyncio.run(page._run())
    assert page.result is not None, page._status.object
    page.refresh_figures()
    return page


def test_each_figure_of_a_page_is_listed_and_downloads_as_png_and_svg(ran):
    listed = ran.page_figures()
    titles = [t for t, _, _ in listed]
    assert len(titles) >= 6 and len(set(titles)) == len(titles), titles
    assert ran._figure_select.options == titles
    assert not ran._figure_download.disabled
    # the matrices by their titles (set on the overlay under the highlight), not "figure 1"
    assert titles[:3] == ["intersection matrix", "probability matrix",
                          "joint-probability matrix"], titles
    assert not any(t.startswith("figure ") for t in titles), titles
    # a matrix (fixed size) and a rasterized raster (stretching: the default width)
    for title, obj, pane in [listed[0], listed[-1]]:
        width, height = figures.size_of(obj, pane)
        assert _png_size(ran.figure_bytes(title, "PNG")) == (width, height)
        svg = ET.fromstring(ran.figure_bytes(title, "SVG"))
        assert svg.tag == "{http://www.w3.org/2000/svg}svg"
        assert float(svg.get("width").removesuffix("pt")) == pytest.approx(width * 0.72)
        assert float(svg.get("height").removesuffix("pt")) == pytest.approx(height * 0.72)
    with pytest.raises(ValueError, match="not shown on this page"):
        ran.figure_bytes("no such figure")


def test_the_download_button_draws_in_a_worker_and_names_the_file(ran):
    ran._figure_select.value = ran._figure_select.options[0]
    ran._figure_format.value = "SVG"
    fileobj = asyncio.run(ran._figure_file())
    assert b"<svg" in fileobj.read()
    assert ran._figure_download.filename.startswith("asset_")
    assert ran._figure_download.filename.endswith(".svg")


def test_a_rasterized_plot_exports_the_range_it_shows(data):
    from dashboard import views

    raster = views.raster(data, title="zoom")
    raster[()]  # drawn once, as the page does
    whole = figures.render(raster, "SVG", (400, 200))
    # the plot reports a zoom (as Bokeh does through the RangeXY stream)
    from holoviews.plotting.util import get_nested_streams

    streams = [s for s in get_nested_streams(raster) if isinstance(s, hv.streams.RangeXY)]
    assert streams
    for s in streams:
        s.event(x_range=(0.5, 0.6), y_range=(0, 10))
    zoomed = figures.render(raster, "SVG", (400, 200))
    # the time axis of the file is the zoom's (its ticks are text in the SVG)
    ticks = re.compile(rb">0\.5[2468]<")
    assert ticks.search(zoomed) and not ticks.search(whole)


def test_the_data_page_raster_downloads_and_follows_new_data():
    import panel as pn

    from dashboard.data_page import DataPage

    session = Session(data=simulate.poisson(n_units=20, t_stop=2.0, seed=1),
                      source="<img src=x onerror=alert(1)>.npz")
    page = DataPage(session=session)
    pn.panel(page)
    page.refresh_figures()
    titles = page._figure_select.options
    assert len(titles) == 2 and "population rate (2 ms bins)" in titles
    # the file name is made of plain characters whatever the recording is called
    assert re.fullmatch(r"data_[a-z0-9_]+\.png", page._figure_download.filename)
    raster = titles[0]
    obj, pane = page._figure_map[raster]
    assert _png_size(page.figure_bytes(raster, "PNG")) == figures.size_of(obj, pane)
    session.data = simulate.poisson(n_units=30, t_stop=1.0, seed=2)
    assert "population rate (1 ms bins)" in page._figure_select.options


def test_the_app_takes_the_url_s_settings_else_the_kept_work_s(monkeypatch):
    import panel as pn

    from dashboard import app

    kept = {"params": {"asset": {"bin_size": "0.02"}, "nomethod": {"x": "1"},
                       "spotdis": "not a dict"}}
    args = {}
    monkeypatch.setattr(type(pn.state), "session_args", property(lambda self: args))
    assert app._start_params(kept) == {"asset": {"bin_size": "0.02"}}
    assert app._start_params(None) == {}
    # a URL that names settings wins over the kept ones
    args.update({"assembly.alpha": [b"0.05"], "page": [b"ASSET"]})
    assert app._start_params(kept) == {"assembly": {"alpha": "0.05"}}
