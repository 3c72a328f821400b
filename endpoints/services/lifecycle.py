"""What an operator does to one endpoint from the console: ping it, probe it, delete and restore it."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from functools import partial

from celery import current_app
from django.db import transaction

from endpointapi import EndpointApiError
from endpoints.errors import EndpointRegistrationError
from endpoints.models import Endpoint
from endpoints.services.clients import endpoint_client
from endpoints.services.registration import Registration, endpoint_register, endpoints_soft_delete

logger = logging.getLogger(__name__)

PROBE_TASK = "endpoints.probe_endpoint"


@dataclass(frozen=True)
class PingOutcome:
    ok: bool
    message: str
    duration_ms: int
    sdk_version: str | None = None


def endpoint_ping(*, endpoint: Endpoint) -> PingOutcome:
    """PING the endpoint with its environment's key now; writes nothing."""
    if not endpoint.url:
        return PingOutcome(ok=False, message="The endpoint is deleted (no URL).", duration_ms=0)
    environment = endpoint.environment
    client = endpoint_client(url=endpoint.url, api_key=environment.api_key, environment=environment)
    started = time.perf_counter()
    try:
        pong = client.ping(endpoint.slug)
    except EndpointApiError as exc:
        elapsed = round((time.perf_counter() - started) * 1000)
        return PingOutcome(ok=False, message=f"{exc.code}: {exc.message}", duration_ms=elapsed)
    elapsed = round((time.perf_counter() - started) * 1000)
    if not pong.ok:
        return PingOutcome(ok=False, message=pong.error or "The endpoint did not answer the ping", duration_ms=elapsed)
    return PingOutcome(ok=True, message="ok", duration_ms=elapsed, sdk_version=pong.trigger_sdk_version)


def endpoints_probe_request(*, endpoint_ids: list[str]) -> list[str]:
    """Queue a PROBE_EXECUTION_TIMEOUT (up to two minutes each) for the live endpoints among these."""
    ids = list(Endpoint.objects.filter(id__in=endpoint_ids, url__isnull=False).values_list("id", flat=True))
    for endpoint_id in ids:
        transaction.on_commit(partial(current_app.send_task, PROBE_TASK, kwargs={"endpoint_id": endpoint_id}))
    return ids


def endpoint_soft_delete(*, endpoint: Endpoint) -> bool:
    """Soft-delete one endpoint (see `endpoints_soft_delete`); False when it was already deleted."""
    return endpoints_soft_delete(endpoint_ids=[endpoint.id]) == 1


def endpoint_restore(*, endpoint: Endpoint) -> Registration:
    """Register a soft-deleted endpoint again at the URL it had: pinged first, then indexed."""
    if endpoint.url:
        raise EndpointRegistrationError("The endpoint is not deleted.")
    if not endpoint.url_before_delete:
        raise EndpointRegistrationError("The endpoint's former URL is unknown: register it again with its URL.")
    # Registering clears `deleted_at` and `url_before_delete`.
    return endpoint_register(environment=endpoint.environment, slug=endpoint.slug, url=endpoint.url_before_delete)
