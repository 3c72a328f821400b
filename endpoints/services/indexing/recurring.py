"""The recurring index (§5.7): every live PRODUCTION and STAGING endpoint once an interval, spread out.

Each endpoint has a slot in the interval (KONGFLOW_RECURRING_INDEX_MINUTES): a stable offset from
a hash of its id, so the endpoints' due times spread evenly over the interval and each keeps its
own from one interval to the next. `Endpoint.recurring_index_at` is the next slot; a partial index
keeps the due endpoints in order, so a tick reads at most a batch of rows, never all endpoints.

A tick (beat, every KONGFLOW_RECURRING_INDEX_INTERVAL_SECONDS) takes the first due endpoints, at
most KONGFLOW_RECURRING_INDEX_BATCH, and fewer when the index queue is deep (`index_backlog`), so
it never adds more than the workers can take. It claims them with `FOR UPDATE SKIP LOCKED` and
moves each to its next slot in the same transaction as its request: two ticks at once (two beats)
take different endpoints, and a tick that fails leaves them due. Taken endpoints:

- not recurring (another environment type, or deleted): leave the schedule (NULL) until
  registered again;
- disabled after too many failed indexes (`services.health`): moved to their next slot only;
- indexed for another reason within the interval (registration, deploy hook, API, console): only
  moved to their next slot, as the original skipped endpoints with a recent index;
- the others: an INTERNAL index request, which joins a PENDING run when there is one.

Due endpoints the tick could not take (batch full, queue deep) stay due and come first next time.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from endpoints.models import Endpoint, EndpointHealth, EndpointIndex, EnvironmentType, IndexSource, IndexStatus

from .requests import endpoint_index_request

logger = logging.getLogger(__name__)

RECURRING_REASON = "Recurring index"
RECURRING_TYPES = (EnvironmentType.PRODUCTION, EnvironmentType.STAGING)


def recurring_interval() -> timedelta:
    return timedelta(minutes=settings.KONGFLOW_RECURRING_INDEX_MINUTES)


def recurring_slot(*, endpoint_id: str, after: datetime, interval: timedelta) -> datetime:
    """The endpoint's first slot after `after`: its offset (a hash of its id, to the millisecond)
    into each interval, intervals counted from the Unix epoch."""
    period_ms = max(1, int(interval.total_seconds() * 1000))
    offset_ms = int.from_bytes(hashlib.sha256(endpoint_id.encode()).digest()[:8], "big") % period_ms
    after_ms = int(after.timestamp() * 1000)
    slot_ms = after_ms - after_ms % period_ms + offset_ms
    if slot_ms <= after_ms:
        slot_ms += period_ms
    return datetime.fromtimestamp(slot_ms / 1000, tz=UTC)


def index_backlog(*, limit: int) -> int:
    """Runs waiting in the index queue (PENDING, sent, due), counted up to `limit`.

    From the database, so it works with any broker: a run's message is in the queue from when it
    is sent (`dispatched_at`) until a worker claims the run. Counting stops at `limit`, so it reads
    at most that many of the (few) PENDING rows.
    """
    waiting = EndpointIndex.objects.filter(status=IndexStatus.PENDING, dispatched_at__isnull=False).filter(
        Q(run_at__isnull=True) | Q(run_at__lte=timezone.now())
    )
    return waiting.values("id")[:limit].count()


@dataclass
class RecurringTick:
    backlog: int = 0
    #: Endpoints taken (at most the batch): each is one of the three lists below.
    requested: list[str] = field(default_factory=list)
    recent: list[str] = field(default_factory=list)
    unscheduled: list[str] = field(default_factory=list)
    #: Disabled after too many failed indexes (services.health): kept on schedule, not indexed.
    disabled: list[str] = field(default_factory=list)


def endpoints_recurring_index(*, batch: int | None = None) -> RecurringTick:
    """One tick: request an index of at most a batch of due endpoints (see the module docstring)."""
    batch = settings.KONGFLOW_RECURRING_INDEX_BATCH if batch is None else batch
    max_backlog = settings.KONGFLOW_RECURRING_INDEX_MAX_BACKLOG
    tick = RecurringTick(backlog=index_backlog(limit=max_backlog))
    size = min(batch, max_backlog - tick.backlog)
    if size <= 0:
        logger.warning("endpoints.recurring_index.deferred", extra={"backlog": tick.backlog})
        return tick
    now = timezone.now()
    interval = recurring_interval()
    with transaction.atomic():
        due = list(
            Endpoint.objects.filter(recurring_index_at__lte=now)
            .order_by("recurring_index_at")
            .select_related("environment")
            .select_for_update(skip_locked=True, of=("self",))[:size]
        )
        recent = set(
            EndpointIndex.objects.filter(endpoint_id__in=[e.id for e in due], created_at__gt=now - interval)
            .exclude(source=IndexSource.INTERNAL, reason=RECURRING_REASON)
            .values_list("endpoint_id", flat=True)
        )
        for endpoint in due:
            if endpoint.url is None or endpoint.environment.type not in RECURRING_TYPES:
                endpoint.recurring_index_at = None
                tick.unscheduled.append(endpoint.id)
                continue
            endpoint.recurring_index_at = recurring_slot(endpoint_id=endpoint.id, after=now, interval=interval)
            if endpoint.health == EndpointHealth.DISABLED:
                tick.disabled.append(endpoint.id)
                continue
            if endpoint.id in recent:
                tick.recent.append(endpoint.id)
                continue
            endpoint_index_request(endpoint=endpoint, source=IndexSource.INTERNAL, reason=RECURRING_REASON)
            tick.requested.append(endpoint.id)
        Endpoint.objects.bulk_update(due, ["recurring_index_at"], batch_size=500)
    if due:
        logger.info(
            "endpoints.recurring_index.tick",
            extra={
                "backlog": tick.backlog,
                "requested": len(tick.requested),
                "recent": len(tick.recent),
                "unscheduled": len(tick.unscheduled),
                "disabled": len(tick.disabled),
            },
        )
    return tick
