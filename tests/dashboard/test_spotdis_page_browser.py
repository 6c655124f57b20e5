"""The SPOTDis page in headless Chromium: run on the pulse-pattern demo, tap, colour toggle,
epochs cut around typed events."""

import re

import pytest

from ui_helpers import open_with_demo, set_number

pytestmark = pytest.mark.browser

PULSE_DEMO = "Pulse patterns (300 epochs, 50 units)"


def open_spotdis_page(page, url):
    open_with_demo(page, url, PULSE_DEMO, 50, "SPOTDis")


def screenshot(page, path, height=1500):
    page.set_viewport_size({"width": 1400, "height": height})
    page.evaluate("document.querySelector('#main').scrollTo(0, 0)")
    page.wait_for_timeout(2000)
    page.screenshot(path=str(path))
    page.set_viewport_size({"width": 1400, "height": 900})


def test_run_on_the_pulse_demo(served_app, page, artifacts_dir):
    open_spotdis_page(page, served_app)
    page.get_by_text(re.compile(r"300 epochs, 50 units")).first.wait_for(timeout=10_000)
    page.get_by_role("button", name="Run", exact=True).click()
    summary = page.get_by_text(re.compile(r"clusters.*ARI")).first
    summary.wait_for(timeout=120_000)
    text = summary.inner_text()
    assert "ARI 1.000" in text, text
    assert "undefined epoch pairs" in text
    # matrix, map, epoch raster and cross-correlation: four canvases
    page.locator(".bk-Canvas:visible").nth(3).wait_for(timeout=60_000)
    page.get_by_text("Selected epoch and cluster").first.wait_for(timeout=10_000)
    screenshot(page, artifacts_dir / "spotdis_page.png")

    # the colour toggle redraws the map by the true patterns
    page.get_by_role("button", name="ground truth", exact=True).click()
    page.wait_for_timeout(1500)
    screenshot(page, artifacts_dir / "spotdis_page_truth.png")

    # where the analysis has them: the rate-vector baseline and the window sweep
    baseline = page.get_by_role("button", name="Compare with rate baseline")
    if baseline.count():
        baseline.click()
        page.get_by_text(re.compile(r"Rate vectors \(no timing\)")).first.wait_for(
            timeout=120_000)
    sweep = page.get_by_role("button", name="Sweep window length")
    if sweep.count():
        sweep.click()
        page.get_by_text("Window sweep", exact=True).first.wait_for(timeout=180_000)
        page.locator(".tabulator-row").first.wait_for(timeout=30_000)
        screenshot(page, artifacts_dir / "spotdis_page_sweep.png", height=2000)
    assert not page.js_errors, page.js_errors


def test_data_without_epochs_offers_events(served_app, page, artifacts_dir):
    """The synfire demo has no epochs: the page switches to events + window and says so."""
    page.goto(served_app)
    page.get_by_text(re.compile(r"\b500 units\b")).first.wait_for(timeout=60_000)
    page.get_by_role("button", name="SPOTDis", exact=True).click()
    page.get_by_text(re.compile(r"no epochs.*cuts them around events")).first.wait_for(
        timeout=30_000)
    events = page.locator(".bk-input-group", has_text="Event times (s)").locator("input")
    events.first.wait_for(timeout=10_000)
    run = page.get_by_role("button", name="Run", exact=True)
    assert run.is_enabled()
    # no events given yet: a one-line error naming the field, no run
    run.click()
    page.get_by_text(re.compile(r"Event times \(s\): give the event times")).first.wait_for(
        timeout=30_000)
    screenshot(page, artifacts_dir / "spotdis_page_no_epochs.png", height=900)
    assert not page.js_errors, page.js_errors


def test_events_and_window_on_the_pulse_demo(served_app, page, artifacts_dir):
    """Choose events + window on data with epochs, run, and see the matrix and the map."""
    open_spotdis_page(page, served_app)
    page.get_by_text(re.compile(r"300 epochs, 50 units")).first.wait_for(timeout=10_000)
    page.get_by_role("button", name="events + window", exact=True).click()
    events = page.locator(".bk-input-group", has_text="Event times (s)").locator("input")
    events.first.wait_for(timeout=10_000)
    set_number(page, "Event times (s)", "0:45:0.3")
    set_number(page, "Window start (ms)", 0)
    set_number(page, "Window length (ms)", 300)
    page.get_by_role("button", name="Run", exact=True).click()
    summary = page.get_by_text(re.compile(r"clusters.*150 windows \[\+0, \+300\] ms around "
                                          r"events")).first
    summary.wait_for(timeout=120_000)
    assert "n/a (no true labels)" in summary.inner_text()
    # matrix, map, epoch raster and cross-correlation: four canvases
    page.locator(".bk-Canvas:visible").nth(3).wait_for(timeout=60_000)
    # the truth colouring belongs to the recording's epochs: not offered here
    assert page.get_by_role("button", name="ground truth", exact=True).is_disabled()
    screenshot(page, artifacts_dir / "spotdis_page_events.png")
    assert not page.js_errors, page.js_errors
