"""Endpoint health: derived from index outcomes and stored on the endpoint when a run finishes.

healthy (last run succeeded) · degraded (the last run(s) failed, fewer than
`KONGFLOW_HEALTH_FAILING_AFTER` in a row, and an earlier run succeeded) · failing since <time>
(N consecutive failures, or failures with no success ever) · never indexed · deleted (no URL).

`endpoint_health_record` is called in the transaction of a run's final write and returns the
transition, so a caller can emit `endpoint.health_changed` when `transition.changed`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

from django.conf import settings
from django.db import connection

from endpoints.db import server_binding_cursor
from endpoints.models import Endpoint, EndpointHealth, IndexStatus


@dataclass(frozen=True)
class HealthTransition:
    endpoint_id: str
    old: str
    new: str
    consecutive_failures: int
    failing_since: datetime | None

    @property
    def changed(self) -> bool:
        return self.old != self.new


@dataclass(frozen=True)
class HealthState:
    health: str
    consecutive_failures: int
    failing_since: datetime | None
    last_success_at: datetime | None


def health_next(*, current: HealthState, status: str, at: datetime) -> HealthState:
    """The pure rule: the state after a run of `status` finished at `at`."""
    if status == IndexStatus.SUCCESS:
        return HealthState(EndpointHealth.HEALTHY, 0, None, at)
    failures = current.consecutive_failures + 1
    since = current.failing_since or at
    threshold = int(settings.KONGFLOW_HEALTH_FAILING_AFTER)
    degraded = current.last_success_at is not None and failures < threshold
    health = EndpointHealth.DEGRADED if degraded else EndpointHealth.FAILING
    return HealthState(health, failures, since, current.last_success_at)


def endpoint_health_record(*, endpoint_id: str, status: str, at: datetime) -> HealthTransition | None:
    """Fold one finished run into the endpoint's health (locks the row; call inside the run's
    final transaction). Returns the transition (old -> new), None if the endpoint is gone."""
    if status == IndexStatus.SUCCESS:
        return _record_success(endpoint_id=endpoint_id, at=at)
    # FOR NO KEY UPDATE, the lock a plain UPDATE takes: it waits only for a concurrent registration's
    # upsert (a short transaction), never for the KEY SHARE locks that inserts referencing the
    # endpoint hold; FOR UPDATE would queue behind those and deadlock with concurrent registrations.
    endpoint = (
        Endpoint.objects.select_for_update(no_key=True)
        .only("id", "url", "health", "health_since", "consecutive_failures", "failing_since", "last_success_at")
        .filter(id=endpoint_id)
        .first()
    )
    if endpoint is None:
        return None
    old = str(endpoint.health_state)
    current = HealthState(
        endpoint.health, endpoint.consecutive_failures, endpoint.failing_since, endpoint.last_success_at
    )
    state = health_next(current=current, status=status, at=at)
    Endpoint.objects.filter(id=endpoint_id).update(
        health=state.health,
        health_since=endpoint.health_since if state.health == endpoint.health else at,
        consecutive_failures=state.consecutive_failures,
        failing_since=state.failing_since,
        last_success_at=state.last_success_at,
        last_index_status=status,
        last_index_at=at,
    )
    new = str(EndpointHealth.DELETED if endpoint.url is None else state.health)
    return HealthTransition(endpoint_id, old, new, state.consecutive_failures, state.failing_since)


@cache
def _success_sql() -> str:
    table = connection.ops.quote_name(Endpoint._meta.db_table)
    # The sub-select locks the row (see above) and keeps its values from before the UPDATE.
    return (
        f"UPDATE {table} AS e SET health = %(health)s, consecutive_failures = 0, failing_since = NULL, "  # noqa: S608
        "health_since = CASE WHEN old.health = %(healthy)s THEN e.health_since ELSE %(at)s END, "
        "last_success_at = %(at)s, last_index_status = %(status)s, last_index_at = %(at)s "
        f"FROM (SELECT id, health, url FROM {table} WHERE id = %(id)s FOR NO KEY UPDATE) AS old "
        "WHERE e.id = old.id RETURNING old.health, old.url IS NULL"
    )


def _record_success(*, endpoint_id: str, at: datetime) -> HealthTransition | None:
    """A success does not depend on the state before it: one UPDATE that returns the old health."""
    params: dict[str, Any] = {
        "id": endpoint_id,
        "health": EndpointHealth.HEALTHY.value,
        "healthy": EndpointHealth.HEALTHY.value,  # a parameter of its own: its type is deduced apart
        "status": IndexStatus.SUCCESS.value,
        "at": at,
    }
    with server_binding_cursor() as cursor:
        cursor.execute(_success_sql(), params)
        row = cursor.fetchone()
    if row is None:
        return None
    old_health, deleted = row
    old = str(EndpointHealth.DELETED if deleted else old_health)
    new = str(EndpointHealth.DELETED if deleted else EndpointHealth.HEALTHY)
    return HealthTransition(endpoint_id, old, new, 0, None)
