"""Registering endpoints: PING (or VALIDATE) the URL, then upsert on (environment, slug) and index."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

from django.conf import settings
from django.db import DatabaseError, transaction
from django.utils import timezone

from endpointapi import EndpointApiClient, EndpointApiError
from endpoints.errors import EndpointRegistrationError
from endpoints.models import Endpoint, EndpointIndex, IndexSource, RuntimeEnvironment
from endpoints.services.clients import call_with_key_fallback, endpoint_answered_key_record, endpoint_client
from endpoints.services.indexing import endpoint_index_request
from endpoints.services.keys import generate_hook_identifier

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Registration:
    endpoint: Endpoint
    index: EndpointIndex


def endpoint_register(*, environment: RuntimeEnvironment, slug: str, url: str) -> Registration:
    """PING the endpoint with the environment's key; on success upsert it and request an index."""
    url = normalize_endpoint_url(url)
    try:
        pong, key_hash = call_with_key_fallback(
            environment=environment,
            make_client=lambda api_key: endpoint_client(url=url, api_key=api_key),
            call=lambda client: client.ping(slug),
        )
    except EndpointApiError as exc:
        raise EndpointRegistrationError(exc.message) from exc
    if not pong.ok:
        raise EndpointRegistrationError(pong.error or "Endpoint did not answer the ping")
    return _upsert_and_index(
        environment=environment,
        slug=slug,
        url=url,
        version=pong.trigger_version,
        sdk_version=pong.trigger_sdk_version,
        key_hash=key_hash,
    )


def endpoint_register_from_url(*, environment: RuntimeEnvironment, url: str) -> Registration:
    """Like endpoint_register, but learns the slug from the endpoint's VALIDATE answer (§5.3)."""
    url = normalize_endpoint_url(url)
    try:
        validation, key_hash = call_with_key_fallback(
            environment=environment,
            make_client=lambda api_key: endpoint_client(url=url, api_key=api_key),
            call=EndpointApiClient.validate,
        )
    except EndpointApiError as exc:
        raise EndpointRegistrationError(exc.message) from exc
    if not validation.ok or not validation.endpoint_id:
        raise EndpointRegistrationError(validation.error or "Endpoint did not validate")
    return _upsert_and_index(
        environment=environment,
        slug=validation.endpoint_id,
        url=url,
        version=validation.trigger_version,
        sdk_version=validation.trigger_sdk_version,
        key_hash=key_hash,
    )


def _upsert_and_index(
    *,
    environment: RuntimeEnvironment,
    slug: str,
    url: str,
    version: str | None,
    sdk_version: str | None,
    key_hash: str,
) -> Registration:
    try:
        with transaction.atomic():
            endpoint = _endpoint_upsert(
                environment=environment, slug=slug, url=url, version=version, sdk_version=sdk_version
            )
            endpoint_answered_key_record(endpoint=endpoint, key_hash=key_hash)
            index = endpoint_index_request(endpoint=endpoint, source=IndexSource.INTERNAL)
    except DatabaseError as exc:
        logger.exception("endpoints.register.upsert_failed", extra={"environment_id": environment.id})
        raise EndpointRegistrationError(str(exc)) from exc
    logger.info(
        "endpoints.registered",
        extra={"endpoint_id": endpoint.id, "environment_id": environment.id, "index_id": index.id},
    )
    return Registration(endpoint=endpoint, index=index)


def _endpoint_upsert(
    *, environment: RuntimeEnvironment, slug: str, url: str, version: str | None, sdk_version: str | None
) -> Endpoint:
    """INSERT … ON CONFLICT (environment, slug) DO UPDATE: safe under concurrent registrations.

    A new row gets a fresh hook identifier; an existing one keeps it (never rotated on update).
    """
    candidate = Endpoint(
        environment=environment,
        organization_id=environment.organization_id,
        project_id=environment.project_id,
        slug=slug,
        url=url,
        indexing_hook_identifier=generate_hook_identifier(),
        version=version or "unknown",
        sdk_version=sdk_version or "unknown",
        updated_at=timezone.now(),
    )
    update_fields = ["url", "updated_at"]
    if version:
        update_fields.append("version")
    if sdk_version:
        update_fields.append("sdk_version")
    Endpoint.objects.bulk_create(
        [candidate], update_conflicts=True, unique_fields=["environment", "slug"], update_fields=update_fields
    )
    return Endpoint.objects.select_related("environment").get(environment=environment, slug=slug)


def endpoints_soft_delete(*, endpoint_ids: list[str]) -> int:
    """Clear the URL (§5.9): jobs, runs and history stay; indexing skips the endpoint; registering
    the slug again brings it back. A hard delete would cascade into everything indexed from it."""
    return Endpoint.objects.filter(id__in=endpoint_ids, url__isnull=False).update(url=None, updated_at=timezone.now())


def normalize_endpoint_url(url: str) -> str:
    """Only under docker-compose: `localhost` means the host machine, not the web container (§5.2)."""
    if settings.RUNTIME_PLATFORM != "docker-compose":
        return url
    parts = urlsplit(url)
    if parts.hostname != "localhost":
        return url
    netloc = "host.docker.internal" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))
