"""The one place that builds `endpointapi` clients from settings and wires their metrics."""

from __future__ import annotations

from functools import lru_cache

from django.conf import settings

from endpointapi import AddressPolicy, ClientConfig, EndpointApiClient, RequestRecord
from endpointapi.guard import IPNetwork, parse_networks
from endpoints import metrics
from endpoints.models import EnvironmentType


def _record(record: RequestRecord) -> None:
    metrics.endpointapi_requests.labels(record.action, record.outcome).inc()
    metrics.endpointapi_duration.labels(record.action).observe(record.duration)


@lru_cache(maxsize=8)
def _networks(value: str) -> tuple[IPNetwork, ...]:
    return parse_networks(value)


def outbound_policy(environment_type: str) -> AddressPolicy:
    """DEVELOPMENT environments may call private and loopback addresses (the CLI's `dev` registers
    http://localhost:3000); every other type only public ones and ENDPOINTAPI_ALLOWED_NETWORKS.

    Read at call time, so a changed setting applies to the next call."""
    return AddressPolicy(
        allow_private=environment_type == EnvironmentType.DEVELOPMENT,
        allowed_networks=_networks(settings.ENDPOINTAPI_ALLOWED_NETWORKS),
    )


def client_config(*, environment_type: str) -> ClientConfig:
    return ClientConfig(
        connect_timeout=settings.ENDPOINTAPI_CONNECT_TIMEOUT,
        read_timeout=settings.ENDPOINTAPI_READ_TIMEOUT,
        index_read_timeout=settings.ENDPOINTAPI_INDEX_READ_TIMEOUT,
        max_response_bytes=settings.ENDPOINTAPI_MAX_RESPONSE_BYTES,
        retries=settings.ENDPOINTAPI_RETRIES,
        address_policy=outbound_policy(environment_type),
        on_request=_record,
    )


def endpoint_client(*, url: str, api_key: str, environment_type: str) -> EndpointApiClient:
    """A client for one endpoint of an environment of `environment_type` (its outbound policy)."""
    return EndpointApiClient(url=url, api_key=api_key, config=client_config(environment_type=environment_type))
