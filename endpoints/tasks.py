"""Celery tasks: ids in, a service call, nothing else. Safe to run twice (runs are claimed).

A database error (connection lost, "too many clients", deadlock) is retried with exponential
backoff and jitter; the run itself is never lost: its retry resumes it, and if the retries run
out its lease expires and the sweeper recovers it.
"""

from __future__ import annotations

from celery import Task, shared_task
from django.conf import settings

from endpoints.services import alerts, environments, events, indexing, probing

DB_RETRY = {
    "autoretry_for": indexing.DATABASE_ERRORS,
    "retry_backoff": 1,
    "retry_backoff_max": settings.CELERY_DB_RETRY_BACKOFF_MAX,
    "retry_jitter": True,
}


@shared_task(bind=True, name=indexing.PERFORM_TASK, acks_late=True, max_retries=12, **DB_RETRY)
def perform_endpoint_index(self: Task, *, index_id: str, attempt: int | None = None) -> None:
    """Index one EndpointIndex run for the attempt the message was sent for (else a no-op)."""
    indexing.endpoint_index_run(index_id=index_id, attempt=attempt, lease_owner=self.request.id)


@shared_task(name="endpoints.probe_endpoint", acks_late=True, max_retries=0)
def probe_endpoint(*, endpoint_id: str) -> None:
    """Measure the endpoint's function time limit (one attempt, like the original)."""
    probing.endpoint_probe(endpoint_id=endpoint_id)


# Housekeeping tasks take `fired_at` and `every` from beat (kongflow.beat.Scheduler): they run once
# per beat interval however many beats send them (indexing.housekeeping_claim).
SWEEP_TASK = "endpoints.sweep_endpoint_indexes"
RECURRING_TASK = "endpoints.recurring_endpoint_indexing"
PURGE_TASK = "endpoints.purge_old_endpoint_indexes"


@shared_task(name=SWEEP_TASK, acks_late=True, max_retries=3, **DB_RETRY)
def sweep_endpoint_indexes(fired_at: str | None = None, every: float | None = None) -> None:
    indexing.housekeeping_record(task=SWEEP_TASK, work=indexing.endpoint_indexes_sweep, fired_at=fired_at, every=every)


@shared_task(name=RECURRING_TASK, acks_late=True, max_retries=3, **DB_RETRY)
def recurring_endpoint_indexing(fired_at: str | None = None, every: float | None = None) -> None:
    indexing.housekeeping_record(
        task=RECURRING_TASK, work=indexing.endpoints_recurring_index, fired_at=fired_at, every=every
    )


@shared_task(name=PURGE_TASK, acks_late=True, max_retries=3, **DB_RETRY)
def purge_old_endpoint_indexes(fired_at: str | None = None, every: float | None = None) -> None:
    indexing.housekeeping_record(task=PURGE_TASK, work=indexing.endpoint_indexes_purge, fired_at=fired_at, every=every)


WEBHOOK_SWEEP_TASK = "endpoints.sweep_webhook_deliveries"
EVENTS_PURGE_TASK = "endpoints.purge_old_registry_events"


@shared_task(name=events.DELIVER_TASK, acks_late=True, max_retries=3, **DB_RETRY)
def deliver_webhooks(*, subscription_id: str) -> None:
    """Send the subscription's due webhook deliveries in order (safe to run twice: it holds a lease)."""
    events.subscription_drain(subscription_id=subscription_id)


@shared_task(name=WEBHOOK_SWEEP_TASK, acks_late=True, max_retries=3, **DB_RETRY)
def sweep_webhook_deliveries(fired_at: str | None = None, every: float | None = None) -> None:
    """Re-queue subscriptions with due deliveries (retries, lost dispatches, dead workers)."""
    indexing.housekeeping_record(
        task=WEBHOOK_SWEEP_TASK, work=events.webhook_deliveries_sweep, fired_at=fired_at, every=every
    )


@shared_task(name=EVENTS_PURGE_TASK, acks_late=True, max_retries=3, **DB_RETRY)
def purge_old_registry_events(fired_at: str | None = None, every: float | None = None) -> None:
    indexing.housekeeping_record(
        task=EVENTS_PURGE_TASK, work=events.registry_events_purge, fired_at=fired_at, every=every
    )


@shared_task(name=environments.KEY_CHECK_TASK, acks_late=True, max_retries=0)
def check_endpoint_key(*, endpoint_id: str) -> None:
    """PING the endpoint to learn which environment key it accepts (key rotation)."""
    environments.endpoint_key_check(endpoint_id=endpoint_id)


ALERT_SWEEP_TASK = "endpoints.sweep_alert_notifications"


@shared_task(name=alerts.SEND_TASK, acks_late=True, max_retries=3, **DB_RETRY)
def send_alert(*, notification_id: str) -> None:
    """Send one alert notification (safe to run twice: it is claimed; failures retry from its row)."""
    alerts.alert_notification_send(notification_id=notification_id)


@shared_task(name=ALERT_SWEEP_TASK, acks_late=True, max_retries=3, **DB_RETRY)
def sweep_alert_notifications(fired_at: str | None = None, every: float | None = None) -> None:
    """Re-queue due alert notifications (retries, lost dispatches, dead workers)."""
    indexing.housekeeping_record(
        task=ALERT_SWEEP_TASK, work=alerts.alert_notifications_sweep, fired_at=fired_at, every=every
    )
