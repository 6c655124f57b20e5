"""Stored XSS in the served app: an uploaded CSV with a hostile file name and unit ids, the
Assembly neurons page run on it; no injected script runs and no dialog opens."""

import re

import pandas as pd
import pytest
from test_xss import IMG, LINK, SCRIPT

pytestmark = pytest.mark.browser


def test_hostile_upload_and_assembly_run_run_no_script(served_app, page, tmp_path):
    ids = [SCRIPT, IMG, LINK] + [f"u{k}" for k in range(5)]
    times = [(0.05 + 0.1 * j + 0.003 * k, unit) for k, unit in enumerate(ids) for j in range(20)]
    path = tmp_path / f"{IMG} {LINK}.csv"
    pd.DataFrame(times, columns=["time", "unit"]).to_csv(path, index=False)
    dialogs = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))

    page.goto(served_app)
    page.get_by_text(re.compile(r"\b500 units\b")).first.wait_for(timeout=60_000)
    page.get_by_role("button", name="Upload").click()
    page.locator("#main input[type=file]").first.set_input_files(str(path))
    page.get_by_text(re.compile(r"\b8 units\b")).first.wait_for(timeout=60_000)
    page.get_by_text("javascript:alert(1)).csv").first.wait_for(timeout=10_000)  # as text
    page.get_by_role("button", name="Assembly neurons", exact=True).click()
    field = page.locator(".bk-input-group:visible", has_text="N surrogates").locator("input").first
    field.fill("199")  # alpha 0.01 needs at least 99 (1/(S+1) <= alpha)
    field.press("Enter")
    page.wait_for_timeout(300)
    page.get_by_role("button", name="Run", exact=True).click()
    page.get_by_text(re.compile(r"units significant")).first.wait_for(timeout=90_000)
    page.locator(".tabulator-row").first.wait_for(timeout=30_000)
    page.wait_for_timeout(1000)
    assert page.evaluate("typeof window.__xss") == "undefined"
    assert dialogs == []
