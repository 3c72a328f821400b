"""Probe an endpoint's function time limit (§5.8) and store it as its run chunk limit."""

from __future__ import annotations

import logging

from django.utils import timezone

from endpointapi import EndpointApiError
from endpoints.models import Endpoint
from endpoints.services.clients import call_with_key_fallback

logger = logging.getLogger(__name__)

PROBE_TIMEOUT_MS = 120_000
MIN_CHUNK_MS = 10_000
MAX_CHUNK_MS = 120_000


def endpoint_probe(*, endpoint_id: str) -> int | None:
    """PROBE_EXECUTION_TIMEOUT, then store `runChunkExecutionLimit`; returns it, None when unchanged.

    The SDK sleeps for the asked 120 s and answers 200; a serverless platform that kills the
    function earlier answers with its own timeout signature. Either way the measured duration is
    how long a run chunk may take, clamped to 10 to 120 s. Deleted endpoints are skipped.
    """
    endpoint = (
        Endpoint.objects.select_related("environment__organization").filter(id=endpoint_id, url__isnull=False).first()
    )
    if endpoint is None:
        return None
    url = endpoint.url
    assert url is not None  # filtered on url__isnull=False
    try:
        result, _ = call_with_key_fallback(
            environment=endpoint.environment,
            url=url,
            call=lambda client: client.probe_execution_timeout(PROBE_TIMEOUT_MS),
            endpoint=endpoint,
        )
    except EndpointApiError as exc:
        logger.info("endpoints.probe.failed", extra={"endpoint_id": endpoint.id, "code": exc.code})
        return None
    limit = min(max(result.duration_ms, MIN_CHUNK_MS), MAX_CHUNK_MS)
    Endpoint.objects.filter(id=endpoint.id).update(run_chunk_execution_limit=limit, updated_at=timezone.now())
    logger.info(
        "endpoints.probe.done",
        extra={
            "endpoint_id": endpoint.id,
            "duration_ms": result.duration_ms,
            "platform_timeout": result.platform_timeout,
        },
    )
    return limit
