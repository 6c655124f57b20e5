"""Two browser sessions on one server: what one uploads and computes stays its own, and a
long analysis in one does not freeze the other."""

import re
import time

import pytest

import analysis
from analysis import simulate

from ui_helpers import open_app, set_number, wait_for_units

pytestmark = pytest.mark.browser


def test_sessions_are_isolated_and_stay_responsive(served_app, browser, tmp_path,
                                                   artifacts_dir):
    upload = tmp_path / "seventeen.parquet"
    analysis.save(simulate.sip(n_units=17, assembly_size=5, t_stop=60.0, seed=4), upload)
    a = browser.new_context(viewport={"width": 1400, "height": 900}).new_page()
    b = browser.new_context(viewport={"width": 1400, "height": 900}).new_page()
    errors = []
    for p in (a, b):
        p.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        for p in (a, b):
            open_app(p, served_app)
        # A uploads its own file and starts a long assembly run (many surrogates)
        a.get_by_role("button", name="Upload").click()
        a.locator("#main input[type=file]").first.set_input_files(str(upload))
        wait_for_units(a, 17)
        a.get_by_role("button", name="Assembly neurons", exact=True).click()
        a.get_by_role("button", name="Run", exact=True).wait_for(timeout=30_000)
        set_number(a, "N surrogates", 20000)
        a.wait_for_timeout(300)
        a.get_by_role("button", name="Run", exact=True).click()
        cancel = a.get_by_role("button", name="Cancel")
        a.wait_for_function("b => !b.disabled", arg=cancel.element_handle(), timeout=10_000)

        # meanwhile B works: a demo loads and its page answers while A computes
        started = time.perf_counter()
        b.locator("select").first.select_option("SIP assembly (100 units, 20 s)")
        b.get_by_role("button", name="Load demo").click()
        wait_for_units(b, 100, timeout=30_000)
        b.get_by_role("button", name="ASSET", exact=True).click()
        b.get_by_role("button", name="Run ASSET").wait_for(timeout=30_000)
        responded = time.perf_counter() - started
        assert not cancel.is_disabled(), "A's run ended before B was tested"
        b.screenshot(path=str(artifacts_dir / "session_b_during_a_run.png"))
        # B never sees A's upload or A's run
        assert b.get_by_text(re.compile(r"\b17 units\b")).count() == 0
        assert b.get_by_text("seventeen.parquet").count() == 0
        b.get_by_role("button", name="Assembly neurons", exact=True).click()
        b.get_by_role("button", name="Run", exact=True).wait_for(timeout=30_000)
        assert b.get_by_text(re.compile(r"units significant")).count() == 0
        assert b.get_by_role("button", name="Cancel").is_disabled()

        cancel.click()
        a.locator(".alert", has_text="cancelled").first.wait_for(timeout=60_000)
        wait_for_units(a, 17, timeout=1000)
        assert not errors, errors
        print(f"session B answered in {responded:.1f} s while A computed")
        assert responded < 30
    finally:
        a.context.close()
        b.context.close()
