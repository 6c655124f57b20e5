"""Static HTML reports: `spikelens report`, the config files, the Export button, and the
report opened from file:// in headless Chromium with the network cut off."""

import asyncio
import html
import json
import re
import shutil
import subprocess
import sys
import threading

import numpy as np
import pytest

from analysis import io, simulate
from dashboard import report
from dashboard.cli import main

# small and quick: assembly with few surrogates, SPOTDis on 25 epochs
FAST = ["--param", "assembly.n_surrogates=49", "--param", "assembly.alpha=0.02",
        "--param", "spotdis.min_cluster_size=4",
        "--param", "spotdis.perplexity=5", "--param", "asset.bin_size=0.005"]


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    root = tmp_path_factory.mktemp("report-data")
    epochs = simulate.spot_patterns(n_patterns=2, epochs_per_pattern=10, n_noise_epochs=5,
                                    n_units=20, seed=1)
    plain = simulate.sip(n_units=20, assembly_size=5, t_stop=3.0, seed=2)
    paths = {"epochs": root / "patterns.npz", "plain": root / "sip.npz"}
    io.save(epochs, paths["epochs"])
    io.save(plain, paths["plain"])
    return paths


@pytest.fixture(scope="module")
def full_report(files, tmp_path_factory, artifacts_dir):
    """All three methods on data with epochs, through the command line (in-process)."""
    out = tmp_path_factory.mktemp("report-out") / "report.html"
    assert main(["report", str(files["epochs"]), "--method", "all", *FAST,
                 "-o", str(out)]) == 0
    shutil.copy(out, artifacts_dir / "report.html")
    return out


def run_cli(*args):
    proc = subprocess.run([sys.executable, "-m", "dashboard.cli", *map(str, args)],
                          capture_output=True, text=True, timeout=300)
    return proc.returncode, proc.stdout, proc.stderr


def shown(path_or_text):
    """The text the report shows: the strings of its Bokeh document, unescaped (Markdown is
    stored there as HTML inside JSON)."""
    text = path_or_text if isinstance(path_or_text, str) else \
        path_or_text.read_text(encoding="utf-8")
    out = []

    def walk(x):
        if isinstance(x, str):
            out.append(x)
        elif isinstance(x, dict):
            for v in x.values():
                walk(v)
        elif isinstance(x, list):
            for v in x:
                walk(v)

    for blob in re.findall(r'<script type="application/json"[^>]*>(.*?)</script>', text,
                           re.DOTALL):
        walk(json.loads(blob))
    joined = "\n".join(out)
    for _ in range(3):
        joined = html.unescape(joined)
    return joined


def headings(text):
    return [h.strip() for h in re.findall(r"<h2[^>]*>([^<]*)", text)]


# ---------------------------------------------------------------------- content
def test_report_has_every_part_and_no_network_reference(full_report):
    raw = full_report.read_text(encoding="utf-8")
    assert report.network_references(raw) == []
    text = shown(raw)
    assert headings(text) == ["Data", "ASSET", "Assembly neurons", "SPOTDisClust", "Software"]
    for needle in ["Parameters of ASSET", "Parameters of SPOTDisClust", "Platform:",
                   "900 × 300 px", "320 × 320 px", "600 × 600 px",  # stated resolutions
                   "49 uniform surrogates", "Synchronous events", "Clusters", "bokeh"]:
        assert needle in text, needle
    # every stylesheet of the document inline (Panel's default would import them from a CDN)
    assert '"name":"ImportedStyleSheet"' not in raw


@pytest.mark.parametrize("snippet", [
    '<script type="text/javascript" src="https://cdn.bokeh.org/bokeh.js"></script>',
    '<link rel="stylesheet" href="//fonts.googleapis.com/css">',
    '<img alt="" src="http://example.org/a.png">',
    '<style>body { background: url("https://example.org/a.png") }</style>',
    '<style>@import "https://fonts.googleapis.com/css2";</style>',
    '{"type":"object","name":"ImportedStyleSheet","attributes":{"url":"https://cdn.x/a.css"}}',
])
def test_network_check_catches_resource_references(snippet):
    assert report.network_references(f"<html><body>{snippet}</body></html>")


