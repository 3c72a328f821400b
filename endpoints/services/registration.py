"""Registering endpoints: PING (or VALIDATE) the URL, then upsert on (environment, slug) and index."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from endpointapi import EndpointApiClient, EndpointApiError, EndpointRedirect, ForbiddenAddress
from endpoints.errors import EndpointRegistrationError
from endpoints.models import Endpoint, EndpointIndex, IndexSource, RuntimeEnvironment
from endpoints.services.clients import call_with_key_fallback, endpoint_answered_key_record
from endpoints.services.events.recording import record_endpoint_registered, record_endpoints_deleted
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
            url=url,
            call=lambda client: client.ping(slug),
        )
    except EndpointApiError as exc:
        raise EndpointRegistrationError(_registration_message(exc)) from exc
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
            url=url,
            call=EndpointApiClient.validate,
        )
    except EndpointApiError as exc:
        raise EndpointRegistrationError(_registration_message(exc)) from exc
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


def _registration_message(exc: EndpointApiError) -> str:
    """The endpoint's own wording (the CLI matches it); refusals and redirects add their advice."""
    if isinstance(exc, ForbiddenAddress | EndpointRedirect) and exc.hint:
        return f"{exc.message}. {exc.hint}"
    return exc.message


def _upsert_and_index(
    *,
    environment: RuntimeEnvironment,
    slug: str,
    url: str,
    version: str | None,
    sdk_version: str | None,
    key_hash: str,
) -> Registration:
    # Version headers come from the endpoint: cut to the column, never a database error.
    version, sdk_version = _column(version), _column(sdk_version)
    # A database failure propagates: it is the server's fault (500/503), never the caller's 400.
    with transaction.atomic():
        existing = Endpoint.objects.select_for_update().filter(environment=environment, slug=slug)
        before = existing.values("url").first()
        endpoint = _endpoint_upsert(
            environment=environment, slug=slug, url=url, version=version, sdk_version=sdk_version
        )
        endpoint_answered_key_record(endpoint=endpoint, key_hash=key_hash)
        index = endpoint_index_request(endpoint=endpoint, source=IndexSource.INTERNAL)
        record_endpoint_registered(
            endpoint=endpoint,
            created=before is None,
            previous_url=before["url"] if before else None,
            index_id=index.id,
        )
    logger.info(
        "endpoints.registered",
        extra={"endpoint_id": endpoint.id, "environment_id": environment.id, "index_id": index.id},
    )
    return Registration(endpoint=endpoint, index=index)


def _column(value: str | None) -> str | None:
    return value[: Endpoint._meta.get_field("version").max_length] if value else value


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
    the slug again brings it back. A hard delete would cascade into everything indexed from it.
    Records `endpoint.deleted` for each endpoint it deletes (registering again records `endpoint.restored`)."""
    now = timezone.now()
    with transaction.atomic():
        endpoints = list(
            Endpoint.objects.select_for_update(of=("self",))
            .select_related("environment")
            .filter(id__in=endpoint_ids, url__isnull=False)
            .order_by("environment_id", "id")
        )
        Endpoint.objects.filter(id__in=[e.id for e in endpoints]).update(
            url=None, url_before_delete=F("url"), deleted_at=now, updated_at=now
        )
        record_endpoints_deleted(endpoints=endpoints)
    return len(endpoints)


def normalize_endpoint_url(url: str) -> str:
    """Only under docker-compose: `localhost` means the host machine, not the web container (§5.2)."""
    if settings.RUNTIME_PLATFORM != "docker-compose":
        return url
    parts = urlsplit(url)
    if parts.hostname != "localhost":
        return url
    netloc = "host.docker.internal" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))
