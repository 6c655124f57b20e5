"""The ASSET page in headless Chromium: run on the default demo, select an SSE, bad input."""

import re
import time

import pytest

from ui_helpers import open_app, set_number

pytestmark = pytest.mark.browser

# the page scrolls inside the template's main area, so a screenshot of all of it needs a
# tall window rather than full_page=True
TALL = {"width": 1400, "height": 2050}


def open_asset_page(page, url):
    open_app(page, url)
    page.get_by_role("button", name="ASSET", exact=True).click()
    page.get_by_role("button", name="Run ASSET").wait_for(timeout=30_000)


def summary(page):
    return page.get_by_text(re.compile(r"significant entries")).first


def wait_until(condition, timeout=30.0, what="condition"):
    deadline = time.time() + timeout
    while not condition():
        if time.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.25)


def shot(locator):
    """A screenshot of the element, or None while the page redraws it (Bokeh replaces
    canvases when a plot changes, which detaches the element mid-screenshot)."""
    from playwright.sync_api import Error

    try:
        return locator.screenshot(timeout=10_000)
    except Error:
        return None


def plot_titles(page):
    """Titles of every Bokeh plot on the page (they are drawn on canvases, not in the DOM,
    so ask BokehJS's document models)."""
    return page.evaluate("""() => {
        const out = [];
        for (const doc of Bokeh.documents)
            for (const m of doc.all_models)
                if (String(m.type || m.constructor.__name__).endsWith("Title") && m.text)
                    out.push(m.text);
        return out;
    }""")


def test_run_asset_on_the_demo(served_app, page, artifacts_dir):
    open_asset_page(page, served_app)
    page.get_by_role("button", name="Run ASSET").click()
    # results: the summary with the ground-truth score, the SSE table, five matrices, three
    # rasters and two close-ups of the largest SSE
    summary(page).wait_for(timeout=90_000)
    assert "ordering score" in summary(page).inner_text()
    page.locator(".tabulator-row").first.wait_for(timeout=30_000)
    # (plot titles are drawn on canvases, so count those)
    canvases = page.locator(".bk-Canvas:visible")
    wait_until(lambda: canvases.count() >= 10, what="5 matrices and 5 rasters")
    titles = plot_titles(page)
    for expected in ("intersection matrix", "probability matrix", "joint-probability matrix",
                     "mask", "clusters", "original order", "ASSET order", "true order"):
        assert any(t.startswith(expected) for t in titles), (expected, titles)
    page.set_viewport_size(TALL)
    page.evaluate("document.querySelectorAll('*').forEach(e => { e.scrollTop = 0; })")
    page.wait_for_timeout(3000)  # let datashader fill the images at the new size
    page.screenshot(path=str(artifacts_dir / "asset_page.png"))

    # a click on another SSE row selects it in the highlight menu
    rows = page.locator(".tabulator-row")
    select = page.locator(".bk-input-group", has_text="Highlight SSE").locator("select")
    if rows.count() > 1:
        rows.nth(0).click()
        wait_until(lambda: select.evaluate("s => s.selectedIndex") == 1,
                   what="the first SSE in the menu")
    # the matrices zoom in on it
    # (Bokeh's checkbox label is a sibling of the input, not a <label>)
    matrix = page.locator(".bk-Canvas:visible").first
    page.wait_for_timeout(1000)  # let the selection's redraw settle
    shots = []
    wait_until(lambda: shots.append(shot(matrix)) or shots[-1] is not None,
               what="a screenshot of the first matrix")
    overview = shots[-1]
    page.get_by_text("Zoom matrices to the SSE").first.evaluate(
        "label => label.previousElementSibling.click()")
    wait_until(lambda: shot(matrix) not in (None, overview), what="zoomed matrices")
    page.wait_for_timeout(2000)
    page.screenshot(path=str(artifacts_dir / "asset_page_zoomed.png"))

    # a stricter alpha reruns only the cheap steps: the summary changes without Run
    before = summary(page).inner_text()
    set_number(page, "Alpha j", 0.99999)
    wait_until(lambda: summary(page).inner_text() != before, what="a new summary")
    assert not page.js_errors, page.js_errors


