"""Static HTML reports: the dashboard's views of a recording and its analyses in one file.

A report is one self-contained HTML file (Bokeh's and Panel's JavaScript and CSS inline, no
reference to any web address), so it opens from disk on a machine without internet. It
holds the data summary and raster, the parameters of each analysis, the key figures of each
method (the same views as the dashboard pages), result tables and the software versions.

Used by ``spikelens report`` (see ``docs/reports.md``) and by the dashboard's
"Export report" button. Rasterized (datashaded) figures are frozen images at the sizes in
``RESOLUTION``, which the report states.

Errors that the user can fix (unknown parameter, missing file, bad value) raise
``ReportError`` with one line naming the parameter and the file.
"""

from __future__ import annotations

import ast
import datetime
import importlib.metadata
import os
import pathlib
import platform
import re
import tempfile
from dataclasses import dataclass, field

import numpy as np
import param

from analysis import methods as _methods

from .text import Alert, Markdown, escape_markdown

# parameters a config cannot set: the data, where it came from, the progress callback
_NOT_SETTABLE = ("name", "data", "data_j", "source", "progress")
# pixel sizes of the rasterized (datashaded) figures: (width, height)
RESOLUTION = {"raster": (900, 300), "asset_matrix": (320, 320), "spotdis_matrix": (600, 600)}
ASSEMBLY_TOP_K = 50
TABLE_ROWS = 100  # rows of long result tables shown (the rest are counted)
VERSION_PACKAGES = ["spikelens", "numpy", "scipy", "pandas", "numba", "param", "panel", "bokeh",
                    "holoviews", "datashader", "hdbscan", "openTSNE", "scikit-learn", "neo"]
DEMO_PREFIX = "demo:"


class ReportError(ValueError):
    """A mistake in the report's inputs or settings, as one line."""


def _one_line(text):
    return " ".join(str(text).split())


# ====================================================================== parameters
def method_keys():
    """The methods a report can hold (``analysis.methods``), in order."""
    return [m.key for m in _methods.methods()]


def method_title(method):
    return _methods.get(method).title


def analysis_classes():
    return {m.key: m.load("analysis") for m in _methods.methods()}


def settable(method):
    """Names of the parameters of ``method``'s analysis object a config may set."""
    cls = analysis_classes()[method]
    return [n for n in cls.param if n not in _NOT_SETTABLE]


def _unknown(method, name, where):
    return ReportError(f"{where}: unknown parameter {name!r} in [{method}] "
                       f"(parameters: {', '.join(settable(method))})")


def coerce(method, name, value, where="--param"):
    """``value`` (a string from the command line, or a TOML/YAML value) as the type of
    parameter ``name`` of ``method``'s analysis object. Raises ReportError."""
    p = analysis_classes()[method].param[name]
    try:
        if isinstance(value, str) and not isinstance(p, param.String):
            text = value.strip()
            takes_none = p.allow_None or (isinstance(p, param.Selector)
                                          and None in p.objects)
            if text.lower() in ("none", "null") and takes_none:
                return None
            if isinstance(p, param.Boolean):
                low = text.lower()
                if low in ("1", "true", "yes", "on"):
                    return True
                if low in ("0", "false", "no", "off"):
                    return False
                raise ValueError(f"expected true or false, got {text!r}")
            if isinstance(p, param.Integer):
                return int(text)
            if isinstance(p, param.Number):
                return float(text)
            if isinstance(p, param.Selector):
                for option in p.objects:
                    if str(option) == text:
                        return option
                return text  # param says which options there are
            return ast.literal_eval(text)
        if isinstance(p, (param.NumericTuple, param.Tuple)) and isinstance(value, list):
            return tuple(value)
        if isinstance(p, param.Number) and not isinstance(p, param.Integer) \
                and isinstance(value, int) and not isinstance(value, bool):
            return float(value)
        return value
    except (ValueError, SyntaxError) as exc:
        raise ReportError(f"{where}: {method}.{name}: cannot read {value!r} "
                          f"({_one_line(exc)})") from None


