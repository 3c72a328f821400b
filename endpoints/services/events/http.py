"""The one function that sends webhooks over the network (through `endpointapi`'s transport)."""

from __future__ import annotations

from django.conf import settings

from endpointapi import transport
from endpoints.models import RuntimeEnvironment
from endpoints.services.clients import outbound_policy

USER_AGENT = "Kongflow-Webhooks/1"


def post_webhook(
    *, url: str, body: bytes, headers: dict[str, str], environment: RuntimeEnvironment
) -> transport.RawResponse:
    """POST once through the outbound guard: no redirects, timeouts, a size cap. Raises EndpointApiError."""
    all_headers: dict[str, str | bytes] = {
        "content-type": "application/json",
        "user-agent": USER_AGENT,
        **headers,
    }
    return transport.send(
        transport.shared_session(),
        url,
        policy=outbound_policy(environment=environment),
        action="WEBHOOK",
        endpoint_url=transport.sanitize_url(url),
        headers=all_headers,
        body=body,
        connect_timeout=settings.KONGFLOW_WEBHOOK_CONNECT_TIMEOUT,
        read_timeout=settings.KONGFLOW_WEBHOOK_READ_TIMEOUT,
        max_bytes=settings.KONGFLOW_WEBHOOK_MAX_RESPONSE_BYTES,
    )
