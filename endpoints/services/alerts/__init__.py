"""Alert channels: an environment's endpoint health transitions (failing, recovered, disabling
soon, disabled) announced by e-mail and Slack-compatible incoming webhooks.

Driven by the registry's outbox: `planning` writes one notification per channel and transition in
the transaction that records the event; `sending` claims, rate-limits, sends and retries them on the
webhooks queue; `channels` manages the channels (API and console).
"""

from .channels import (
    AlertChannelNotFound,
    InvalidAlertChannel,
    alert_channel_create,
    alert_channel_delete,
    alert_channel_get,
    alert_channel_validate,
    alert_channels_of,
    alert_room_check,
)
from .dispatch import SEND_TASK, alert_dispatch
from .planning import alert_notifications_record
from .sending import alert_notification_send, alert_notifications_sweep

__all__ = [
    "SEND_TASK",
    "AlertChannelNotFound",
    "InvalidAlertChannel",
    "alert_channel_create",
    "alert_channel_delete",
    "alert_channel_get",
    "alert_channel_validate",
    "alert_channels_of",
    "alert_dispatch",
    "alert_notification_send",
    "alert_notifications_record",
    "alert_notifications_sweep",
    "alert_room_check",
]