def read_config(path):
    """Parameters from a TOML or YAML file with sections [asset], [assembly], [spotdis].

    Returns ``{method: {name: value}}`` with values of the parameters' types. Raises
    ReportError (one line, naming the file and the section or parameter) on anything else.
    """
    path = pathlib.Path(path)
    suffix = path.suffix.lower()
    if not path.is_file():
        raise ReportError(f"{path}: no such config file")
    try:
        if suffix == ".toml":
            import tomllib

            with open(path, "rb") as f:
                raw = tomllib.load(f)
        elif suffix in (".yaml", ".yml"):
            import yaml

            with open(path, encoding="utf-8") as f:
                raw = yaml.safe_load(f)
        else:
            raise ReportError(f"{path}: config must be .toml, .yaml or .yml")
    except ReportError:
        raise
    except Exception as exc:  # TOMLDecodeError, YAMLError, UnicodeDecodeError
        raise ReportError(f"{path}: cannot read the config: {_one_line(exc)}") from None
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise ReportError(f"{path}: expected sections [asset], [assembly], [spotdis]")
    out = {}
    for method, values in raw.items():
        if method not in method_keys():
            raise ReportError(f"{path}: unknown section [{method}] "
                              f"(sections: {', '.join(method_keys())})")
        if values is None:
            continue
        if not isinstance(values, dict):
            raise ReportError(f"{path}: [{method}] must map parameter names to values")
        for name, value in values.items():
            if name not in settable(method):
                raise _unknown(method, name, path)
            out.setdefault(method, {})[name] = coerce(method, name, value, where=str(path))
    return out


def parse_overrides(pairs):
    """``["asset.bin_size=0.005", ...]`` as ``{method: {name: value}}`` (ReportError)."""
    out = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        method, dot, name = key.strip().partition(".")
        if not sep or not dot:
            raise ReportError(f"--param {pair!r}: expected method.name=value, "
                              f"e.g. asset.bin_size=0.005")
        if method not in method_keys():
            raise ReportError(f"--param {pair!r}: unknown method {method!r} "
                              f"(methods: {', '.join(method_keys())})")
        if name not in settable(method):
            raise _unknown(method, name, "--param")
        out.setdefault(method, {})[name] = coerce(method, name, value)
    return out


def merge(*configs):
    """Later configs override earlier ones, parameter by parameter."""
    out = {}
    for config in configs:
        for method, values in (config or {}).items():
            out.setdefault(method, {}).update(values)
    return out


def make_analysis(method, params=None, where="config"):
    """The analysis object of ``method`` with ``params`` set (ReportError on a bad value)."""
    obj = analysis_classes()[method]()
    for name, value in (params or {}).items():
        try:
            setattr(obj, name, value)
        except (ValueError, TypeError) as exc:
            raise ReportError(f"{where}: {method}.{name}: {_one_line(exc)}") from None
    return obj


# ====================================================================== inputs
def demo_names():
    """Short demo names (the first word of each name in ``analysis.demo.DEMOS``)."""
    from analysis import demo

    return {name.split()[0].lower(): name for name in demo.DEMOS}


def load_input(spec):
    """``(SpikeTrains, description)`` for a file ``analysis.io.load`` reads, or a demo
    given as ``demo:NAME`` (NAME: synfire, sip, pulse, poisson, or a full demo name)."""
    from analysis import demo, io

    if spec.startswith(DEMO_PREFIX):
        wanted = spec[len(DEMO_PREFIX):].strip()
        names = demo_names()
        name = names.get(wanted.lower()) or next(
            (n for n in demo.DEMOS if n.lower() == wanted.lower()), None)
        if name is None:
            raise ReportError(f"{spec}: unknown demo (choose from "
                              f"{', '.join(DEMO_PREFIX + n for n in names)})")
        return demo.load_demo(name), f"demo '{name}'"
    if not os.path.exists(spec):
        raise ReportError(f"{spec}: no such file or folder (a demo is demo:NAME, NAME one of "
                          f"{', '.join(demo_names())})")
    return io.load(spec), str(spec)


