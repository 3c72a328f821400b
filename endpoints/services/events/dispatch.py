"""Handing deliveries to the worker, by task name (services never import `endpoints.tasks`)."""

from __future__ import annotations

import logging

from celery import current_app

logger = logging.getLogger(__name__)

DELIVER_TASK = "endpoints.deliver_webhooks"


def delivery_dispatch(*, subscription_id: str) -> None:
    """Queue a drain of the subscription. A broker outage is logged, not raised: the sweeper
    finds every due delivery in the database."""
    try:
        current_app.send_task(DELIVER_TASK, kwargs={"subscription_id": subscription_id})
    except Exception:
        logger.warning("events.delivery.dispatch_failed", extra={"subscription_id": subscription_id}, exc_info=True)