def test_network_check_ignores_urls_in_code_and_text():
    # what Bokeh's and Panel's inline bundles contain: links in comments, strings, SVG
    # namespaces; none of them loads anything by itself
    text = ('<script>/* see https://github.com/bokeh/bokeh */ const ns = '
            '"http://www.w3.org/2000/svg"; a.href = "https://docs.bokeh.org";</script>'
            '<a href="https://github.com">link</a>')
    assert report.network_references(text) == []


# ---------------------------------------------------------------------- browser
@pytest.mark.browser
def test_report_opens_offline_in_chromium(full_report, browser, artifacts_dir):
    context = browser.new_context(viewport={"width": 1280, "height": 6000})
    page = context.new_page()
    errors, requests = [], []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))

    def route(r):  # nothing but the file itself may load; record and refuse the rest
        if not r.request.url.startswith(("file://", "data:", "blob:")):
            requests.append(r.request.url)
            return r.abort()
        return r.continue_()

    page.route("**/*", route)
    try:
        page.goto(full_report.as_uri())
        canvases = page.locator(".bk-Canvas")
        # data raster, 5 ASSET matrices, 2 ASSET rasters, box plot, SPOTDis matrix and map(s)
        page.wait_for_function(
            "() => { const n = []; const walk = r => r.querySelectorAll('*').forEach(e => {"
            " if (e.classList && e.classList.contains('bk-Canvas')) n.push(e);"
            " if (e.shadowRoot) walk(e.shadowRoot); }); walk(document); return n.length >= 11;}",
            timeout=60_000)
        assert canvases.count() >= 11
        page.get_by_text("Parameters of SPOTDisClust").first.wait_for()
        page.wait_for_timeout(1500)  # let Bokeh finish drawing before the screenshot
        page.screenshot(path=str(artifacts_dir / "report.png"), full_page=True)
    finally:
        context.close()
    assert requests == [], f"the report tried to load {requests}"
    assert errors == [], errors


# ---------------------------------------------------------------------- configs
def write(path, text):
    path.write_text(text, encoding="utf-8")
    return path


def test_toml_and_yaml_configs_read_alike(tmp_path):
    toml = write(tmp_path / "p.toml", '[asset]\nbin_size = 0.005\nfilter_shape = [9, 3]\n'
                                      '[assembly]\nn_surrogates = 49\ncorrection = "holm"\n'
                                      '[spotdis]\nmin_samples = 3\n')
    yaml = write(tmp_path / "p.yaml", "asset:\n  bin_size: 0.005\n  filter_shape: [9, 3]\n"
                                      "assembly:\n  n_surrogates: 49\n  correction: holm\n"
                                      "spotdis:\n  min_samples: 3\n")
    expected = {"asset": {"bin_size": 0.005, "filter_shape": (9, 3)},
                "assembly": {"n_surrogates": 49, "correction": "holm"},
                "spotdis": {"min_samples": 3}}
    assert report.read_config(toml) == expected
    assert report.read_config(yaml) == expected
    # --param overrides the file, parameter by parameter; strings become the right type
    over = report.parse_overrides(["assembly.n_surrogates=29", "assembly.correction=none",
                                   "asset.binary=false", "asset.filter_shape=(7, 2)"])
    merged = report.merge(report.read_config(toml), over)
    assert merged["assembly"] == {"n_surrogates": 29, "correction": None}
    assert merged["asset"] == {"bin_size": 0.005, "filter_shape": (7, 2), "binary": False}


@pytest.mark.parametrize("ext, text", [
    ("toml", "[assembly]\nn_surrogates = 39\nalpha = 0.05\n"),
    ("yaml", "assembly:\n  n_surrogates: 39\n  alpha: 0.05\n"),
])
def test_cli_config_and_param_override(files, tmp_path, ext, text):
    config = write(tmp_path / f"params.{ext}", text)
    out = tmp_path / "r.html"
    assert main(["report", str(files["plain"]), "--method", "assembly", "--config",
                 str(config), "-o", str(out)]) == 0
    body = shown(out)
    assert "39 uniform surrogates" in body and "α = 0.05" in body
    assert main(["report", str(files["plain"]), "--method", "assembly", "--config",
                 str(config), "--param", "assembly.n_surrogates=19", "-o", str(out)]) == 0
    body = shown(out)
    assert "19 uniform surrogates" in body and "α = 0.05" in body