def output_name(spec):
    """File name of the report for input ``spec`` in an output folder."""
    if spec.startswith(DEMO_PREFIX):
        stem = "demo-" + spec[len(DEMO_PREFIX):]
    else:
        stem = pathlib.Path(spec.rstrip("/\\")).name
        stem = stem.split(".")[0] or "report"
    return re.sub(r"[^A-Za-z0-9._-]+", "_", stem) + ".html"


# ====================================================================== running
@dataclass
class Section:
    """One method's part of a report: its result (which carries its parameters, data
    summary and run time) or the reason why there is none."""

    method: str
    result: object = None
    data: object = None        # the data the result belongs to (SPOTDis: with its epochs)
    note: str = ""
    extra: dict = field(default_factory=dict)
    loaded: bool = False       # read from a results file, not computed for this report


def _extra_key(result):
    """The ``dashboard.work.EXTRA_RESULTS`` key of a result that is not a method's own (a
    sliding-windows result: "spotdis-windows"), else None."""
    from .work import EXTRA_RESULTS

    name = type(result).__name__
    return next((k for k, (_, kind) in EXTRA_RESULTS.items() if kind == name), None)


def load_results(paths):
    """Saved results (``analysis.results.save_result`` files) by method key, and a
    sliding-windows result (``SlidingWindowsResult``) by its key "spotdis-windows";
    ReportError when a file is not one or two files hold the same kind."""
    from analysis.errors import SpikeDataError
    from analysis.results import load_result

    out = {}
    for path in paths or []:
        try:
            result = load_result(path)
        except SpikeDataError as exc:
            raise ReportError(_one_line(exc)) from None
        found = _methods.by_result(result)
        method = found.key if found is not None else _extra_key(result)
        if method is None:
            raise ReportError(f"{path}: not a result spikelens can report")
        if method in out:
            what = "sliding-windows" if found is None else method
            raise ReportError(f"{path}: a second {what} result (one per method)")
        out[method] = (path, result)
    return out


def _windows_section(method, path, result, data):
    """The report section of a loaded sliding-windows result (ReportError naming the file
    when it was computed on another recording)."""
    name = os.path.basename(str(path))
    d = result.data_summary or {}
    if "units" in d and "spikes" in d and (d["units"], d["spikes"]) != \
            (data.n_units, data.n_spikes):
        raise ReportError(f"{path}: the sliding windows were computed on a recording of "
                          f"{d['units']} units and {d['spikes']} spikes, not on this one "
                          f"({data.n_units} units, {data.n_spikes} spikes)")
    if result.start.size and (result.start[0] < data.t_start - 1e-9
                              or result.stop[-1] > data.t_stop + 1e-9):
        raise ReportError(f"{path}: the sliding windows span {result.start[0]:g}-"
                          f"{result.stop[-1]:g} s, outside this recording "
                          f"({data.t_start:g}-{data.t_stop:g} s)")
    return Section(method, result, data, loaded=True,
                   note=f"Sliding windows loaded from {name}, not recomputed.")


def run_analyses(data, methods, params=None, log=None, progress=None, results=None,
                 source=None):
    """Run ``methods`` on ``data`` headless; a list of ``Section``.

    SPOTDis needs epochs: on data without them it is skipped with a note, or, when it is the
    only method asked for, a ReportError. ``progress(method)`` may return a callback
    ``(fraction, message)`` for that method's run. ``results``: method -> (path, result)
    from ``load_results``; those methods are not recomputed (the report shows the
    parameters the saved result records). ``source``: where ``data`` came from, recorded
    in the results' data summary. A sliding-windows result among ``results`` (key
    "spotdis-windows") becomes a section after SPOTDis's own; on a recording without
    epochs it stands for SPOTDis (no "skipped" section).
    """
    from .work import EXTRA_RESULTS

    params = params or {}
    results = results or {}
    for key, (owner, _) in EXTRA_RESULTS.items():
        if key in results and owner not in methods:
            raise ReportError(f"{results[key][0]}: a {method_title(owner)} sliding-windows "
                              f"result, but --method leaves {owner} out")
    sections = []
    for method in methods:
        # results beside the method's own (sliding windows): sections after its own
        extras = [_windows_section(method, *results[k], data)
                  for k, (owner, _) in EXTRA_RESULTS.items() if owner == method
                  and k in results]
        sections += _method_sections(method, data, methods, params, log, progress, results,
                                     source, quiet=bool(extras))
        sections += extras
    return sections


