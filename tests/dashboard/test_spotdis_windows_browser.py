"""Sliding windows on the SPOTDis page in headless Chromium: the embedded-sequences demo,
SpikeShip, the label band under the raster and a pattern's sequence."""

import re

import pytest

from ui_helpers import open_with_demo, set_number

pytestmark = pytest.mark.browser

DEMO = "Embedded sequences (30 units, 120 s)"


def test_sliding_windows_show_the_pattern_band(served_app, page, artifacts_dir):
    open_with_demo(page, served_app, DEMO, 30, "SPOTDis")
    page.get_by_role("button", name="SpikeShip", exact=True).click()
    set_number(page, "Length of sliding windows (ms)", 200)
    set_number(page, "Step of sliding windows (ms)", 50)
    set_number(page, "Fewest active units", 15)
    page.get_by_role("button", name="Run sliding windows").click()
    summary = page.get_by_text(re.compile(r"patterns in 2397 windows")).first
    summary.wait_for(timeout=120_000)
    text = summary.inner_text()
    assert "3 patterns" in text and "SpikeShip" in text, text
    ari = float(re.search(r"embedded times (\d\.\d+)", text).group(1))
    assert ari >= 0.9, text
    # the raster with its band, and the first pattern's sequence
    page.locator(".bk-Canvas:visible").nth(1).wait_for(timeout=60_000)
    page.set_viewport_size({"width": 1400, "height": 1300})
    summary.evaluate("e => e.scrollIntoView()")
    page.wait_for_timeout(3000)
    page.screenshot(path=str(artifacts_dir / "spotdis_windows.png"))
    page.set_viewport_size({"width": 1400, "height": 900})
    assert not page.js_errors, page.js_errors


def test_spikeship_run_shows_the_cluster_flows(served_app, page, artifacts_dir):
    open_with_demo(page, served_app, "Pulse patterns (300 epochs, 50 units)", 50, "SPOTDis")
    page.get_by_role("button", name="SpikeShip", exact=True).click()
    page.get_by_role("button", name="Run", exact=True).click()
    summary = page.get_by_text(re.compile(r"clusters.*ARI.*SpikeShip")).first
    summary.wait_for(timeout=120_000)
    # matrix, map, epoch raster, cross-correlation and the flows: five canvases
    flows = page.locator(".bk-Canvas:visible").nth(4)
    flows.wait_for(timeout=60_000)
    page.set_viewport_size({"width": 1400, "height": 1300})
    flows.evaluate("e => e.scrollIntoView({block: 'end'})")
    page.wait_for_timeout(2500)
    page.screenshot(path=str(artifacts_dir / "spotdis_flows.png"))
    page.set_viewport_size({"width": 1400, "height": 900})
    assert not page.js_errors, page.js_errors
