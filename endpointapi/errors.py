"""Typed errors raised by the endpoint API client.

Every failure to talk to an endpoint ends up as an :class:`EndpointApiError` subclass; no
``requests``/``urllib3`` exception ever leaves the package. ``message`` is the wording the
Trigger.dev v2 server used (the CLI and dashboard show it verbatim, and the CLI retries on
``/Could not connect to endpoint/i``), ``code`` is machine-readable, ``retryable`` says whether
trying again later can help, and ``hint`` is one line of advice for the user.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    from endpointapi.types import Exchange

__all__ = [
    "ActionNotSupported",
    "EndpointApiError",
    "EndpointConnectionError",
    "EndpointHTTPError",
    "EndpointRedirect",
    "EndpointRedirectLoop",
    "EndpointRedirectWithoutLocation",
    "EndpointResponseError",
    "EndpointTimeout",
    "EndpointUnauthorized",
    "EndpointUnreachable",
    "InvalidEndpointResponse",
    "InvalidIndexDocument",
    "InvalidJSON",
    "Issue",
    "ResponseTooLarge",
]

INVALID_JSON_MESSAGE = (
    "Could not parse response from endpoint. Make sure it points to the correct URL (you might be missing /api/trigger)"
)
UNAUTHORIZED_MESSAGE = "Trigger API key is invalid"


@dataclass(frozen=True)
class Issue:
    """One validation problem, shaped like a zod issue (``path`` uses wire/camelCase keys)."""

    path: tuple[str | int, ...]
    message: str
    code: str = "custom"
    #: zod's extra issue fields (``expected``, ``received``, ``minimum``...), in zod's order.
    details: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    def to_json(self) -> dict[str, Any]:
        """The issue as zod serialises it: ``{code, ...details, path, message}``."""
        return {"code": self.code, **self.details, "path": list(self.path), "message": self.message}


def _restore(cls: type[EndpointApiError], message: str, state: dict[str, Any]) -> EndpointApiError:
    error = cls.__new__(cls)
    Exception.__init__(error, message)
    error.__dict__.update(state)
    return error


class EndpointApiError(Exception):
    """Base class. ``args == (message,)`` so the error survives pickling and Celery's JSON encoding."""

    code: ClassVar[str] = "ENDPOINT_API_ERROR"
    default_retryable: ClassVar[bool] = False
    default_hint: ClassVar[str] = "Check that the endpoint is running the Trigger.dev SDK."

    def __init__(
        self,
        message: str,
        *,
        action: str | None = None,
        url: str | None = None,
        status_code: int | None = None,
        raw: str | None = None,
        hint: str | None = None,
        retryable: bool | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.action = action
        self.url = url
        self.status_code = status_code
        self.raw = raw
        self.hint = hint or self.default_hint
        self.retryable = self.default_retryable if retryable is None else retryable
        #: The failed exchange (request and response), filled in by the client when it raises.
        self.exchange: Exchange | None = None

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return f"{type(self).__name__}(code={self.code!r}, action={self.action!r}, message={self.message!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (_restore, (type(self), self.message, dict(self.__dict__)))

    def to_dict(self) -> dict[str, Any]:
        """JSON-able summary (e.g. for ``EndpointIndex.error`` or API bodies)."""
        data: dict[str, Any] = {
            "code": self.code,
            "message": self.message,
            "hint": self.hint,
            "retryable": self.retryable,
            "action": self.action,
            "status_code": self.status_code,
        }
        if self.raw is not None:
            data["raw"] = self.raw
        return data


class EndpointConnectionError(EndpointApiError):
    """DNS failure, refused connection, TLS error, connection dropped mid-response, invalid URL."""

    code = "CONNECTION_FAILED"
    default_retryable = True
    default_hint = "Check that the endpoint URL is correct and that the server is running and reachable."


class EndpointTimeout(EndpointApiError):
    """Connect timeout, read timeout, or the per-call deadline expired while reading the body."""

    code = "TIMEOUT"
    default_retryable = True
    default_hint = "The endpoint did not answer in time: check that it is running and not overloaded."


class EndpointUnauthorized(EndpointApiError):
    """401: the endpoint's SDK rejected the API key (its message is kept verbatim)."""

    code = "UNAUTHORIZED"
    default_hint = "Make sure the endpoint uses the API key of this environment (TRIGGER_API_KEY)."


class EndpointHTTPError(EndpointApiError):
    """Any other non-2xx answer. Only 5xx, 408 and 429 are worth retrying."""

    code = "HTTP_ERROR"
    default_hint = "The endpoint answered with an HTTP error: check its logs."

    def __init__(self, message: str, *, body_message: str | None = None, **kwargs: Any) -> None:
        status = kwargs.get("status_code")
        if kwargs.get("retryable") is None:
            kwargs["retryable"] = status is not None and (status >= 500 or status in (408, 429))
        super().__init__(message, **kwargs)
        #: ``message`` of a JSON error body (e.g. the SDK's "Job not found"), if there was one.
        self.body_message = body_message


class EndpointRedirect(EndpointApiError):
    """3xx that was not followed: to another origin (the key never goes there). ``location`` is the
    raw ``Location`` header (may be ``None``)."""

    code = "REDIRECT"
    default_hint = "Register the endpoint with its final URL (the one that does not redirect)."

    def __init__(self, message: str, *, location: str | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.location = location


class EndpointRedirectLoop(EndpointRedirect):
    """More same-origin redirects than the client follows (``MAX_REDIRECTS``)."""

    code = "REDIRECT_LOOP"


class EndpointRedirectWithoutLocation(EndpointRedirect):
    """A 3xx answer without a ``Location`` header."""

    code = "REDIRECT_WITHOUT_LOCATION"


class ResponseTooLarge(EndpointApiError):
    """The body is larger than ``ClientConfig.max_response_bytes``; it was not read further."""

    code = "RESPONSE_TOO_LARGE"
    default_hint = "The endpoint's answer is larger than this server accepts."


class InvalidEndpointResponse(EndpointApiError):
    """The answer was received but does not match the expected schema."""

    code = "INVALID_RESPONSE"
    default_hint = "The endpoint answered with data this server does not understand: check its SDK version."

    def __init__(self, message: str, *, issues: list[Issue] | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.issues: list[Issue] = list(issues or [])


class InvalidJSON(InvalidEndpointResponse):
    """The body is not JSON (HTML error page, truncated body, wrong URL...)."""

    code = "INVALID_JSON"
    default_hint = "Make sure the URL points to the Trigger.dev handler (usually ending in /api/trigger)."

    def __init__(self, message: str = INVALID_JSON_MESSAGE, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)


class InvalidIndexDocument(InvalidEndpointResponse):
    """INDEX_ENDPOINT answered JSON that is not a valid index document (§2.10 wording)."""

    code = "INVALID_DOCUMENT"
    default_hint = "Fix the Jobs listed in the message and deploy the endpoint again."

    @classmethod
    def from_issues(cls, issues: list[Issue], body: Any, **kwargs: Any) -> InvalidIndexDocument:
        raw = json.dumps([issue.to_json() for issue in issues], ensure_ascii=False)
        return cls(friendly_index_message(issues, body), issues=issues, raw=raw, **kwargs)


class ActionNotSupported(EndpointApiError):
    """The SDK answered ``405 {"message": "Method not allowed"}``: it does not know this action."""

    code = "ACTION_NOT_SUPPORTED"
    default_hint = "Upgrade @trigger.dev/sdk on the endpoint to a version that supports this action."


# Names used by the style guide; same classes.
EndpointUnreachable = EndpointConnectionError
EndpointResponseError = EndpointHTTPError


# -- §2.10 friendly message -------------------------------------------------------------------------

_MISSING = object()


def _js_str(value: Any) -> str:
    """``String(value)`` as JavaScript would render it inside a template literal."""
    if value is _MISSING:
        return "undefined"
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dict):
        return "[object Object]"
    if isinstance(value, list):
        return ",".join("" if item is None else _js_str(item) for item in value)
    return str(value)


def _js_truthy(value: Any) -> bool:
    return value is not _MISSING and value is not None and value is not False and value != 0 and value != ""


def _join_path(path: tuple[str | int, ...]) -> str:
    """zod-validation-error's path rendering: ``jobs[0].trigger.rule``, ``["odd key"]``."""
    if len(path) == 1:
        return str(path[0])
    out = ""
    for item in path:
        if isinstance(item, int):
            out += f"[{item}]"
        elif item.isidentifier():
            out += ("." if out else "") + item
        else:
            out += '["' + item.replace('"', '\\"') + '"]'
    return out


def format_issues(issues: list[Issue]) -> str:
    """Issues on one line, as zod-validation-error renders them: ``Required at "jobs[0].name"; ...``."""
    parts = []
    for issue in issues:
        if not issue.path:
            parts.append(issue.message)
        elif len(issue.path) == 1 and isinstance(issue.path[0], int):
            parts.append(f"{issue.message} at index {issue.path[0]}")
        else:
            parts.append(f'{issue.message} at "{_join_path(issue.path)}"')
    return "; ".join(parts)


def zod_validation_message(issues: list[Issue], prefix: str) -> str:
    """``fromZodError(error, {prefix}).message`` (zod-validation-error 1.x format)."""
    reason = format_issues(issues)
    return f"{prefix}: {reason}" if reason else prefix


def friendly_index_message(issues: list[Issue], body: Any) -> str:
    """The text T23 stores in ``EndpointIndex.error.message`` for an invalid index document."""
    lines = []
    jobs = body.get("jobs", _MISSING) if isinstance(body, dict) else _MISSING
    for issue in issues:
        if len(issue.path) < 2 or issue.path[0] != "jobs" or not isinstance(issue.path[1], int):
            continue
        index = issue.path[1]
        job = jobs[index] if isinstance(jobs, list) and 0 <= index < len(jobs) else _MISSING
        if not _js_truthy(job):
            continue
        job_id = job.get("id", _MISSING) if isinstance(job, dict) else _MISSING
        rest = ".".join(str(part) for part in issue.path[2:])
        lines.append(f'Job "{_js_str(job_id)}": {issue.message} at "{rest}".')
    if lines:
        return "Your Jobs have issues:\n" + "\n".join(f"- {line}" for line in lines)
    return zod_validation_message(issues, "There's an issue with the format of your Jobs")
