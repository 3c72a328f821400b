"""Integrations and their definitions, declared by jobs and sources (§5.10)."""

from __future__ import annotations

from typing import Any

from endpoints.models import Integration, IntegrationDefinition
from endpoints.models.registry import AuthSource, ConnectionType, SetupStatus
from endpoints.services.registry.columns import clip
from endpoints.services.registry.context import ApplyContext


def register_integrations(ctx: ApplyContext) -> None:
    """Jobs create a missing integration by its authSource and never change an existing one;
    sources upsert theirs (LOCAL/RESOLVER stored as LOCAL) after the jobs (§5.10)."""
    org_id = ctx.endpoint.organization_id
    definitions: dict[str, dict[str, Any]] = {}
    created: dict[str, dict[str, Any]] = {}
    for job in ctx.jobs:
        for config in (job.metadata.get("integrations") or {}).values():
            _add_definition(definitions, config["metadata"])
            if config["id"] in created:
                continue  # sequential registration: the first job creates it
            auth = config.get("authSource")
            if auth in (AuthSource.LOCAL, AuthSource.RESOLVER):
                created[config["id"]] = _integration(
                    config,
                    org_id,
                    title=config["metadata"].get("name"),
                    auth_source=auth,
                    connection_type=(
                        ConnectionType.EXTERNAL if auth == AuthSource.RESOLVER else ConnectionType.DEVELOPER
                    ),
                    setup_status=SetupStatus.COMPLETE,
                )
            else:
                created[config["id"]] = _integration(
                    config,
                    org_id,
                    title=config["id"],
                    auth_source=AuthSource.HOSTED,
                    connection_type=ConnectionType.DEVELOPER,
                    setup_status=SetupStatus.MISSING_FIELDS,
                )

    upserted: dict[str, dict[str, Any]] = {}
    for source in ctx.plan.sources_to_register:
        config = source["integration"]
        if config.get("authSource") == AuthSource.HOSTED:
            continue
        _add_definition(definitions, config["metadata"])
        upserted[config["id"]] = _integration(
            config,
            org_id,
            title=config["metadata"].get("name"),
            auth_source=AuthSource.LOCAL,
            connection_type=ConnectionType.DEVELOPER,
            setup_status=SetupStatus.COMPLETE,
        )

    if definitions:
        ctx.upsert(IntegrationDefinition, definitions.values(), on=["id"], update=[])
    ids: dict[str, str] = {}
    if created:
        ids.update(ctx.upsert(Integration, created.values(), on=["organization", "slug"], update=[]).by_last())
    if upserted:
        ids.update(
            ctx.upsert(
                Integration,
                upserted.values(),
                on=["organization", "slug"],
                update=["title", "auth_source", "connection_type", "definition"],
            ).by_last()
        )
    # Referenced but not upserted here (a HOSTED source's integration, a webhook's): read them.
    wanted = {source["integration"]["id"] for source in ctx.plan.sources_to_register}
    wanted |= {item["integration"]["id"] for item in ctx.plan.webhooks_to_register if item.get("integration")}
    if wanted - set(ids):
        ids.update(
            Integration.objects.filter(organization_id=org_id, slug__in=wanted - set(ids)).values_list("slug", "id")
        )
    ctx.integration_ids = ids


def _add_definition(definitions: dict[str, dict[str, Any]], metadata: dict[str, Any]) -> None:
    definitions.setdefault(
        metadata["id"],
        {
            "id": metadata["id"],
            "name": clip(metadata.get("name") or metadata["id"], IntegrationDefinition, "name"),
            "instructions": metadata.get("instructions"),
        },
    )


def _integration(config: dict[str, Any], org_id: str, *, title: str | None, **fields: Any) -> dict[str, Any]:
    return {
        "slug": config["id"],
        "title": clip(title, Integration, "title"),
        "definition_id": config["metadata"]["id"],
        "organization_id": org_id,
        **fields,
    }
