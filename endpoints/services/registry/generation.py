"""The organization's registry generation: a counter that every transaction changing a registry row
of the organization bumps, in that same transaction.

An index may skip the registry writes of a document identical to the latest SUCCESS run's only when
the organization's generation is still the one that run recorded: then no row the apply would
write (jobs, versions, aliases, integrations, dispatchers, schedules, sources, HTTP endpoints,
webhooks: all scoped to the organization or narrower) changed since, by this endpoint, another
endpoint or anything else. `IntegrationDefinition` rows are global but only ever inserted when
missing, never updated, and cannot be deleted while an integration uses them.

Writers of registry rows outside `registry_apply` must call `registry_changed` in their transaction.
"""

from __future__ import annotations

from django.db import connection

from endpoints.db import server_binding_cursor
from endpoints.models import Organization

_TABLE = Organization._meta.db_table


def registry_generation_settle(*, organization_id: str, changed: bool) -> int:
    """The generation after this transaction's registry writes: bumped when it changed rows.

    The bump takes the organization row's lock until commit: call it last, right before commit.
    """
    if changed:
        return registry_changed(organization_id=organization_id)
    return registry_generation_current(organization_id=organization_id)


def registry_changed(*, organization_id: str) -> int:
    """Record that this transaction changed registry rows of the organization; the new generation."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {_TABLE} SET registry_generation = registry_generation + 1 "  # noqa: S608
            "WHERE id = %s RETURNING registry_generation",
            [organization_id],
        )
        row = cursor.fetchone()
    return int(row[0]) if row else 0


def registry_generation_current(*, organization_id: str) -> int:
    # A constant statement (prepared on the connection): every run reads it.
    with server_binding_cursor() as cursor:
        cursor.execute(f"SELECT registry_generation FROM {_TABLE} WHERE id = %s", [organization_id])  # noqa: S608
        row = cursor.fetchone()
    return int(row[0]) if row and row[0] is not None else 0