def test_bad_parameter_shows_one_line_error(served_app, page, artifacts_dir):
    open_asset_page(page, served_app)
    set_number(page, "N largest", 1000)
    page.get_by_role("button", name="Run ASSET").click()
    alert = page.locator(".alert", has_text="n_largest")
    alert.first.wait_for(timeout=60_000)
    assert "Traceback" not in alert.first.inner_text()
    page.screenshot(path=str(artifacts_dir / "asset_page_error.png"))
    assert not page.js_errors, page.js_errors


def matrix_images(page):
    """For each datashaded matrix: its plot's title, the axes' ranges and the extent of the
    image drawn, from BokehJS's document."""
    return page.evaluate("""(matrices) => {
        const out = [];
        for (const doc of Bokeh.documents)
            for (const m of doc.all_models) {
                if (!m.renderers || !m.x_range || !m.title) continue;
                for (const r of m.renderers) {
                    const glyph = r.glyph;
                    if (!glyph || !String(glyph.type || glyph.constructor.__name__)
                                     .endsWith("Image")) continue;
                    const data = r.data_source.data;
                    const value = (p) => (p !== null && typeof p === "object")
                        ? ("field" in p ? data[p.field][0] : p.value) : p;
                    if (!matrices.some(t => m.title.text.startsWith(t))) continue;
                    out.push({title: m.title.text,
                              x_range: [m.x_range.start, m.x_range.end],
                              y_range: [m.y_range.start, m.y_range.end],
                              x: [value(glyph.x), value(glyph.x) + value(glyph.dw)],
                              y: [value(glyph.y), value(glyph.y) + value(glyph.dh)]});
                }
            }
        return out;
    }""", MATRIX_TITLES)


MATRIX_TITLES = ["intersection matrix", "probability matrix", "joint-probability matrix",
                 "mask", "clusters"]


def uncovered(images):
    """The matrices whose image leaves part of their axes' ranges undrawn (by more than
    2% of the range)."""
    bad = []
    for m in images:
        for axis in ("x", "y"):
            (lo, hi), (a, b) = m[f"{axis}_range"], m[axis]
            tol = 0.02 * (hi - lo)
            if a > lo + tol or b < hi - tol:
                bad.append(m)
    return bad


def test_zoom_then_another_sse_draws_the_whole_matrix(served_app, page, artifacts_dir):
    """Issue 13: wheel-zoom the matrices, then pick another SSE: the images must cover
    the axes' ranges (the axes used to reset to the whole matrix with only the zoomed
    patch drawn)."""
    open_asset_page(page, served_app)
    page.get_by_role("button", name="Run ASSET").click()
    summary(page).wait_for(timeout=90_000)
    select = page.locator(".bk-input-group", has_text="Highlight SSE").locator("select")
    wait_until(lambda: select.locator("option").count() >= 3, what="two SSEs in the menu")
    wait_until(lambda: len(matrix_images(page)) == 5, what="five matrix images")
    page.wait_for_timeout(1500)
    before = matrix_images(page)
    matrix = page.locator(".bk-Canvas:visible").first
    matrix.scroll_into_view_if_needed()  # the wheel acts only where the mouse can be
    page.wait_for_timeout(500)
    box = matrix.bounding_box()
    page.mouse.move(box["x"] + box["width"] * 0.4, box["y"] + box["height"] * 0.4)
    for _ in range(4):
        page.mouse.wheel(0, -300)
        page.wait_for_timeout(300)
    full = [m["x_range"][1] - m["x_range"][0] for m in before]

    def zoomed():  # the axes zoomed and the images redrawn for them (the four matrices in
        # view; the clusters plot below the fold may redraw later)
        return all(m["x"][1] - m["x"][0] < 0.9 * f and m["x_range"][1] - m["x_range"][0]
                   < 0.9 * f for m, f in list(zip(matrix_images(page), full))[:4])
    try:
        wait_until(zoomed, what="the zoomed images")
    finally:
        page.screenshot(path=str(artifacts_dir / "asset_zoomed_by_wheel.png"))

    select.select_option(index=2 if select.evaluate("s => s.selectedIndex") != 2 else 1)
    page.wait_for_timeout(3000)  # let the selection's redraw settle
    page.screenshot(path=str(artifacts_dir / "asset_zoom_then_other_sse.png"))
    images = matrix_images(page)
    assert len(images) == 5, images
    assert not uncovered(images), uncovered(images)
    assert not page.js_errors, page.js_errors


