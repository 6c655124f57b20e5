"""Work that lasts a reload (issue 15 item 1): the page, the data and the results come back
without computing; another browser given the same URL gets none of it."""

import re

import pytest
from ui_helpers import open_with_demo, set_number

pytestmark = pytest.mark.browser


def test_reload_restores_page_data_and_results(served_app, browser, page, artifacts_dir):
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
    page.wait_for_timeout(1500)  # the result is written in the background

    page.reload()
    # same page, same data, the same result (its run time too: nothing was computed)
    page.get_by_text(before).first.wait_for(timeout=60_000)
    page.get_by_text(re.compile(r"SIP assembly")).first.wait_for(timeout=10_000)
    assert page.get_by_role("button", name="Sweep baseline").is_visible()
    page.screenshot(path=str(artifacts_dir / "work_after_reload.png"))

    # another browser (its own cookies) with the very same URL: a fresh session
    other = browser.new_context(viewport={"width": 1400, "height": 900})
    try:
        stranger = other.new_page()
        stranger.goto(url)
        stranger.get_by_text(re.compile(r"\b500 units\b")).first.wait_for(timeout=60_000)
        stranger.get_by_role("button", name="Sweep baseline").wait_for(timeout=30_000)
        assert stranger.get_by_text(before).count() == 0
        assert "work=" in stranger.url and stranger.url != url  # a work of its own
    finally:
        other.close()
    assert not page.js_errors, page.js_errors


def test_save_work_and_open_it_in_another_browser(served_app, browser, page, tmp_path,
                                                  artifacts_dir):
    open_with_demo(page, served_app, "SIP assembly (100 units, 20 s)", 100,
                   "Assembly neurons")
    set_number(page, "N surrogates", 199)
    page.wait_for_timeout(300)
    page.get_by_role("button", name="Run", exact=True).click()
    summary = page.get_by_text(re.compile(r"of 100 units significant .* (\d+\.\d) s$"))
    summary.first.wait_for(timeout=120_000)
    before = summary.first.inner_text()
    with page.expect_download() as info:
        page.get_by_role("button", name="Save work").click()
    path = tmp_path / "work.spikelens"
    info.value.save_as(path)

    other = browser.new_context(viewport={"width": 1400, "height": 900})
    try:
        fresh = other.new_page()
        fresh.goto(served_app)
        fresh.get_by_text(re.compile(r"\b500 units\b")).first.wait_for(timeout=60_000)
        fresh.get_by_role("button", name="Upload").click()
        fresh.locator("input[type=file]").first.set_input_files(str(path))
        fresh.get_by_text(re.compile(r"\b100 units\b")).first.wait_for(timeout=60_000)
        fresh.get_by_role("button", name="Assembly neurons", exact=True).click()
        # the same result, its run time included: shown, not computed again
        fresh.get_by_text(before).first.wait_for(timeout=30_000)
        fresh.screenshot(path=str(artifacts_dir / "work_opened.png"))
    finally:
        other.close()


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
