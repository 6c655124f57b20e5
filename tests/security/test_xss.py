"""Stored XSS: unit ids, epoch labels and file names with markup in them are shown as text in
every Markdown, HTML and Alert pane of the dashboard and in both kinds of report."""

import asyncio
import html
import json
import re
from types import SimpleNamespace

import holoviews as hv
import numpy as np
import panel as pn
import pytest

from analysis import io, simulate
from analysis.assembly import AssemblyNeurons
from analysis.spiketrains import Epochs
from dashboard import report
from dashboard.app import create_app
from dashboard.cli import main
from dashboard.state import Session

hv.extension("bokeh", logo=False)

SCRIPT = "<script>window.__xss=1</script>"
IMG = '<img src=x onerror="window.__xss=1">'
LINK = "[a](javascript:alert(1))"
MARKUP = "`code` *bold* _it_ ~~gone~~"
HOSTILE = [SCRIPT, IMG, LINK, MARKUP]
# a file name cannot hold "/": the script tag goes into unit ids and epoch labels only
FILE_NAME = f"{IMG} {LINK}.csv"

# what injected text would turn into: a tag that runs script, a javascript: link, markup
INJECTED = re.compile(r"<script|<img|href\s*=\s*[\"']?\s*javascript:|<code>code"
                      r"|<(?:em|strong)>(?:bold|it)<|<(?:s|del)>gone", re.IGNORECASE)


def hostile_data():
    """A small SIP recording whose units 4-7 have hostile ids and are assembly members in the
    ground truth but fire independently (so they are "missed"), with hostile epoch labels."""
    data = simulate.sip(n_units=12, assembly_size=4, t_stop=3.0, seed=1)
    ids = [str(u) for u in range(12)]
    ids[4:8] = HOSTILE
    member = np.zeros((1, 12), dtype=bool)
    member[0, :8] = True
    starts = np.arange(0.0, 2.8, 0.35)
    labels = [HOSTILE[k % 4] for k in range(starts.size)]
    return data.replace(unit_ids=ids, truth={"assembly_membership": member},
                        epochs=Epochs(starts, starts + 0.3, np.asarray(labels)))


def rendered(pane):
    """The HTML the browser puts into the page for a Markdown/HTML/Alert pane."""
    return html.unescape(pane._transform_object(pane.object)["object"])


def text_panes(root):
    """Every Markdown (Alert included) and HTML pane under ``root``."""
    view = pn.panel(root)
    return [*view.select(pn.pane.Markdown), *view.select(pn.pane.HTML)]


def assert_inert(panes):
    assert panes
    for pane in panes:
        assert not INJECTED.search(rendered(pane)), (type(pane).__name__, pane.object)


def in_thread(coroutine):
    """Run a page's coroutine to the end (Playwright may hold a loop in this thread)."""
    import threading

    worker = threading.Thread(target=lambda: asyncio.run(coroutine))
    worker.start()
    worker.join(300)


@pytest.fixture(scope="module")
def data():
    return hostile_data()


def test_escape_helpers_show_text_as_it_is():
    from dashboard.text import escape_html, escape_markdown

    for s in HOSTILE + ["a\\b & c", "line\n# heading"]:
        out = rendered(pn.pane.Markdown("missed: " + escape_markdown(s)))
        assert not INJECTED.search(out) and "<h1" not in out
        plain = html.unescape(re.sub(r"<[^>]+>", "", out)).strip()
        assert plain == "missed: " + " ".join(s.splitlines())
        assert html.unescape(escape_html(s)) == s and "<" not in escape_html(s)


def test_upload_name_in_sidebar_and_errors(tmp_path):
    path = tmp_path / "spikes.csv"
    io.save(hostile_data(), path)
    app = create_app(Session(), load_demo=False)
    data_page = app.pages["Data"]
    in_thread(data_page._on_upload(SimpleNamespace(new={FILE_NAME: path.read_bytes()})))
    assert app.session.source == f"file '{FILE_NAME}'" and app.session.data is not None
    assert sorted(HOSTILE) == sorted(set(app.session.data.unit_ids) & set(HOSTILE))
    status = [p for p in text_panes(app.sidebar[2]) if "Loaded" in p.object]
    assert len(status) == 1
    shown = html.unescape(re.sub(r"<[^>]+>", "", rendered(status[0])))
    assert FILE_NAME in shown  # the name as it is, as text
    # an error that quotes the hostile name: alert and session message
    bad = FILE_NAME.replace(".csv", ".txt")
    in_thread(data_page._on_upload(SimpleNamespace(new={bad: b"x"})))
    assert bad in app.session.message and data_page._status.visible
    assert_inert([*text_panes(app.sidebar[2]), *text_panes(data_page)])


