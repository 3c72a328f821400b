"""The one function that sends webhooks over the network (through `endpointapi`'s transport)."""

from __future__ import annotations

from django.conf import settings

from endpointapi import transport
from endpoints.models import RuntimeEnvironment

USER_AGENT = "Kongflow-Webhooks/1"


def post_webhook(
    *, url: str, body: bytes, headers: dict[str, str], environment: RuntimeEnvironment
) -> transport.RawResponse:
    """POST once: no redirects, connect/read timeouts, the response capped. Raises EndpointApiError."""
    all_headers: dict[str, str | bytes] = {
        "content-type": "application/json",
        "user-agent": USER_AGENT,
        **headers,
    }
    # guard: policy=outbound_policy(environment.type)  (the address guard of issue 7, added on merge)
    return transport.send(
        transport.shared_session(),
        url,
        action="WEBHOOK",
        endpoint_url=transport.sanitize_url(url),
        headers=all_headers,
        body=body,
        connect_timeout=settings.KONGFLOW_WEBHOOK_CONNECT_TIMEOUT,
        read_timeout=settings.KONGFLOW_WEBHOOK_READ_TIMEOUT,
        max_bytes=settings.KONGFLOW_WEBHOOK_MAX_RESPONSE_BYTES,
    )