@pytest.mark.parametrize("config, params, needles", [
    ("[asset]\nbin_sise = 0.005\n", [], ["bin_sise", "params.toml", "[asset]"]),
    ("[assets]\nbin_size = 0.005\n", [], ["[assets]", "params.toml"]),
    ("[asset]\nbin_size = -1.0\n", [], ["asset.bin_size", "params.toml"]),
    ("", ["assembly.n_surrogate=5"], ["n_surrogate", "--param"]),
    ("", ["assembly.n_surrogates=many"], ["assembly.n_surrogates", "many"]),
    ("", ["n_surrogates=5"], ["method.name=value"]),
])
def test_bad_settings_fail_in_one_line(files, tmp_path, capsys, config, params, needles):
    cfg = write(tmp_path / "params.toml", config)
    out = tmp_path / "r.html"
    args = ["report", str(files["plain"]), "--config", str(cfg), "-o", str(out)]
    for p in params:
        args += ["--param", p]
    assert main(args) == 1
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and err.startswith("spikelens report: error:"), err
    for needle in needles:
        assert needle in err, (needle, err)
    assert not out.exists() and list(tmp_path.glob("*.html")) == []


def test_missing_file_is_one_line_exit_1_no_output(tmp_path):
    out = tmp_path / "r.html"
    rc, _, stderr = run_cli("report", tmp_path / "nope.nix", "-o", out)
    assert rc == 1
    assert stderr.strip().count("\n") == 0 and "nope.nix" in stderr, stderr
    assert "Traceback" not in stderr
    assert not out.exists() and list(tmp_path.iterdir()) == []


def test_spotdis_on_data_without_epochs(files, tmp_path, capsys):
    out = tmp_path / "r.html"
    # alone: an error naming the reason
    assert main(["report", str(files["plain"]), "--method", "spotdis", "-o", str(out)]) == 1
    err = capsys.readouterr().err.strip()
    assert "epochs" in err and err.count("\n") == 0
    assert not out.exists()
    # with the others: skipped with a note in the report
    assert main(["report", str(files["plain"]), "--method", "all", *FAST,
                 "-o", str(out)]) == 0
    body = shown(out)
    assert "Skipped: the recording has fewer than 2 epochs" in body
    assert headings(body) == ["Data", "ASSET", "Assembly neurons", "SPOTDisClust", "Software"]


def test_several_inputs_write_one_report_each_into_a_folder(files, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["report", str(files["plain"]), str(files["epochs"]), "demo:sip",
                 "--method", "assembly", "--param", "assembly.n_surrogates=19",
                 "--param", "assembly.alpha=0.05", "-o", str(out)]) == 0
    names = sorted(p.name for p in out.iterdir())
    assert names == ["demo-sip.html", "patterns.html", "sip.html"]
    printed = capsys.readouterr().out
    assert printed.count("wrote ") == 3
    raw = (out / "demo-sip.html").read_text(encoding="utf-8")
    assert "SIP assembly (100 units, 20 s)" in shown(raw)
    assert report.network_references(raw) == []


def test_unknown_demo_names_the_choices(tmp_path, capsys):
    assert main(["report", "demo:nonsense", "-o", str(tmp_path / "r.html")]) == 1
    err = capsys.readouterr().err
    assert "demo:synfire" in err and "demo:pulse" in err


