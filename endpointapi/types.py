"""Configuration, action names and the result values returned by :class:`EndpointApiClient`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cached_property
from typing import Any

from endpointapi.guard import AddressPolicy
from endpointapi.schemas import IndexDocument

__all__ = [
    "Action",
    "ClientConfig",
    "DeliverEventResult",
    "Exchange",
    "ExecuteJobResult",
    "HttpSourceResult",
    "IndexResult",
    "IndexUnchanged",
    "InitializeTriggerResult",
    "NormalizedResponse",
    "Pong",
    "PreprocessRunResult",
    "ProbeResult",
    "RequestRecord",
    "ValidateResult",
    "WebhookDeliveryResult",
]


class Action(StrEnum):
    """Values of the ``x-trigger-action`` header (§1.4)."""

    PING = "PING"
    VALIDATE = "VALIDATE"
    INDEX_ENDPOINT = "INDEX_ENDPOINT"
    PROBE_EXECUTION_TIMEOUT = "PROBE_EXECUTION_TIMEOUT"
    EXECUTE_JOB = "EXECUTE_JOB"
    PREPROCESS_RUN = "PREPROCESS_RUN"
    INITIALIZE_TRIGGER = "INITIALIZE_TRIGGER"
    DELIVER_HTTP_SOURCE_REQUEST = "DELIVER_HTTP_SOURCE_REQUEST"
    DELIVER_HTTP_ENDPOINT_REQUEST_FOR_RESPONSE = "DELIVER_HTTP_ENDPOINT_REQUEST_FOR_RESPONSE"
    DELIVER_WEBHOOK_REQUEST = "DELIVER_WEBHOOK_REQUEST"
    RUN_NOTIFICATION = "RUN_NOTIFICATION"
    DELIVER_EVENT = "DELIVER_EVENT"


#: Actions without side effects on the endpoint: the only ones retried inside the client.
SAFE_ACTIONS = frozenset({Action.PING, Action.VALIDATE, Action.INDEX_ENDPOINT})


@dataclass(frozen=True)
class RequestRecord:
    """One HTTP attempt, handed to ``ClientConfig.on_request`` (metrics)."""

    action: str
    outcome: str  # "ok" or an EndpointApiError code
    status_code: int | None
    duration: float  # seconds


@dataclass(frozen=True)
class Exchange:
    """The HTTP exchange behind a failed call, bounded in size and safe to store: the URL has no
    credentials or query, the API key is masked in headers and redacted in bodies."""

    action: str
    method: str
    url: str
    request_headers: dict[str, str]
    request_body: str | None
    status_code: int | None
    response_headers: dict[str, str]
    response_body: str | None
    duration_ms: int
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "action": self.action,
            "method": self.method,
            "url": self.url,
            "request": {"headers": self.request_headers, "body": self.request_body},
            "response": (
                None
                if self.status_code is None
                else {"status": self.status_code, "headers": self.response_headers, "body": self.response_body}
            ),
            "durationMs": self.duration_ms,
            "error": self.error,
        }


@dataclass(frozen=True)
class ClientConfig:
    connect_timeout: float = 3.0
    #: Deadline for the whole answer (headers and body), so a slow-drip body cannot hold a worker.
    read_timeout: float = 15.0
    index_read_timeout: float = 30.0
    max_response_bytes: int = 10 * 1024 * 1024
    #: Quick in-client retries, only for connection failures/timeouts of PING, VALIDATE, INDEX_ENDPOINT.
    retries: int = 1
    retry_backoff: float = 0.2
    user_agent: str = "triggerdotdev-server/2.0.0"
    api_version: str = "2023-09-29"
    #: Which addresses may be called (resolved once, every address checked, the connection pinned).
    #: The default refuses every non-public address.
    address_policy: AddressPolicy = field(default_factory=AddressPolicy)
    #: Called once per HTTP attempt; exceptions raised by it are logged and swallowed.
    on_request: Callable[[RequestRecord], None] | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        for name in ("connect_timeout", "read_timeout", "index_read_timeout"):
            if getattr(self, name) <= 0:
                raise ValueError(f"ClientConfig.{name} must be positive")
        if self.max_response_bytes <= 0:
            raise ValueError("ClientConfig.max_response_bytes must be positive")
        if self.retries < 0 or self.retry_backoff < 0:
            raise ValueError("ClientConfig.retries and retry_backoff must not be negative")


@dataclass(frozen=True)
class Pong:
    ok: bool
    error: str | None = None
    trigger_version: str | None = None
    trigger_sdk_version: str | None = None


@dataclass(frozen=True)
class ValidateResult:
    ok: bool
    endpoint_id: str | None = None
    error: str | None = None
    trigger_version: str | None = None
    trigger_sdk_version: str | None = None


@dataclass(frozen=True)
class IndexResult:
    #: The validated document.
    document: IndexDocument
    trigger_version: str | None
    trigger_sdk_version: str | None
    duration: float  # seconds, HTTP only
    #: Where the document was found: the client's URL, or the same-origin URL it redirected to.
    url: str
    #: SHA-256 (hex) of the raw response body, as received: what :meth:`index_endpoint_unless` compares.
    body_hash: str = ""
    #: The raw response body, as received (scanned for NUL escapes without another dump).
    body: bytes = field(default=b"", repr=False)

    @cached_property
    def data(self) -> dict[str, Any]:
        """JSON-able; equal to zod's ``IndexEndpointResponseSchema.parse`` output (``EndpointIndex.data``)."""
        return self.document.to_wire()


