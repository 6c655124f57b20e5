"""The served app in headless Chromium: simulate, upload, and keep sessions apart."""

import inspect
import re

import pytest
import ui_helpers
from ui_helpers import set_number, wait_for_units

import analysis
from analysis import simulate

pytestmark = pytest.mark.browser


def raster_png(page):
    # the first Bokeh canvas in the main area is the raster
    return page.locator(".bk-Canvas:visible").first.screenshot()


def open_app(page, url):
    """The app with its raster drawn."""
    ui_helpers.open_app(page, url)
    page.locator(".bk-Canvas:visible").first.wait_for(timeout=30_000)
    page.wait_for_timeout(1500)


def choose_poisson(page):
    page.get_by_role("button", name="Simulator").click()
    # the synfire-chain form shows first; wait until the poisson form has replaced it
    page.locator(".bk-input-group", has_text="N groups").first.wait_for(timeout=30_000)
    page.locator("select").first.select_option("poisson")
    page.locator(".bk-input-group", has_text="N groups").first.wait_for(
        state="detached", timeout=30_000)
    page.wait_for_timeout(500)


def test_simulator_updates_raster(served_app, page, artifacts_dir):
    open_app(page, served_app)
    before = raster_png(page)
    page.screenshot(path=str(artifacts_dir / "data_page_demo.png"))

    choose_poisson(page)
    set_number(page, "N units", 37)
    page.get_by_role("button", name="Simulate").click()
    wait_for_units(page, 37)
    page.wait_for_timeout(2000)
    after = raster_png(page)
    page.screenshot(path=str(artifacts_dir / "data_page_simulated.png"))
    assert after != before, "the raster did not change after simulating"
    # the summary table shows the new size too
    assert page.locator("td", has_text=re.compile(r"^37$")).count() >= 1
    assert not page.js_errors, page.js_errors


def test_spot_variant_is_chosen_from_a_list(served_app, page, artifacts_dir):
    open_app(page, served_app)
    page.get_by_role("button", name="Simulator").click()
    page.locator(".bk-input-group", has_text="N groups").first.wait_for(timeout=30_000)
    page.locator("select").first.select_option("spot_patterns")
    variant = page.locator(".bk-input-group", has_text="Variant").locator("select")
    variant.wait_for(timeout=30_000)
    assert page.locator(".bk-input-group", has_text="Mode prob").count() == 0
    variant.select_option("bimodal")  # a name from the list, no quoted literal
    page.locator(".bk-input-group", has_text="Mode prob").first.wait_for(timeout=30_000)
    page.locator(".bk-input-group", has_text="Noise").locator("select").select_option(
        "patterned")
    set_number(page, "N units", 21)
    set_number(page, "N noise epochs", 10)
    page.get_by_role("button", name="Simulate").click()
    wait_for_units(page, 21)
    page.screenshot(path=str(artifacts_dir / "data_page_spot_variant.png"))
    assert page.locator(".bk-panel-models-layout-Alert:visible, .alert:visible").count() == 0
    assert not page.js_errors, page.js_errors


def test_upload_good_and_bad_files(served_app, page, tmp_path, artifacts_dir):
    good = tmp_path / "eleven.parquet"
    analysis.save(simulate.poisson(n_units=11, t_stop=3.0, seed=5), good)
    bad = tmp_path / "broken.csv"
    bad.write_text("time,unit\n0.5,a\n-1.0,b\n")
    open_app(page, served_app)
    page.get_by_role("button", name="Upload").click()
    page.locator("#main input[type=file]").first.set_input_files(str(good))
    wait_for_units(page, 11)
    page.locator("#main input[type=file]").first.set_input_files(str(bad))
    alert = page.get_by_text(re.compile(r"broken\.csv.*negative time"))
    alert.first.wait_for(timeout=30_000)
    page.screenshot(path=str(artifacts_dir / "data_page_upload_error.png"))
    wait_for_units(page, 11, timeout=1000)  # the bad file did not replace the data


def test_upload_larger_than_one_chunk(served_app, page, tmp_path, artifacts_dir):
    """FileDropper sends files in chunks of 10 MB (data_page.py); a 13 MB file takes two,
    and the page must put them back together (the test server's limit is the default
    1000 MB)."""
    from dashboard.data_page import DataPage

    chunk = 10_000_000
    source = inspect.getsource(DataPage.__init__)
    assert f"chunk_size={chunk:_}" in source  # keep this test in step with the page
    data = simulate.poisson(n_units=150, rate=100.0, t_stop=110.0, seed=9)
    big = tmp_path / "large.npz"
    analysis.save(data, big)
    assert big.stat().st_size > 1.2 * chunk
    open_app(page, served_app)
    page.get_by_role("button", name="Upload").click()
    page.locator("#main input[type=file]").first.set_input_files(str(big))
    wait_for_units(page, 150, timeout=90_000)
    # the summary table counts every spike of the file
    page.locator("td", has_text=re.compile(rf"^{data.n_spikes}$")).first.wait_for(
        timeout=30_000)
    page.get_by_text(f"{data.n_spikes:,} spikes").first.wait_for(timeout=10_000)
    page.wait_for_timeout(1000)
    page.screenshot(path=str(artifacts_dir / "data_page_large_upload.png"))
    assert not page.js_errors, page.js_errors


