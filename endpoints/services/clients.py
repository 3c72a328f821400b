"""The one place that builds `endpointapi` clients from settings and wires their metrics."""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import lru_cache
from typing import TypeVar

from django.conf import settings
from django.utils import timezone

from endpointapi import AddressPolicy, ClientConfig, EndpointApiClient, EndpointUnauthorized, RequestRecord
from endpointapi.guard import IPNetwork, parse_networks
from endpoints import metrics
from endpoints.models import Endpoint, EnvironmentType, RuntimeEnvironment
from endpoints.models.tenancy import hash_key
from endpoints.services.infrastructure import infrastructure_services
from endpoints.services.keys import environment_api_keys
from kongflow.logging import log_context

logger = logging.getLogger(__name__)
T = TypeVar("T")


def _record(record: RequestRecord) -> None:
    metrics.endpointapi_requests.labels(record.action, record.outcome).inc()
    metrics.endpointapi_duration.labels(record.action).observe(record.duration)


@lru_cache(maxsize=8)
def _networks(value: str) -> tuple[IPNetwork, ...]:
    return parse_networks(value)


def outbound_policy(*, environment: RuntimeEnvironment) -> AddressPolicy:
    """What every outbound call made for `environment` (endpoint calls, webhooks) may connect to.

    DEVELOPMENT environments may call private and loopback addresses (the CLI's `dev` registers
    http://localhost:3000); every other type only public ones and its organization's allowed
    networks (ENDPOINTAPI_ALLOWED_NETWORKS when the organization names none). Kongflow's own
    infrastructure is refused to every type (services.infrastructure).

    Read at call time, so a changed setting or organization applies to the next call."""
    return AddressPolicy(
        allow_private=environment.type == EnvironmentType.DEVELOPMENT,
        allowed_networks=_networks(environment.organization.allowed_networks or settings.ENDPOINTAPI_ALLOWED_NETWORKS),
        infrastructure=infrastructure_services(),
    )


def client_config(*, environment: RuntimeEnvironment) -> ClientConfig:
    return ClientConfig(
        connect_timeout=settings.ENDPOINTAPI_CONNECT_TIMEOUT,
        read_timeout=settings.ENDPOINTAPI_READ_TIMEOUT,
        index_read_timeout=settings.ENDPOINTAPI_INDEX_READ_TIMEOUT,
        max_response_bytes=settings.ENDPOINTAPI_MAX_RESPONSE_BYTES,
        retries=settings.ENDPOINTAPI_RETRIES,
        address_policy=outbound_policy(environment=environment),
        on_request=_record,
    )


def endpoint_client(*, url: str, api_key: str, environment: RuntimeEnvironment) -> EndpointApiClient:
    """A client for one endpoint of `environment` (with its outbound policy)."""
    return EndpointApiClient(url=url, api_key=api_key, config=client_config(environment=environment))


def call_with_key_fallback(
    *,
    environment: RuntimeEnvironment,
    url: str,
    call: Callable[[EndpointApiClient], T],
    endpoint: Endpoint | None = None,
    record: bool = True,
) -> tuple[T, str]:
    """Run `call` on a client for `url` holding the environment's key (and its outbound policy);
    during a key rotation grace, when the endpoint rejects it (401, the SDK's "client apiKey
    mismatch"), once more with the previous key.

    Returns the answer and the SHA-256 of the key that was accepted; with `endpoint` (and `record`),
    that hash is recorded on it (one UPDATE, only when it changed). When both keys are rejected the error of
    the current key is raised.
    """
    keys = environment_api_keys(environment)

    def with_key(key: str) -> T:
        return call(endpoint_client(url=url, api_key=key, environment=environment))

    with log_context(environment_id=environment.id, endpoint_id=endpoint.id if endpoint else None):
        try:
            result, key = with_key(keys[0]), keys[0]
        except EndpointUnauthorized as rejected:
            if len(keys) < 2:
                raise
            try:
                result, key = with_key(keys[1]), keys[1]
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
