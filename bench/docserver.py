"""A loopback HTTP server answering INDEX_ENDPOINT with prepared documents, one per path.

The throughput and recurring-reindex benchmarks need a hundred endpoints whose jobs do not collide
(distinct job ids) and whose documents can change on demand, which one SDK process cannot give: the
documents are taken once from a real SDK endpoint (scenario `many`) and renamed per endpoint.
"""

from __future__ import annotations

import copy
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


def renamed(document: dict[str, Any], prefix: str, version: str) -> bytes:
    """The document with every job id prefixed and every job at `version`."""
    data = copy.deepcopy(document)
    for job in data["jobs"]:
        job["id"] = f"{prefix}-{job['id']}"
        job["version"] = version
    return json.dumps(data).encode()


class DocumentServer:
    """POST /<name> -> documents[name] (200, JSON, SDK version headers); counts requests."""

    def __init__(self) -> None:
        self.documents: dict[str, bytes] = {}
        self.requests = 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Headers and body go out in separate writes: without TCP_NODELAY the body waits for the
            # client's delayed ACK (~40 ms a request), which a real SDK endpoint (Node) never does.
            disable_nagle_algorithm = True

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                if length:
                    self.rfile.read(length)
                server.requests += 1
                body = server.documents.get(self.path.strip("/"))
                if body is None:
                    self.send_response(404)
                    self.send_header("content-length", "0")
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("trigger-version", "2023-09-29")
                self.send_header("trigger-sdk-version", "2.3.19")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> DocumentServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
