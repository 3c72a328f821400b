"""The one place that builds `endpointapi` clients from settings and wires their metrics."""

from __future__ import annotations

from django.conf import settings

from endpointapi import ClientConfig, EndpointApiClient, RequestRecord
from endpoints import metrics


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
