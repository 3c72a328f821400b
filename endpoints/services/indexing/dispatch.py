"""Handing runs to the worker. Tasks are sent by name, so services never import `endpoints.tasks`."""

from __future__ import annotations

import logging

from celery import current_app
from django.utils import timezone

from endpoints.models import EndpointIndex, IndexStatus

logger = logging.getLogger(__name__)

PERFORM_TASK = "endpoints.perform_endpoint_index"


def index_dispatch(*, index_id: str, countdown: float | None = None) -> None:
    """Send the run to the worker. A broker outage is logged, not raised: the sweeper re-dispatches."""
    try:
        current_app.send_task(PERFORM_TASK, kwargs={"index_id": index_id}, countdown=countdown)
    except Exception:
        logger.warning("endpoints.index.dispatch_failed", extra={"index_id": index_id}, exc_info=True)


def dispatch_waiting(*, endpoint_id: str) -> None:
    """Dispatch the endpoint's PENDING run (it could not start while another one was STARTED)."""
    waiting = EndpointIndex.objects.filter(endpoint_id=endpoint_id, status=IndexStatus.PENDING).first()
    if waiting is not None:
        countdown = (waiting.run_at - timezone.now()).total_seconds() if waiting.run_at else 0
        index_dispatch(index_id=waiting.id, countdown=countdown if countdown > 0 else None)
