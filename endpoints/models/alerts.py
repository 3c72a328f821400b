"""Alert channels (e-mail, Slack-compatible webhooks) per environment, and the notifications sent to them."""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from endpoints.utils import mask_url

from .base import TimestampedModel
from .endpoint import Endpoint
from .fields import EncryptedTextField
from .tenancy import RuntimeEnvironment


class AlertChannelType(models.TextChoices):
    EMAIL = "email", "e-mail"
    SLACK = "slack", "Slack-compatible webhook"


class AlertChannel(TimestampedModel):
    """Where an environment's endpoint health transitions are announced."""

    # Indexed by alertchannel_environment, which it leads.
    environment = models.ForeignKey(
        RuntimeEnvironment, on_delete=models.CASCADE, related_name="alert_channels", db_index=False
    )
    type = models.CharField(max_length=10, choices=AlertChannelType.choices)
    email = models.EmailField(max_length=254, blank=True, default="")
    # An incoming-webhook URL is a credential (anyone holding it can post): encrypted, shown masked.
    url = EncryptedTextField(null=True, blank=True)
    suppressed = models.PositiveIntegerField(
        default=0, help_text="Notifications suppressed by the rate limit since the last one admitted."
    )

    class Meta:
        indexes = [models.Index(fields=["environment", "created_at"], name="alertchannel_environment")]
        constraints = [
            models.CheckConstraint(
                condition=(Q(type="email") & ~Q(email="") & Q(url__isnull=True))
                | (Q(type="slack") & Q(email="") & Q(url__isnull=False)),
                name="alertchannel_one_target",
            )
        ]

    def __str__(self) -> str:
        return f"{self.type}: {self.target_display}"

    @property
    def target_display(self) -> str:
        return self.email if self.type == AlertChannelType.EMAIL else mask_url(self.url or "")


class AlertTransition(models.TextChoices):
    FAILING = "failing", "failing"
    RECOVERED = "recovered", "recovered"
    DISABLING_SOON = "disabling_soon", "disabling soon"
    DISABLED = "disabled", "disabled"


class AlertStatus(models.TextChoices):
    PENDING = "PENDING"
    SENT = "SENT"
    FAILED = "FAILED"
    SUPPRESSED = "SUPPRESSED", "suppressed (rate limit)"


class AlertNotification(TimestampedModel):
    """One message for one channel about one transition of one endpoint, written in the transaction
    of the registry event that announced it. Unique per (channel, endpoint, transition, streak): a
    duplicate event of the same failing streak, a retry or a second task cannot make a second one."""

    channel = models.ForeignKey(AlertChannel, on_delete=models.CASCADE, related_name="notifications", db_index=False)
    endpoint = models.ForeignKey(Endpoint, on_delete=models.CASCADE, related_name="alert_notifications")
    transition = models.CharField(max_length=20, choices=AlertTransition.choices)
    streak = models.CharField(
        max_length=64, help_text="The failing streak (its start) or, for a recovery, the event that announced it."
    )
    event_id = models.CharField(max_length=40, help_text="The registry event that announced the transition.")
    subject = models.CharField(max_length=300)
    text = models.TextField()
    status = models.CharField(max_length=12, choices=AlertStatus.choices, default=AlertStatus.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    # A worker sending it holds it until then (a conditional update claims it).
    lease_until = models.DateTimeField(null=True, blank=True)
    # When it took one of its channel's KONGFLOW_ALERT_MAX_PER_HOUR places (first attempt).
    admitted_at = models.DateTimeField(null=True, blank=True)
    suppressed_before = models.PositiveIntegerField(
        default=0, help_text="Notifications of the channel suppressed since the previous one admitted."
    )
    sent_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True, default="")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["channel", "endpoint", "transition", "streak"], name="alertnotification_once"
            )
        ]
        indexes = [
            models.Index(fields=["channel", "admitted_at"], name="alertnotification_admitted"),
            models.Index(fields=["next_attempt_at"], name="alertnotification_due", condition=Q(status="PENDING")),
        ]

    def __str__(self) -> str:
        return f"{self.transition} {self.endpoint_id} → {self.channel_id} {self.status}"