def _method_sections(method, data, methods, params, log, progress, results, source,
                     quiet=False):
    """``method``'s own section (``run_analyses``), or none: ``quiet`` when the data
    cannot have it (SPOTDis without epochs) and a loaded sliding-windows result stands for
    the method."""
    from analysis.spotdis.epochs import has_epochs

    sections = []
    obj = make_analysis(method, params.get(method))
    if method in results:
        path, result = results[method]
        section = Section(method, result, data, loaded=True,
                          note=f"Result loaded from {os.path.basename(str(path))}, not "
                               f"recomputed.")
        if method == "spotdis" and result.labels.shape[0] != len(data.epochs or []):
            raise ReportError(f"{path}: the result has {result.labels.shape[0]} epochs, "
                              f"the data {len(data.epochs or [])}")
        _add_evaluation(section, data)
        sections.append(section)
        return sections
    if _methods.get(method).needs_epochs and not has_epochs(data):
        if quiet:
            return sections
        why = (f"the recording has fewer than 2 epochs ({method_title(method)} compares "
               f"epochs): load data with epochs, or cut them around events in the "
               f"dashboard")
        if list(methods) == [method]:
            raise ReportError(f"{method}: {why}")
        sections.append(Section(method, note=f"Skipped: {why}."))
        return sections
    if log is not None:
        log(f"{method_title(method)}...")
    obj.data = data
    obj.source = source
    if progress is not None:
        obj.progress = progress(method)
    try:
        result = obj.run()
    except MemoryError:
        raise ReportError(f"{method}: out of memory on this recording") from None
    except ValueError as exc:  # the analysis names the parameter at fault
        raise ReportError(f"{method}: {_one_line(exc)}") from None
    finally:
        obj.progress = None
    section = Section(method, result, data)
    _add_evaluation(section, data)
    sections.append(section)
    return sections


def _add_evaluation(section, data):
    if section.method == "assembly":
        from analysis.assembly import assembly_membership, evaluate

        membership = assembly_membership(data)
        if membership is not None:
            section.extra["evaluation"] = evaluate(section.result, membership)


def sections_from_pages(pages):
    """Sections for the dashboard pages (navigation title -> page) that have a result, in
    the registry's order. A page may describe its result itself (``report_section()``:
    extra tables, the data the result belongs to); otherwise its result and its analysis
    object's data make the section."""
    sections = []
    for method in _methods.methods():
        page = pages.get(method.page_title)
        if page is None:
            continue
        if hasattr(page, "report_sections"):   # a page with more than one result
            sections += page.report_sections()
            continue
        if getattr(page, "result", None) is None:
            continue
        if hasattr(page, "report_section"):
            sections.append(page.report_section())
            continue
        obj = getattr(page, method.page_attr)
        sections.append(Section(method.key, page.result, obj.data))
    return sections


# ====================================================================== figures
def _hv():
    import holoviews as hv

    if "bokeh" not in hv.Store.renderers:
        hv.extension("bokeh", logo=False)
    hv.Store.set_current_backend("bokeh")
    return hv


def _pane(obj, width, height):
    import panel as pn

    return pn.pane.HoloViews(obj, width=width, height=height, sizing_mode="fixed",
                             linked_axes=False)


def _md(text, **kw):
    return Markdown(text, sizing_mode="stretch_width", **kw)


