"""Finding 4 (closed tabs keep computing and starve everyone): a session's work stops when
the session ends, each session holds at most one thread of a pool, runs have a time limit,
and the parameters that scale time have bounds."""

import asyncio
import threading
import time

import param
import pytest

from analysis.assembly import AssemblyNeurons
from dashboard import workers
from dashboard.workers import Cancelled, SessionJobs, TimeLimitExceeded


def spin(started=None, until=None):
    """Work that runs until cancelled (or ``until`` is set), checking between blocks."""
    def work():
        if started is not None:
            started.set()
        while until is None or not until.is_set():
            workers.checkpoint()
            time.sleep(0.005)
        return "finished"
    return work


async def wait_event(event, timeout=5):
    loop = asyncio.get_running_loop()
    assert await loop.run_in_executor(None, event.wait, timeout)


def test_ended_session_stops_its_running_job_and_starts_no_other():
    async def scenario():
        jobs = SessionJobs()
        started = threading.Event()
        running = asyncio.ensure_future(workers.run(jobs, spin(started)))
        queued = asyncio.ensure_future(workers.run(jobs, spin()))  # waits for the first
        await wait_event(started)
        jobs.end()  # the tab was closed
        t0 = time.perf_counter()
        for task in (running, queued):
            with pytest.raises(Cancelled):
                await asyncio.wait_for(task, 2)
        assert time.perf_counter() - t0 < 2
        with pytest.raises(Cancelled):
            await workers.run(jobs, spin())
        assert workers.running("analysis") == 0

    asyncio.run(scenario())


def test_one_thread_per_session_and_pool():
    async def scenario():
        mine, other = SessionJobs(), SessionJobs()
        first, second, others = threading.Event(), threading.Event(), threading.Event()
        stop = threading.Event()
        a = asyncio.ensure_future(workers.run(mine, spin(first, stop)))
        b = asyncio.ensure_future(workers.run(mine, spin(second, stop)))
        c = asyncio.ensure_future(workers.run(other, spin(others, stop)))
        await wait_event(first)
        await wait_event(others)  # another session is not held up by mine
        assert not second.is_set()  # my second job waits for my first
        assert workers.running("analysis") == 2
        # loading is a pool of its own: a busy analysis pool does not delay it
        assert await asyncio.wait_for(workers.run(other, lambda: "loaded", kind="load"), 2) \
            == "loaded"
        stop.set()
        assert await asyncio.gather(a, b, c) == ["finished"] * 3
        assert second.is_set()

    asyncio.run(scenario())


def test_a_run_stops_at_the_time_limit():
    workers.configure(time_limit=0.2)
    try:
        with pytest.raises(TimeLimitExceeded, match="time limit"):
            asyncio.run(asyncio.wait_for(workers.run(SessionJobs(), spin()), 5))
    finally:
        workers.configure(time_limit=None)


def test_checkpoint_outside_a_job_does_nothing():
    workers.checkpoint()


def test_surrogate_count_is_bounded():
    with pytest.raises(ValueError):
        AssemblyNeurons(n_surrogates=10**9)
    assert AssemblyNeurons.param["n_surrogates"].bounds[1] is not None


@pytest.mark.parametrize("name", ["n_neighbors", "n_candidates", "silhouette_sample"])
def test_graph_mode_sizes_are_bounded(name):
    from analysis.spotdis import SpotDisClust

    p = SpotDisClust.param[name]
    assert isinstance(p, param.Integer) and p.bounds[1] is not None


def test_cancel_acts_at_once_inside_a_step_without_checkpoints():
    """A step that never reaches a checkpoint (a file being parsed, a kernel being
    compiled): the caller gets Cancelled at once; the session's next job in the pool waits
    until that thread has stopped, so cancelling cannot pile up threads."""
    async def scenario():
        jobs = SessionJobs()
        started, release, cancel = threading.Event(), threading.Event(), threading.Event()

        def blind_step():
            started.set()
            release.wait(10)  # no checkpoint while "parsing"
            workers.checkpoint()
            return "parsed"

        task = asyncio.ensure_future(workers.run(jobs, blind_step, kind="load",
                                                 cancel=cancel))
        await wait_event(started)
        cancel.set()
        t0 = time.perf_counter()
        with pytest.raises(Cancelled):
            await asyncio.wait_for(task, 2)
        assert time.perf_counter() - t0 < 0.5
        assert workers.running("load") == 1  # the thread is still in its step
        cancel.clear()  # the page's flag, cleared for its next job
        nxt = asyncio.ensure_future(workers.run(jobs, lambda: "next", kind="load",
                                                cancel=cancel))
        await asyncio.sleep(0.3)
        assert not nxt.done()  # waits for the cancelled job's thread
        release.set()
        assert await asyncio.wait_for(nxt, 5) == "next"
        assert workers.running("load") == 0
        # another session is not held up meanwhile
        assert await asyncio.wait_for(workers.run(SessionJobs(), lambda: 1, kind="load"),
                                      2) == 1

    asyncio.run(scenario())
