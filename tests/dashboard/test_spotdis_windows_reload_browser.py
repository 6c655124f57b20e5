"""Sliding windows on the SPOTDis page (issue 16): a SpikeShip run on the embedded-sequences
demo finds its three patterns and draws the band and a sequence; they last a reload: the
band and summary come back
from the session's kept work without computing, with the settings they were computed with
in the sidebar; **Save work** holds them and **Open work** in another browser shows them."""

import re

import pytest

from ui_helpers import open_with_demo, set_number

pytestmark = pytest.mark.browser

DEMO = "Embedded sequences (30 units, 120 s)"


def _dissimilarity(page):
    """The dissimilarity selector's active button (the group with "rate vectors")."""
    group = page.locator(".bk-btn-group:visible", has_text="rate vectors").first
    return [b.inner_text() for b in group.locator("button.bk-active").all()]


def _number(page, label):
    field = page.locator(".bk-input-group:visible", has_text=label).locator("input").first
    return float(field.input_value())


def test_sliding_windows_come_back_after_a_reload(served_app, browser, page, tmp_path,
                                                  artifacts_dir):
    open_with_demo(page, served_app, DEMO, 30, "SPOTDis")
    page.get_by_role("button", name="SpikeShip", exact=True).click()
    set_number(page, "Length of sliding windows (ms)", 200)
    set_number(page, "Step of sliding windows (ms)", 50)
    set_number(page, "Fewest active units", 15)
    page.get_by_role("button", name="Run sliding windows").click()
    summary = page.get_by_text(re.compile(r"patterns in 2397 windows")).first
    summary.wait_for(timeout=120_000)
    before = summary.inner_text()
    assert re.search(r"\d+\.\d s$", before), before   # its run time: the same after reload
    # the run finds the three embedded patterns (one run for the page test and this one)
    assert "3 patterns" in before and "SpikeShip" in before, before
    ari = float(re.search(r"embedded times (\d\.\d+)", before).group(1))
    assert ari >= 0.9, before
    # the raster with its band, and the first pattern's sequence
    page.locator(".bk-Canvas:visible").nth(1).wait_for(timeout=60_000)
    page.set_viewport_size({"width": 1400, "height": 1300})
    summary.evaluate("e => e.scrollIntoView()")
    page.wait_for_timeout(3000)
    page.screenshot(path=str(artifacts_dir / "spotdis_windows.png"))
    page.set_viewport_size({"width": 1400, "height": 900})
    assert not page.js_errors, page.js_errors
    # the selector goes back to SPOTDis (no run): the URL and the kept settings lose
    # SpikeShip; the kept windows were computed with it
    page.locator(".bk-btn-group:visible", has_text="rate vectors").first.get_by_role(
        "button", name="SPOTDis", exact=True).click()
    page.wait_for_function("() => !location.search.includes('dissimilarity')",
                           timeout=10_000)
    assert _dissimilarity(page) == ["SPOTDis"]
    page.wait_for_timeout(1500)  # the result is written in the background
    page.reload()
    again = page.get_by_text(before).first
    again.wait_for(timeout=60_000)
    page.get_by_text(re.compile(r"^Band: ")).first.wait_for(timeout=30_000)
    page.wait_for_timeout(500)
    # the sidebar shows what the kept windows were computed with (before: SPOTDis, 2)
    assert _dissimilarity(page) == ["SpikeShip"]
    assert _number(page, "Fewest active units") == 15
    assert _number(page, "Length of sliding windows (ms)") == 200
    page.set_viewport_size({"width": 1400, "height": 1300})
    again.evaluate("e => e.scrollIntoView()")
    page.wait_for_timeout(3000)
    page.screenshot(path=str(artifacts_dir / "spotdis_windows_reload.png"))
    page.set_viewport_size({"width": 1400, "height": 900})
    assert not page.js_errors, page.js_errors

    # Save work holds the windows; another browser opens the file: the same summary, its
    # run time included (shown, not computed), the same settings
    with page.expect_download() as info:
        page.get_by_role("button", name="Save work").click()
    path = tmp_path / "windows.spikelens"
    info.value.save_as(path)
    other = browser.new_context(viewport={"width": 1400, "height": 1300})
    try:
        fresh = other.new_page()
        fresh.goto(served_app)
        fresh.get_by_text(re.compile(r"\b500 units\b")).first.wait_for(timeout=60_000)
        fresh.get_by_role("button", name="Upload").click()
        fresh.locator("#main input[type=file]").first.set_input_files(str(path))
        fresh.get_by_text(re.compile(r"\b30 units\b")).first.wait_for(timeout=60_000)
        fresh.get_by_role("button", name="SPOTDis", exact=True).first.click()
        shown = fresh.get_by_text(before).first
        shown.wait_for(timeout=60_000)
        fresh.get_by_text(re.compile(r"^Band: ")).first.wait_for(timeout=30_000)
        fresh.wait_for_timeout(500)
        assert _dissimilarity(fresh) == ["SpikeShip"]
        assert _number(fresh, "Fewest active units") == 15
        shown.evaluate("e => e.scrollIntoView()")
        fresh.wait_for_timeout(3000)
        fresh.screenshot(path=str(artifacts_dir / "spotdis_windows_opened.png"))
    finally:
        other.close()
