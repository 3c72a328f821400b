"""Purging old events (with their deliveries and attempts), never one still waiting to be delivered."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from endpoints.models import DeliveryStatus, RegistryEvent


def registry_events_purge(*, days: int | None = None, batch_size: int = 1000) -> int:
    """Delete events older than the retention whose deliveries are all finished. The counter keeps
    counting: a pull consumer that fell further behind sees the sequence jump past `after + 1`."""
    retention = settings.KONGFLOW_EVENT_RETENTION_DAYS if days is None else days
    cutoff = timezone.now() - timedelta(days=retention)
    candidates = RegistryEvent.objects.filter(occurred_at__lt=cutoff).exclude(deliveries__status=DeliveryStatus.PENDING)
    deleted = 0
    while ids := list(candidates.values_list("id", flat=True)[:batch_size]):
        RegistryEvent.objects.filter(id__in=ids).delete()
        deleted += len(ids)
    return deleted
