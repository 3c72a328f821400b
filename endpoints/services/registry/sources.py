"""Trigger sources, their options, and the secret references of sources and HTTP endpoints."""

from __future__ import annotations

import secrets
from collections import defaultdict
from typing import Any

from endpoints.models import SecretReference, SecretStore, TriggerSource, TriggerSourceOption
from endpoints.models.registry import TriggerChannel
from endpoints.services.registry.bulk import keyed, unique
from endpoints.services.registry.context import ApplyContext
from endpoints.services.registry.document import is_v2, source_options
from endpoints.services.registry.http_endpoints import http_secret_key


def register_secret_references(ctx: ApplyContext) -> dict[str, str]:
    """SecretReference ids by key for sources and HTTP endpoints; secrets for HTTP channels
    are created once and never overwritten."""
    keys: list[str] = []
    secret_keys: list[str] = []
    for source in ctx.plan.sources_to_register:
        key = _secret_key(ctx, source["key"])
        keys.append(key)
        if source.get("channel", TriggerChannel.HTTP) == TriggerChannel.HTTP:
            secret_keys.append(key)
    for item in ctx.plan.http_endpoints_to_register:
        key = http_secret_key(ctx, item["id"])
        keys.append(key)
        secret_keys.append(key)
    if not keys:
        return {}
    if secret_keys:
        # Only the missing ones are inserted; an existing secret is never overwritten.
        ctx.upsert(
            SecretStore,
            [{"key": key, "value": {"secret": secrets.token_hex(32)}} for key in unique(secret_keys)],
            on=["key"],
            update=[],
        )
    return ctx.upsert(
        SecretReference, [{"key": key, "provider": "DATABASE"} for key in unique(keys)], on=["key"], update=[]
    ).by_last()


def register_sources(ctx: ApplyContext, secret_references: dict[str, str]) -> None:
    """Deactivate the vanished sources, upsert the declared ones with their options, and collect
    the `activateSource` follow-ups."""
    snapshot = ctx.snapshot
    ctx.deactivate(TriggerSource, snapshot.vanished_source_ids)
    registered: list[dict[str, Any]] = []
    rows: list[dict[str, Any]] = []
    for source in ctx.plan.sources_to_register:
        key = source["key"]
        integration_id = ctx.integration_ids.get(source["integration"]["id"])
        if integration_id is None:
            ctx.error(f'Source "{key}": Integration not found.')
            continue
        existing = snapshot.sources.get(key)
        registration = ctx.registration_version(source, f'Source "{key}"')
        if registration is None and existing:
            registration = existing["source_registration_job_id"]
        rows.append(
            {
                "key": key,
                "params": source.get("params"),
                "channel": source.get("channel", TriggerChannel.HTTP),
                "version": "2" if is_v2(source) else "1",
                "secret_reference_id": secret_references[_secret_key(ctx, key)],
                "organization_id": ctx.endpoint.organization_id,
                "environment_id": ctx.environment.id,
                "endpoint_id": ctx.endpoint.id,
                "project_id": ctx.endpoint.project_id,
                "integration_id": integration_id,
                "source_registration_job_id": registration,
            }
        )
        registered.append(source)
    if not rows:
        return
    # Params are not updated and `active` is the sources service's business (§5.10).
    source_ids = ctx.upsert(
        TriggerSource,
        rows,
        on=["key", "environment"],
        update=["version", "endpoint", "integration", "source_registration_job"],
    ).by_first()

    # Options are only added here; v2 sources also lose the ones no longer declared.
    options = []
    keep_v2: set[str] = set()
    v2_ids = []
    for source in registered:
        source_id = source_ids[source["key"]]
        v2 = is_v2(source)
        if v2:
            v2_ids.append(source_id)
        desired = source_options(source)
        for name, values in desired.items():
            for value in values:
                options.append({"name": name, "value": value, "source_id": source_id})
                if v2:
                    keep_v2.add(keyed(source_id, name, value))
        _source_follow_up(ctx, source, source_id, desired, v2)
    if options:
        ctx.upsert(TriggerSourceOption, options, on=["name", "value", "source"], update=[])
    if v2_ids:
        ctx.delete_unlisted(
            TriggerSourceOption.objects.filter(source_id__in=v2_ids), ["source_id", "name", "value"], keep_v2
        )
    ctx.stats.sources = len(registered)


def _secret_key(ctx: ApplyContext, source_key: str) -> str:
    """An existing source keeps its secret reference; a new one gets "<endpointId>:<key>"."""
    existing = ctx.snapshot.sources.get(source_key)
    return existing["secret_reference__key"] if existing else f"{ctx.endpoint.id}:{source_key}"


def _source_follow_up(
    ctx: ApplyContext, source: dict[str, Any], source_id: str, desired: dict[str, list[str]], v2: bool
) -> None:
    """activateSource is needed when the source is inactive, lost options, or has options that the
    integration has not registered yet (RegisterSourceServiceV1/V2)."""
    existing = ctx.snapshot.sources.get(source["key"])
    previous = ctx.snapshot.options.get(existing["id"], []) if existing and existing["id"] == source_id else []
    wanted = {(name, value) for name, values in desired.items() for value in values}
    registered = {(name, value) for name, value, done in previous if done}
    orphans: dict[str, list[str]] = defaultdict(list)
    for name, value, _ in previous:
        if (name, value) not in wanted:
            orphans[name].append(value)
    unregistered = any(pair not in registered for pair in wanted)
    active = bool(existing and existing["active"])
    if active and not orphans and not unregistered:
        return
    payload: dict[str, Any] = {"version": "2" if v2 else "1", "id": source_id}
    if v2:
        payload["orphanedOptions"] = {name: sorted(values) for name, values in sorted(orphans.items())}
    else:
        payload["orphanedEvents"] = sorted(orphans.get("event", []))
    ctx.stats.follow_ups.source_activations.append(payload)