@dataclass(frozen=True)
class IndexUnchanged:
    """INDEX_ENDPOINT answered 2xx with exactly the bytes of a known body (same SHA-256): nothing was
    decoded or validated, those bytes were validated when they were first received."""

    body_hash: str
    trigger_version: str | None
    trigger_sdk_version: str | None
    duration: float  # seconds, HTTP only
    url: str  # as IndexResult.url


@dataclass(frozen=True)
class ProbeResult:
    status_code: int
    duration_ms: int
    ok: bool
    #: The platform killed the function (Vercel, Deno Deploy, Cloudflare signatures, §5.8).
    platform_timeout: bool
    trigger_version: str | None = None
    trigger_sdk_version: str | None = None


@dataclass(frozen=True)
class ExecuteJobResult:
    status: str
    body: dict[str, Any]
    #: Parsed ``x-trigger-run-metadata`` header (``successSubscription``/``failedSubscription``), if sent.
    run_metadata: dict[str, Any] | None
    trigger_version: str | None
    trigger_sdk_version: str | None
    duration: float = 0.0


@dataclass(frozen=True)
class PreprocessRunResult:
    abort: bool
    properties: list[dict[str, Any]] | None
    trigger_version: str | None = None
    trigger_sdk_version: str | None = None


@dataclass(frozen=True)
class InitializeTriggerResult:
    rule: dict[str, Any]
    source: dict[str, Any]  # SourceMetadata v1 or v2, with "version" filled in
    account_id: str | None
    trigger_version: str | None = None
    trigger_sdk_version: str | None = None


@dataclass(frozen=True)
class NormalizedResponse:
    """What the endpoint wants returned to the original HTTP caller."""

    status: int | float
    body: Any
    headers: dict[str, str] | None = None
    trigger_version: str | None = None
    trigger_sdk_version: str | None = None


@dataclass(frozen=True)
class HttpSourceResult:
    events: list[dict[str, Any]]
    response: NormalizedResponse
    metadata: Any = None
    trigger_version: str | None = None
    trigger_sdk_version: str | None = None


@dataclass(frozen=True)
class WebhookDeliveryResult:
    response: NormalizedResponse
    verified: bool
    error: str | None = None
    trigger_version: str | None = None
    trigger_sdk_version: str | None = None


@dataclass(frozen=True)
class DeliverEventResult:
    body: Any
    trigger_version: str | None = None
    trigger_sdk_version: str | None = None
