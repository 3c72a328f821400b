"""Reads for pull consumers."""

from __future__ import annotations

from endpoints.models import RegistryEvent, RuntimeEnvironment, WebhookSubscription


def registry_events_after(*, environment: RuntimeEnvironment, after: int, limit: int) -> list[RegistryEvent]:
    """The environment's events with a sequence above `after`, oldest first (committed ones only)."""
    return list(RegistryEvent.objects.filter(environment=environment, sequence__gt=after).order_by("sequence")[:limit])


def subscriptions_of(*, environment: RuntimeEnvironment) -> list[WebhookSubscription]:
    """The environment's subscriptions, oldest first."""
    return list(WebhookSubscription.objects.filter(environment=environment).order_by("created_at"))