# ---------------------------------------------------------------------- dashboard button
def test_export_button_gives_the_report_of_the_session(files):
    import panel as pn

    from dashboard.app import create_app
    from dashboard.assembly_page import AssemblyPage
    from dashboard.state import Session

    data = io.load(files["plain"])
    app = create_app(Session(data=data, source="sip.npz"), load_demo=False)
    download = next(w for w in app.sidebar if isinstance(w, pn.widgets.FileDownload))
    assert download.label == "Export report"
    # before any analysis: the data only
    raw = download.callback().getvalue().decode("utf-8")
    assert headings(shown(raw)) == ["Data", "Software"]
    assert report.network_references(raw) == []
    # run the Assembly page, then export again
    nav = app.sidebar[0]
    nav.value = "Assembly neurons"
    page = app.pages["Assembly neurons"]
    assert isinstance(page, AssemblyPage)
    page.detector.param.update(n_surrogates=19, alpha=0.05)  # 1/20 <= alpha
    # in a thread of its own: Playwright's sync API may hold a running loop in this one
    worker = threading.Thread(target=lambda: asyncio.run(page._run()))
    worker.start()
    worker.join(120)
    assert page.result is not None
    raw = download.callback().getvalue().decode("utf-8")
    text = shown(raw)
    assert headings(text) == ["Data", "Assembly neurons", "Software"]
    assert "19 uniform surrogates" in text and "sip.npz" in text
    assert report.network_references(raw) == []


def test_saved_results_are_shown_not_recomputed(tmp_path, capsys):
    from analysis.assembly import AssemblyNeurons

    data = simulate.sip(n_units=20, assembly_size=5, t_stop=5.0, seed=1)
    io.save(data, tmp_path / "sip.npz")
    AssemblyNeurons(data=data, n_surrogates=49, alpha=0.02, statistic="csf").run().save(
        tmp_path / "assembly.npz")
    out = tmp_path / "r.html"
    assert main(["report", str(tmp_path / "sip.npz"), "--method", "assembly", "--results",
                 str(tmp_path / "assembly.npz"), "-o", str(out)]) == 0
    assert "Assembly neurons loaded" in capsys.readouterr().out
    text = out.read_text()
    assert "not recomputed" in text and "CSF" in text
    # a spike file is not a result: one line, exit 1
    assert main(["report", str(tmp_path / "sip.npz"), "--results",
                 str(tmp_path / "sip.npz"), "-o", str(tmp_path / "x.html")]) == 1
    err = capsys.readouterr().err
    assert "not an analysis result" in err and err.count("\n") == 1
    assert not (tmp_path / "x.html").exists()


# ---------------------------------------------------------------------- parameters of results
def _texts(section):
    """The text of every Markdown and table pane of a section's report part."""
    import panel as pn

    report._hv()  # as the report does before drawing (here also when run alone)
    parts = report._methods.get(section.method).load("report")(section)
    out = []
    for part in parts:
        for obj in [part, *getattr(part, "objects", [])]:
            if hasattr(obj, "object") and not isinstance(obj, pn.pane.HoloViews):
                out.append(str(obj.object))
    return "\n".join(out)


def _asset_titles(section):
    from dashboard.asset_views import matrix_image

    return [matrix_image(n, section.result).label for n in ("mask", "imat")]


def test_saved_asset_result_reports_its_own_parameters(tmp_path):
    """A saved ASSET run with alpha_p=0.95 shows 0.95 (not the default 0.99) in the
    parameter table and the mask title, read through --results."""
    from analysis.asset import Asset

    data = simulate.synfire_chain(n_units=40, n_groups=4, group_size=6, t_stop=1.0, seed=2)
    Asset(data=data, alpha_p=0.95, filter_shape=(5, 2), max_distance=3.0,
          min_neighbors=3).run().save(tmp_path / "asset.npz")
    sections = report.run_analyses(data, ["asset"],
                                   results=report.load_results([tmp_path / "asset.npz"]))
    table = report._params_table(sections[0])[0].object
    assert table.set_index("parameter").loc["alpha_p", "value"] == "0.95"
    assert _asset_titles(sections[0])[0] == "mask: pmat > 0.95 and jmat > 0.99"
    text = report.report_html(data, "chain", sections)
    assert "pmat &gt; 0.95" in text or "pmat > 0.95" in text
    assert "pmat &gt; 0.99" not in text and "pmat > 0.99" not in text


