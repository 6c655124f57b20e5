"""The Data page runs its loads through the shared job lifecycle (``dashboard.page_base``):
progress while loading, Cancel that acts at once and keeps the data loaded before,
one-line errors."""

import asyncio
import threading
import time

from analysis import simulate
from dashboard.data_page import DataPage
from dashboard.page_base import JobPage
from dashboard.state import Session


def test_data_page_is_a_job_page_with_cancel():
    page = DataPage(session=Session(data=simulate.poisson(n_units=3, t_stop=1.0, seed=0),
                                    source="first"))
    assert isinstance(page, JobPage) and page.pool_kind == "load"
    assert page._cancel_button.disabled


def test_cancelled_load_keeps_the_earlier_data_and_says_so():
    before = simulate.poisson(n_units=3, t_stop=1.0, seed=0)
    page = DataPage(session=Session(data=before, source="first"))
    started, release = threading.Event(), threading.Event()

    def slow_load():  # a parser with no checkpoint inside
        started.set()
        release.wait(10)
        return simulate.poisson(n_units=5, t_stop=1.0, seed=1)

    async def scenario():
        task = asyncio.ensure_future(page._run_in_worker("file 'big.nwb'", slow_load))
        loop = asyncio.get_running_loop()
        assert await loop.run_in_executor(None, started.wait, 5)
        assert page.state == "running" and page.session.busy
        assert page._progress.visible and page._progress.value == -1  # moving, no steps
        assert "Loading file 'big.nwb'" in page.session.activity
        assert not page._cancel_button.disabled
        assert all(b.disabled for b in page._job_buttons)
        page._cancel_button.clicks += 1
        t0 = time.perf_counter()
        await asyncio.wait_for(task, 2)
        waited = time.perf_counter() - t0
        release.set()
        return waited

    waited = asyncio.run(scenario())
    assert waited < 0.5
    assert page.state == "cancelled"
    assert page.session.data is before and page.session.source == "first"
    assert "cancelled" in page._status.object and "loaded before" in page._status.object
    assert not page.session.busy and not page._progress.visible
    assert not any(b.disabled for b in page._job_buttons) and page._cancel_button.disabled


def test_a_failed_load_is_one_line_and_keeps_the_data():
    before = simulate.poisson(n_units=3, t_stop=1.0, seed=0)
    page = DataPage(session=Session(data=before, source="first"))

    def broken():
        raise OSError("broken.nwb: truncated file\n  at offset 12")

    asyncio.run(page._run_in_worker("file 'broken.nwb'", broken))
    assert page.state == "failed" and page.session.data is before
    assert "truncated file" in page._status.object and "\n" not in page._status.object


def test_a_finished_load_replaces_the_data():
    page = DataPage(session=Session(data=None, source=""))
    asyncio.run(page._on_load_demo())
    assert page.state == "done" and page.session.data is not None
    assert page.session.source.startswith("demo")
