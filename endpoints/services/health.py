"""Endpoint health: derived from index outcomes and stored on the endpoint when a run finishes.

healthy (last run succeeded) · degraded (the last run(s) failed, fewer than
`KONGFLOW_HEALTH_FAILING_AFTER` in a row, and an earlier run succeeded) · failing since <time>
(N consecutive failures, or failures with no success ever) · disabled (see below) · never indexed ·
deleted (no URL).

Disabling (v2 switches an endpoint off after 96 consecutive failures): after
`KONGFLOW_DISABLE_AFTER_FAILURES` consecutive failed indexes (final FAILURE runs, not retries) of a
non-DEVELOPMENT endpoint, its health becomes DISABLED: the recurring index skips it and deploy hooks
are refused. Half-way, the run reports `disabling_soon` (once per streak: the counter passes the mark
once). A successful index (a manual one is allowed), registering again or an operator's Enable
lifts it and resets the counter (`endpoint_enable`).

`endpoint_health_record` is called in the transaction of a run's final write and returns the
transition, so a caller can emit `endpoint.health_changed` when `transition.changed`, and
`endpoint.disabling_soon`/`disabled`/`enabled` from its flags.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from endpoints.db import server_binding_cursor
from endpoints.models import Endpoint, EndpointHealth, EnvironmentType, IndexStatus


@dataclass(frozen=True)
class HealthTransition:
    endpoint_id: str
    old: str
    new: str
    consecutive_failures: int
    failing_since: datetime | None
    #: This run disabled the endpoint / reached half of the threshold / lifted a disable.
    disabled: bool = False
    disabling_soon: bool = False
    enabled: bool = False
    #: For `enabled`: how many consecutive failures the streak it ended had.
    ended_streak: int = 0

    @property
    def changed(self) -> bool:
        return self.old != self.new


@dataclass(frozen=True)
class HealthState:
    health: str
    consecutive_failures: int
    failing_since: datetime | None
    last_success_at: datetime | None
    disabled_at: datetime | None = None


def disable_threshold() -> int:
    """Consecutive failed indexes that disable an endpoint; 0: never."""
    return int(settings.KONGFLOW_DISABLE_AFTER_FAILURES)


def disable_warning_at(threshold: int) -> int | None:
    """The failure count that announces the disable (half the threshold), if it comes before it."""
    half = threshold // 2
    return half if 0 < half < threshold else None


def health_next(*, current: HealthState, status: str, at: datetime, can_disable: bool = False) -> HealthState:
    """The pure rule: the state after a run of `status` finished at `at`. `can_disable`: the
    endpoint is not in a DEVELOPMENT environment."""
    if status == IndexStatus.SUCCESS:
        return HealthState(EndpointHealth.HEALTHY, 0, None, at)
    failures = current.consecutive_failures + 1
    since = current.failing_since or at
    disabled_at = current.disabled_at
    threshold = disable_threshold()
    if disabled_at is None and can_disable and threshold and failures >= threshold:
        disabled_at = at
    if disabled_at is not None:
        return HealthState(EndpointHealth.DISABLED, failures, since, current.last_success_at, disabled_at)
    failing_after = int(settings.KONGFLOW_HEALTH_FAILING_AFTER)
    # FAILING lasts until a success (also after an Enable reset the counter).
    degraded = (
        current.last_success_at is not None and failures < failing_after and current.health != EndpointHealth.FAILING
    )
    health = EndpointHealth.DEGRADED if degraded else EndpointHealth.FAILING
    return HealthState(health, failures, since, current.last_success_at)


# The columns `HealthState` is made of, in its order (after the id).
_STATE_FIELDS = ("id", "health", "consecutive_failures", "failing_since", "last_success_at", "disabled_at")


def endpoint_health_record(*, endpoint_id: str, status: str, at: datetime) -> HealthTransition | None:
    """Fold one finished run into the endpoint's health (locks the row; call inside the run's
    final transaction). Returns the transition (old -> new), None if the endpoint is gone."""
    if status == IndexStatus.SUCCESS:
        return _record_success(endpoint_id=endpoint_id, at=at)
    # FOR NO KEY UPDATE, the lock a plain UPDATE takes: it waits only for a concurrent registration's
    # upsert (a short transaction), never for the KEY SHARE locks that inserts referencing the
    # endpoint hold; FOR UPDATE would queue behind those and deadlock with concurrent registrations.
    endpoint = (
        Endpoint.objects.select_for_update(no_key=True, of=("self",))
        .select_related("environment")
        .only(*_STATE_FIELDS, "url", "health_since", "environment__type")
        .filter(id=endpoint_id)
        .first()
    )
    if endpoint is None:
        return None
    old = str(endpoint.health_state)
    current = HealthState(*(getattr(endpoint, name) for name in _STATE_FIELDS[1:]))
    can_disable = endpoint.environment.type != EnvironmentType.DEVELOPMENT
    state = health_next(current=current, status=status, at=at, can_disable=can_disable)
    Endpoint.objects.filter(id=endpoint_id).update(
        health=state.health,
        health_since=endpoint.health_since if state.health == endpoint.health else at,
        consecutive_failures=state.consecutive_failures,
        failing_since=state.failing_since,
        last_success_at=state.last_success_at,
        disabled_at=state.disabled_at,
        last_index_status=status,
        last_index_at=at,
    )
    new = str(EndpointHealth.DELETED if endpoint.url is None else state.health)
    disabled = state.disabled_at is not None and current.disabled_at is None
    soon = (
        can_disable
        and state.disabled_at is None
        and state.consecutive_failures == disable_warning_at(disable_threshold())
    )
    return HealthTransition(
        endpoint_id, old, new, state.consecutive_failures, state.failing_since, disabled=disabled, disabling_soon=soon
    )



@cache
def _success_sql() -> str:
    table = connection.ops.quote_name(Endpoint._meta.db_table)
    # The sub-select locks the row (see above) and keeps its values from before the UPDATE.
    return (
        f"UPDATE {table} AS e SET health = %(health)s, consecutive_failures = 0, failing_since = NULL, "  # noqa: S608
        "disabled_at = NULL, health_since = CASE WHEN old.health = %(healthy)s THEN e.health_since ELSE %(at)s END, "
        "last_success_at = %(at)s, last_index_status = %(status)s, last_index_at = %(at)s "
        f"FROM (SELECT id, health, url, consecutive_failures FROM {table} WHERE id = %(id)s FOR NO KEY UPDATE) AS old "
        "WHERE e.id = old.id RETURNING old.health, old.url IS NULL, old.consecutive_failures"
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
    old_health, deleted, failures = row
    old = str(EndpointHealth.DELETED if deleted else old_health)
    new = str(EndpointHealth.DELETED if deleted else EndpointHealth.HEALTHY)
    enabled = old_health == EndpointHealth.DISABLED
    return HealthTransition(endpoint_id, old, new, 0, None, enabled=enabled, ended_streak=failures if enabled else 0)


def endpoint_enable(*, endpoint: Endpoint, by: str, reason: str | None = None) -> bool:
    """Lift a disable without an index (registering again, the console's Enable): the failure count
    restarts at 0 and the health stays FAILING until a run succeeds. Records `endpoint.enabled` (and
    `endpoint.health_changed`). False when the endpoint was not disabled. Updates `endpoint` too."""
    from endpoints.services.events.recording import record_endpoint_enabled

    with transaction.atomic():
        row = (
            Endpoint.objects.select_for_update(no_key=True)
            .filter(id=endpoint.id, health=EndpointHealth.DISABLED)
            .values_list("consecutive_failures", "url", "failing_since")
            .first()
        )
        if row is None:
            return False
        ended_streak, url, failing_since = row
        Endpoint.objects.filter(id=endpoint.id).update(
            health=EndpointHealth.FAILING, health_since=timezone.now(), consecutive_failures=0, disabled_at=None
        )
        endpoint.health, endpoint.consecutive_failures, endpoint.disabled_at = EndpointHealth.FAILING, 0, None
        transition = HealthTransition(
            endpoint.id,
            str(EndpointHealth.DELETED if url is None else EndpointHealth.DISABLED),
            str(EndpointHealth.DELETED if url is None else EndpointHealth.FAILING),
            0,
            failing_since,
            enabled=True,
            ended_streak=ended_streak,
        )
        record_endpoint_enabled(endpoint=endpoint, transition=transition, by=by, reason=reason)
    return True
