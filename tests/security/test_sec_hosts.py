"""Finding 8 (DNS rebinding): a page served under a foreign host name gets neither the app
nor its websocket; the names a lab configures, IP addresses and localhost do."""

import http.client
import socket

import pytest

from dashboard.app import allowed_hosts, host_allowed


@pytest.fixture(scope="module")
def server(start_server):
    with start_server("--allow-host", "lab.example.org") as port:
        yield port


def status(port, path, host, origin=None, websocket=False):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"Host": host}
    if origin:
        headers["Origin"] = origin
    if websocket:
        headers.update({"Connection": "Upgrade", "Upgrade": "websocket",
                        "Sec-WebSocket-Version": "13",
                        "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ=="})
    conn.request("GET", path, headers=headers)
    code = conn.getresponse().status
    conn.close()
    return code


@pytest.mark.parametrize("host", ["evil.example", "evil.example:{port}", "localhost.evil.example",
                                  "127.0.0.1.evil.example:{port}"])
def test_foreign_host_gets_403(server, host):
    host = host.format(port=server)
    assert status(server, "/", host) == 403
    # the rebinding page's own origin equals its host: Tornado would skip the origin list
    assert status(server, "/ws", host, origin=f"http://{host}", websocket=True) == 403
    assert status(server, "/static/extensions/panel/panel.min.js", host) == 403


@pytest.mark.parametrize("host", ["localhost:{port}", "127.0.0.1:{port}", "lab.example.org:{port}",
                                  "LAB.example.org.:{port}"])
def test_own_names_are_served(server, host):
    assert status(server, "/", host.format(port=server)) == 200


def test_host_rules():
    allowed = allowed_hosts("0.0.0.0", ["lab.example.org"])
    assert host_allowed("10.1.2.3", allowed) and host_allowed("[::1]", allowed)
    assert host_allowed("localhost", allowed) and host_allowed(socket.gethostname(), allowed)
    assert not host_allowed("0.0.0.0.evil.example", allowed)
    assert host_allowed("anything.example", allowed_hosts("localhost", ["*"]))
