"""Issue 15 in the browser: a setting survives a reload and Back before any run, and a
figure downloads as PNG."""

import re
import struct

import pytest
from playwright.sync_api import expect
from ui_helpers import open_app, set_number

pytestmark = pytest.mark.browser


def _bin_size_field(page):
    return page.locator(".bk-input-group:visible", has_text="Bin size").locator("input").first


def _bin_size(page):
    return _bin_size_field(page).input_value()


def test_a_setting_survives_reload_and_back_and_a_figure_downloads(served_app, page,
                                                                   tmp_path, artifacts_dir):
    open_app(page, served_app)
    page.get_by_role("button", name="ASSET", exact=True).click()
    page.get_by_role("button", name="Run ASSET").wait_for(timeout=30_000)
    set_number(page, "Bin size", 10)
    page.wait_for_function("() => location.search.includes('asset.bin_size=0.01')",
                           timeout=10_000)
    assert "page=ASSET" in page.url

    page.reload()  # before any run: the URL and the kept work carry the setting
    page.get_by_role("button", name="Run ASSET").wait_for(timeout=60_000)
    expect(_bin_size_field(page)).to_have_value("10", timeout=30_000)

    # another page, then Back: ASSET again, its setting kept (and still in the URL)
    page.get_by_role("button", name="Assembly neurons", exact=True).click()
    page.get_by_role("button", name="Sweep baseline").wait_for(timeout=30_000)
    assert "page=Assembly" in page.url and "asset.bin_size=0.01" in page.url
    page.go_back()
    page.get_by_role("button", name="Run ASSET").wait_for(state="visible", timeout=30_000)
    page.wait_for_function("() => location.search.includes('page=ASSET')", timeout=10_000)
    expect(_bin_size_field(page)).to_have_value("10", timeout=10_000)
    assert "asset.bin_size=0.01" in page.url

    # a hostile value in the URL: ignored, and the page says which parameter
    page.goto(re.sub(r"asset\.bin_size=[^&]*", "asset.bin_size=-5", page.url))
    page.get_by_text(re.compile(r"asset\.bin_size='-5' ignored")).first.wait_for(
        timeout=60_000)
    assert _bin_size(page) != "-5"
    set_number(page, "Bin size", 10)

    # run (10 ms bins: 500 bins) and download a figure
    page.get_by_role("button", name="Run ASSET").click()
    page.get_by_text("Figures", exact=True).first.wait_for(state="visible", timeout=180_000)
    button = page.get_by_role("button", name="Download figure")
    button.scroll_into_view_if_needed()
    page.wait_for_timeout(1000)
    page.screenshot(path=str(artifacts_dir / "figures_row.png"))
    box = button.bounding_box()
    # the table's and the figures' download rows, from the results' left edge
    page.screenshot(path=str(artifacts_dir / "figures_row_close.png"),
                    clip={"x": 260, "y": max(0, box["y"] - 70),
                          "width": box["x"] + box["width"] + 20 - 260,
                          "height": box["height"] + 90})
    with page.expect_download(timeout=60_000) as info:
        page.get_by_role("button", name="Download figure").click()
    path = tmp_path / info.value.suggested_filename
    info.value.save_as(path)
    assert path.suffix == ".png" and path.name.startswith("asset_")
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    assert width >= 200 and height >= 200
    assert not page.js_errors, page.js_errors
