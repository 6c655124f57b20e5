"""Finding 4 end to end: a tab that is closed while its analysis runs stops computing soon
after the server drops its session, and frees the worker for other visitors."""

import asyncio
import socket
import threading
import time

import pytest

from dashboard import workers
from dashboard.app import UNUSED_SESSION_MS, build_server

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def app_url():
    """The app served from a thread of this process, so the test sees its worker pools."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    holder, ready = [], threading.Event()

    def run():
        asyncio.set_event_loop(asyncio.new_event_loop())
        server = build_server(port=port)
        holder.append(server)
        server.start()
        ready.set()
        server.io_loop.start()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    assert ready.wait(60)
    yield f"http://localhost:{port}/"
    server = holder[0]
    server.io_loop.add_callback(server.io_loop.stop)
    thread.join(10)


def wait_until(condition, timeout, step=0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(step)
    return condition()


def test_closing_a_tab_stops_its_run(app_url, browser):
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    try:
        page = context.new_page()
        page.goto(app_url)
        page.get_by_text("500 units").first.wait_for(timeout=60_000)
        page.get_by_role("button", name="Assembly neurons", exact=True).click()
        box = page.get_by_label("N surrogates")
        box.wait_for(timeout=30_000)
        box.fill("200000")
        box.press("Enter")
        page.wait_for_timeout(300)
        page.get_by_role("button", name="Run", exact=True).click()
        assert wait_until(lambda: workers.running("analysis") == 1, 30), \
            "the run did not start"
    except BaseException:
        context.close()
        raise
    context.close()  # the visitor closes the tab mid-run
    closed = time.monotonic()
    # the session is dropped UNUSED_SESSION_MS after its websocket closed; the run stops at
    # its next batch of surrogates
    assert wait_until(lambda: workers.running("analysis") == 0,
                      UNUSED_SESSION_MS / 1000 + 15), "the closed tab's run is still computing"
    print(f"run stopped {time.monotonic() - closed:.1f} s after the tab closed")
