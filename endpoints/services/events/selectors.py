"""Reads for pull consumers."""

from __future__ import annotations

from endpoints.models import RegistryEvent, RuntimeEnvironment


def registry_events_after(*, environment: RuntimeEnvironment, after: int, limit: int) -> list[RegistryEvent]:
    """The environment's events with a sequence above `after`, oldest first (committed ones only)."""
    return list(RegistryEvent.objects.filter(environment=environment, sequence__gt=after).order_by("sequence")[:limit])
