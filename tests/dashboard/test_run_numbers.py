"""Hand-over provenance names the run it came from by its ordinal in the session
("12 significant units of assembly run 2"): the first run of a method is 1, each method
counts its own runs, and the numbering survives a reload (issue 15, item 3)."""

import asyncio

import holoviews as hv
import pytest

from analysis import simulate
from analysis.restrict import restriction_of
from dashboard import app
from dashboard.handover import assembly_units, result_choices, run_name
from dashboard.state import Session
from dashboard.work import WorkStore

hv.extension("bokeh", logo=False)

ASSEMBLY = "Assembly neurons"


@pytest.fixture(scope="module")
def recording():
    return simulate.sip(n_units=30, assembly_size=6, t_stop=8, seed=1)


def _app(monkeypatch, work, kept, session):
    monkeypatch.setattr(app, "_session_work",
                        lambda doc: (work, "secret" if kept is None else None, kept))
    template = app.create_app(session=session, load_demo=False)
    session.page = ASSEMBLY  # as a hand-over or the navigation does
    return template.pages[ASSEMBLY]


def _run(page, seed):
    page.detector.param.update(n_surrogates=100, seed=seed)
    asyncio.run(page._run())
    assert page.state == "done", page._status.object
    return page.result


def test_runs_are_numbered_per_method_and_across_a_reload(tmp_path, monkeypatch, recording):
    store = WorkStore(tmp_path / "work")
    work, secret = store.new()
    session = Session(data=recording, source="sip")
    page = _app(monkeypatch, work, None, session)
    first = _run(page, seed=1)
    second = _run(page, seed=2)
    assert first is not second
    assert (first.data_summary["run"], second.data_summary["run"]) == (1, 2)
    label = assembly_units(second)["label"]
    n_sig = int(second.table["significant"].sum())
    assert label.startswith(f"{n_sig} significant units of assembly run 2 (")
    assert assembly_units(first)["label"].startswith(
        f"{int(first.table['significant'].sum())} significant units of assembly run 1 (")
    # the Data page offers the last run, under its number
    text, _, _ = result_choices(session.results)["assembly"]
    assert "of assembly run 2" in text
    assert session.runs == {"assembly": 2}  # no other method ran
    work.flush()

    # reload: the kept result keeps its number, the next run is 3
    reopened = store.open(work.token, secret)
    kept = reopened.load()
    assert kept["runs"] == {"assembly": 2}
    assert kept["results"]["assembly"].data_summary["run"] == 2
    kept["results"] = {ASSEMBLY: kept["results"].pop("assembly")}  # as _session_work gives
    again = Session()
    page = _app(monkeypatch, reopened, kept, again)
    assert page.result is not None and page.result.data_summary["run"] == 2
    assert "of assembly run 2" in assembly_units(page.result)["label"]
    assert again.runs == {"assembly": 2}
    third = _run(page, seed=3)
    assert third.data_summary["run"] == 3
    assert "of assembly run 3 (" in assembly_units(third)["label"]
    # the hand-over's restriction line carries it
    page._analyse_units("ASSET")
    assert "significant units of assembly run 3 (" in restriction_of(again.data)
    reopened.flush()
    assert store.open(work.token, secret).load()["runs"] == {"assembly": 3}


def test_each_method_counts_its_own_runs_and_restored_results_are_not_runs():
    session = Session()

    class Result:  # what number_run reads: a result's data_summary
        def __init__(self, run=None):
            self.data_summary = {} if run is None else {"run": run}

    a1, a2, s1 = Result(), Result(), Result()
    assert session.number_run("asset", a1) == 1
    assert session.number_run("spotdis", s1) == 1
    assert session.number_run("asset", a2) == 2
    assert session.number_run("asset", a2) == 2  # shown again: the same run
    assert run_name(a2, "ASSET") == "ASSET run 2" and run_name(s1, "SPOTDis") == "SPOTDis run 1"
    # a restored (opened) result keeps its number and the next run comes after it
    assert session.number_run("spotdis", Result(run=5), new=False) == 5
    assert session.number_run("spotdis", Result()) == 6
    # a restored result from before results were numbered is not a run of this session
    old = Result()
    assert session.number_run("assembly", old, new=False) is None
    assert run_name(old, "assembly") == "the assembly run"
    assert session.runs == {"asset": 2, "spotdis": 6}
    # a number that is not a count is no number
    assert session.number_run("asset", Result(run=True), new=False) is None
