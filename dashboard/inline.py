"""Dashboard pages inline in JupyterLab, for analysis objects made in Python.

In a notebook::

    import holoviews as hv
    import panel as pn
    hv.extension("bokeh")
    pn.extension("tabulator")
    from dashboard.inline import show

    asset = Asset(data=data, bin_size=0.003)
    page = await show(asset)    # runs (or reuses what asset already computed) and shows
    page

``show("work.spikelens")`` opens a work file (the dashboard's **Save work**): a page per
result it holds, shown without computing (a dict ``{page title: page}``).

``page_for`` builds the page without running it; the page's own analysis object takes the
given object's parameters and shares its cache, so steps the notebook already computed
are not computed again, and the page's widgets then change that copy, not ``obj``.
"""

from __future__ import annotations

from analysis import methods

from .state import Session

_SKIP = ("name", "data", "progress")


def _page_class(obj):
    for method in methods.methods():
        if method.page is not None and isinstance(obj, method.load("analysis")):
            return method.load("page"), method.page_attr
    names = ", ".join(m.analysis_name for m in methods.methods() if m.page is not None)
    raise TypeError(f"obj: expected one of {names}, got {type(obj).__name__}")


def page_for(obj, source="notebook"):
    """The dashboard page for ``obj`` (an analysis object of a registered method, e.g.
    Asset, AssemblyNeurons or SpotDisClust), not run."""
    import holoviews as hv
    import holoviews.plotting.bokeh  # noqa: F401  (registers the renderer the pages use)

    hv.Store.set_current_backend("bokeh")

    page_cls, attr = _page_class(obj)
    if obj.data is None:
        raise ValueError("obj: has no data; set obj.data first")
    page = page_cls(session=Session(data=obj.data, source=source))
    inner = getattr(page, attr)
    inner.param.update(**{k: getattr(obj, k) for k in obj.param if k not in _SKIP
                          and k in inner.param})
    # share the step cache: its keys hold the data object and every parameter a step
    # depends on, so the page reuses what the notebook computed and never a stale step
    inner._cache = obj._cache
    return page


async def show(obj, source="notebook"):
    """``page_for(obj)``, run: the page with its results (await it in a notebook).

    ``obj`` may also be the path of a work file (``.spikelens``): then a dict of pages
    (page title -> page) showing its results, nothing computed."""
    import os

    if isinstance(obj, (str, os.PathLike)):
        return open_work(obj)
    page = page_for(obj, source)
    await page._run()
    return page


def open_work(path, max_bytes=None):
    """The pages of a work file's results, each showing its result without computing:
    ``{page title: page}`` (the Data page first, with the recording)."""
    import os

    import holoviews as hv
    import holoviews.plotting.bokeh  # noqa: F401  (registers the renderer the pages use)

    from analysis.errors import available_memory

    from .data_page import DataPage
    from .work import read_work_file, show_results

    hv.Store.set_current_backend("bokeh")
    with open(path, "rb") as fh:
        content = fh.read()
    budget = max_bytes if max_bytes is not None else available_memory() // 2
    keys = [m.key for m in methods.methods()]
    work = read_work_file(content, os.path.basename(os.fspath(path)), budget, keys)
    session = Session()
    session.load(work["data"], work["source"])
    pages = {"Data": DataPage(session=session)}
    built = {}

    def page_of(key):
        method = methods.get(key)
        if method.page is None:
            return None
        if key not in built:
            built[key] = method.load("page")(session=session)
        return built[key]
    show_results(work["results"], page_of)
    for method in methods.methods():   # in the registry's order
        if method.key in built:
            pages[method.page_title] = built[method.key]
    return pages