def test_two_sessions_do_not_share_data(served_app, browser):
    first = browser.new_context().new_page()
    second = browser.new_context().new_page()
    try:
        open_app(first, served_app)
        open_app(second, served_app)
        choose_poisson(first)
        set_number(first, "N units", 23)
        first.get_by_role("button", name="Simulate").click()
        wait_for_units(first, 23)
        second.reload()
        wait_for_units(second, 500)
        assert second.get_by_text(re.compile(r"\b23 units\b")).count() == 0
    finally:
        first.context.close()
        second.context.close()


def test_nwb_interval_table_as_epochs(served_app, page, tmp_path, artifacts_dir):
    from test_data_page_jobs import write_nwb_with_tables

    path = write_nwb_with_tables(tmp_path / "session.nwb")
    open_app(page, served_app)
    page.get_by_role("button", name="Upload").click()
    page.locator("#main input[type=file]").first.set_input_files(str(path))
    wait_for_units(page, 2)
    choice = page.locator(".bk-input-group:visible", has_text="Epochs from").locator("select")
    choice.wait_for(timeout=30_000)
    assert choice.input_value() == "trials"
    choice.select_option("stimulus")
    labels = page.locator(".bk-input-group:visible", has_text="Epoch labels").locator("select")
    page.wait_for_function("s => [...s.options].some(o => o.value === 'orientation')",
                           arg=labels.element_handle(), timeout=10_000)
    labels.select_option("orientation")
    page.get_by_role("button", name="Use these epochs").click()
    # the summary table counts the epochs: 2 stimulus presentations (was 1 trial)
    page.locator("tr", has_text="epochs").filter(has_text="2").first.wait_for(timeout=30_000)
    # the choice stays on the page, showing what was loaded
    choice.wait_for(state="visible", timeout=5_000)
    assert choice.input_value() == "stimulus" and labels.input_value() == "orientation"
    page.screenshot(path=str(artifacts_dir / "data_page_nwb_epochs.png"))
    assert not page.js_errors, page.js_errors


def test_restrict_and_analyse_the_restriction(served_app, page, artifacts_dir):
    page.set_viewport_size({"width": 1400, "height": 1100})
    open_app(page, served_app)
    page.get_by_text("Restrict: time window and units").click()
    set_number(page, "From (s)", 1)
    set_number(page, "To (s)", 3)
    units = page.locator(".bk-input-group:visible", has_text="Units").locator("input").first
    units.fill("0-99")
    units.press("Enter")
    page.get_by_role("button", name="Restrict", exact=True).click()
    page.get_by_text(re.compile(r"Restricted: time 1-3 s; 100 of 500 units")).first.wait_for(
        timeout=30_000)
    wait_for_units(page, 100)
    page.screenshot(path=str(artifacts_dir / "data_page_restricted.png"))
    page.get_by_role("button", name="ASSET", exact=True).click()
    page.get_by_role("button", name="Run ASSET").click()
    page.get_by_text(re.compile(r"Restricted recording: time 1-3 s")).first.wait_for(
        timeout=120_000)
    page.wait_for_timeout(1500)
    page.screenshot(path=str(artifacts_dir / "asset_page_restricted.png"), full_page=True)
    page.get_by_role("button", name="Data", exact=True).click()
    page.get_by_role("button", name="Whole recording").click()
    wait_for_units(page, 500)
    assert not page.js_errors, page.js_errors


def test_restrict_to_the_units_of_an_assembly_run(served_app, page, artifacts_dir):
    from ui_helpers import open_with_demo

    page.set_viewport_size({"width": 1400, "height": 1100})
    open_with_demo(page, served_app, "SIP assembly (100 units, 20 s)", 100,
                   "Assembly neurons")
    set_number(page, "N surrogates", 199)
    page.wait_for_timeout(300)
    page.get_by_role("button", name="Run", exact=True).click()
    summary = page.get_by_text(re.compile(r"(\d+) of 100 units significant"))
    summary.first.wait_for(timeout=120_000)
    n_sig = int(re.search(r"(\d+) of 100 units significant",
                          summary.first.inner_text()).group(1))
    page.get_by_role("button", name="Data", exact=True).click()
    page.get_by_text("Restrict: time window and units").click()
    choice = page.locator(".bk-input-group:visible",
                          has_text="Units or epochs from a result").locator("select")
    choice.wait_for(timeout=10_000)
    label = rf"{n_sig} significant units of assembly run \d+ \("
    options = choice.locator("option").all_inner_texts()
    assert any(re.match(label, o) for o in options), options
    choice.select_option(label=next(o for o in options if re.match(label, o)))
    page.wait_for_timeout(300)
    page.screenshot(path=str(artifacts_dir / "restrict_units_from_a_result.png"))
    page.get_by_role("button", name="Restrict", exact=True).click()
    page.get_by_text(re.compile(rf"Restricted: {n_sig} of 100 units \({label}")).first \
        .wait_for(timeout=30_000)
    wait_for_units(page, n_sig)
    assert not page.js_errors, page.js_errors
