"""`/healthz`: the process answers. `/readyz`: it can reach its database and its broker.

`/readyz` also reports housekeeping (sweeper, recurring index, purge): when each last finished and
whether it is overdue. That does not make the web process unready (it can still serve; routing
traffic away would not restart beat), but it is in the body and in the
`kongflow_housekeeping_overdue` metric, for the operator's alerting.
"""

from __future__ import annotations

import logging
from typing import Any

from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.views.decorators.http import require_GET
from django_prometheus import exports

from endpoints import metrics
from endpoints.selectors import HousekeepingStatus, endpoints_by_health, housekeeping_status, work_backlogs
from kongflow import metrics_auth
from kongflow.celery import app

logger = logging.getLogger(__name__)


@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"ok": True})


@require_GET
def readyz(request: HttpRequest) -> JsonResponse:
    checks = {"database": _database_ok(), "broker": _broker_ok()}
    body: dict[str, Any] = {"ok": all(checks.values()), "checks": checks}
    if checks["database"]:
        statuses = _housekeeping()
        if statuses is not None:
            body["housekeeping"] = {
                "overdue": [status.task for status in statuses if status.overdue],
                "tasks": {status.task: _status_json(status) for status in statuses},
            }
    else:
        body["error"] = "Database unavailable"
    return JsonResponse(body, status=200 if body["ok"] else 503)


@require_GET
def prometheus_metrics(request: HttpRequest) -> HttpResponse:
    """django-prometheus's /metrics (behind KONGFLOW_METRICS_TOKEN when set), with the gauges read
    from the database first (housekeeping, work backlogs, endpoints by health)."""
    denied = metrics_auth.denied(request)
    if denied is not None:
        return denied
    _housekeeping()
    _database_gauges()
    exported: HttpResponse = exports.ExportToDjangoView(request)
    return exported


def _housekeeping() -> list[HousekeepingStatus] | None:
    try:
        statuses = housekeeping_status()
    except Exception:
        logger.warning("health.housekeeping_unavailable", exc_info=True)
        return None
    for status in statuses:
        if status.last_finished_at is not None:
            metrics.housekeeping_last_run.labels(status.task).set(status.last_finished_at.timestamp())
        metrics.housekeeping_overdue.labels(status.task).set(1 if status.overdue else 0)
    return statuses


def _database_gauges() -> None:
    try:
        now = timezone.now()
        backlogs = work_backlogs(now=now)
        health = endpoints_by_health()
    except Exception:
        logger.warning("health.gauges_unavailable", exc_info=True)
        return
    for backlog in backlogs:
        metrics.work_backlog_depth.labels(backlog.kind).set(backlog.depth)
        age = (now - backlog.oldest_due_at).total_seconds() if backlog.oldest_due_at else 0.0
        metrics.work_backlog_oldest_age.labels(backlog.kind).set(max(age, 0.0))
    for state, count in health.items():
        metrics.endpoints_health.labels(state).set(count)


def _status_json(status: HousekeepingStatus) -> dict[str, Any]:
    finished = status.last_finished_at
    return {
        "lastRunAt": finished.isoformat() if finished else None,
        "secondsSinceLastRun": round((timezone.now() - finished).total_seconds()) if finished else None,
        "intervalSeconds": status.interval_seconds,
        "overdue": status.overdue,
        "lastError": status.last_error,
    }


def _database_ok() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return True
    except Exception:
        logger.warning("health.database_unavailable", exc_info=True)
        connection.close_if_unusable_or_obsolete()
        return False


def _broker_ok() -> bool:
    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
        return True
    except Exception:
        logger.warning("health.broker_unavailable", exc_info=True)
        return False
