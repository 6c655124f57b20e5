"""Navigating the app as a person does: Back and Forward, a reload on a page's URL, and
coming back to a page with results (issue 13)."""

import re
import time

import pytest

from ui_helpers import open_app

pytestmark = pytest.mark.browser


def on_page(page, name):
    """Wait until the page ``name`` is the one shown."""
    marker = {"Data": page.get_by_role("button", name="Load demo"),
              "ASSET": page.get_by_role("button", name="Run ASSET"),
              "Assembly neurons": page.get_by_role("button", name="Sweep baseline")}[name]
    marker.wait_for(state="visible", timeout=30_000)


def test_back_and_forward_follow_the_pages(served_app, page):
    open_app(page, served_app)
    for name in ("ASSET", "Assembly neurons"):
        page.get_by_role("button", name=name, exact=True).click()
        on_page(page, name)
    assert "page=Assembly" in page.url
    page.go_back()
    on_page(page, "ASSET")
    assert "page=ASSET" in page.url
    page.go_back()
    on_page(page, "Data")
    page.go_forward()
    on_page(page, "ASSET")
    assert not page.get_by_role("button", name="Sweep baseline").is_visible()
    assert not page.js_errors, page.js_errors


def test_a_pages_url_opens_that_page(served_app, page):
    page.goto(served_app + "?page=Assembly+neurons")
    on_page(page, "Assembly neurons")
    page.goto(served_app + "?page=nonsense")
    on_page(page, "Data")


def test_coming_back_to_results_is_instant(served_app, page, artifacts_dir):
    open_app(page, served_app)
    page.get_by_role("button", name="ASSET", exact=True).click()
    page.get_by_role("button", name="Run ASSET").click()
    summary = page.get_by_text(re.compile(r"significant entries")).first
    summary.wait_for(timeout=120_000)
    times = []
    for _ in range(2):  # the better of two returns: one GC pause of a loaded machine aside
        page.get_by_role("button", name="Data", exact=True).click()
        on_page(page, "Data")
        assert not summary.is_visible()
        started = time.perf_counter()
        page.get_by_role("button", name="ASSET", exact=True).click()
        summary.wait_for(state="visible", timeout=10_000)
        page.locator(".bk-Canvas:visible").first.wait_for(state="visible", timeout=10_000)
        times.append(time.perf_counter() - started)
    page.screenshot(path=str(artifacts_dir / "asset_page_returned.png"))
    print(f"back on the ASSET page with its results in {', '.join(f'{t:.2f}' for t in times)} s")
    # issue 13 asks for 1 s: a hidden page stays laid out (dashboard/app.py HIDDEN), so
    # showing it draws nothing anew; 0.1-0.2 s measured (0.9-1.5 s with Bokeh's
    # visible=False, which re-laid out every plot; 7-8 s when pages were rebuilt)
    assert min(times) < 1.0
