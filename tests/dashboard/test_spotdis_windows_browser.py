"""SpikeShip on the SPOTDis page in headless Chromium: a run on the pulse demo draws the
selected cluster's flows. (The sliding-windows run, its band and sequence are checked in
test_spotdis_windows_reload_browser.py, with the same run.)"""

import re

import pytest

from ui_helpers import open_with_demo

pytestmark = pytest.mark.browser


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
