"""The method registry (analysis.methods): a toy method added there alone appears in the
package's exports, the results files, the app's navigation, the notebook display, the
command line's --method choices and the report."""

import argparse
from dataclasses import dataclass

import numpy as np
import panel as pn
import param
import pytest
from panel.viewable import Viewer

import analysis
from analysis import methods, simulate
from analysis.results import load_result, save_result


@dataclass
class ToyResult:
    """Spike count per unit, with what every result carries: its parameters, a summary of
    its data and its run time."""

    counts: np.ndarray
    params: dict
    data_summary: dict
    elapsed: float


class ToyAnalysis(param.Parameterized):
    data = param.Parameter(default=None)
    scale = param.Number(default=1.0, bounds=(0, None))
    progress = param.Callable(default=None, allow_None=True)

    _cache = {}

    def run(self):
        return ToyResult(np.diff(self.data.offsets) * self.scale, {"scale": self.scale},
                         {"units": self.data.n_units}, 0.0)


class ToyPage(Viewer):
    session = param.Parameter()

    def __init__(self, **params):
        super().__init__(**params)
        self.toy = ToyAnalysis(data=self.session.data)
        self.result = None

    async def _run(self):
        self.result = self.toy.run()

    def __panel__(self):
        return pn.pane.Markdown("toy page")


def toy_parts(section):
    return [pn.pane.Markdown(f"toy total {int(section.result.counts.sum())} spikes")]


@pytest.fixture
def toy():
    method = methods.register(methods.Method(
        key="toy", title="Toy method", page_title="Toy", analysis=ToyAnalysis,
        result=ToyResult, page=ToyPage, page_attr="toy", report=toy_parts))
    yield method
    methods.unregister("toy")


@pytest.fixture
def data():
    return simulate.poisson(n_units=4, t_stop=2.0, seed=3)


def test_registered_methods_are_the_three_papers():
    assert [m.key for m in methods.methods()] == ["asset", "assembly", "spotdis"]
    assert [m.analysis_name for m in methods.methods()] == [
        "Asset", "AssemblyNeurons", "SpotDisClust"]
    with pytest.raises(ValueError, match="unknown method 'nope'.*asset, assembly, spotdis"):
        methods.get("nope")


def test_a_key_or_class_cannot_be_registered_twice(toy):
    with pytest.raises(ValueError, match="already used by 'toy'"):
        methods.register(methods.Method(key="toy2", title="Toy method", page_title="T2",
                                        analysis="x:Y", result="x:Z"))


def test_toy_method_in_exports_and_results_files(toy, data, tmp_path):
    assert analysis.ToyAnalysis is ToyAnalysis
    result = ToyAnalysis(data=data, scale=2.0).run()
    again = load_result(save_result(result, tmp_path / "toy.npz"))
    assert isinstance(again, ToyResult) and again.params == {"scale": 2.0}
    np.testing.assert_array_equal(again.counts, result.counts)


def test_toy_method_in_the_apps_navigation(toy, data):
    from dashboard.app import _make_page, create_app
    from dashboard.state import Session

    app = create_app(Session(data=data, source="test"), load_demo=False)
    nav = app.sidebar[0]
    assert nav.options == ["Data", "ASSET", "Assembly neurons", "SPOTDis", "Toy"]
    nav.value = "Toy"
    assert isinstance(app.pages["Toy"], ToyPage)
    assert isinstance(_make_page("Toy", Session(data=data)), ToyPage)


def test_toy_method_in_the_notebook_display(toy, data):
    from dashboard.inline import page_for

    page = page_for(ToyAnalysis(data=data, scale=3.0))
    assert isinstance(page, ToyPage) and page.toy.scale == 3.0


def test_toy_method_in_the_command_line(toy):
    from dashboard.cli import build_parser

    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    report = sub.choices["report"]
    method = next(a for a in report._actions if a.dest == "method")
    assert "toy" in method.choices and "all" in method.choices


def test_toy_method_in_the_report(toy, data):
    import asyncio

    from dashboard import report

    assert "toy" in report.method_keys()
    sections = report.run_analyses(data, ["toy"], {"toy": {"scale": 2.0}})
    html = report.report_html(data, "test", sections)
    assert "Toy method" in html and f"toy total {2 * data.n_spikes} spikes" in html
    page = ToyPage(session=type("S", (), {"data": data})())
    asyncio.run(page._run())
    (section,) = report.sections_from_pages({"Toy": page})
    assert section.method == "toy" and section.result is page.result
