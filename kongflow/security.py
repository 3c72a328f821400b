"""Small pieces of the hardened edges (docs/security.md)."""

from __future__ import annotations

import re
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, JsonResponse
from rest_framework.throttling import BaseThrottle

# `%00` in the raw query string, or a NUL that reached the decoded path.
_NUL_IN_QUERY = re.compile(r"%00|\x00")


class RejectNulMiddleware:
    """A URL with a NUL character (`%00`) in its path or query is answered 400 `{"error": …}`
    before any view runs: no database takes NUL in text, so a lookup would fail with a 500.

    Invalid UTF-8 (`%FF`) and lone surrogates (`%ED%A0%80`) need nothing here: Django keeps such
    bytes percent-encoded in the path, which then matches no object (404).
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if "\x00" in request.path_info or _NUL_IN_QUERY.search(request.META.get("QUERY_STRING", "")):
            return JsonResponse({"error": "The URL contains a NUL character (%00)"}, status=400)
        return self.get_response(request)


def client_address(request: HttpRequest) -> str | None:
    """The client's address by the API throttles' rule: the peer address, or the entry of
    X-Forwarded-For that the KONGFLOW_NUM_PROXIES trusted proxies in front added."""
    return BaseThrottle().get_ident(request) or None  # type: ignore[arg-type]  # reads only request.META
