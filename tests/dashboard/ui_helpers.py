"""Playwright helpers shared by the browser tests (locators that work with Panel 1.9)."""

import re


def set_number(page, label, value):
    """Type a value into the numeric input whose widget group shows ``label``."""
    field = page.locator(".bk-input-group:visible", has_text=label).locator("input").first
    field.fill(str(value))
    field.press("Enter")


def open_with_demo(page, url, demo, n_units, page_name):
    """Open the app, load a demo on the Data page and navigate to ``page_name``."""
    page.goto(url)
    page.get_by_text(re.compile(r"\b500 units\b")).first.wait_for(timeout=60_000)
    page.locator("select").first.select_option(demo)
    page.get_by_role("button", name="Load demo").click()
    page.get_by_text(re.compile(rf"\b{n_units} units\b")).first.wait_for(timeout=60_000)
    page.get_by_role("button", name=page_name, exact=True).click()
    page.get_by_role("button", name="Run", exact=True).wait_for(timeout=30_000)
