"""Fixtures for `endpointapi` tests: real SDK endpoints, zod as an oracle, raw loopback servers.

No database and no Django: these tests also run with `-p no:django --confcutdir tests/endpointapi`.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import socket
import subprocess
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.support.sdk import RunningEndpoint, fixture_dir, sdk_endpoint
from tests.support.waiting import wait_for

API_KEY = "tr_dev_endpointapi42"
WRONG_KEY = "tr_dev_wrongkey42"
ENDPOINT_ID = "kongflow-endpointapi"
OTHER_ID = "other-endpoint"


def _sdk_dir() -> Path:
    if shutil.which("node") is None:
        pytest.skip("node is not installed")
    try:
        return fixture_dir()
    except RuntimeError as exc:
        pytest.skip(str(exc))


@dataclass
class LoggedEndpoint:
    """A running SDK endpoint plus the file its `--request-log` writes to."""

    endpoint: RunningEndpoint
    log: Path

    @property
    def url(self) -> str:
        return self.endpoint.url

    def entries(self) -> list[dict[str, Any]]:
        if not self.log.exists():
            return []
        return [json.loads(line) for line in self.log.read_text().splitlines() if line.strip()]

    def wait_for_entries(self, count: int, timeout: float = 5.0) -> list[dict[str, Any]]:
        """The server appends a line after each response asynchronously (and not necessarily in
        order): poll until `count` lines are there."""
        wait_for(lambda: len(self.entries()) >= count, timeout=timeout, what=f"{count} request log lines")
        return self.entries()


@pytest.fixture(scope="session")
def sdk_basic() -> Iterator[RunningEndpoint]:
    _sdk_dir()
    with sdk_endpoint(api_key=API_KEY, endpoint_id=ENDPOINT_ID, scenario="basic") as endpoint:
        yield endpoint


@pytest.fixture(scope="session")
def sdk_full() -> Iterator[RunningEndpoint]:
    _sdk_dir()
    with sdk_endpoint(api_key=API_KEY, endpoint_id=ENDPOINT_ID, scenario="full") as endpoint:
        yield endpoint


@pytest.fixture
def sdk_logged(tmp_path: Path) -> Iterator[LoggedEndpoint]:
    """A `full` endpoint of its own, so its request log holds only the calling test's requests."""
    _sdk_dir()
    log = tmp_path / "requests.jsonl"
    with sdk_endpoint(
        api_key=API_KEY, endpoint_id=ENDPOINT_ID, scenario="full", extra_args=["--request-log", str(log)]
    ) as endpoint:
        yield LoggedEndpoint(endpoint=endpoint, log=log)


# -- zod (the original server's parser) as an oracle ------------------------------------------------

_ZOD_SCRIPT = """
const core = require("@trigger.dev/core");
let input = "";
process.stdin.on("data", (chunk) => (input += chunk));
process.stdin.on("end", () => {
  const cases = JSON.parse(input);
  const out = cases.map(({ schema, data }) => {
    const result = core[schema].safeParse(data);
    return result.success
      ? { success: true, data: result.data }
      : { success: false, issues: result.error.issues, message: result.error.message };
  });
  process.stdout.write(JSON.stringify(out));
});
"""


@pytest.fixture(scope="session")
def zod() -> Callable[[list[tuple[str, Any]]], list[dict[str, Any]]]:
    """`zod(cases)` -> `[{success, data | issues, message}]`: `@trigger.dev/core` 2.3.19 `safeParse`."""
    sdk_dir = _sdk_dir()

    def run(cases: list[tuple[str, Any]]) -> list[dict[str, Any]]:
        payload = json.dumps([{"schema": schema, "data": data} for schema, data in cases])
        completed = subprocess.run(
            ["node", "-e", _ZOD_SCRIPT],
            input=payload,
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
            cwd=sdk_dir,
        )
        return json.loads(completed.stdout)

    return run


# -- raw loopback servers for what `responses` cannot fake -------------------------------------------


def read_request(conn: socket.socket) -> bytes:
    """Read one HTTP request (head + Content-Length body) from `conn`."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return data
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    while len(body) < length:
        chunk = conn.recv(65536)
        if not chunk:
            break
        body += chunk
    return head + b"\r\n\r\n" + body


Handler = Callable[[socket.socket, threading.Event, "RawServer"], None]


@dataclass
class RawServer:
    """A loopback TCP server; each connection is handed to `handler(conn, stop, server)` in a thread."""

    handler: Handler
    scheme: str = "http"
    sock: socket.socket = field(init=False)
    stop: threading.Event = field(default_factory=threading.Event)
    connections: int = 0
    bytes_sent: int = 0
    threads: list[threading.Thread] = field(default_factory=list)
    open: list[socket.socket] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.05)
        accept = threading.Thread(target=self._accept_loop, daemon=True)
        accept.start()
        self.threads.append(accept)

    @property
    def url(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.sock.getsockname()[1]}/api/trigger"

    def send(self, conn: socket.socket, data: bytes) -> None:
        conn.sendall(data)
        self.bytes_sent += len(data)

    def _accept_loop(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except (TimeoutError, OSError):
                continue
            self.connections += 1
            self.open.append(conn)
            thread = threading.Thread(target=self._serve, args=(conn,), daemon=True)
            thread.start()
            self.threads.append(thread)

    def _serve(self, conn: socket.socket) -> None:
        # OSError: the client hung up, which is what several tests provoke.
        with conn, contextlib.suppress(OSError):
            self.handler(conn, self.stop, self)

    def close(self) -> None:
        self.stop.set()
        for conn in self.open:  # a handler blocked reading a kept-alive connection returns at once
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        for thread in self.threads:
            thread.join(timeout=2)
        self.sock.close()


@pytest.fixture
def raw_server() -> Iterator[Callable[..., RawServer]]:
    servers: list[RawServer] = []

    def start(handler: Handler, scheme: str = "http") -> RawServer:
        server = RawServer(handler=handler, scheme=scheme)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.close()
