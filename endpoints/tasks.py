"""Celery tasks: ids in, a service call, nothing else. Safe to run twice (runs are claimed)."""

from __future__ import annotations

from celery import shared_task

from endpoints.services import events, indexing, probing


@shared_task(bind=True, name=indexing.PERFORM_TASK, acks_late=True, max_retries=None)
def perform_endpoint_index(self, *, index_id: str) -> None:
    """Index one EndpointIndex run; retryable failures come back here after their backoff."""
    retry_in = indexing.endpoint_index_run(index_id=index_id)
    if retry_in is not None:
        raise self.retry(countdown=retry_in)


@shared_task(name="endpoints.probe_endpoint", acks_late=True, max_retries=0)
def probe_endpoint(*, endpoint_id: str) -> None:
    """Measure the endpoint's function time limit (one attempt, like the original)."""
    probing.endpoint_probe(endpoint_id=endpoint_id)


@shared_task(name="endpoints.sweep_endpoint_indexes", acks_late=True)
def sweep_endpoint_indexes() -> None:
    indexing.endpoint_indexes_sweep()


@shared_task(name="endpoints.recurring_endpoint_indexing", acks_late=True)
def recurring_endpoint_indexing() -> None:
    indexing.endpoints_recurring_index()


@shared_task(name="endpoints.purge_old_endpoint_indexes", acks_late=True)
def purge_old_endpoint_indexes() -> None:
    indexing.endpoint_indexes_purge()


@shared_task(name=events.DELIVER_TASK, acks_late=True)
def deliver_webhooks(*, subscription_id: str) -> None:
    """Send the subscription's due webhook deliveries in order (safe to run twice: it holds a lease)."""
    events.subscription_drain(subscription_id=subscription_id)


@shared_task(name="endpoints.sweep_webhook_deliveries", acks_late=True)
def sweep_webhook_deliveries() -> None:
    """Re-queue subscriptions with due deliveries (retries, lost dispatches, dead workers)."""
    events.webhook_deliveries_sweep()


@shared_task(name="endpoints.purge_old_registry_events", acks_late=True)
def purge_old_registry_events() -> None:
    events.registry_events_purge()
