"""Tooltips in headless Chromium (issue 13): the raster names the unit and counts the spikes
under the cursor, the SPOTDis matrix names both epochs and their clusters, and the t-SNE map
shows one epoch however many dots lie under the cursor."""

import re

import pytest

pytestmark = pytest.mark.browser

PULSE_DEMO = "Pulse patterns (300 epochs, 50 units)"


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
    return [(0.15 + 0.7 * i / n, 0.15 + 0.7 * j / n) for j in range(n) for i in range(n)]


def test_tooltips_name_units_epochs_and_clusters(served_app, page, artifacts_dir):
    # the pulse demo's units are "0".."49": the tooltip shows such an id, never a y coordinate
    page.goto(served_app)
    page.get_by_text(re.compile(r"\b500 units\b")).first.wait_for(timeout=60_000)
    page.locator("select").first.select_option(PULSE_DEMO)
    page.get_by_role("button", name="Load demo").click()
    page.get_by_text(re.compile(r"\b50 units\b")).first.wait_for(timeout=60_000)
    raster = page.locator(".bk-Canvas:visible").first
    raster.wait_for(timeout=30_000)
    page.wait_for_timeout(2000)
    text = hover_until(page, raster, [(x, y / 400) for x in (0.3, 0.5)
                                         for y in range(120, 280)],
                       r"spikes in pixel:?\s*[1-9]")
    page.screenshot(path=str(artifacts_dir / "hover_raster.png"))
    unit = re.search(r"unit:?\s*(\S+)", text)
    assert unit and unit.group(1) in {str(u) for u in range(50)}, text
    assert re.search(r"spikes in pixel:?\s*[1-9]\d*\s*$", text), text
    assert "NaN" not in text, text

    page.get_by_role("button", name="SPOTDis", exact=True).click()
    page.get_by_text(re.compile(r"300 epochs, 50 units")).first.wait_for(timeout=30_000)
    page.get_by_role("button", name="Run", exact=True).click()
    page.get_by_text(re.compile(r"clusters.*ARI")).first.wait_for(timeout=120_000)
    page.locator(".bk-Canvas:visible").nth(3).wait_for(timeout=60_000)
    page.wait_for_timeout(2000)
    matrix, tsne = (page.locator(".bk-Canvas:visible").nth(i) for i in (0, 1))
    epoch = r"epoch \d+ \((cluster \d+|noise)\)"
    text = hover_until(page, matrix, [(0.5, 0.5)], rf"row:?\s*{epoch}")
    page.screenshot(path=str(artifacts_dir / "hover_spotdis_matrix.png"))
    assert re.search(rf"row:?\s*{epoch}", text), text
    assert re.search(rf"column:?\s*{epoch}", text), text
    assert re.search(r"SPOTDis:?\s*\d\.\d{3}", text), text
    assert "rank" not in text, text

    text = hover_until(page, tsne, grid(24), r"epoch:?\s*\d+")
    page.screenshot(path=str(artifacts_dir / "hover_spotdis_map.png"))
    assert re.search(r"cluster:?\s*-?\d+", text), text
    assert len(re.findall(r"epoch", text)) == 1, text
    assert not page.js_errors, page.js_errors
