"""Worker threads shared by every session of a server: a bounded share per session, and no
work for sessions that have ended.

Long steps (loading a file, running an analysis) leave the event loop for a worker thread so
that the page stays responsive. The threads are shared by all visitors of a lab server, so:

* there are two pools of fixed size, ``load`` (reading files, demos, simulators) and
  ``analysis`` (the methods), sized by ``spikelens serve --workers``; a long analysis never
  holds up another visitor's file loading;
* each session runs at most one job per pool at a time; its further jobs wait in the event
  loop, not in a worker thread, so one session cannot take every thread;
* when a session ends (its tab was closed or reloaded and the server dropped it), its
  waiting jobs never start and its running job stops at its next :func:`checkpoint`; the
  pages call ``checkpoint`` from their progress callbacks, which the analyses call between
  blocks of work;
* a job that runs longer than the server's time limit (``spikelens serve
  --max-run-minutes``) stops at its next checkpoint with :class:`TimeLimitExceeded`, so no
  parameter value can hold a thread for ever.
"""

from __future__ import annotations

import asyncio
import threading
import time
from concurrent.futures import ThreadPoolExecutor

#: Threads per pool unless ``configure`` says otherwise.
DEFAULT_WORKERS = {"load": 2, "analysis": 2}

_pools: dict[str, ThreadPoolExecutor] = {}
_sizes = dict(DEFAULT_WORKERS)
_pools_lock = threading.Lock()
_current = threading.local()
_running = {kind: 0 for kind in DEFAULT_WORKERS}  # jobs in a worker thread now, per pool
_limits = {"time_limit": None}  # seconds a job may run; None: no limit
#: Seconds between two looks at a Cancel flag while a job runs.
CANCEL_POLL_S = 0.1


class Cancelled(Exception):
    """The job was cancelled: by its Cancel button, or because its session ended."""


class TimeLimitExceeded(Cancelled):
    """The job ran longer than the server allows."""


class SessionJobs:
    """One browser session's claim on the worker pools."""

    def __init__(self):
        self.ended = threading.Event()
        self._locks: dict[str, asyncio.Lock] = {}
        self._abandoned = {}  # pool kind -> the thread future of a cancelled job

    def end(self):
        """The session is gone: start nothing more, stop what runs at its next checkpoint."""
        self.ended.set()

    def _lock(self, kind):
        if kind not in self._locks:
            self._locks[kind] = asyncio.Lock()
        return self._locks[kind]


def configure(workers=None, time_limit=None):
    """Set the number of threads of each pool (``{"load": n, "analysis": m}``; takes
    effect for pools not yet started) and the seconds a job may run (None: no limit)."""
    if time_limit is not None and not time_limit > 0:
        raise ValueError(f"time_limit: must be > 0 seconds, got {time_limit}")
    _limits["time_limit"] = time_limit
    for kind, n in (workers or {}).items():
        if kind not in DEFAULT_WORKERS:
            raise ValueError(f"workers: unknown pool {kind!r}; pools are "
                             f"{', '.join(DEFAULT_WORKERS)}")
        if int(n) < 1:
            raise ValueError(f"workers: {kind} needs at least 1 thread, got {n}")
        _sizes[kind] = int(n)


def pool(kind):
    """The shared thread pool ``kind`` ("load" or "analysis")."""
    with _pools_lock:
        if kind not in _pools:
            if kind not in DEFAULT_WORKERS:
                raise ValueError(f"unknown pool {kind!r}")
            _pools[kind] = ThreadPoolExecutor(_sizes[kind],
                                              thread_name_prefix=f"spikelens-{kind}")
        return _pools[kind]


async def run(jobs, func, kind="analysis", cancel=None):
    """``func()`` in a worker thread of pool ``kind``; returns its result.

    Parameters
    ----------
    jobs : SessionJobs
        The session's claim: one job per pool at a time; none once the session ended.
    func : callable
        The work; it should call :func:`checkpoint` now and then (the analyses' progress
        callbacks do) so that it can stop early.
    cancel : threading.Event, optional
        A Cancel button's flag, checked by :func:`checkpoint` besides the session's end.

    Raises
    ------
    Cancelled
        When the session ended (or ``cancel`` was set) before or while it ran.
    """
    if jobs.ended.is_set():
        raise Cancelled()
    async with jobs._lock(kind):
        if jobs.ended.is_set():
            raise Cancelled()
        # the thread of this session's last cancelled job first stops (at its checkpoint)
        await _until_done(jobs._abandoned.get(kind), cancel)
        jobs._abandoned.pop(kind, None)
        limit = _limits["time_limit"]
        deadline = None if limit is None else time.monotonic() + limit
        thread_future = pool(kind).submit(_call, kind, jobs, cancel, deadline, func)
        future = asyncio.wrap_future(thread_future)
        if cancel is None:
            return await future
        # Cancel acts on the page at once, also while the job is inside a step that has no
        # checkpoint (a file being parsed, a kernel being compiled): the caller gets
        # Cancelled within CANCEL_POLL_S; the thread stops at its next checkpoint, and the
        # session's next job in this pool starts only after it has.
        try:
            await _until_done(thread_future, cancel, future)
        except Cancelled:
            jobs._abandoned[kind] = thread_future
            raise
        return await future


async def _until_done(thread_future, cancel, future=None):
    """Wait for a worker's future; raise Cancelled as soon as ``cancel`` is set."""
    if thread_future is None:
        return
    if future is None:
        if thread_future.done():
            return
        future = asyncio.wrap_future(thread_future)
    while not future.done():
        if cancel is not None and cancel.is_set():
            future.add_done_callback(_drain)
            raise Cancelled()
        await asyncio.wait([future], timeout=CANCEL_POLL_S)


def _drain(future):
    """Fetch an abandoned job's outcome so that asyncio does not report it as lost."""
    if not future.cancelled():
        future.exception()


def running(kind):
    """How many jobs run in pool ``kind`` now, over all sessions."""
    with _pools_lock:
        return _running[kind]


def _call(kind, jobs, cancel, deadline, func):
    with _pools_lock:
        _running[kind] += 1
    _current.job = (jobs, cancel, deadline)
    try:
        checkpoint()
        return func()
    finally:
        _current.job = None
        with _pools_lock:
            _running[kind] -= 1


def checkpoint():
    """Raise :class:`Cancelled` if the job running in this thread should stop; a no-op
    outside a job (a notebook, a test calling a page method directly)."""
    job = getattr(_current, "job", None)
    if job is None:
        return
    jobs, cancel, deadline = job
    if jobs.ended.is_set() or (cancel is not None and cancel.is_set()):
        raise Cancelled()
    if deadline is not None and time.monotonic() > deadline:
        raise TimeLimitExceeded(f"stopped after {_limits['time_limit'] / 60:g} min, this "
                                f"server's time limit for one run")
