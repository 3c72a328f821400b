"""deploy/nginx/kongflow.conf with the real nginx in front of a live gunicorn: slow clients do not
stop /healthz through it, its own errors are JSON under /api/, and it forwards the scheme and the
client address the way the settings expect."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager

import pytest
import requests

from tests.support.proxy import NginxProxy
from tests.support.web import WebProcess, free_port

pytestmark = pytest.mark.timeout(120)
SLOW_CLIENTS = 20


@pytest.fixture(scope="module")
def web() -> Iterator[WebProcess]:
    with WebProcess() as process:
        yield process


@pytest.fixture(scope="module")
def proxy(web) -> Iterator[NginxProxy]:
    with NginxProxy(f"127.0.0.1:{web.port}") as nginx:
        yield nginx


@contextmanager
def slow_clients(port: int, count: int = SLOW_CLIENTS) -> Iterator[list[socket.socket]]:
    """`count` connections that started a request and stopped: half in the headers, half in the body."""
    with ExitStack() as stack:
        sockets = []
        for n in range(count):
            sock = stack.enter_context(socket.create_connection(("127.0.0.1", port), timeout=5))
            if n % 2:
                sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")  # headers never end
            else:
                sock.sendall(
                    b"POST /api/v1/endpoints HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                    b"Content-Length: 100000\r\n\r\n{\"id\": "  # the body never comes
                )
            sockets.append(sock)
        yield sockets


def healthz_seconds(base_url: str) -> float | None:
    """How long GET /healthz took, or None when it did not answer within 5 seconds."""
    started = time.monotonic()
    try:
        response = requests.get(f"{base_url}/healthz", timeout=5)
    except requests.RequestException:
        return None
    return time.monotonic() - started if response.status_code == 200 else None


def test_slow_clients_do_not_stop_healthz_through_the_proxy(web, proxy, capsys):
    with slow_clients(proxy.port):
        through_proxy = [healthz_seconds(proxy.url) for _ in range(5)]
    with slow_clients(web.port):
        direct = healthz_seconds(web.url)  # measured only: gunicorn's 4 threads are taken by the slow clients
    shown = [f"{s:.3f}s" if s is not None else "timeout" for s in through_proxy]
    with capsys.disabled():
        print(
            f"\n/healthz with {SLOW_CLIENTS} slow clients: through nginx {shown}; direct to gunicorn "
            f"{f'{direct:.3f}s' if direct is not None else 'no answer within 5s'}"
        )
    assert all(seconds is not None and seconds < 2 for seconds in through_proxy), through_proxy


def test_the_proxy_buffers_a_body_that_arrives_in_pieces(proxy):
    """A body trickling in is read whole by nginx first; gunicorn gets it at once (401: no key)."""
    with socket.create_connection(("127.0.0.1", proxy.port), timeout=10) as sock:
        body = b'{"id": "x", "url": "http://127.0.0.1:9/"}'
        sock.sendall(b"POST /api/v1/endpoints HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n")
        sock.sendall(b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(body))
        for piece in (body[:10], body[10:20], body[20:]):
            sock.sendall(piece)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    head, _, payload = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 401"), head
    assert json.loads(payload) == {"error": "Invalid or Missing API key"}


def assert_json_error(response: requests.Response, status: int) -> None:
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"] == "application/json", response.headers
    assert set(response.json()) == {"error"} and response.json()["error"]


def test_the_proxys_own_errors_are_json_under_api(proxy):
    assert_json_error(requests.post(f"{proxy.url}/api/v1/endpoints", data=b"x" * (4 * 1024 * 1024), timeout=10), 413)
    assert_json_error(requests.get(f"{proxy.url}/api/v1/endpointindex/{'a' * 20000}", timeout=10), 414)
    assert_json_error(requests.get(f"{proxy.url}/api/v1/whoami", headers={"X-Big": "a" * 20000}, timeout=10), 431)
    # Outside /api/ the answers stay nginx's own (not JSON), with the same status.
    admin = requests.post(f"{proxy.url}/admin/login/", data=b"x" * (4 * 1024 * 1024), timeout=10)
    assert admin.status_code == 413 and "json" not in admin.headers["Content-Type"]


def test_an_unreachable_or_silent_gunicorn_is_a_json_502_or_504(transactional_db):
    with NginxProxy(f"127.0.0.1:{free_port()}") as nginx:  # nothing listens there
        assert_json_error(requests.get(f"{nginx.url}/api/v1/whoami", timeout=10), 502)
        assert "json" not in requests.get(f"{nginx.url}/admin/", timeout=10).headers["Content-Type"]
    with socket.create_server(("127.0.0.1", 0)) as silent:  # accepts (backlog), never answers
        port = silent.getsockname()[1]
        with NginxProxy(f"127.0.0.1:{port}", replace={"proxy_read_timeout 60s;": "proxy_read_timeout 1s;"}) as nginx:
            assert_json_error(requests.get(f"{nginx.url}/api/v1/whoami", timeout=10), 504)


def test_the_proxy_forwards_the_scheme_and_the_address(transactional_db):
    env = {
        "DJANGO_SECURE_PROXY_SSL_HEADER": "on",
        "DJANGO_SECURE_SSL_REDIRECT": "on",
        "KONGFLOW_NUM_PROXIES": "1",
        "KONGFLOW_THROTTLE_HOOK": "1/min",
    }
    with WebProcess(env=env) as web, NginxProxy(f"127.0.0.1:{web.port}") as nginx:
        # Plain http is redirected; what the TLS terminator in front marks https is served.
        plain = requests.get(f"{nginx.url}/api/docs", allow_redirects=False, timeout=10)
        assert plain.status_code == 301 and plain.headers["Location"].startswith("https://")
        https = {"X-Forwarded-Proto": "https"}
        secure = requests.get(f"{nginx.url}/api/docs", headers=https, allow_redirects=False, timeout=10)
        assert secure.status_code == 200
        probe = requests.get(f"{nginx.url}/healthz", allow_redirects=False, timeout=10)
        assert probe.status_code == 200  # probes speak plain http
        # The client address is the one nginx saw: a spoofed X-Forwarded-For picks no new identity.
        hook = f"{nginx.url}/api/v1/endpoints/env/slug/index/hook"
        assert requests.post(hook, headers={**https, "X-Forwarded-For": "192.0.2.1"}, timeout=10).status_code == 404
        throttled = requests.post(hook, headers={**https, "X-Forwarded-For": "192.0.2.2"}, timeout=10)
        assert_json_error(throttled, 429)
