"""Celery tasks: ids in, a service call, nothing else. Safe to run twice (runs are claimed)."""

from __future__ import annotations

from celery import shared_task

from endpoints.services import environments, indexing, probing


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


@shared_task(name=environments.KEY_CHECK_TASK, acks_late=True, max_retries=0)
def check_endpoint_key(*, endpoint_id: str) -> None:
    """PING the endpoint to learn which environment key it accepts (key rotation)."""
    environments.endpoint_key_check(endpoint_id=endpoint_id)
