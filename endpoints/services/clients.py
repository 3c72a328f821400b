"""The one place that builds `endpointapi` clients from settings and wires their metrics."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TypeVar

from django.conf import settings
from django.utils import timezone

from endpointapi import ClientConfig, EndpointApiClient, EndpointUnauthorized, RequestRecord
from endpoints import metrics
from endpoints.models import Endpoint, RuntimeEnvironment
from endpoints.models.tenancy import hash_key
from endpoints.services.keys import environment_api_keys
from kongflow.logging import log_context

logger = logging.getLogger(__name__)
T = TypeVar("T")


def _record(record: RequestRecord) -> None:
    metrics.endpointapi_requests.labels(record.action, record.outcome).inc()
    metrics.endpointapi_duration.labels(record.action).observe(record.duration)


def client_config() -> ClientConfig:
    return ClientConfig(
        connect_timeout=settings.ENDPOINTAPI_CONNECT_TIMEOUT,
        read_timeout=settings.ENDPOINTAPI_READ_TIMEOUT,
        index_read_timeout=settings.ENDPOINTAPI_INDEX_READ_TIMEOUT,
        max_response_bytes=settings.ENDPOINTAPI_MAX_RESPONSE_BYTES,
        retries=settings.ENDPOINTAPI_RETRIES,
        on_request=_record,
    )


def endpoint_client(*, url: str, api_key: str) -> EndpointApiClient:
    return EndpointApiClient(url=url, api_key=api_key, config=client_config())


def call_with_key_fallback(
    *,
    environment: RuntimeEnvironment,
    make_client: Callable[[str], EndpointApiClient],
    call: Callable[[EndpointApiClient], T],
    endpoint: Endpoint | None = None,
    record: bool = True,
) -> tuple[T, str]:
    """Run `call` on a client holding the environment's key; during a key rotation grace, when the
    endpoint rejects it (401, the SDK's "client apiKey mismatch"), once more with the previous key.

    Returns the answer and the SHA-256 of the key that was accepted; with `endpoint` (and `record`),
    that hash is recorded on it (one UPDATE, only when it changed). When both keys are rejected the error of
    the current key is raised.
    """
    keys = environment_api_keys(environment)
    with log_context(environment_id=environment.id, endpoint_id=endpoint.id if endpoint else None):
        try:
            result, key = call(make_client(keys[0])), keys[0]
        except EndpointUnauthorized as rejected:
            if len(keys) < 2:
                raise
            try:
                result, key = call(make_client(keys[1])), keys[1]
            except EndpointUnauthorized:
                raise rejected from None
            logger.info("endpoints.previous_key_accepted")
    key_hash = hash_key(key)
    if endpoint is not None and record:
        endpoint_answered_key_record(endpoint=endpoint, key_hash=key_hash)
    return result, key_hash


def endpoint_answered_key_record(*, endpoint: Endpoint, key_hash: str) -> None:
    """Remember which environment key the endpoint accepted last (key rotation status)."""
    if endpoint.answered_key_hash == key_hash:
        return
    endpoint.answered_key_hash, endpoint.answered_key_since = key_hash, timezone.now()
    Endpoint.objects.filter(id=endpoint.id).update(
        answered_key_hash=key_hash, answered_key_since=endpoint.answered_key_since
    )
