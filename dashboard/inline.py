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

``page_for`` builds the page without running it; the page's own analysis object takes the
given object's parameters and shares its cache, so steps the notebook already computed
are not computed again, and the page's widgets then change that copy, not ``obj``.
"""

from __future__ import annotations

from analysis.assembly import AssemblyNeurons
from analysis.asset import Asset
from analysis.spotdis import SpotDisClust

from .state import Session

_SKIP = ("name", "data", "progress")


def _page_class(obj):
    from .assembly_page import AssemblyPage
    from .asset_page import AssetPage
    from .spotdis_page import SpotDisPage

    for kind, page, attr in ((Asset, AssetPage, "asset"),
                             (AssemblyNeurons, AssemblyPage, "detector"),
                             (SpotDisClust, SpotDisPage, "clust")):
        if isinstance(obj, kind):
            return page, attr
    raise TypeError(f"obj: expected an Asset, AssemblyNeurons or SpotDisClust, got "
                    f"{type(obj).__name__}")


def page_for(obj, source="notebook"):
    """The dashboard page for ``obj`` (Asset, AssemblyNeurons or SpotDisClust), not run."""
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
    """``page_for(obj)``, run: the page with its results (await it in a notebook)."""
    page = page_for(obj, source)
    await page._run()
    return page