def _table(frame, rows=TABLE_ROWS, index=False, caption=""):
    """A plain HTML table (no JavaScript widget), at most ``rows`` rows."""
    import panel as pn

    shown = frame.head(rows)
    more = len(frame) - len(shown)
    parts = []
    if caption:
        parts.append(_md(caption))
    if not len(shown):
        parts.append(_md("*None.*"))
        return parts
    parts.append(pn.pane.DataFrame(shown, index=index, float_format="{:.4g}".format,
                                   text_align="start", sizing_mode="stretch_width",
                                   styles={"overflow-x": "auto"}))
    if more > 0:
        parts.append(_md(f"*{more} more rows not shown.*"))
    return parts


def _value_text(value):
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def _params_table(section):
    """The parameters ``section``'s result was computed with, described from its analysis
    class; a note where the result does not record them (files saved before)."""
    import pandas as pd

    cls = analysis_classes()[section.method]
    if type(section.result).__name__ == "SlidingWindowsResult":
        from analysis.spotdis import SlidingWindows as cls
    params = section.result.params
    if not params:
        return [_md("*This result does not record its parameters (saved by an earlier "
                    "spikelens).*")]
    return _table(pd.DataFrame(
        [{"parameter": n, "value": _value_text(v),
          "description": _one_line(cls.param[n].doc or "") if n in cls.param else ""}
         for n, v in params.items()]))


def raster_plot(data, order=None, title=""):
    """A frozen datashaded raster at ``RESOLUTION['raster']`` pixels."""
    from . import views

    w, h = RESOLUTION["raster"]
    return views.raster(data, order=order, title=title, dynamic=False, width=w,
                        height=h).opts(responsive=False, width=w, height=h + 60,
                                       min_height=None)


def data_section(data, source):
    import pandas as pd

    summary = data.summary()
    frame = pd.DataFrame({"": list(summary),
                          "value": [_value_text(v) for v in summary.values()]})
    restricted = data.annotations.get("restriction")
    parts = [_md("## Data"), _md(f"**Source:** {escape_markdown(source)}"),
             *([_md(f"**Restricted to:** {escape_markdown(restricted)}")] if restricted
               else []),
             *_table(frame),
             _pane(raster_plot(data, title="all spikes (original unit order)"),
                   RESOLUTION["raster"][0] + 80, RESOLUTION["raster"][1] + 60)]
    return parts


def asset_parts(section):
    import panel as pn

    from .asset_views import MATRICES, matrix_image, matrix_plot, raster_orders, summary_facts

    r, data = section.result, section.data
    w, h = RESOLUTION["asset_matrix"]
    parts = [_md(" · ".join(summary_facts(r, data.n_units)))]
    plots = []
    for name in MATRICES:
        if getattr(r, name) is None:
            continue
        image = matrix_image(name, r)
        plot = matrix_plot(image, name, size=(w, h), dynamic=False, title=image.label)
        plots.append(_pane(plot, w + 150, h + 60))
    if plots:
        parts.append(_md("### Matrices"))
        parts.append(pn.GridBox(*plots, ncols=2))
    else:
        parts.append(_md("*The matrices were not kept by this run (tiled): only the "
                         "significant entries and SSEs.*"))
    parts.append(_md("### Rasters"))
    # the original order is in the data section
    for order, title in raster_orders(r, data)[1:]:
        parts.append(_pane(raster_plot(data, order=order, title=title),
                           RESOLUTION["raster"][0] + 80, RESOLUTION["raster"][1] + 60))
    parts += _table(r.sse_table(data.unit_ids), caption="### Synchronous events (SSEs)")
    return parts


