"""The sidebar's drop area opens a work file or a saved result ``.npz`` on any page (issue
15, item 1): a result of the loaded recording is shown on its page without computing and
that page comes up; a result of another recording, or a recording, is refused in one line
and opens nothing."""

import asyncio
import dataclasses
from types import SimpleNamespace

import holoviews as hv
import pytest

from analysis import simulate
from analysis.assembly import AssemblyNeurons
from analysis.results import save_result
from dashboard.app import create_app
from dashboard.state import Session

hv.extension("bokeh", logo=False)

MARK_S = 987.6   # a run time no run here gives: shown only for the saved result


@pytest.fixture(scope="module")
def recording():
    return simulate.sip(n_units=30, assembly_size=6, t_stop=8, seed=1)


def _saved(tmp_path, data, name="assembly.npz"):
    result = AssemblyNeurons(data=data, n_surrogates=99, alpha=0.05, seed=3).run()
    path = tmp_path / name
    save_result(dataclasses.replace(result, elapsed=MARK_S), path)
    return path


def _drop(app, path):
    asyncio.run(app.opener.open_file(SimpleNamespace(new={path.name: path.read_bytes()})))


def test_a_result_dropped_on_another_page_opens_on_its_page(tmp_path, recording):
    path = _saved(tmp_path, recording)
    session = Session(data=recording, source="sip")
    app = create_app(session, load_demo=False)
    app.nav.value = "ASSET"         # the user is on the ASSET page
    _drop(app, path)
    page = app.pages["Assembly neurons"]
    assert page.result is not None and page.result.elapsed == MARK_S   # not computed
    assert app.nav.value == "Assembly neurons"   # and its page comes up
    assert "not computed again" in session.message


def test_a_result_of_another_recording_is_refused_in_one_line(tmp_path, recording):
    other = simulate.sip(n_units=20, assembly_size=5, t_stop=6, seed=2)
    path = _saved(tmp_path, other, "other.npz")
    session = Session(data=recording, source="sip")
    app = create_app(session, load_demo=False)
    app.nav.value = "SPOTDis"
    _drop(app, path)
    assert app.nav.value == "SPOTDis"
    assert "Assembly neurons" not in app.pages or app.pages["Assembly neurons"].result is None
    assert "other.npz" in session.message and "\n" not in session.message
    assert "not of the recording loaded now" in session.message


def test_a_recording_dropped_there_is_not_loaded(tmp_path, recording):
    path = tmp_path / "rec.csv"
    path.write_text("time,unit\n0.1,0\n")
    session = Session(data=recording, source="sip")
    app = create_app(session, load_demo=False)
    _drop(app, path)
    assert session.data is recording and session.source == "sip"
