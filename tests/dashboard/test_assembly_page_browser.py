"""The Assembly neurons page in headless Chromium: run on the SIP demo, sweep, cancel."""

import re

import pytest

from ui_helpers import open_with_demo, set_number

pytestmark = pytest.mark.browser

SIP_DEMO = "SIP assembly (100 units, 20 s)"


def open_assembly_page(page, url):
    open_with_demo(page, url, SIP_DEMO, 100, "Assembly neurons")


def screenshot(page, path, height=1900):
    """The whole page: a tall window (the template scrolls its main area, which a full-page
    screenshot would not unroll), scrolled to the top."""
    page.set_viewport_size({"width": 1400, "height": height})
    page.evaluate("document.querySelector('#main').scrollTo(0, 0)")
    page.wait_for_timeout(1500)
    page.screenshot(path=str(path))
    page.set_viewport_size({"width": 1400, "height": 900})


def summary(page):
    return page.get_by_text(re.compile(r"units significant")).first


def test_run_sweep_and_cancel_on_the_sip_demo(served_app, page, artifacts_dir):
    open_assembly_page(page, served_app)
    set_number(page, "N surrogates", 200)
    page.wait_for_timeout(300)
    page.get_by_role("button", name="Run", exact=True).click()
    summary(page).wait_for(timeout=90_000)
    assert summary(page).inner_text().startswith("10 of 100 units significant")
    page.get_by_text("10 of 10 assembly members found").first.wait_for(timeout=10_000)
    page.locator(".tabulator-row").first.wait_for(timeout=30_000)
    # the box plot (its title is drawn on the canvas) and its caption
    page.get_by_text(re.compile(r"wide box")).first.wait_for(timeout=30_000)
    page.locator(".bk-Canvas:visible").first.wait_for(timeout=30_000)
    screenshot(page, artifacts_dir / "assembly_page.png")
    # the table's first ten rows are the assembly's members (units 0-9), all significant
    first_units = page.locator(".tabulator-row .tabulator-cell[tabulator-field='unit']")
    assert sorted(int(first_units.nth(i).inner_text()) for i in range(10)) == list(range(10))

    # a correction reruns only the table: with 200 surrogates Holm could flag no unit of
    # 100, so the run is refused with the number needed; back to no correction
    page.get_by_role("button", name="Holm", exact=True).click()
    page.locator(".alert", has_text="at least 9,999 surrogates").first.wait_for(
        timeout=30_000)
    page.get_by_role("button", name="none", exact=True).click()
    page.get_by_text(re.compile(r"10 of 100 units significant.*no correction")).first.wait_for(
        timeout=30_000)

    # the baseline sweep: one plot, baseline 0 either runs or is reported as skipped
    page.get_by_role("button", name="Sweep baseline").click()
    page.get_by_text("Baseline sweep", exact=True).wait_for(timeout=90_000)
    page.locator(".bk-Canvas:visible").nth(1).wait_for(timeout=30_000)
    screenshot(page, artifacts_dir / "assembly_page_sweep.png", height=2400)

    # a long run can be cancelled, and the page keeps its earlier results
    set_number(page, "N surrogates", 5000)
    page.wait_for_timeout(300)
    page.get_by_role("button", name="Run", exact=True).click()
    cancel = page.get_by_role("button", name="Cancel")
    page.wait_for_function("b => !b.disabled", arg=cancel.element_handle(), timeout=10_000)
    cancel.click()
    alert = page.locator(".alert", has_text="cancelled")
    alert.first.wait_for(timeout=60_000)
    assert "Traceback" not in alert.first.inner_text()
    assert summary(page).is_visible()
    screenshot(page, artifacts_dir / "assembly_page_cancelled.png", height=1100)
    assert not page.js_errors, page.js_errors


