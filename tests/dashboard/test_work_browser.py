"""Work that lasts a reload (issue 15 item 1): the page, the data and the results come back
without computing; another browser given the same URL gets none of it."""

import re

import pytest
from ui_helpers import open_app, open_with_demo, other_browser, set_number, wait_for_units

pytestmark = pytest.mark.browser


def test_reload_restores_page_data_and_results_and_saved_work_opens_elsewhere(
        served_app, browser, page, tmp_path, artifacts_dir):
    # (one run for both: a reload restores it, and Save work carries it to another browser)
    open_with_demo(page, served_app, "SIP assembly (100 units, 20 s)", 100,
                   "Assembly neurons")
    set_number(page, "N surrogates", 199)
    page.wait_for_timeout(300)
    page.get_by_role("button", name="Run", exact=True).click()
    summary = page.get_by_text(re.compile(r"of 100 units significant .* (\d+\.\d) s$"))
    summary.first.wait_for(timeout=120_000)
    before = summary.first.inner_text()
    url = page.url
    assert "work=" in url and "page=Assembly" in url
    with page.expect_download() as info:
        page.get_by_role("button", name="Save work").click()
    path = tmp_path / "work.spikelens"
    info.value.save_as(path)
    page.wait_for_timeout(1500)  # the result is written in the background

    page.reload()
    # same page, same data, the same result (its run time too: nothing was computed)
    page.get_by_text(before).first.wait_for(timeout=60_000)
    page.get_by_text(re.compile(r"SIP assembly")).first.wait_for(timeout=10_000)
    assert page.get_by_role("button", name="Sweep baseline").is_visible()
    page.screenshot(path=str(artifacts_dir / "work_after_reload.png"))

    # another browser (its own cookies) with the very same URL: a fresh session
    with other_browser(browser) as stranger:
        stranger.goto(url)
        wait_for_units(stranger, 500)
        stranger.get_by_role("button", name="Sweep baseline").wait_for(timeout=30_000)
        assert stranger.get_by_text(before).count() == 0
        assert "work=" in stranger.url and stranger.url != url  # a work of its own

    # another browser that opens the saved work file
    with other_browser(browser) as fresh:
        open_app(fresh, served_app)
        fresh.get_by_role("button", name="Upload").click()
        fresh.locator("#main input[type=file]").first.set_input_files(str(path))
        wait_for_units(fresh, 100)
        fresh.get_by_role("button", name="Assembly neurons", exact=True).click()
        # the same result, its run time included: shown, not computed again
        fresh.get_by_text(before).first.wait_for(timeout=30_000)
        fresh.screenshot(path=str(artifacts_dir / "work_opened.png"))
    assert not page.js_errors, page.js_errors


def test_serve_open_shows_a_work_file_s_results(start_server, page, tmp_path):
    from analysis import simulate
    from analysis.assembly import AssemblyNeurons
    from dashboard.work import write_work_file

    data = simulate.sip(n_units=30, assembly_size=5, t_stop=5, seed=1)
    result = AssemblyNeurons(data=data, n_surrogates=199, alpha=0.05).run()
    path = tmp_path / "lab.spikelens"
    path.write_bytes(write_work_file(data, "lab recording", {"assembly": result}))
    n_sig = int(result.table["significant"].sum())
    with start_server("--open", str(path)) as port:
        page.goto(f"http://localhost:{port}/?page=Assembly+neurons")
        page.get_by_text(re.compile(rf"{n_sig} of 30 units significant")).first.wait_for(
            timeout=60_000)
        page.get_by_text("lab recording").first.wait_for(timeout=10_000)


def test_a_brushed_restriction_goes_back_to_the_whole_recording_after_a_reload(
        served_app, page, artifacts_dir):
    page.set_viewport_size({"width": 1400, "height": 1100})
    open_app(page, served_app)
    raster = page.locator(".bk-Canvas:visible").first
    raster.wait_for(timeout=30_000)
    page.wait_for_timeout(2000)
    # brush a time window on the raster (its x-select tool is the active drag)
    box = raster.bounding_box()
    y = box["y"] + 0.5 * box["height"]
    page.mouse.move(box["x"] + 0.35 * box["width"], y)
    page.mouse.down()
    page.mouse.move(box["x"] + 0.5 * box["width"], y, steps=6)
    page.mouse.move(box["x"] + 0.65 * box["width"], y, steps=6)
    page.mouse.up()
    fields = [page.locator(".bk-input-group:visible", has_text=label).locator("input").first
              for label in ("From (s)", "To (s)")]
    fields[1].wait_for(timeout=15_000)  # the card opened with the window in it
    page.wait_for_function("([a, b]) => a.value !== '' && b.value !== ''",
                           arg=[f.element_handle() for f in fields], timeout=15_000)
    t0, t1 = (float(f.input_value()) for f in fields)
    assert 0 < t0 < t1 < 5, (t0, t1)  # the default demo lasts 5 s
    page.mouse.move(box["x"] - 20, y)  # no tooltip in the picture
    page.wait_for_timeout(500)
    page.screenshot(path=str(artifacts_dir / "restrict_brushed_window.png"))
    page.get_by_role("button", name="Restrict", exact=True).click()
    restricted = page.get_by_text(re.compile(rf"Restricted: time {t0:g}-{t1:g} s"))
    restricted.first.wait_for(timeout=30_000)
    page.wait_for_timeout(1500)  # the work is written in the background

    page.reload()
    restricted.first.wait_for(timeout=60_000)  # the restriction came back
    page.get_by_text("Restrict: time window and units").click()
    whole = page.get_by_role("button", name="Whole recording")
    whole.wait_for(timeout=10_000)
    assert whole.is_enabled()
    # From and To show the window in force (they came back empty before)
    fields = [page.locator(".bk-input-group:visible", has_text=label).locator("input").first
              for label in ("From (s)", "To (s)")]
    page.wait_for_function("([a, b]) => a.value !== '' && b.value !== ''",
                           arg=[f.element_handle() for f in fields], timeout=15_000)
    assert [float(f.input_value()) for f in fields] == [t0, t1]
    page.screenshot(path=str(artifacts_dir / "restrict_window_after_reload.png"))
    whole.click()
    page.get_by_text(re.compile(r"\b500 units, [\d,]+ spikes, 5 s")).first.wait_for(
        timeout=30_000)
    page.wait_for_timeout(500)
    assert page.get_by_text(re.compile(r"Restricted: time")).count() == 0
    assert [f.input_value() for f in fields] == ["", ""]  # no window in force
    page.screenshot(path=str(artifacts_dir / "whole_recording_after_reload.png"))
    assert not page.js_errors, page.js_errors
