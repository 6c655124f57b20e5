"""Fixtures for all tests: the artifacts folder, and for browser tests (``tests/dashboard``,
``tests/security``) a served app in a subprocess and headless Debian Chromium."""

import asyncio
import contextlib
import os
import pathlib
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

import pytest

ARTIFACTS = pathlib.Path(__file__).resolve().parent.parent / "test-artifacts"


@pytest.fixture(scope="session")
def artifacts_dir():
    """Where tests leave screenshots and reports for a person to look at."""
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


def pytest_configure(config):
    # numba: keep compilation on both cores but do not oversubscribe the 2-core CI machine
    os.environ.setdefault("NUMBA_NUM_THREADS", "2")


# hypothesis: reproducible property tests (same examples on every run and in CI), no
# per-example deadline (numba compiles on first use); the per-test example counts are set in
# the test modules so that the property tests stay within their time budget on 2 cores
try:
    from hypothesis import HealthCheck, settings as _hyp_settings
except ImportError:  # hypothesis is a test extra; modules that need it import it themselves
    pass
else:
    _hyp_settings.register_profile(
        "spikelens", derandomize=True, deadline=None, print_blob=True,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    _hyp_settings.load_profile(os.environ.get("SPIKELENS_HYPOTHESIS_PROFILE", "spikelens"))


CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run",
                  "--disable-quic"]


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _Server:
    """One `spikelens serve` child process on a free localhost port."""

    def __init__(self, args):
        self.args = args
        self.port = _free_port()
        # the log outlives this call: closed in stop()
        self.log = tempfile.NamedTemporaryFile(  # noqa: SIM115
            "w+", prefix=f"spikelens-serve-{self.port}-", suffix=".log", delete=False)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "dashboard.cli", "serve", "--port", str(self.port),
             *args], stdout=self.log, stderr=subprocess.STDOUT)
        # Wait until it listens, then for its first page. A page is a whole app session
        # (seconds at load 10): a short read timeout gave up on each and asked again,
        # piling up sessions, so that a loaded machine never saw the server start.
        url = f"http://localhost:{self.port}/"
        deadline = time.time() + 180  # a start takes 7-13 s; minutes at load 10
        while True:
            try:
                with socket.create_connection(("localhost", self.port), timeout=5):
                    pass
                urllib.request.urlopen(url, timeout=max(5.0, deadline - time.time())).read()
                return
            except OSError:
                if self.proc.poll() is not None or time.time() > deadline:
                    tail = self.log_tail()
                    self.stop()
                    pytest.fail(f"server did not start: {tail}")
                time.sleep(0.25)

    def alive(self):
        return self.proc.poll() is None

    def log_tail(self, n=2000):
        self.log.flush()
        self.log.seek(0)
        return self.log.read()[-n:]

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()
        os.unlink(self.log.name)


@contextlib.contextmanager
def spikelens_server(*args):
    """`spikelens serve` with ``args`` on a free localhost port; yields the port."""
    server = _Server(args)
    try:
        yield server.port
    finally:
        server.stop()


@pytest.fixture(scope="session")
def start_server():
    """``start_server(*args)``: a context manager serving the app with ``args`` (a server
    of the test's own, for arguments that belong to one test such as ``--open FILE``)."""
    return spikelens_server


class _SharedServers:
    """The session's `spikelens serve` processes, one per distinct argument list, started
    on first use. A server that died (a crash in an earlier test) is reported on stderr
    and started again, so that one crash fails one test rather than all that follow."""

    def __init__(self):
        self._servers = {}

    def __call__(self, *args):
        server = self._servers.get(args)
        if server is not None and not server.alive():
            sys.stderr.write(f"\nspikelens serve {' '.join(args)} had exited "
                             f"({server.proc.returncode}); starting it again. Its log:\n"
                             f"{server.log_tail()}\n")
            server.stop()
            server = None
        if server is None:
            server = self._servers[args] = _Server(args)
        return server.port

    def close(self):
        for server in self._servers.values():
            server.stop()
        self._servers.clear()


@pytest.fixture(scope="session")
def _shared_servers():
    servers = _SharedServers()
    yield servers
    servers.close()


@pytest.fixture
def shared_server(_shared_servers):
    """``shared_server(*args)`` -> the port of a `spikelens serve` with ``args`` that every
    test asking for the same ``args`` shares (started once per session: a server start and
    its kernel warm-up cost 7-13 s on the 2-core machine). Each test still gets a session
    of its own through a fresh browser context (the ``page`` fixture)."""
    return _shared_servers


@pytest.fixture
def served_app(shared_server):
    """The URL of the app served with default arguments, shared by the whole session."""
    return f"http://localhost:{shared_server()}/"


class _Browser:
    """Headless Chromium, launched on first use and kept for the session.

    While playwright's sync API is started, it marks its event loop as the running loop of
    the main thread between calls (``playwright/_impl/_greenlets.py``, ``wait_for_future``),
    so ``asyncio.get_running_loop()`` answers and ``asyncio.run()`` refuses. Tests that do
    not use the browser run without that mark (``pytest_runtest_protocol`` below), as they
    did when each module closed its own browser."""

    def __init__(self):
        self._manager = self._playwright = self._browser = None
        self.loop = None

    def get(self):
        from playwright.sync_api import sync_playwright

        if self._browser is not None and self._browser.is_connected():
            return self._browser
        if not os.path.exists(CHROMIUM):
            pytest.fail(f"{CHROMIUM} is missing: `make test` installs Debian's chromium")
        if self._playwright is None:
            self._manager = sync_playwright()
            self._playwright = self._manager.start()
            self.loop = asyncio._get_running_loop()  # None if playwright stops marking it
        self._browser = self._playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_FLAGS, headless=True)
        return self._browser

    def close(self):
        if self._playwright is None:
            return
        asyncio._set_running_loop(self.loop)  # as playwright left it after its last call
        try:
            if self._browser is not None and self._browser.is_connected():
                self._browser.close()
        finally:
            self._playwright.stop()
            asyncio._set_running_loop(None)
            self._manager = self._playwright = self._browser = self.loop = None


_BROWSER = _Browser()


@pytest.fixture(scope="session")
def _browser_session():
    yield _BROWSER
    _BROWSER.close()


@pytest.fixture
def browser(_browser_session):
    """Headless Debian Chromium shared by the session (launched again if it crashed);
    open a new context (``browser.new_context()``) for a browser session of your own."""
    return _browser_session.get()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):
    """Run a test that does not use the browser (its fixtures' setup and teardown too)
    without playwright's running-loop mark; see ``_Browser``."""
    mark = _BROWSER.loop if "browser" not in getattr(item, "fixturenames", ()) else None
    if mark is not None:
        asyncio._set_running_loop(None)
    try:
        yield
    finally:
        if mark is not None and _BROWSER.loop is mark:
            asyncio._set_running_loop(mark)


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    pg = context.new_page()
    errors = []
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    pg.js_errors = errors
    yield pg
    context.close()