def test_pages_after_runs_show_hostile_ids_as_text(data):
    app = create_app(Session(data=data, source=f"file '{FILE_NAME}'"), load_demo=False)
    nav = app.sidebar[0]
    for name in ["ASSET", "Assembly neurons", "SPOTDis"]:
        nav.value = name
    asset, assembly, spot = (app.pages[n] for n in ["ASSET", "Assembly neurons", "SPOTDis"])
    asset.asset.bin_size = 0.01
    assembly.detector.param.update(n_surrogates=49, alpha=0.02)
    spot.clust.min_cluster_size = 2
    for page in (asset, assembly, spot):
        in_thread(page._run())
    assert assembly.state == "done", assembly._status.object
    missed = assembly.evaluation["missed"]
    assert set(HOSTILE) <= set(missed)
    line = rendered(assembly._evaluation)
    assert "missed:" in line
    for unit in HOSTILE:  # each id shown as it is, as text
        assert unit in html.unescape(re.sub(r"<[^>]+>", "", line)), unit
    # an error message quoting a hostile epoch label (SPOTDis on too few epochs fails or runs:
    # either way its panes are checked); one more, forced, through the page's error path
    spot._show_error(f"Epochs: label {SCRIPT!r} and {IMG!r}")
    assert_inert([*text_panes(app.sidebar[2]), *[p for page in app.pages.values()
                                                  for p in text_panes(page)]])


# ---------------------------------------------------------------------- reports
def markup_strings(text):
    """The HTML that a report's Markdown, HTML and table panes give the browser (their
    ``text`` in the Bokeh document)."""
    out = []

    def walk(x):
        if isinstance(x, dict):
            if isinstance(x.get("name"), str) and x["name"].startswith("panel.models.markup"):
                for attr in x.get("attributes", {}).values():
                    if isinstance(attr, str):
                        # the file escapes the document's JSON, Panel the markup in it
                        out.append(html.unescape(html.unescape(attr)))
            for v in x.values():
                walk(v)
        elif isinstance(x, list):
            for v in x:
                walk(v)

    blobs = re.findall(r'<script type="application/json"[^>]*>(.*?)</script>', text, re.DOTALL)
    assert blobs
    for blob in blobs:
        walk(json.loads(blob))
    assert out
    return out


def assert_report_inert(text):
    for s in markup_strings(text):
        assert not INJECTED.search(s), s[:300]
    # nowhere raw in the file (the title is escaped; a "</script>" in the document's JSON
    # would end its block)
    assert SCRIPT not in text and "<img src=x" not in text


def test_export_report_of_pages(data):
    app = create_app(Session(data=data, source=f"file '{FILE_NAME}'"), load_demo=False)
    app.sidebar[0].value = "Assembly neurons"
    page = app.pages["Assembly neurons"]
    page.detector.param.update(n_surrogates=49, alpha=0.02)
    in_thread(page._run())
    assert page.evaluation is not None and set(HOSTILE) <= set(page.evaluation["missed"])
    text = report.report_from_pages(app.session, app.pages)
    assert_report_inert(text)
    shown = "\n".join(html.unescape(re.sub(r"<[^>]+>", "", s))
                      for s in markup_strings(text))
    assert FILE_NAME in shown and IMG in shown and SCRIPT in shown


@pytest.fixture(scope="module")
def cli_report(data, tmp_path_factory):
    """`spikelens report` with a hostile input name and a hostile --results file name."""
    root = tmp_path_factory.mktemp("xss-report")
    spikes = root / FILE_NAME.replace(".csv", ".npz")
    io.save(data, spikes)
    result = root / f"{IMG} result {LINK}.npz"
    AssemblyNeurons(data=data, n_surrogates=49, alpha=0.02).run().save(result)
    out = root / "report.html"
    assert main(["report", str(spikes), "--method", "assembly", "--results", str(result),
                 "-o", str(out)]) == 0
    return out


def test_cli_report_with_hostile_results_name_and_ids(cli_report):
    text = cli_report.read_text(encoding="utf-8")
    assert_report_inert(text)
    shown = "\n".join(html.unescape(re.sub(r"<[^>]+>", "", s))
                      for s in markup_strings(text))
    assert f"Result loaded from {IMG} result {LINK}.npz" in shown
    assert "missed: " in shown and IMG in shown


@pytest.mark.browser
def test_cli_report_runs_no_script_from_file(cli_report, browser):
    page = browser.new_page()
    dialogs = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    try:
        page.goto(cli_report.as_uri())
        page.get_by_text("Result loaded from").first.wait_for(timeout=60_000)
        page.get_by_text(re.compile("missed:")).first.wait_for(timeout=10_000)
        page.wait_for_timeout(1000)
        assert page.evaluate("typeof window.__xss") == "undefined"
    finally:
        page.close()
    assert dialogs == []


def test_progress_text_shows_a_hostile_file_name_as_text():
    """Panel's Str pane hands its text to the browser as HTML: the progress line of a
    loading file named like a script ran it. The pages' progress line escapes it."""
    import html

    from dashboard.text import PlainText
    from dashboard.widgets import run_controls

    progress = run_controls("Run").progress_text
    assert isinstance(progress, PlainText)
    progress.object = f"Loading file '{IMG}.csv'..."
    shown = html.unescape(progress._transform_object(progress.object)["object"])
    assert "<img" not in shown and "&lt;img" in shown