def test_trial_shuffling_errors_and_exact_test(served_app, page, artifacts_dir):
    open_assembly_page(page, served_app)
    page.get_by_role("button", name="trial", exact=True).click()
    set_number(page, "Trial length (s)", 3)
    page.wait_for_timeout(300)
    page.get_by_role("button", name="Run", exact=True).click()
    alert = page.locator(".alert", has_text="does not divide")
    alert.first.wait_for(timeout=60_000)
    assert "Traceback" not in alert.first.inner_text()

    # 5 trials of 4 s: the exact test over all 119 other trial orders, and the page says so
    set_number(page, "Trial length (s)", 4)
    page.wait_for_timeout(300)
    page.get_by_role("button", name="Run", exact=True).click()
    page.get_by_text(re.compile(r"all 119 trial orders")).first.wait_for(timeout=90_000)
    page.get_by_text(re.compile(r"119 trial-shuffled \(4 s trials\) surrogates")).first.wait_for(
        timeout=10_000)
    page.locator(".bk-Canvas:visible").first.wait_for(timeout=30_000)
    screenshot(page, artifacts_dir / "assembly_page_trials.png", height=1300)
    assert not page.js_errors, page.js_errors


def test_evaluation_figures_on_simulated_recordings(served_app, page, artifacts_dir):
    # FP and FN rates against coincidence rate, assembly size, N and baseline, on SIP
    # recordings simulated with the page's settings (ground truth known)
    open_assembly_page(page, served_app)
    set_number(page, "N surrogates", 99)
    set_number(page, "Alpha", 0.05)
    page.wait_for_timeout(300)
    page.get_by_role("button", name="Evaluation figures (simulated SIP)").click()
    page.get_by_text("Evaluation on simulated SIP recordings").wait_for(timeout=300_000)
    figure = page.locator(".bk-Canvas:visible")
    figure.first.wait_for(timeout=30_000)
    assert figure.count() >= 4  # one canvas per panel
    screenshot(page, artifacts_dir / "assembly_evaluation_figures.png", height=2400)
    assert not page.js_errors, page.js_errors


def test_analyse_the_significant_units_in_asset(served_app, page, artifacts_dir):
    """Issue 15: assembly -> "Analyse these units" -> ASSET runs on exactly those units."""
    from ui_helpers import open_with_demo

    page.set_viewport_size({"width": 1400, "height": 1100})
    open_with_demo(page, served_app, "SIP assembly (100 units, 20 s)", 100,
                   "Assembly neurons")
    page.get_by_role("button", name="Run", exact=True).click()
    page.get_by_text(re.compile(r"\d+ of 100 units significant")).first.wait_for(
        timeout=120_000)
    text = page.get_by_text(re.compile(r"(\d+) of 100 units significant")).first.inner_text()
    n = int(re.search(r"(\d+) of 100 units significant", text).group(1))
    assert n > 0
    page.get_by_text(f"Analyse these {n} significant units in").wait_for(timeout=10_000)
    page.locator(".bk-Canvas:visible").first.wait_for(timeout=30_000)
    page.wait_for_timeout(2000)
    page.screenshot(path=str(artifacts_dir / "assembly_hand_over.png"))
    page.get_by_role("button", name="Go", exact=True).locator("visible=true").first.click()
    page.get_by_role("button", name="Run ASSET").wait_for(state="visible", timeout=30_000)
    page.get_by_text(re.compile(rf"\b{n} units, 20 s")).first.wait_for(timeout=30_000)
    set_number(page, "Bin size (ms)", 10)  # 2,000 bins (at 3 ms, 20 s are too many)
    page.wait_for_timeout(300)
    page.get_by_role("button", name="Run ASSET").click()
    page.get_by_text(re.compile(rf"Restricted recording: {n} of 100 units \({n} significant "
                                r"units of assembly run \d+ \(")).first.wait_for(timeout=120_000)
    page.wait_for_timeout(3000)  # the matrices and rasters draw after the summary
    page.screenshot(path=str(artifacts_dir / "asset_after_hand_over.png"))
    assert not page.js_errors, page.js_errors