def highlight_counts(page):
    """How many entries the matrices' highlight marks hold, per plot (BokehJS's data
    sources with a time_i column: the marks on each matrix)."""
    return page.evaluate("""() => {
        const out = [];
        for (const doc of Bokeh.documents)
            for (const m of doc.all_models)
                if (m.data && typeof m.data === "object" && !(m.data instanceof Array)) {
                    const d = m.data instanceof Map ? Object.fromEntries(m.data) : m.data;
                    if ("time_i" in d && "time_j" in d) out.push(d.time_i.length);
                }
        return out;
    }""")


def test_too_many_bins_offer_runs_in_tiles(served_app, page, artifacts_dir):
    """Issue 15 item 2: the SIP demo (20 s) at 3 ms has 6,666 bins, over the page's 5,000:
    Run ASSET offers the tiled run and a window; "Run in tiles" draws a tiled result."""
    open_app(page, served_app)
    page.locator("select").first.select_option("SIP assembly (100 units, 20 s)")
    page.get_by_role("button", name="Load demo").click()
    page.get_by_text(re.compile(r"\b100 units\b")).first.wait_for(timeout=60_000)
    page.get_by_role("button", name="ASSET", exact=True).click()
    page.get_by_role("button", name="Run ASSET").click()
    offer = page.get_by_text(re.compile(r"gives 6666 bins")).first
    offer.wait_for(timeout=30_000)
    assert page.get_by_role("button", name="Restrict to a window of 15 s").is_visible()
    page.evaluate("document.querySelectorAll('*').forEach(e => { e.scrollTop = 0; })")
    page.screenshot(path=str(artifacts_dir / "asset_too_many_bins_offer.png"))
    page.get_by_role("button", name="Run in tiles").click()
    page.get_by_text(re.compile(r"Tiled run \(row tiles\)")).first.wait_for(timeout=180_000)
    wait_until(lambda: any(t.startswith("significant entries (tiled run")
                           for t in plot_titles(page)), what="the significant entries")
    assert "6666 bins of 3 ms" in summary(page).inner_text()
    page.set_viewport_size(TALL)
    page.evaluate("document.querySelectorAll('*').forEach(e => { e.scrollTop = 0; })")
    page.wait_for_timeout(3000)
    page.screenshot(path=str(artifacts_dir / "asset_tiled_result.png"))
    assert not page.js_errors, page.js_errors


def test_an_sse_row_highlights_it_and_a_second_click_clears(served_app, page, artifacts_dir):
    """Issue 15 item 2: a click on an SSE row marks its entries in all five matrices; a
    second click on the row removes the marks."""
    open_asset_page(page, served_app)
    page.get_by_role("button", name="Run ASSET").click()
    summary(page).wait_for(timeout=90_000)
    rows = page.locator(".tabulator-row:visible")
    wait_until(lambda: rows.count() >= 2, what="two SSE rows")
    # the largest SSE is highlighted from the start; a click on another row moves it
    wait_until(lambda: len(highlight_counts(page)) == 5, what="five matrices' marks")
    first = highlight_counts(page)
    assert first[0] > 0 and len(set(first)) == 1, first
    other = next(k for k in range(rows.count())
                 if "tabulator-selected" not in rows.nth(k).get_attribute("class"))

    def moved():
        counts = highlight_counts(page)
        return counts not in (first, [0] * 5) and len(set(counts)) == 1

    # A click that lands while the page still redraws after the run can be lost (seen
    # once in CI, 1 run in 3); the user would click again, and so does the test, until
    # the marks move (a click that deselected shows no marks, and the next selects again)
    for attempt in range(3):
        rows.nth(other).click()
        try:
            wait_until(moved, timeout=10.0 if attempt < 2 else 30.0,
                       what=f"the clicked SSE's marks (had {first})")
            break
        except AssertionError:
            if attempt == 2:
                raise
    page.set_viewport_size(TALL)
    page.evaluate("document.querySelectorAll('*').forEach(e => { e.scrollTop = 0; })")
    page.wait_for_timeout(3000)
    page.screenshot(path=str(artifacts_dir / "asset_sse_highlight.png"))
    rows.nth(other).click()  # the same row again: no SSE highlighted
    wait_until(lambda: highlight_counts(page) == [0] * 5, what="the marks removed")
    select = page.locator(".bk-input-group", has_text="Highlight SSE").locator("select")
    assert select.evaluate("s => s.selectedIndex") == 0
    assert not page.js_errors, page.js_errors
