"""Sending notifications: claim, admit under the channel's hourly limit, send, record, retry.

A notification is sent by whoever claims it (a conditional update of its lease: a duplicate task
or the sweeper finds it taken and does nothing). Its first attempt takes one of its channel's
KONGFLOW_ALERT_MAX_PER_HOUR places, counted under the channel row's lock; when none is left it is
SUPPRESSED (kept, counted in `kongflow_alert_notifications_total{outcome="suppressed"}`, logged),
and the channel's next message says how many were suppressed before it. A failed attempt is
retried after KONGFLOW_ALERT_RETRY_SCHEDULE (the sweeper re-queues due rows), then FAILED; a
refusal no retry can fix (the outbound guard, a 4xx, an SMTP 5xx) is FAILED at once. A worker that
dies between sending and recording sends again when the lease runs out (at least once).
"""

from __future__ import annotations

import json
import logging
import smtplib
from datetime import datetime, timedelta

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.db import transaction
from django.db.models import F, Q, QuerySet
from django.utils import timezone

from endpointapi import EndpointApiError, ForbiddenAddress
from endpoints import metrics
from endpoints.models import AlertChannel, AlertChannelType, AlertNotification, AlertStatus
from endpoints.services.events.http import post_webhook

from .dispatch import alert_dispatch

logger = logging.getLogger(__name__)

LEASE_SECONDS = 120  # longer than an SMTP or webhook attempt (their timeouts) takes


class SendFailed(Exception):
    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.message = message[:500]
        self.permanent = permanent


def _body(notification: AlertNotification) -> str:
    text = notification.text
    if notification.suppressed_before:
        text += (
            f"\n({notification.suppressed_before} earlier alert(s) of this channel were not sent: "
            "over KONGFLOW_ALERT_MAX_PER_HOUR; see the console's alert notifications.)"
        )
    return text


def _send_email(channel: AlertChannel, notification: AlertNotification) -> None:
    sender = settings.KONGFLOW_ALERT_FROM_EMAIL or settings.DEFAULT_FROM_EMAIL
    connection = get_connection(timeout=settings.EMAIL_TIMEOUT)
    message = EmailMessage(notification.subject, _body(notification), sender, [channel.email], connection=connection)
    try:
        message.send()
    except smtplib.SMTPRecipientsRefused as exc:
        raise SendFailed(f"The mail server refused the recipient: {exc}", permanent=True) from exc
    except smtplib.SMTPResponseException as exc:
        raise SendFailed(f"The mail server answered {exc.smtp_code}", permanent=exc.smtp_code >= 500) from exc
    except (smtplib.SMTPException, OSError) as exc:
        raise SendFailed(f"Could not send the mail: {type(exc).__name__}: {exc}") from exc


def _send_slack(channel: AlertChannel, notification: AlertNotification) -> None:
    body = json.dumps({"text": f"*{notification.subject}*\n{_body(notification)}"}, ensure_ascii=False).encode()
    try:
        response = post_webhook(url=channel.url or "", body=body, headers={}, environment=channel.environment)
    except ForbiddenAddress as exc:  # nothing was sent: a configuration error
        raise SendFailed(f"{exc.code}: {exc.message}. {exc.hint}", permanent=True) from exc
    except EndpointApiError as exc:
        raise SendFailed(exc.message) from exc
    status = response.status_code
    if not 200 <= status < 300:
        permanent = 400 <= status < 500 and status not in (408, 429)
        raise SendFailed(f"The webhook answered HTTP {status}", permanent=permanent)


def _retry_delay(attempts: int) -> float | None:
    schedule: list[float] = settings.KONGFLOW_ALERT_RETRY_SCHEDULE
    return float(schedule[attempts - 1]) if attempts <= len(schedule) else None


def _claim(notification_id: str, now: datetime) -> datetime | None:
    lease = now + timedelta(seconds=LEASE_SECONDS)
    claimed = (
        AlertNotification.objects.filter(id=notification_id, status=AlertStatus.PENDING, next_attempt_at__lte=now)
        .filter(Q(lease_until__isnull=True) | Q(lease_until__lt=now))
        .update(lease_until=lease)
    )
    return lease if claimed == 1 else None


