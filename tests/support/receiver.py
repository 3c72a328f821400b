"""A webhook receiver on 127.0.0.1 that records what it gets; it can answer errors, stop and restart."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def type(self) -> str:
        return self.json["type"]

    @property
    def sequence(self) -> int:
        return self.json["data"]["sequence"]


class Receiver:
    """`status` is what it answers (200 by default); `stop()` closes the port, `start()` reopens it."""

    def __init__(self, port: int = 0) -> None:
        self.received: list[Received] = []
        self.status = 200
        self.answer = b'{"ok":true}'
        self._lock = threading.Lock()
        self._port = port
        self.server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._port}/hooks"

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                headers = {k.lower(): v for k, v in self.headers.items()}
                with receiver._lock:
                    status = receiver.status
                    if 200 <= status < 300:
                        receiver.received.append(Received(self.path, headers, body))
                    else:
                        receiver.rejected.append(Received(self.path, headers, body))
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(receiver.answer)))
                self.end_headers()
                self.wfile.write(receiver.answer)

        return Handler

    rejected: list[Received]

    def start(self) -> Receiver:
        self.rejected = getattr(self, "rejected", [])
        self.server = ThreadingHTTPServer(("127.0.0.1", self._port), self._handler())
        self._port = self.server.server_port
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    def events(self) -> list[Received]:
        with self._lock:
            return list(self.received)

    def types(self) -> list[str]:
        return [r.type for r in self.events()]

    def __enter__(self) -> Receiver:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
