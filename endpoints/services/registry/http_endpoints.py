"""HTTP endpoints (project-wide, with a per-environment row) and the webhooks that ride on them."""

from __future__ import annotations

from typing import Any

from endpoints.models import TriggerHttpEndpoint, TriggerHttpEndpointEnvironment, Webhook, WebhookEnvironment
from endpoints.services.registry.bulk import unique
from endpoints.services.registry.columns import clip
from endpoints.services.registry.context import ApplyContext
from endpoints.services.registry.document import http_endpoint_key


def http_secret_key(ctx: ApplyContext, http_endpoint_id: str) -> str:
    """Keyed by project, like the TriggerHttpEndpoint row it belongs to."""
    return f"httpendpoint:{ctx.endpoint.project_id}:{http_endpoint_id}"


def register_http_endpoints(ctx: ApplyContext, secret_references: dict[str, str]) -> dict[str, str]:
    """Upsert the declared HTTP endpoints and their environment rows; returns the ids by key of
    those and of the ones the declared webhooks point at."""
    ctx.deactivate(TriggerHttpEndpointEnvironment, ctx.snapshot.vanished_http_endpoint_env_ids)
    items = ctx.plan.http_endpoints_to_register
    ids: dict[str, str] = {}
    if items:
        ids = ctx.upsert(
            TriggerHttpEndpoint,
            [
                {
                    "key": item["id"],
                    "title": clip(item.get("title"), TriggerHttpEndpoint, "title"),
                    "icon": clip(item.get("icon"), TriggerHttpEndpoint, "icon"),
                    "properties": item.get("properties"),
                    "secret_reference_id": secret_references[http_secret_key(ctx, item["id"])],
                    "project_id": ctx.endpoint.project_id,
                }
                for item in items
            ],
            on=["key", "project"],
            update=["title", "icon", "properties"],
        ).by_first()
    keys = [http_endpoint_key(item) for item in ctx.plan.webhooks_to_register]
    missing = unique(key for key in keys if key and key not in ids)
    if missing:
        ids.update(
            TriggerHttpEndpoint.objects.filter(project_id=ctx.endpoint.project_id, key__in=missing).values_list(
                "key", "id"
            )
        )
    if items:
        ctx.upsert(
            TriggerHttpEndpointEnvironment,
            [
                {
                    "active": bool(item.get("enabled", True)),
                    "immediate_response_filter": item.get("immediateResponseFilter"),
                    "skip_triggering_runs": bool(item.get("skipTriggeringRuns", False)),
                    "source": item.get("source") or "",
                    "environment_id": ctx.environment.id,
                    "endpoint_id": ctx.endpoint.id,
                    "http_endpoint_id": ids[item["id"]],
                }
                for item in items
            ],
            on=["environment", "http_endpoint"],
            update=["active", "immediate_response_filter", "skip_triggering_runs", "source", "endpoint"],
        )
    ctx.stats.http_endpoints = len(items)
    return ids


def register_webhooks(ctx: ApplyContext, http_endpoint_ids: dict[str, str]) -> None:
    """Upsert the declared webhooks and their environment rows, and list the ones whose
    registration with the integration is missing or out of date."""
    ctx.deactivate(WebhookEnvironment, ctx.snapshot.vanished_webhook_env_ids)
    rows: list[dict[str, Any]] = []
    configs: dict[str, Any] = {}
    for item in ctx.plan.webhooks_to_register:
        key = item["key"]
        existing = ctx.snapshot.webhooks.get(key)
        if existing:
            # The update changes params only; keep the links so no other unique index can trip.
            http_endpoint_id, integration_id = existing["http_endpoint_id"], existing["integration_id"]
        else:
            endpoint_key = http_endpoint_key(item)
            integration_slug = (item.get("integration") or {}).get("id")
            http_endpoint_id = http_endpoint_ids.get(endpoint_key) if endpoint_key is not None else None
            integration_id = ctx.integration_ids.get(integration_slug) if integration_slug is not None else None
            if http_endpoint_id is None or integration_id is None:
                what = "HTTP endpoint" if http_endpoint_id is None else "Integration"
                ctx.error(f'Webhook "{key}": {what} not found.')
                continue
        rows.append(
            {
                "key": key,
                "params": item.get("params"),
                "http_endpoint_id": http_endpoint_id,
                "project_id": ctx.endpoint.project_id,
                "integration_id": integration_id,
            }
        )
        configs[key] = item.get("config")
    if not rows:
        return
    ctx.upsert(Webhook, rows, on=["key", "project"], update=["params"])
    webhooks = {
        key: (webhook_id, active)
        for webhook_id, key, active in Webhook.objects.filter(
            project_id=ctx.endpoint.project_id, key__in=list(configs)
        ).values_list("id", "key", "active")
    }
    ctx.upsert(
        WebhookEnvironment,
        [
            {
                "desired_config": configs[key],
                "endpoint_id": ctx.endpoint.id,
                "environment_id": ctx.environment.id,
                "webhook_id": webhooks[key][0],
            }
            for key in configs
        ],
        on=["environment", "webhook"],
        update=["desired_config", "endpoint"],
    )
    active_by_webhook = {webhook_id: active for webhook_id, active in webhooks.values()}
    environments = WebhookEnvironment.objects.filter(
        environment=ctx.environment, webhook_id__in=list(active_by_webhook)
    ).values_list("id", "webhook_id", "active", "config", "desired_config")
    # Registered with the integration already, with the config it wants: nothing to do.
    ctx.stats.follow_ups.webhooks_to_register = sorted(
        env_id
        for env_id, webhook_id, active, config, desired in environments
        if not (active_by_webhook[webhook_id] and active and config == desired)
    )
    ctx.stats.webhooks = len(rows)
