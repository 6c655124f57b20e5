"""Playwright helpers shared by the browser tests (locators that work with Panel 1.9)."""

import contextlib
import re

#: The window every browser test starts with (``page`` fixture in tests/conftest.py).
VIEWPORT = {"width": 1400, "height": 900}


def set_number(page, label, value):
    """Type a value into the numeric input whose widget group shows ``label``."""
    field = page.locator(".bk-input-group:visible", has_text=label).locator("input").first
    field.fill(str(value))
    field.press("Enter")


def wait_for_units(page, n, timeout=60_000):
    """Wait until the page names a recording of ``n`` units."""
    page.get_by_text(re.compile(rf"\b{n} units\b")).first.wait_for(timeout=timeout)


def open_app(page, url):
    """Open the app at ``url`` and wait for its default demo (a 500-unit synfire chain)."""
    page.goto(url)
    wait_for_units(page, 500)


def open_with_demo(page, url, demo, n_units, page_name):
    """Open the app, load a demo on the Data page and navigate to ``page_name``."""
    open_app(page, url)
    page.locator("select").first.select_option(demo)
    page.get_by_role("button", name="Load demo").click()
    wait_for_units(page, n_units)
    page.get_by_role("button", name=page_name, exact=True).click()
    page.get_by_role("button", name="Run", exact=True).wait_for(timeout=30_000)


@contextlib.contextmanager
def other_browser(browser, viewport=VIEWPORT):
    """A page in a browser context of its own (its own cookies: a visitor with another
    browser, so a session of its own on the server); the context closes on exit."""
    context = browser.new_context(viewport=viewport)
    try:
        yield context.new_page()
    finally:
        context.close()


def tooltip_text(page):
    """The text of the tooltips shown now (Bokeh draws each in a shadow root)."""
    tips = page.locator(".bk-Tooltip")
    return "\n".join(
        tips.nth(i).evaluate("e => e.shadowRoot.querySelector('.bk-tooltip-content')"
                             "?.innerText ?? ''")
        for i in range(tips.count()) if tips.nth(i).is_visible())


def hover_until(page, canvas, points, pattern):
    """Move the mouse over ``points`` (fractions of the canvas box) until a tooltip matches
    ``pattern``; return that tooltip's text (or the last one seen)."""
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    text = ""
    for fx, fy in points:
        page.mouse.move(box["x"] + fx * box["width"], box["y"] + fy * box["height"])
        page.wait_for_timeout(150)
        text = tooltip_text(page)
        if re.search(pattern, text):
            break
    return text


def grid(n):
    """``n`` x ``n`` points spread over the middle 70% of a canvas (for ``hover_until``)."""
    return [(0.15 + 0.7 * i / n, 0.15 + 0.7 * j / n) for j in range(n) for i in range(n)]
