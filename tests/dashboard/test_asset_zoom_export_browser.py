"""A matrix figure exported from the ASSET page follows the zoom the linked matrices show
(issue 15, item 5): wheel-zoom one matrix, download another as SVG, and its time axis is
the zoomed one."""

import re

import pytest
from test_asset_page_browser import matrix_images, open_asset_page, summary, wait_until

pytestmark = pytest.mark.browser


def _x_ticks(svg):
    """The x tick labels (s) of the figure's main axes (a vertical colour bar has none)."""
    labels = re.findall(r'<g id="xtick_\d+">.*?<text[^>]*>([^<]+)</text>', svg.decode(),
                        re.DOTALL)
    return [float(t.strip().replace("\u2212", "-")) for t in labels]


def _download_svg(page, title, tmp_path):
    figures = page.locator("select:visible").filter(
        has=page.locator("option", has_text=title))
    wait_until(lambda: figures.count() > 0, what=f"{title!r} in the list of figures")
    options = figures.first.locator("option").all_inner_texts()
    label = next((o for o in options if o.startswith(title)), None)
    assert label is not None, options
    figures.first.select_option(label=label)
    page.get_by_role("button", name="SVG", exact=True).last.click()
    page.wait_for_timeout(500)
    with page.expect_download(timeout=120_000) as info:
        page.get_by_role("button", name="Download figure").last.click()
    path = tmp_path / info.value.suggested_filename
    info.value.save_as(path)
    assert path.suffix == ".svg", path
    return path.read_bytes()


def test_a_matrix_exports_the_zoom_the_linked_matrices_show(served_app, page, tmp_path,
                                                            artifacts_dir):
    page.set_viewport_size({"width": 1400, "height": 1100})
    open_asset_page(page, served_app)
    page.get_by_role("button", name="Run ASSET").click()
    summary(page).wait_for(timeout=180_000)
    wait_until(lambda: len(matrix_images(page)) == 5, timeout=60, what="five matrices")
    page.wait_for_timeout(1500)
    full = _x_ticks(_download_svg(page, "probability matrix", tmp_path))
    assert min(full) <= 1.0 and max(full) >= 4.0, full  # the demo's 5 s

    # wheel-zoom the first matrix (the intersection matrix); the others follow
    before = matrix_images(page)
    matrix = page.locator(".bk-Canvas:visible").first
    matrix.scroll_into_view_if_needed()
    page.wait_for_timeout(500)
    box = matrix.bounding_box()
    page.mouse.move(box["x"] + box["width"] * 0.4, box["y"] + box["height"] * 0.4)
    for _ in range(4):
        page.mouse.wheel(0, -300)
        page.wait_for_timeout(300)
    width = before[1]["x_range"][1] - before[1]["x_range"][0]

    def followed():  # the probability matrix's axes and image zoomed with the first's
        m = matrix_images(page)[1]
        return m["x_range"][1] - m["x_range"][0] < 0.7 * width \
            and m["x"][1] - m["x"][0] < 0.7 * width
    wait_until(followed, what="the probability matrix zoomed with the first")
    page.wait_for_timeout(1500)
    shown = next(m for m in matrix_images(page) if m["title"].startswith("probability"))
    lo, hi = shown["x_range"]
    page.screenshot(path=str(artifacts_dir / "asset_zoomed_before_export.png"))

    ticks = _x_ticks(_download_svg(page, "probability matrix", tmp_path))
    assert ticks, "no x ticks in the SVG"
    tol = 0.02 * (hi - lo)
    # the file's time axis is the zoom shown, not the whole recording
    assert lo - tol <= min(ticks) and max(ticks) <= hi + tol, (ticks, (lo, hi))
    assert max(ticks) - min(ticks) < 0.8 * (max(full) - min(full)), (ticks, full)
    # the same as PNG, for a person to look at
    page.get_by_role("button", name="PNG", exact=True).last.click()
    page.wait_for_timeout(500)
    with page.expect_download(timeout=120_000) as info:
        page.get_by_role("button", name="Download figure").last.click()
    info.value.save_as(artifacts_dir / "asset_zoomed_export.png")
    assert (artifacts_dir / "asset_zoomed_export.png").read_bytes()[:4] == b"\x89PNG"
    assert not page.js_errors, page.js_errors