def _admit(notification: AlertNotification, lease: datetime, now: datetime) -> bool:
    """Take a place of the channel's hourly limit, or suppress the notification."""
    limit: int = settings.KONGFLOW_ALERT_MAX_PER_HOUR
    with transaction.atomic():
        channel = AlertChannel.objects.select_for_update(no_key=True).get(id=notification.channel_id)
        used = AlertNotification.objects.filter(
            channel_id=channel.id, admitted_at__gte=now - timedelta(hours=1)
        ).count()
        mine = AlertNotification.objects.filter(id=notification.id, lease_until=lease)
        if used >= limit:
            mine.update(status=AlertStatus.SUPPRESSED, lease_until=None, last_error=f"Over {limit} per hour")
            AlertChannel.objects.filter(id=channel.id).update(suppressed=F("suppressed") + 1)
            admitted = False
        else:
            mine.update(admitted_at=now, suppressed_before=channel.suppressed)
            AlertChannel.objects.filter(id=channel.id).update(suppressed=0)
            notification.admitted_at, notification.suppressed_before = now, channel.suppressed
            admitted = True
    if not admitted:
        metrics.alert_notifications.labels(notification.channel.type, "suppressed").inc()
        logger.warning(
            "alerts.suppressed",
            extra={"notification_id": notification.id, "channel_id": channel.id, "limit_per_hour": limit},
        )
    return admitted


def alert_notification_send(*, notification_id: str) -> str | None:
    """Send one due notification once. Returns the outcome (sent, retry, failed, suppressed), or
    None when it is not due or another worker holds it."""
    now = timezone.now()
    lease = _claim(notification_id, now)
    if lease is None:
        return None
    notification = AlertNotification.objects.select_related("channel__environment__organization").get(
        id=notification_id
    )
    channel = notification.channel
    if notification.admitted_at is None and not _admit(notification, lease, now):
        return "suppressed"
    error: SendFailed | None = None
    try:
        (_send_email if channel.type == AlertChannelType.EMAIL else _send_slack)(channel, notification)
    except SendFailed as exc:
        error = exc
    attempts = notification.attempts + 1
    done = timezone.now()
    fields: dict[str, object] = {"attempts": attempts, "lease_until": None}
    if error is None:
        outcome = "sent"
        fields.update(status=AlertStatus.SENT, sent_at=done, last_error="")
    else:
        delay = None if error.permanent else _retry_delay(attempts)
        outcome = "failed" if delay is None else "retry"
        fields.update(last_error=error.message)
        if delay is None:
            fields.update(status=AlertStatus.FAILED)
        else:
            fields.update(next_attempt_at=done + timedelta(seconds=delay))
    AlertNotification.objects.filter(id=notification_id, lease_until=lease).update(**fields)
    metrics.alert_notifications.labels(channel.type, outcome).inc()
    logger.info(
        "alerts.attempt",
        extra={
            "notification_id": notification_id,
            "channel_id": channel.id,
            "channel_type": channel.type,
            "transition": notification.transition,
            "attempts": attempts,
            "outcome": outcome,
            "error": error.message if error else None,
        },
    )
    return outcome


def _due(now: datetime) -> QuerySet[AlertNotification]:
    return (
        AlertNotification.objects.filter(status=AlertStatus.PENDING, next_attempt_at__lte=now)
        .filter(Q(lease_until__isnull=True) | Q(lease_until__lt=now))
        .order_by("next_attempt_at")
    )


def alert_notifications_sweep(*, limit: int = 500) -> list[str]:
    """Queue every due notification: retries, lost dispatches, a dead worker's."""
    due = list(_due(timezone.now()).values_list("id", flat=True)[:limit])
    for notification_id in due:
        alert_dispatch(notification_id=notification_id)
    return due