def assembly_parts(section):
    from analysis.assembly import assembly_membership, pairwise_coincidences

    from .assembly_views import (PLOT_CAPTION, box_plot, box_plot_title, evaluation_figure,
                                 evaluation_text, pairwise_plot, rank_table, settings_text,
                                 statistic_label, surrogate_label)

    r, p, data = section.result, section.result.params, section.data
    n_sig = int(r.table["significant"].sum())
    parts = [_md(f"**{n_sig} of {len(r.table)} units significant** · {statistic_label(p)} · "
                 f"α = {p['alpha']:g} · {r.n_surrogates} {surrogate_label(p)} surrogates · "
                 f"{p['bin_size'] * 1e3:g} ms bins")]
    if section.extra.get("evaluation"):
        parts.append(_md(evaluation_text(section.extra["evaluation"])))
    plot = box_plot(r.table, ASSEMBLY_TOP_K, membership=assembly_membership(data),
                    ylabel=statistic_label(p), title=box_plot_title(r, ASSEMBLY_TOP_K)).opts(
        responsive=False, width=980, height=470)
    parts += [_pane(plot, 1000, 480), _md(PLOT_CAPTION.replace(
        " Drag to pan, scroll to zoom, hover for values.", ""), styles={"font-size": "0.85em"})]
    coincidences = None
    if section.extra.get("pairwise"):
        coincidences, rho = pairwise_coincidences(r, data)
        parts.append(_pane(pairwise_plot(r.table, coincidences, rho), 440, 320))
    parts += _table(rank_table(r.table, coincidences), caption="### Units in rank order")
    if section.extra.get("evaluation_table") is not None:
        parts += [_md("### Evaluation on simulated SIP recordings"),
                  _md(escape_markdown(settings_text(section.extra["evaluation_table"]))),
                  _pane(evaluation_figure(section.extra["evaluation_table"]), 820, 640)]
    return parts


def windows_parts(section):
    """A sliding-windows result (``SlidingWindowsResult``): what was run, the recording's
    raster with the label band and its legend, and each pattern's sequence."""
    import panel as pn

    from .spotdis_views import band_legend, sequence_plot, window_course_plot, windows_text

    r, data = section.result, section.data
    p = r.params
    how = (f"windows of **{p.get('length', float('nan')) * 1e3:g} ms** every "
           f"**{r.step * 1e3:g} ms**, dissimilarity **{r.dissimilarity}**"
           + (" in graph mode" if r.graph_mode else "")
           + (f", only windows with population events ({len(r.events)} events)"
              if r.events is not None else "")
           + f", fewest active units {p.get('min_active', '?')}")
    parts = [_md("### Sliding windows over the whole recording"), _md(how + "."),
             _md(windows_text(r))]
    if data is not None and r.start.size and r.stop[-1] <= data.t_stop + 1e-9:
        w, h = RESOLUTION["raster"]
        parts.append(_pane(window_course_plot(data, r, dynamic=False).opts(
            responsive=False, width=w, height=h), w + 20, h + 20))
    else:
        parts.append(_md("*The recording of this result is not loaded: no band.*"))
    parts.append(_md(band_legend(r)))
    seqs = [r.sequences[k] for k in sorted(r.sequences)]
    if not seqs:
        parts.append(_md("*No pattern found: every window is noise at these settings.*"))
    plots = [_pane(sequence_plot(q).opts(responsive=False, width=460, height=300), 470, 310)
             for q in seqs]
    if plots:
        parts.append(pn.GridBox(*plots, ncols=2))
    return parts


