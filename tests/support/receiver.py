"""A webhook receiver on 127.0.0.1 that records what it gets; it can answer errors or slowly, stop and
restart, and counts the requests it holds at once (overall and per path)."""

from __future__ import annotations

import json
import threading
from collections import Counter
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
    """`status` is what it answers (200 by default), after `delay` seconds (cut short by `stop()`);
    `stop()` closes the port, `start()` reopens it. `peak` is the most requests it held at once,
    `peak_per_path` the same per path."""

    def __init__(self, port: int = 0, *, delay: float = 0.0) -> None:
        self.received: list[Received] = []
        self.status = 200
        self.answer = b'{"ok":true}'
        self.delay = delay
        self.peak = 0
        self.peak_per_path: Counter[str] = Counter()
        self._holding: Counter[str] = Counter()
        self._stopping = threading.Event()
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
                if receiver.delay:
                    receiver._hold(self.path)
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

    def _hold(self, path: str) -> None:
        """Answer after `delay` seconds, counting the requests held meanwhile."""
        with self._lock:
            self._holding[path] += 1
            self.peak = max(self.peak, self._holding.total())
            self.peak_per_path[path] = max(self.peak_per_path[path], self._holding[path])
        try:
            self._stopping.wait(self.delay)
        finally:
            with self._lock:
                self._holding[path] -= 1

    def holding(self) -> int:
        """Requests being held right now."""
        with self._lock:
            return self._holding.total()

    def start(self) -> Receiver:
        self.rejected = getattr(self, "rejected", [])
        self._stopping.clear()
        self.server = ThreadingHTTPServer(("127.0.0.1", self._port), self._handler())
        self._port = self.server.server_port
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self

    def stop(self) -> None:
        self._stopping.set()  # held requests are answered now
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
