"""Registering endpoints: PING (or VALIDATE) the URL, then upsert on (environment, slug) and index."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Field
from django.utils import timezone

from endpointapi import EndpointApiClient, EndpointApiError, EndpointRedirect, ForbiddenAddress
from endpoints.db import ModelColumns
from endpoints.errors import EndpointRegistrationError
from endpoints.models import Endpoint, EndpointHealth, EndpointIndex, IndexSource, RuntimeEnvironment
from endpoints.services.clients import call_with_key_fallback
from endpoints.services.events.recording import record_endpoint_registered, record_endpoints_deleted
from endpoints.services.health import endpoint_enable
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
        upserted = _endpoint_upsert(
            environment=environment, slug=slug, url=url, version=version, sdk_version=sdk_version, key_hash=key_hash
        )
        endpoint = upserted.endpoint
        if endpoint.health == EndpointHealth.DISABLED:
            # Registering again (a deploy, the CLI) is the owner saying it works now: give it a chance.
            endpoint_enable(endpoint=endpoint, by="registration", reason="Registered again")
        index = endpoint_index_request(endpoint=endpoint, source=IndexSource.INTERNAL)
        # The CLI's `dev` registers again on every file change: only a change is an event.
        if upserted.changed:
            record_endpoint_registered(
                endpoint=endpoint,
                created=upserted.created,
                previous_url=upserted.previous_url,
                index_id=index.id,
            )
    logger.info(
        "endpoints.registered",
        extra={"endpoint_id": endpoint.id, "environment_id": environment.id, "index_id": index.id},
    )
    return Registration(endpoint=endpoint, index=index)


def _column(value: str | None) -> str | None:
    return value[: Endpoint._meta.get_field("version").max_length] if value else value


@dataclass(frozen=True)
class _Upserted:
    endpoint: Endpoint
    created: bool
    #: New, restored, or a new URL, version or SDK version (the statement moved `updated_at`).
    changed: bool
    previous_url: str | None


# One statement: `previous` locks the existing row (READ COMMITTED re-reads it if a concurrent
# registration changed it meanwhile) and reports its URL as it was; the upsert writes the new row.
# A new row gets a fresh hook identifier, an existing one keeps its own; versions the endpoint did
# not send keep theirs; `updated_at` moves only when something changed (it is compared with the
# row's latest version, also when a concurrent first registration inserted it meanwhile); the
# accepted key's `since` moves only when the key did.
_UPSERT_SQL = """
WITH previous AS (
    SELECT url FROM endpoints_endpoint
    WHERE environment_id = %(environment_id)s AND slug = %(slug)s FOR UPDATE
), upserted AS (
    -- Reading `previous` here makes it run (and lock) before the row is written.
    INSERT INTO endpoints_endpoint AS e ({columns}) SELECT {values} WHERE (SELECT count(*) FROM previous) >= 0
    ON CONFLICT (environment_id, slug) DO UPDATE SET
        url = EXCLUDED.url,
        version = COALESCE(%(version)s, e.version),
        sdk_version = COALESCE(%(sdk_version)s, e.sdk_version),
        deleted_at = NULL,
        url_before_delete = NULL,
        -- Back on the recurring index's schedule if it had left it (deleted): due, the next tick places it.
        recurring_index_at = COALESCE(e.recurring_index_at, EXCLUDED.recurring_index_at),
        updated_at = CASE
            WHEN (e.url, e.version, e.sdk_version) IS DISTINCT FROM
                 (EXCLUDED.url, COALESCE(%(version)s, e.version), COALESCE(%(sdk_version)s, e.sdk_version))
            THEN EXCLUDED.updated_at ELSE e.updated_at END,
        answered_key_hash = EXCLUDED.answered_key_hash,
        answered_key_since = CASE
            WHEN e.answered_key_hash IS DISTINCT FROM EXCLUDED.answered_key_hash
            THEN EXCLUDED.answered_key_since ELSE e.answered_key_since END
    RETURNING {returning}, xmax = 0
)
SELECT upserted.*, previous.* FROM upserted LEFT JOIN previous ON true
"""


def _endpoint_upsert(
    *,
    environment: RuntimeEnvironment,
    slug: str,
    url: str,
    version: str | None,
    sdk_version: str | None,
    key_hash: str,
) -> _Upserted:
    """INSERT … ON CONFLICT (environment, slug) DO UPDATE, in one statement that also reports the
    row as it was before: safe under concurrent registrations."""
    now = timezone.now()
    candidate = Endpoint(
        environment=environment,
        organization_id=environment.organization_id,
        project_id=environment.project_id,
        slug=slug,
        url=url,
        indexing_hook_identifier=generate_hook_identifier(),
        version=version or "unknown",
        sdk_version=sdk_version or "unknown",
        answered_key_hash=key_hash,
        answered_key_since=now,
        created_at=now,
        updated_at=now,
    )
    fields = Endpoint._meta.concrete_fields
    params: dict[str, Any] = {
        f"v{i}": field.get_db_prep_save(getattr(candidate, field.attname), connection)
        for i, field in enumerate(fields)
    }
    params |= {"environment_id": environment.id, "slug": slug, "version": version, "sdk_version": sdk_version}
    columns = _returned_columns()
    sql = _UPSERT_SQL.format(
        columns=", ".join(_quoted(fields)),
        values=", ".join(f"%(v{i})s" for i in range(len(fields))),
        returning=", ".join(_quoted(columns.fields)),
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    width = len(columns.fields)
    endpoint = columns.instance(Endpoint, row[:width])
    endpoint.environment = environment
    created, previous_url = row[width], row[width + 1]
    changed = created or endpoint.updated_at == now
    return _Upserted(endpoint=endpoint, created=created, changed=changed, previous_url=previous_url)


def _quoted(fields: Iterable[Field[Any, Any]]) -> list[str]:
    return [connection.ops.quote_name(field.column) for field in fields if field.column]


@cache
def _returned_columns() -> ModelColumns:
    return ModelColumns.of(Endpoint._meta.concrete_fields)


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