def spotdis_parts(section):
    import panel as pn

    from analysis.spotdis.epochs import true_labels

    if type(section.result).__name__ == "SlidingWindowsResult":
        return windows_parts(section)

    from .spotdis_views import cluster_table, dissimilarity_plot, map_points

    r, data = section.result, section.data
    sc = r.scores
    M = len(r.labels)

    def fmt(x):
        return "n/a" if x is None or not np.isfinite(x) else f"{x:.3f}"

    facts = [f"**{sc['n_clusters']} clusters**, {sc.get('n_noise', 0)} noise epochs of {M}",
             f"ARI **{fmt(sc.get('ari'))}**", f"silhouette **{fmt(sc.get('silhouette'))}**"]
    ship = getattr(r, "spikeship", None)
    if r.spotdis is not None:
        facts.append(f"undefined epoch pairs {r.spotdis.n_undefined} of {M * (M - 1) // 2}")
        facts.append(f"{r.spotdis.method} kernel")
    elif ship is not None:
        facts.append("dissimilarity **SpikeShip** (Sotomayor-Gómez et al. 2023)")
        facts.append(f"undefined epoch pairs (fewer than 2 common neurons) {ship.n_undefined} "
                     f"of {M * (M - 1) // 2}")
    elif r.graph is not None:
        g = r.graph
        name = r.dissimilarity_name
        facts.append(f"dissimilarity **{name}** in graph mode: {g.neighbors.shape[1]} "
                     f"nearest epochs each, from {g.n_pairs} exact epoch pairs "
                     f"({g.n_undefined} undefined)")
    else:
        facts.append("dissimilarity: rate vectors (no timing)")
    if section.extra.get("epochs"):
        facts.append(f"epochs: {section.extra['epochs']}")
    parts = [_md(" · ".join(facts))]
    plots = []
    if r.spotdis is not None or getattr(r, "dissimilarity", None) is not None:
        plots.append(_pane(dissimilarity_plot(r, dynamic=False), 480, 430))
    else:
        parts.append(_md("*Graph mode (many epochs): no full matrix to show.*"))
    truth = true_labels(data)
    plots.append(_pane(map_points(r.embedding, r.labels, truth).opts(
        responsive=False, width=460, height=430, tools=["hover"]), 470, 440))
    if truth is not None:
        plots.append(_pane(map_points(r.embedding, r.labels, truth, by_truth=True).opts(
            responsive=False, width=460, height=430, tools=["hover"]), 470, 440))
    parts.append(pn.GridBox(*plots, ncols=2))
    parts += _table(cluster_table(r.labels, truth), caption="### Clusters")
    return parts


def versions():
    """``{package: version}`` of Python and the packages a report depends on."""
    out = {"python": platform.python_version()}
    for name in VERSION_PACKAGES:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return out


def build_report(data, source, sections, title=None):
    """The report as a Panel layout (not saved)."""
    import pandas as pd
    import panel as pn

    _hv()
    title = title or f"spikelens report: {source}"
    now = datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    rw, rh = RESOLUTION["raster"]
    mw, mh = RESOLUTION["asset_matrix"]
    sw, sh = RESOLUTION["spotdis_matrix"]
    methods = ", ".join(method_title(s.method) for s in sections) or "none"
    parts = [
        _md(f"# {escape_markdown(title)}"),
        _md(f"Written {now} by spikelens {versions().get('spikelens', '?')} · methods: "
            f"{methods}.\n\n**Figures.** Vector plots (box plots, t-SNE maps) are drawn from "
            f"the data. Rasterized figures are frozen images (datashader) at a fixed "
            f"resolution: spike rasters **{rw} × {rh} px** (one pixel spans "
            f"{data.duration / rw * 1e3:.3g} ms and about "
            f"{max(data.n_units / rh, 1):.3g} units; sparse pixels are spread by up to "
            f"2 px), ASSET matrices **{mw} × {mh} px** (each pixel shows the maximum, or for "
            f"probabilities the mean, of the matrix entries it covers), the SPOTDis matrix "
            f"**{sw} × {sh} px**. Zooming enlarges these pixels; it does not re-render. "
            f"Hover for values."),
        *data_section(data, source),
    ]
    for section in sections:
        parts.append(_md(f"## {method_title(section.method)}"))
        if section.result is None:
            parts.append(Alert(escape_markdown(section.note or "Not run."), alert_type="warning",
                                       sizing_mode="stretch_width"))
            continue
        if section.result.elapsed is not None:
            parts.append(_md(f"*Run time {section.result.elapsed:.1f} s.*"))
        restricted = (section.result.data_summary or {}).get("restriction")
        if restricted:
            parts.append(_md(f"**Computed on a restricted recording:** "
                             f"{escape_markdown(restricted)}."))
        if section.note:
            parts.append(_md(f"*{escape_markdown(section.note)}*"))
        parts += _methods.get(section.method).load("report")(section)
        what = "the sliding windows" if type(section.result).__name__ == \
            "SlidingWindowsResult" else method_title(section.method)
        parts.append(pn.layout.Card(*_params_table(section),
                                    title=f"Parameters of {what}",
                                    collapsed=False, sizing_mode="stretch_width"))
    frame = pd.DataFrame({"package": list(versions()), "version": list(versions().values())})
    parts += [_md("## Software"), *_table(frame),
              _md(f"Platform: {escape_markdown(platform.platform())}")]
    return pn.Column(*parts, sizing_mode="stretch_width",
                     styles={"max-width": "1100px", "margin": "0 auto"})


