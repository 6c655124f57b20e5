"""A saved result ``.npz`` dropped on the Data page, in Chromium through the page's own
file input (issue 15, item 1): a result of the recording loaded now opens on its page
without computing; a result of another recording is refused in one line that names the
recording it needs, and opens nothing."""

import dataclasses
import re

import pytest

from analysis import demo, simulate
from analysis.assembly import AssemblyNeurons
from analysis.results import save_result

pytestmark = pytest.mark.browser

#: a run time no run in the browser gives: the summary shows it only for the saved result
MARK_S = 987.6


def _open_data_page(page, url):
    page.goto(url)
    page.get_by_text(re.compile(r"\b500 units\b")).first.wait_for(timeout=60_000)
    page.locator(".bk-Canvas:visible").first.wait_for(timeout=30_000)
    page.wait_for_timeout(1000)


def _drop(page, path):
    page.get_by_role("button", name="Upload").click()
    page.locator("#main input[type=file]:visible").first.set_input_files(str(path))


def test_a_result_of_the_loaded_recording_opens_on_its_page(served_app, page, tmp_path,
                                                            artifacts_dir):
    # the default demo, as the server loads it, analysed in Python and saved
    data = demo.load_demo(demo.DEFAULT)
    result = AssemblyNeurons(data=data, n_surrogates=99, alpha=0.05, seed=3).run()
    result = dataclasses.replace(result, elapsed=MARK_S)
    n_sig = int(result.table["significant"].sum())
    path = tmp_path / "assembly_neurons_cpc.npz"
    save_result(result, path)

    page.set_viewport_size({"width": 1400, "height": 1000})
    _open_data_page(page, served_app)
    _drop(page, path)
    done = page.get_by_text(re.compile(
        r"assembly_neurons_cpc\.npz: the Assembly neurons result is shown on the Assembly "
        r"neurons page \(not computed again\)"))
    done.first.wait_for(timeout=60_000)
    page.wait_for_timeout(500)
    page.screenshot(path=str(artifacts_dir / "result_drop_opened_message.png"))
    page.get_by_role("button", name="Assembly neurons", exact=True).click()
    # the saved result, its run time included: shown, not computed again
    summary = page.get_by_text(re.compile(rf"{n_sig} of 500 units significant .* "
                                          rf"{MARK_S:.1f} s"))
    summary.first.wait_for(timeout=60_000)
    assert page.get_by_text(re.compile(r"running: ")).count() == 0
    table = page.locator(".tabulator:visible").first
    table.wait_for(timeout=30_000)
    page.wait_for_timeout(2000)
    page.screenshot(path=str(artifacts_dir / "result_drop_opened.png"))
    # its long table: the column picker shows the decisive columns, quantiles hidden
    shown = ("t => [...t.querySelectorAll('.tabulator-col')].filter(c => c.offsetParent "
             "!== null).map(c => c.innerText.trim()).filter(s => s)")
    titles = table.evaluate(shown)
    assert titles[:5] == ["rank", "unit", "significant", "p_value", "p_adjusted"], titles
    assert "q50" not in titles
    # the user removes p_adjusted from the columns shown
    chosen = page.locator(".choices__item", has_text="p_adjusted").first
    chosen.locator(".choices__button").click()
    page.wait_for_function(f"t => !({shown})(t).includes('p_adjusted')",
                           arg=table.element_handle(), timeout=15_000)
    assert table.evaluate(shown) == [t for t in titles if t != "p_adjusted"]
    table.scroll_into_view_if_needed()
    page.wait_for_timeout(500)
    page.screenshot(path=str(artifacts_dir / "assembly_column_picker.png"))
    assert not page.js_errors, page.js_errors


def test_a_result_of_another_recording_names_the_recording_it_needs(served_app, page,
                                                                   tmp_path, artifacts_dir):
    other = simulate.sip(n_units=30, assembly_size=5, t_stop=5, seed=1)
    result = AssemblyNeurons(data=other, source="session <b>7</b>.nwb", n_surrogates=99,
                             alpha=0.05).run()
    path = tmp_path / "other.npz"
    save_result(result, path)

    page.set_viewport_size({"width": 1400, "height": 1000})
    _open_data_page(page, served_app)
    _drop(page, path)
    # the page's alert (a notification may repeat it)
    alert = page.get_by_text(re.compile(r"^other\.npz: a saved")).first
    alert.wait_for(timeout=60_000)
    text = alert.inner_text().strip()
    # one line, naming the recording the result needs (its source as text, not markup)
    assert "\n" not in text, text
    assert text.startswith("other.npz: a saved Assembly neurons result of "
                           "session <b>7</b>.nwb (30 units, "
                           f"{other.n_spikes} spikes)"), text
    assert text.endswith("load that recording first, then drop the result again"), text
    page.wait_for_timeout(500)
    page.screenshot(path=str(artifacts_dir / "result_drop_refused.png"))
    # the data stays; the page opens nothing
    page.get_by_text(re.compile(r"\b500 units\b")).first.wait_for(timeout=5_000)
    page.get_by_role("button", name="Assembly neurons", exact=True).click()
    page.get_by_text(re.compile(r"500 units, 5 s\*?\*?\.? Set the parameters|"
                                r"Set the parameters and press")).first.wait_for(
        timeout=30_000)
    assert page.get_by_text(re.compile(r"units significant")).count() == 0
    assert not page.js_errors, page.js_errors


def test_a_result_dropped_in_the_sidebar_on_another_page_opens_on_its_page(
        served_app, page, tmp_path, artifacts_dir):
    """The sidebar's drop area is on every page: a result dropped there while the ASSET
    page is shown opens on the assembly page, which comes up, without computing."""
    data = demo.load_demo(demo.DEFAULT)
    result = AssemblyNeurons(data=data, n_surrogates=99, alpha=0.05, seed=3).run()
    result = dataclasses.replace(result, elapsed=MARK_S)
    n_sig = int(result.table["significant"].sum())
    path = tmp_path / "assembly_from_the_sidebar.npz"
    save_result(result, path)

    page.set_viewport_size({"width": 1400, "height": 1000})
    _open_data_page(page, served_app)
    page.get_by_role("button", name="ASSET", exact=True).click()
    page.get_by_role("button", name="Run ASSET").wait_for(timeout=30_000)
    page.get_by_text(re.compile(r"^Open work")).first.wait_for(timeout=30_000)
    page.locator("#sidebar input[type=file]").first.set_input_files(str(path))
    summary = page.get_by_text(re.compile(rf"{n_sig} of 500 units significant .* "
                                          rf"{MARK_S:.1f} s"))
    summary.first.wait_for(timeout=60_000)   # the assembly page came up with the result
    assert page.get_by_role("button", name="Run", exact=True).is_visible()
    assert page.get_by_text(re.compile(r"running: ")).count() == 0
    page.wait_for_timeout(1500)
    page.screenshot(path=str(artifacts_dir / "result_drop_sidebar.png"))
    assert not page.js_errors, page.js_errors
