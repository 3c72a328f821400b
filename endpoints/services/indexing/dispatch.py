"""Handing runs to the worker: at most one message in flight per run and attempt.

Tasks are sent by name, so services never import `endpoints.tasks`.

Design (why the sweeper cannot feed a backlog, yet lost messages are recovered):

- A message names the run *and the attempt it is for* (`attempt` = the run's `attempts` when it
  was sent). Claiming is a conditional update on (PENDING, attempts == attempt), so a stale or
  duplicate message is a no-op, and no message ever causes another one (no `self.retry`).
- A message carries `eta = run_at`: a retry's backoff is waited out by the broker, not by a task
  that wakes up early and re-sends itself.
- `dispatched_at` is set (atomically, `IS NULL` -> now) *before* a send, and reset to NULL only
  when nothing is in flight any more: the send failed, the message was consumed without claiming
  (another run of the endpoint was STARTED), or the run went back to PENDING for a new attempt.
  So "PENDING with dispatched_at NULL" means exactly "needs a message", and the reservation makes
  the request, the worker and the sweeper send at most one between them.
- A message in a backlog is not lost: the sweeper never re-sends a run just because its message
  is old. What loses messages is the broker: our Redis keeps nothing on disk, so a restart drops
  every queued and unacked message. Each send records the broker's *epoch*, a random value kept in
  the broker itself (`SET NX`); a restarted Redis has no epoch, a new one is drawn, and the
  sweeper re-sends the PENDING runs whose message was sent in an older epoch. A Redis that keeps
  its data (appendonly) keeps its epoch, and nothing is re-sent.
- RabbitMQ keeps durable queues and persistent messages (Celery's defaults) across a restart, but
  not across a lost data directory (a new node, a container without its volume). There the epoch
  is a durable, empty *marker queue* `<KONGFLOW_QUEUE_PREFIX>.epoch.<epoch>`: a process adopts the
  epoch the cache names when its marker exists, else declares a new one; a message was lost with
  the broker when the marker of the epoch it was sent in is gone. Processes that do not share a
  cache may each hold an epoch of their own: that is fine, since each epoch is checked on its own
  (`broker_epochs_gone`); an unused marker expires after a week (`x-expires`).
- Last resort (KONGFLOW_DISPATCH_LOST_AFTER_SECONDS, 2 h): a message neither claimed nor lost by
  a restart after that long is sent again; a backlog that long gets one extra message per run
  per period, never one per sweep.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from amqp.exceptions import NotFound  # type: ignore[import-untyped]  # py-amqp ships no types
from celery import current_app
from django.conf import settings
from django.core.cache import cache
from django.db.models import F
from django.utils import timezone

from endpoints.db import server_binding_cursor
from endpoints.models import EndpointIndex, IndexStatus

logger = logging.getLogger(__name__)

PERFORM_TASK = "endpoints.perform_endpoint_index"
EPOCH_KEY = "kongflow:broker-epoch"
_EPOCH_CACHE_SECONDS = 5.0
# The status is a literal, so that a prepared (generic) plan can still use the partial unique index.
_WAITING_SQL = (
    f"SELECT id FROM {EndpointIndex._meta.db_table} "  # noqa: S608 - model metadata and an enum value
    f"WHERE endpoint_id = %s AND status = '{IndexStatus.PENDING.value}' LIMIT 1"
)
_MARKER_EXPIRES_MS = 7 * 24 * 3600 * 1000  # an AMQP epoch's marker queue, unused for a week, goes
_epoch_cache: tuple[float, str, str] | None = None  # (monotonic time, broker url, epoch)


def _broker_kind(url: str) -> str:
    if url.startswith(("redis://", "rediss://")):
        return "redis"
    if url.startswith(("amqp://", "amqps://", "pyamqp://")):
        return "amqp"
    return "static"  # brokers that keep their messages on disk (the embedded filesystem one)


def broker_epoch(*, cached: bool = True) -> str | None:
    """The broker's current epoch; None when the broker cannot be reached.

    Cached a few seconds per process: a stale value can only make the sweeper re-send a message
    that was not lost (a harmless no-op), never miss one that was.
    """
    global _epoch_cache
    url = str(current_app.conf.broker_url or "")
    now = time.monotonic()
    if cached and _epoch_cache and _epoch_cache[1] == url and now - _epoch_cache[0] < _EPOCH_CACHE_SECONDS:
        return _epoch_cache[2]
    kind = _broker_kind(url)
    if kind == "static":
        return "static"
    held = _epoch_cache[2] if _epoch_cache and _epoch_cache[1] == url else None
    try:
        with current_app.connection_for_write() as connection:
            epoch = _redis_epoch(connection) if kind == "redis" else _amqp_epoch(connection, held)
    except Exception:
        logger.warning("endpoints.index.broker_epoch_unavailable", exc_info=True)
        return None
    _epoch_cache = (now, url, epoch)
    return epoch


def broker_epochs_gone(epochs: Iterable[str | None]) -> set[str | None] | None:
    """Which of these epochs (messages were sent in) the broker has lost since; None when the
    broker cannot be reached. An unknown epoch (None) counts as lost."""
    current = broker_epoch(cached=False)
    if current is None:
        return None
    candidates = set(epochs)
    if _broker_kind(str(current_app.conf.broker_url or "")) != "amqp":
        return {epoch for epoch in candidates if epoch != current}
    others = [epoch for epoch in candidates if epoch is not None and epoch != current]
    try:
        with current_app.connection_for_write() as connection:
            gone = {epoch for epoch in others if not _marker_exists(connection, epoch)}
    except Exception:
        logger.warning("endpoints.index.broker_epoch_unavailable", exc_info=True)
        return None
    return gone | ({None} if None in candidates else set())


def _redis_epoch(connection: Any) -> str:
    client = connection.default_channel.client
    client.set(EPOCH_KEY, secrets.token_hex(8), nx=True)
    raw = client.get(EPOCH_KEY)
    return raw.decode() if isinstance(raw, bytes) else str(raw)


def _amqp_epoch(connection: Any, held: str | None) -> str:
    """This process's epoch if its marker is still there, else the cache's, else a new one."""
    shared = cache.get(EPOCH_KEY)
    for candidate in dict.fromkeys(epoch for epoch in (held, shared) if epoch):
        if _marker_exists(connection, candidate):
            _declare_marker(connection, candidate)  # renews its x-expires
            return candidate
    epoch = secrets.token_hex(8)
    _declare_marker(connection, epoch)
    cache.set(EPOCH_KEY, epoch, timeout=None)
    return epoch


def _marker(epoch: str) -> str:
    return f"{settings.KONGFLOW_QUEUE_PREFIX}.epoch.{epoch}"


def _marker_exists(connection: Any, epoch: str) -> bool:
    # A passive declare of a missing queue closes its channel: a channel of its own each time.
    channel = connection.channel()
    try:
        channel.queue_declare(queue=_marker(epoch), passive=True)
    except NotFound:
        return False
    finally:
        channel.close()
    return True


def _declare_marker(connection: Any, epoch: str) -> None:
    channel = connection.channel()
    try:
        channel.queue_declare(
            queue=_marker(epoch), durable=True, auto_delete=False, arguments={"x-expires": _MARKER_EXPIRES_MS}
        )
    finally:
        channel.close()


def index_dispatch(*, index_id: str) -> bool:
    """Send the run's message for its current attempt, unless one is already in flight.

    A broker outage is logged, not raised: the reservation is undone and the sweeper sends it.
    """
    now = timezone.now()
    if not EndpointIndex.objects.filter(id=index_id, status=IndexStatus.PENDING, dispatched_at__isnull=True).update(
        dispatched_at=now
    ):
        return False  # already in flight, claimed, or final
    row = EndpointIndex.objects.filter(id=index_id).values("attempts", "run_at").first()
    if row is None:
        return False
    epoch = broker_epoch()
    run_at: datetime | None = row["run_at"]
    try:
        current_app.send_task(
            PERFORM_TASK,
            kwargs={"index_id": index_id, "attempt": row["attempts"]},
            eta=run_at if run_at is not None and run_at > now else None,
        )
    except Exception:
        logger.warning("endpoints.index.dispatch_failed", extra={"index_id": index_id}, exc_info=True)
        EndpointIndex.objects.filter(id=index_id, status=IndexStatus.PENDING, dispatched_at=now).update(
            dispatched_at=None
        )
        return False
    EndpointIndex.objects.filter(id=index_id).update(dispatches=F("dispatches") + 1, dispatch_epoch=epoch)
    return True


def dispatch_waiting(*, endpoint_id: str) -> None:
    """Dispatch the endpoint's PENDING run (it could not start while another one was STARTED)."""
    # A constant statement (prepared on the connection): every run ends with it.
    with server_binding_cursor() as cursor:
        cursor.execute(_WAITING_SQL, [endpoint_id])
        waiting = cursor.fetchone()
    if waiting is not None:
        index_dispatch(index_id=waiting[0])