# ====================================================================== saving
def render_html(layout, title="spikelens report"):
    """The layout as one self-contained HTML string (inline resources, no web address).

    ``layout.save(resources=INLINE)`` alone is not enough in Panel 1.9: for a plain layout it
    builds the Bokeh models outside its resource mode, and the models then import their CSS
    (``ImportedStyleSheet``) from cdn.holoviz.org; the page template also links its favicon
    there. So the models are built here and every CDN stylesheet is replaced by the packaged
    file's text (Panel's own notebook helper), and the favicon variables are set empty.
    """
    from bokeh.document import Document
    from bokeh.models import UIElement
    from bokeh.resources import INLINE
    from panel.io.model import add_to_doc
    from panel.io.notebook import patch_inline_stylesheets
    from panel.io.resources import set_resource_mode
    from panel.io.save import save
    from panel.io.state import set_curdoc

    doc = Document()
    # a document of its own, also inside a served session (the Export button): there Panel
    # would point stylesheets at the server's URLs
    with set_curdoc(doc), set_resource_mode("inline"):
        root = layout.get_root(doc)
        add_to_doc(root, doc, True)
        for model in list(doc.models):
            if isinstance(model, UIElement):
                patch_inline_stylesheets(model)
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "report.html")
        save(doc, path, resources=INLINE, title=title,
             template_variables={"app_favicon": "", "apple_icon": ""})
        with open(path, encoding="utf-8") as f:
            return f.read()


def write_report(text, path):
    """Write ``text`` to ``path`` atomically: a temporary file, then ``os.replace``."""
    path = pathlib.Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp",
                               dir=path.parent if str(path.parent) else ".")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def report_html(data, source, sections, title=None):
    title = title or f"spikelens report: {source}"
    return render_html(build_report(data, source, sections, title=title), title=title)


def report_from_pages(session, pages):
    """HTML of the report for a dashboard session: its data and the analyses with results."""
    if session.data is None:
        raise ReportError("no data loaded")
    return report_html(session.data, session.source or "dashboard session",
                       sections_from_pages(pages))


# ---------------------------------------------------------------------- checking
_RESOURCE_PATTERNS = [
    # tags that load something: <script src>, <link href>, <img src>, <iframe src>, ...
    re.compile(r"<(?:script|link|img|iframe|source|embed|video|audio)\b[^>]*?"
               r"\s(?:src|href|srcset)\s*=\s*[\"']?\s*(?:https?:)?//", re.IGNORECASE),
    re.compile(r"url\(\s*[\"']?\s*(?:https?:)?//", re.IGNORECASE),        # CSS url(http...)
    re.compile(r"@import\s+(?:url\()?\s*[\"']?\s*(?:https?:)?//", re.IGNORECASE),  # CSS @import
    # Bokeh document JSON: ImportedStyleSheet(url=...) and other models' url attributes
    re.compile(r"\\?\"url\\?\"\s*:\s*\\?\"(?:https?:)?//", re.IGNORECASE),
]


def network_references(text):
    """Places in an HTML text that would load a resource over the network: tags with a
    src/href to http(s) or a protocol-relative //host, CSS ``url(http...)`` and ``@import``.
    Plain URL strings inside inline JavaScript code (licence comments, links) do not count.
    Returns a list of short excerpts (empty: self-contained)."""
    hits = []
    for pattern in _RESOURCE_PATTERNS:
        for m in pattern.finditer(text):
            hits.append(text[m.start():m.end() + 60])
    return hits
