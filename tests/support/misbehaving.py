"""A misbehaving 'endpoint' on 127.0.0.1: each path answers INDEX_ENDPOINT in one broken way."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

VALID_DOCUMENT = {"jobs": [], "sources": [], "dynamicTriggers": [], "dynamicSchedules": []}
SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"
SDK_HEADERS = {"trigger-version": "2023-09-29", "trigger-sdk-version": "2.3.19"}


def raw_scenario(name: str):
    """A responder answering INDEX_ENDPOINT with tests/scenarios/<name>.json byte for byte: documents
    a real SDK cannot produce (one job id declared twice, ...)."""
    body = (SCENARIOS / f"{name}.json").read_bytes()
    return lambda handler: handler._send(200, body, headers=SDK_HEADERS)


class Switchable:
    """A responder the test switches: a valid document while `healthy`, else an HTML page (the
    index fails with INVALID_JSON, not retried); PING is always answered."""

    def __init__(self, *, healthy: bool) -> None:
        self.healthy = healthy

    def __call__(self, handler) -> None:
        if handler.headers.get("x-trigger-action") == "PING":
            handler.json(200, {"ok": True}, headers=SDK_HEADERS)
        elif self.healthy:
            handler.json(200, VALID_DOCUMENT, headers=SDK_HEADERS)
        else:
            handler._send(200, b"<html>maintenance</html>", "text/html")


class _Handler(BaseHTTPRequestHandler):
    routes: ClassVar[dict] = {}
    requests: ClassVar[list] = []

    def log_message(self, *args) -> None:
        pass

    def do_POST(self) -> None:
        type(self).requests.append((self.path, dict(self.headers)))
        route = self.routes.get(self.path.split("?")[0])
        if route is None:
            self._send(404, b"not found", "text/plain")
            return
        route(self)

    def _send(self, status: int, body: bytes, content_type: str | None = "application/json", headers=None) -> None:
        self.send_response(status)
        if content_type:
            self.send_header("Content-Type", content_type)
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def json(self, status: int, payload, headers=None) -> None:
        self._send(status, json.dumps(payload).encode(), headers=headers)


class MisbehavingEndpoint:
    def __init__(self) -> None:
        handler = type("Handler", (_Handler,), {"routes": {}, "requests": []})
        self.handler = handler
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.base = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def route(self, path: str, responder) -> str:
        self.handler.routes[path] = responder
        return self.base + path

    @property
    def requests(self) -> list:
        return self.handler.requests

    def __enter__(self) -> MisbehavingEndpoint:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
