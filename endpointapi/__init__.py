"""Client for the Trigger.dev v2 endpoint protocol (server -> user endpoint).

Standalone on purpose: no Django, no ``endpoints`` import; configuration comes through
:class:`ClientConfig`. See ``shared/reference/trigger-v2-endpoints.md`` §1-2.
"""

from endpointapi.client import EndpointApiClient
from endpointapi.errors import (
    ActionNotSupported,
    EndpointApiError,
    EndpointConnectionError,
    EndpointHTTPError,
    EndpointRedirect,
    EndpointResponseError,
    EndpointTimeout,
    EndpointUnauthorized,
    EndpointUnreachable,
    InvalidEndpointResponse,
    InvalidIndexDocument,
    InvalidJSON,
    Issue,
    ResponseTooLarge,
)
from endpointapi.guard import AddressPolicy, ForbiddenAddress
from endpointapi.schemas import IndexDocument
from endpointapi.transport import shared_session
from endpointapi.types import (
    Action,
    ClientConfig,
    DeliverEventResult,
    Exchange,
    ExecuteJobResult,
    HttpSourceResult,
    IndexResult,
    IndexUnchanged,
    InitializeTriggerResult,
    NormalizedResponse,
    Pong,
    PreprocessRunResult,
    ProbeResult,
    RequestRecord,
    ValidateResult,
    WebhookDeliveryResult,
)

__all__ = [
    "Action",
    "ActionNotSupported",
    "AddressPolicy",
    "ClientConfig",
    "DeliverEventResult",
    "EndpointApiClient",
    "EndpointApiError",
    "EndpointConnectionError",
    "EndpointHTTPError",
    "EndpointRedirect",
    "EndpointResponseError",
    "EndpointTimeout",
    "EndpointUnauthorized",
    "EndpointUnreachable",
    "Exchange",
    "ExecuteJobResult",
    "ForbiddenAddress",
    "HttpSourceResult",
    "IndexDocument",
    "IndexResult",
    "IndexUnchanged",
    "InitializeTriggerResult",
    "InvalidEndpointResponse",
    "InvalidIndexDocument",
    "InvalidJSON",
    "Issue",
    "NormalizedResponse",
    "Pong",
    "PreprocessRunResult",
    "ProbeResult",
    "RequestRecord",
    "ResponseTooLarge",
    "ValidateResult",
    "WebhookDeliveryResult",
    "shared_session",
]
