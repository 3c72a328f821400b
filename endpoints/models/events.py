"""Registry events: the transactional outbox, webhook subscriptions, deliveries and their attempts."""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from .base import TimestampedModel
from .fields import EncryptedTextField
from .tenancy import RuntimeEnvironment


class EventSequence(models.Model):
    """The per-environment counter of registry events.

    Allocating a sequence upserts this row, which locks it until the allocating transaction
    ends, so sequences of one environment commit in order and a rolled-back transaction gives its
    numbers back: a pull consumer paging with `after=` never sees a gap nor a late arrival.
    """

    environment = models.OneToOneField(
        RuntimeEnvironment, on_delete=models.CASCADE, primary_key=True, related_name="event_sequence"
    )
    last_sequence = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.environment_id}: {self.last_sequence}"


class RegistryEvent(models.Model):
    """One outbox row, written in the same transaction as the change it describes."""

    id = models.CharField(primary_key=True, max_length=40, editable=False)
    # Indexed by the (environment, sequence) constraint.
    environment = models.ForeignKey(
        RuntimeEnvironment,
        on_delete=models.CASCADE,
        related_name="registry_events",
        db_index=False,
    )
    sequence = models.BigIntegerField()
    type = models.CharField(max_length=64)
    version = models.PositiveSmallIntegerField(default=1, help_text="Version of this type's payload.")
    data = models.JSONField()
    occurred_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["environment", "sequence"], name="registryevent_environment_sequence"),
        ]
        indexes = [models.Index(fields=["occurred_at"], name="registryevent_occurred")]

    def __str__(self) -> str:
        return f"#{self.sequence} {self.type}"


class WebhookSubscription(TimestampedModel):
    # Indexed by webhooksub_environment_active, which it leads.
    environment = models.ForeignKey(
        RuntimeEnvironment, on_delete=models.CASCADE, related_name="webhook_subscriptions", db_index=False
    )
    url = models.CharField(max_length=2000)
    events = models.JSONField(default=list, help_text='Event types delivered, or ["*"] for all.')
    description = models.CharField(max_length=500, blank=True, default="")
    # Shown once at creation; stored retrievable (encrypted) because every delivery is signed with it.
    secret = EncryptedTextField()
    previous_secret = EncryptedTextField(null=True, blank=True)
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True)
    is_active = models.BooleanField(default=True)
    disabled_at = models.DateTimeField(null=True, blank=True)
    disabled_reason = models.CharField(max_length=500, blank=True, default="")
    failing_since = models.DateTimeField(null=True, blank=True, help_text="First failure since the last success.")
    # A worker draining this subscription holds it until then (a conditional update claims it); a
    # lease is a webhook slot, of which an environment and a URL may hold only so many at once.
    lease_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["environment", "is_active"], name="webhooksub_environment_active"),
            # The slots in use (a claim counts them): only the few subscriptions being drained.
            models.Index(fields=["lease_until"], name="webhooksub_in_flight", condition=Q(lease_until__isnull=False)),
        ]

    def __str__(self) -> str:
        return f"{self.id} → {self.url}"

    def wants(self, event_type: str) -> bool:
        return "*" in self.events or event_type in self.events


class DeliveryStatus(models.TextChoices):
    PENDING = "PENDING"
    DELIVERED = "DELIVERED"
    FAILED = "FAILED"


class WebhookDelivery(TimestampedModel):
    """One event for one subscription. Sent in event order per subscription; retried on its own row."""

    # Indexed by webhookdelivery_subscription_event (subscription, event), which it leads.
    subscription = models.ForeignKey(
        WebhookSubscription, on_delete=models.CASCADE, related_name="deliveries", db_index=False
    )
    event = models.ForeignKey(RegistryEvent, on_delete=models.CASCADE, related_name="deliveries")
    status = models.CharField(max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "webhook deliveries"
        constraints = [
            models.UniqueConstraint(fields=["subscription", "event"], name="webhookdelivery_subscription_event")
        ]
        indexes = [
            models.Index(
                fields=["subscription", "event"],
                condition=Q(status="PENDING"),
                name="webhookdelivery_pending",
            ),
            models.Index(fields=["status", "next_attempt_at"], name="webhookdelivery_due"),
        ]

    def __str__(self) -> str:
        return f"{self.event_id} → {self.subscription_id} {self.status}"


class WebhookAttempt(models.Model):
    """One HTTP attempt of a delivery, as the receiver answered it (history: never edited)."""

    # Indexed by webhookattempt_delivery, which it leads.
    delivery = models.ForeignKey(WebhookDelivery, on_delete=models.CASCADE, related_name="attempt_rows", db_index=False)
    started_at = models.DateTimeField()
    succeeded = models.BooleanField()
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField()
    response_preview = models.TextField(blank=True, default="")
    error = models.CharField(max_length=500, blank=True, default="")

    class Meta:
        indexes = [models.Index(fields=["delivery", "started_at"], name="webhookattempt_delivery")]

    def __str__(self) -> str:
        return f"{self.delivery_id} {self.status_code or self.error}"
