"""The methods spikelens offers, named in one place.

Every list of methods in the project derives from this registry: the analysis classes that
``analysis`` exports, the result classes ``analysis.results`` saves and reloads, the pages of
the dashboard and its navigation, the sections of a report, the notebook display
(``dashboard.inline``) and the command line's ``--method`` choices. Adding a method is one
:func:`register` call next to its analysis module (see ``docs/architecture.md``).

Classes and functions are named as ``"module:attribute"`` strings and imported on first use,
so this module imports nothing heavy, and the headless ``analysis`` package never imports
the dashboard.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import import_module

__all__ = ["Method", "register", "unregister", "methods", "get", "by_result", "resolve"]


@dataclass(frozen=True)
class Method:
    """One analysis method.

    Attributes
    ----------
    key : str
        Short name: the command line's ``--method``, the report's config section, the
        ``method`` of a report section.
    title : str
        Its name in reports and titles ("SPOTDisClust").
    page_title : str
        Its page in the dashboard's navigation ("SPOTDis").
    analysis : str or type
        The ``param.Parameterized`` analysis class (``"analysis.asset:Asset"``).
    result : str or type
        The class its ``run()`` returns (``"analysis.asset:AssetResult"``).
    page : str or type, optional
        The dashboard page class; it takes ``session=`` and holds the analysis object in
        the attribute named by ``page_attr``.
    page_attr : str
        The page's attribute that holds its analysis object.
    report : str or callable, optional
        ``report(section)`` -> list of Panel objects: the method's part of a report.
    needs_epochs : bool
        The method compares epochs (a report skips it on data without them).
    """

    key: str
    title: str
    page_title: str
    analysis: str | type
    result: str | type
    page: str | type | None = None
    page_attr: str = "analysis"
    report: object = None
    needs_epochs: bool = False

    def load(self, field):
        """The class or function named by ``field`` (imported on first use)."""
        return resolve(getattr(self, field))

    @property
    def analysis_name(self):
        return _name(self.analysis)

    @property
    def result_name(self):
        return _name(self.result)


_REGISTRY: dict[str, Method] = {}


def register(method):
    """Add ``method`` (a :class:`Method`); its key, titles and classes must be new."""
    if not isinstance(method, Method):
        raise TypeError(f"method: expected a Method, got {type(method).__name__}")
    for other in _REGISTRY.values():
        for field in ("key", "title", "page_title", "analysis_name", "result_name"):
            if getattr(other, field) == getattr(method, field):
                raise ValueError(f"method: {field} {getattr(method, field)!r} is already "
                                 f"used by {other.key!r}")
    _REGISTRY[method.key] = method
    return method


def unregister(key):
    """Remove the method ``key`` (for tests that register a toy method)."""
    _REGISTRY.pop(key, None)


def methods():
    """The registered methods, in registration order."""
    return list(_REGISTRY.values())


def get(key):
    """The method ``key``; ValueError naming the known keys otherwise."""
    try:
        return _REGISTRY[key]
    except KeyError:
        raise ValueError(f"method: unknown method {key!r}; methods are "
                         f"{', '.join(_REGISTRY)}") from None


def by_result(result):
    """The method whose result class ``result`` (an instance or a class name) is; None."""
    name = result if isinstance(result, str) else type(result).__name__
    return next((m for m in _REGISTRY.values() if m.result_name == name), None)


def resolve(target):
    """Import ``"module:attribute"``; anything else is returned as it is."""
    if not isinstance(target, str):
        return target
    module, _, attr = target.partition(":")
    return getattr(import_module(module), attr)


def _name(target):
    return target.rpartition(":")[2] if isinstance(target, str) else target.__name__


register(Method(
    key="asset", title="ASSET", page_title="ASSET",
    analysis="analysis.asset:Asset", result="analysis.asset:AssetResult",
    page="dashboard.asset_page:AssetPage", page_attr="asset",
    report="dashboard.report:asset_parts"))
register(Method(
    key="assembly", title="Assembly neurons", page_title="Assembly neurons",
    analysis="analysis.assembly:AssemblyNeurons", result="analysis.assembly:AssemblyResult",
    page="dashboard.assembly_page:AssemblyPage", page_attr="detector",
    report="dashboard.report:assembly_parts"))
register(Method(
    key="spotdis", title="SPOTDisClust", page_title="SPOTDis",
    analysis="analysis.spotdis:SpotDisClust", result="analysis.spotdis:SpotDisClustResult",
    page="dashboard.spotdis_page:SpotDisPage", page_attr="clust",
    report="dashboard.report:spotdis_parts", needs_epochs=True))
