"""Handing notifications to the worker, by task name (services never import `endpoints.tasks`)."""

from __future__ import annotations

import logging

from celery import current_app

logger = logging.getLogger(__name__)

SEND_TASK = "endpoints.send_alert"


def alert_dispatch(*, notification_id: str) -> None:
    """Queue the sending of a notification. A broker outage is logged, not raised: the sweeper finds
    every due notification in the database."""
    try:
        current_app.send_task(SEND_TASK, kwargs={"notification_id": notification_id})
    except Exception:
        logger.warning("alerts.dispatch_failed", extra={"notification_id": notification_id}, exc_info=True)
