"""Sliding windows last a reload (issue 16): the SPOTDis page's band and summary come back
from the session's kept work without computing."""

import re

import pytest

from ui_helpers import open_with_demo, set_number

pytestmark = pytest.mark.browser

DEMO = "Embedded sequences (30 units, 120 s)"


def test_sliding_windows_come_back_after_a_reload(served_app, page, artifacts_dir):
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
    page.wait_for_timeout(1500)  # the result is written in the background
    page.reload()
    again = page.get_by_text(before).first
    again.wait_for(timeout=60_000)
    page.get_by_text(re.compile(r"^Band: ")).first.wait_for(timeout=30_000)
    page.set_viewport_size({"width": 1400, "height": 1300})
    again.evaluate("e => e.scrollIntoView()")
    page.wait_for_timeout(3000)
    page.screenshot(path=str(artifacts_dir / "spotdis_windows_reload.png"))
    page.set_viewport_size({"width": 1400, "height": 900})
    assert not page.js_errors, page.js_errors