def run_coroutine(coro):
    """``asyncio.run(coro)`` in a thread of its own: a browser test of this module may have
    left Playwright's event loop running in this one."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


def test_report_from_pages_shows_the_run_not_later_settings():
    """ASSET at 5 ms, then 10 ms without running: the report states the 5 ms run; the same
    for assembly (n_surrogates changed) and SPOTDis (min_cluster_size changed)."""
    from dashboard.asset_page import AssetPage
    from dashboard.assembly_page import AssemblyPage
    from dashboard.spotdis_page import SpotDisPage
    from dashboard.state import Session

    report._hv()
    chain = simulate.synfire_chain(n_units=40, n_groups=4, group_size=6, t_stop=1.0, seed=2)
    session = Session(data=chain, source="chain")
    asset = AssetPage(session=session)
    asset.asset.param.update(bin_size=0.005, filter_shape=(5, 2), max_distance=3.0,
                             min_neighbors=3)
    run_coroutine(asset._run())
    assert asset.result.imat.shape == (200, 200)
    asset.asset.bin_size = 0.01
    section, = report.sections_from_pages({"ASSET": asset})
    assert "200 bins of 5 ms" in _texts(section)
    assert section.result.params["bin_size"] == 0.005
    assert "200 bins of 5 ms" in asset._summary_text()
    html = report.report_from_pages(session, {"ASSET": asset})
    assert "200 bins of 5 ms" in html and "100 bins of 10 ms" not in html

    sip = simulate.sip(n_units=15, assembly_size=5, t_stop=4.0, seed=1)
    assembly = AssemblyPage(session=Session(data=sip, source="sip"))
    assembly.detector.param.update(n_surrogates=30, alpha=0.05)  # 1/(S+1) <= alpha
    run_coroutine(assembly._run())
    assembly.detector.n_surrogates = 200  # marks the result stale; no run
    section, = report.sections_from_pages({"Assembly neurons": assembly})
    text = _texts(section)
    assert "30 uniform surrogates" in text and "200 uniform" not in text
    table = report._params_table(section)[0].object.set_index("parameter")
    assert table.loc["n_surrogates", "value"] == "30"
    assert "30 uniform surrogates" in assembly._summary_text()

    patterns = simulate.spot_patterns(n_patterns=2, epochs_per_pattern=8, n_noise_epochs=4,
                                      epoch_samples=100, pulse_samples=10, seed=4)
    spot = SpotDisPage(session=Session(data=patterns, source="patterns"))
    spot.clust.param.update(min_cluster_size=4, perplexity=5.0)
    run_coroutine(spot._run())
    spot.clust.min_cluster_size = 7
    section, = report.sections_from_pages({"SPOTDis": spot})
    table = report._params_table(section)[0].object.set_index("parameter")
    assert table.loc["min_cluster_size", "value"] == "4"
    assert section.result.data_summary["epochs"] == 20
    assert section.result.data_summary["source"] == "patterns"


@pytest.mark.parametrize("dissimilarity, needles", [
    ("spikeship", ["SpikeShip", "undefined epoch pairs (fewer than 2 common neurons) 0"]),
    ("rate", ["rate vectors (no timing)"]),
])
def test_spotdis_section_names_the_dissimilarity(files, dissimilarity, needles):
    from analysis.spotdis import SpotDisClust

    data = io.load(files["epochs"])
    result = SpotDisClust(data=data, min_cluster_size=4, perplexity=5.0,
                          dissimilarity=dissimilarity).run()
    text = _texts(report.Section("spotdis", result, data))
    assert all(n in text for n in needles), text
    assert "kernel" not in text


@pytest.mark.parametrize("dissimilarity, name", [("spikeship", "SpikeShip"),
                                                 ("spotdis", "SPOTDis")])
def test_graph_mode_section_names_the_dissimilarity(files, dissimilarity, name):
    from analysis.spotdis import SpotDisClust

    data = io.load(files["epochs"])
    result = SpotDisClust(data=data, min_cluster_size=4, perplexity=5.0, n_neighbors=8,
                          max_full_epochs=10, dissimilarity=dissimilarity).run()
    assert result.graph is not None
    text = _texts(report.Section("spotdis", result, data))
    assert f"dissimilarity **{name}** in graph mode: 8 nearest epochs each, from " \
        f"{result.graph.n_pairs} exact epoch pairs" in text, text
    assert "rate vectors" not in text


# ---------------------------------------------------------------------- sliding windows
@pytest.fixture(scope="module")
def windows_files(tmp_path_factory):
    from analysis.spotdis import SlidingWindows

    root = tmp_path_factory.mktemp("report-windows")
    data = simulate.embedded_sequences(n_units=20, occurrences=12, t_stop=40.0, seed=2)
    result = SlidingWindows(data=data, length=0.2, step=0.05, dissimilarity="spikeship",
                            min_active=10, min_cluster_size=5).run()
    assert result.sequences and data.epochs is None
    paths = {"data": root / "rec.npz", "windows": root / "windows.npz",
             "other": root / "other.npz"}
    io.save(data, paths["data"])
    io.save(simulate.embedded_sequences(n_units=12, occurrences=8, t_stop=20.0, seed=4),
            paths["other"])
    result.save(paths["windows"])
    return paths, result


def test_a_saved_sliding_windows_result_is_reported_not_recomputed(windows_files, tmp_path,
                                                                  capsys):
    """Issue 16 leftover: `spikelens report --results` took no sliding-windows file ("not a
    result spikelens can report"); it gives the report's sliding-windows section."""
    paths, r = windows_files
    out = tmp_path / "w.html"
    assert main(["report", str(paths["data"]), "--method", "spotdis", "--results",
                 str(paths["windows"]), "-o", str(out)]) == 0
    said = capsys.readouterr()
    title = report.method_title("spotdis")
    assert f"{title} sliding windows loaded" in said.out and said.err == ""
    raw = out.read_text(encoding="utf-8")
    text = shown(raw)
    assert headings(text) == ["Data", title, "Software"]
    assert "Sliding windows over the whole recording" in text
    assert "Sliding windows loaded from windows.npz, not recomputed" in text
    assert "Skipped" not in text   # no epochs: the windows stand for SPOTDis
    assert "dissimilarity <strong>SpikeShip</strong>" in text
    assert f"fewest active units {r.params['min_active']}" in text
    assert f"{r.scores['n_clusters']} patterns</strong> in {r.scores['n_windows']} windows" \
        in text
    for k in r.sequences:
        assert f"pattern {k}: sequence from mean flows" in text
    assert "Parameters of the sliding windows" in text
    assert report.network_references(raw) == []


def test_a_wrong_or_hostile_sliding_windows_file_is_one_line(windows_files, tmp_path,
                                                            capsys):
    paths, r = windows_files
    target = tmp_path / "x.html"

    def fails(*args, needles):
        assert main(["report", *map(str, args), "-o", str(target)]) == 1
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "Traceback" not in err, err
        for needle in needles:
            assert needle in err, err
        assert not target.exists()

    # another recording's windows
    fails(paths["other"], "--method", "spotdis", "--results", paths["windows"],
          needles=[str(paths["windows"]), "the sliding windows were computed on a recording "
                   "of 20 units", "not on this one (12 units"])
    # SPOTDis left out of the report
    fails(paths["data"], "--method", "assembly", "--results", paths["windows"],
          needles=[str(paths["windows"]), "sliding-windows result",
                   "--method leaves spotdis out"])
    # two windows files
    fails(paths["data"], "--method", "spotdis", "--results", paths["windows"], "--results",
          paths["windows"], needles=["a second sliding-windows result"])
    # truncated, and a sequence that does not fit its units
    cut = tmp_path / "cut.npz"
    cut.write_bytes(paths["windows"].read_bytes()[:-300])
    fails(paths["data"], "--method", "spotdis", "--results", cut,
          needles=[str(cut), "truncated or corrupted"])
    from analysis import results

    with np.load(paths["windows"], allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    header = json.loads(str(arrays[results.HEADER][()]))
    seq = header["result"]["fields"]["sequences"]["__dict__"][0][1]["fields"]
    ids = seq["unit_ids"]["__array__"]
    arrays[ids] = arrays[ids][:2]
    bad = tmp_path / "bad.npz"
    np.savez(bad, **arrays)
    fails(paths["data"], "--method", "spotdis", "--results", bad,
          needles=[str(bad), "corrupted", "PatternSequence.unit_ids"])
