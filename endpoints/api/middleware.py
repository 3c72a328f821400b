"""Everything under /api/ speaks JSON, including what Django answers before or around DRF.

- Request bodies sent with ``Transfer-Encoding: chunked`` (no Content-Length) are read, bounded by
  ``DATA_UPLOAD_MAX_MEMORY_SIZE``; Django alone would see an empty body. Only servers that
  terminate the input stream (gunicorn sets ``wsgi.input_terminated``) can be read safely.
- Headers larger than ``KONGFLOW_MAX_HEADER_BYTES`` in total are answered 431.
- Any error response that is not JSON (unknown routes, Django's 400/404/413/500 pages, the DEBUG
  URL list or traceback) is replaced by ``{"error": …}``: a 5xx never carries internal text.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from http import HTTPStatus

from django.conf import settings
from django.core.handlers.wsgi import LimitedStream
from django.http import HttpRequest, HttpResponse, JsonResponse

API_PREFIX = "/api/"
MESSAGES = {
    400: "Bad request",
    404: "Not found",
    405: "Method not allowed",
    411: "A request body needs a Content-Length (or chunked encoding behind gunicorn)",
    413: "Request body is too large",
    431: "Request headers are too large",
    500: "Something went wrong",
}


def error_response(status: int) -> JsonResponse:
    phrase = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else "Error"
    message = MESSAGES.get(status) or (MESSAGES[500] if status >= 500 else phrase)
    return JsonResponse({"error": message}, status=status)


class ApiJsonMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not (request.path_info.startswith(API_PREFIX) or request.path_info == API_PREFIX.rstrip("/")):
            return self.get_response(request)
        early = _check_headers(request) or _read_chunked_body(request)
        response = early or self.get_response(request)
        if response.status_code >= 400 and not response.get("Content-Type", "").startswith("application/json"):
            replacement = error_response(response.status_code)
            for header in ("Allow", "Retry-After", "WWW-Authenticate"):
                if header in response:
                    replacement[header] = response[header]
            return replacement
        return response


def _check_headers(request: HttpRequest) -> HttpResponse | None:
    size = sum(len(key) + len(str(value)) for key, value in request.META.items() if key.startswith("HTTP_"))
    if size > settings.KONGFLOW_MAX_HEADER_BYTES:
        return error_response(431)
    return None


def _read_chunked_body(request: HttpRequest) -> HttpResponse | None:
    meta = request.META
    if "chunked" not in meta.get("HTTP_TRANSFER_ENCODING", "").lower() or meta.get("CONTENT_LENGTH"):
        return None
    if not meta.get("wsgi.input_terminated"):
        return error_response(411)  # reading would wait for the client to close the connection
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    stream = meta["wsgi.input"]
    body = stream.read(limit + 1) if limit is not None else stream.read()
    if limit is not None and len(body) > limit:
        return error_response(413)
    meta["CONTENT_LENGTH"] = str(len(body))
    request._stream = LimitedStream(io.BytesIO(body), len(body))  # type: ignore[assignment]
    return None
