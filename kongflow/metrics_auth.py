"""`/metrics` behind an optional bearer token (KONGFLOW_METRICS_TOKEN), for the web and the worker."""

from __future__ import annotations

import hmac
import os
import threading
from collections.abc import Callable, Iterable
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse

UNAUTHORIZED = b'{"error":"Invalid or missing metrics token"}'


def token_matches(header: str, token: str) -> bool:
    """Constant-time check of an ``Authorization`` header against ``Bearer <token>``."""
    return hmac.compare_digest(header.encode(), f"Bearer {token}".encode())


def denied(request: HttpRequest) -> HttpResponse | None:
    """The 401 to answer when KONGFLOW_METRICS_TOKEN is set and the request lacks it, else None."""
    token = settings.KONGFLOW_METRICS_TOKEN
    if token and not token_matches(request.headers.get("Authorization", ""), token):
        response = JsonResponse({"error": "Invalid or missing metrics token"}, status=401)
        response["WWW-Authenticate"] = "Bearer"
        return response
    return None


def protected_wsgi_app(app: Callable[..., Iterable[bytes]], token: str) -> Callable[..., Iterable[bytes]]:
    """Wrap prometheus_client's WSGI app (the worker's metrics port) with the same token check."""

    def guarded(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if token and not token_matches(environ.get("HTTP_AUTHORIZATION", ""), token):
            start_response(
                "401 Unauthorized",
                [("Content-Type", "application/json"), ("WWW-Authenticate", "Bearer")],
            )
            return [UNAUTHORIZED]
        return app(environ, start_response)

    return guarded


def serve_worker_metrics(port: int, addr: str, registry: Any) -> None:
    """prometheus_client's ``start_wsgi_server``, with the token check of KONGFLOW_METRICS_TOKEN."""
    from wsgiref.simple_server import make_server

    from prometheus_client import make_wsgi_app
    from prometheus_client.exposition import ThreadingWSGIServer, _SilentHandler

    app = protected_wsgi_app(make_wsgi_app(registry), os.environ.get("KONGFLOW_METRICS_TOKEN", ""))
    server = make_server(addr, port, app, ThreadingWSGIServer, handler_class=_SilentHandler)
    threading.Thread(target=server.serve_forever, daemon=True, name="worker-metrics").start()
