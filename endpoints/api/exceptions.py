"""One error body for the whole API: `{"error": "<message>"}` (the v2 style)."""

from __future__ import annotations

import logging
import math
from typing import Any

from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.db import InterfaceError, OperationalError
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response

from endpoints.api.authentication import INVALID_KEY
from endpoints.errors import KongflowError

logger = logging.getLogger(__name__)


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response:
    if isinstance(exc, KongflowError):
        return Response({"error": exc.message}, status=exc.status_code)
    if isinstance(exc, exceptions.NotAuthenticated | exceptions.AuthenticationFailed):
        return Response(
            {"error": INVALID_KEY}, status=status.HTTP_401_UNAUTHORIZED, headers={"WWW-Authenticate": "Bearer"}
        )
    if isinstance(exc, exceptions.Throttled):
        wait = math.ceil(exc.wait) if exc.wait is not None else 60  # type: ignore[attr-defined]  # DRF sets it; stubs omit it
        return Response(
            {"error": f"Too many requests: try again in {wait} seconds"},
            status=status.HTTP_429_TOO_MANY_REQUESTS,
            headers={"Retry-After": str(wait)},
        )
    if isinstance(exc, RequestDataTooBig):
        return Response({"error": "Request body is too large"}, status=413)
    if isinstance(exc, exceptions.ValidationError):
        return Response({"error": f"Invalid request body: {format_validation(exc.detail)}"}, status=400)
    if isinstance(exc, exceptions.ParseError | exceptions.UnsupportedMediaType):
        return Response({"error": f"Invalid request body: {exc.detail}"}, status=400)
    if isinstance(exc, exceptions.MethodNotAllowed):
        return Response({"error": "Method not allowed"}, status=405)
    if isinstance(exc, Http404 | exceptions.NotFound):
        return Response({"error": "Not found"}, status=404)
    if isinstance(exc, PermissionDenied | exceptions.PermissionDenied):
        return Response({"error": "Forbidden"}, status=403)
    if isinstance(exc, exceptions.APIException):
        return Response({"error": str(exc.detail)}, status=exc.status_code)
    if isinstance(exc, OperationalError | InterfaceError):
        # The database is unreachable or refusing connections: a temporary condition, say so.
        logger.warning("api.database_unavailable", extra={"error": type(exc).__name__})
        return Response({"error": "Service temporarily unavailable"}, status=503, headers={"Retry-After": "5"})
    logger.exception("api.unhandled_error", extra={"view": type(context.get("view")).__name__})
    return Response({"error": "Something went wrong"}, status=500)


def format_validation(detail: Any, path: str = "") -> str:
    """Flatten DRF's nested errors to `field: message; other: message`."""
    if isinstance(detail, dict):
        parts = [format_validation(value, f"{path}.{key}" if path else str(key)) for key, value in detail.items()]
        return "; ".join(p for p in parts if p)
    if isinstance(detail, list):
        return "; ".join(format_validation(item, path) for item in detail)
    return f"{path}: {detail}" if path and path != "non_field_errors" else str(detail)
