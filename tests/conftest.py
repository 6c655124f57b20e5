"""Fixtures for all tests: the artifacts folder, and for browser tests (``tests/dashboard``,
``tests/security``) a served app in a subprocess and headless Debian Chromium."""

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


@contextlib.contextmanager
def spikelens_server(*args):
    """`spikelens serve` with ``args`` on a free localhost port; yields the port."""
    port = _free_port()
    log = tempfile.NamedTemporaryFile("w+", prefix=f"spikelens-serve-{port}-", suffix=".log",
                                      delete=False)
    proc = subprocess.Popen([sys.executable, "-m", "dashboard.cli", "serve", "--port",
                             str(port), *args], stdout=log, stderr=subprocess.STDOUT)
    url = f"http://localhost:{port}/"
    deadline = time.time() + 90
    try:
        while True:
            try:
                urllib.request.urlopen(url, timeout=5).read()
                break
            except OSError:
                if proc.poll() is not None or time.time() > deadline:
                    log.seek(0)
                    pytest.fail(f"server did not start: {log.read()[-2000:]}")
                time.sleep(0.5)
        yield port
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
        os.unlink(log.name)


@pytest.fixture(scope="session")
def start_server():
    """``start_server(*args)``: a context manager serving the app with ``args``."""
    return spikelens_server


@pytest.fixture(scope="module")
def served_app():
    """Run `spikelens serve` on a free localhost port; yield its URL."""
    with spikelens_server() as port:
        yield f"http://localhost:{port}/"


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    if not os.path.exists(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs Debian's chromium")
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS, headless=True)
        yield b
        b.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    pg = context.new_page()
    errors = []
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    pg.js_errors = errors
    yield pg
    context.close()
