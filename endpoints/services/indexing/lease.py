"""The lease of a STARTED run: who holds it, and a heartbeat refreshed while the worker is alive.

The heartbeat runs in a thread so that it keeps beating during a slow fetch (up to the index read
timeout) or a long apply; it stops when the worker process dies, and the sweeper then recovers
the run once the heartbeat is older than KONGFLOW_INDEX_LEASE_SECONDS. Every beat is fenced by the
attempt, like every other write of the run: a recovered run is never refreshed by its old holder.
The thread has its own database connection (one per running index), closed when it stops.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from types import TracebackType

from django.conf import settings
from django.db import connection
from django.utils import timezone

from endpoints.models import EndpointIndex, IndexStatus

logger = logging.getLogger(__name__)


def worker_identity() -> str:
    """Host and pid of this process, shown on the run while it holds it."""
    return f"{socket.gethostname()}:{os.getpid()}"


class Heartbeat:
    """`with Heartbeat(index_id, attempts):` refreshes `heartbeat_at` every heartbeat interval."""

    def __init__(self, index_id: str, attempts: int, *, interval: float | None = None) -> None:
        self.index_id = index_id
        self.attempts = attempts
        self.interval = float(interval if interval is not None else settings.KONGFLOW_INDEX_HEARTBEAT_SECONDS)
        self.lost = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"heartbeat-{index_id}", daemon=True)

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._stop.set()
        self._thread.join(timeout=self.interval + 5)

    def _run(self) -> None:
        try:
            while not self._stop.wait(self.interval):
                self.beat()
        finally:
            connection.close()  # this thread's own connection

    def beat(self) -> None:
        try:
            kept = EndpointIndex.objects.filter(
                id=self.index_id, status=IndexStatus.STARTED, attempts=self.attempts
            ).update(heartbeat_at=timezone.now())
        except Exception:
            # A database hiccup: the next beat tries again; the lease tolerates a few misses.
            logger.warning("endpoints.index.heartbeat_failed", extra={"index_id": self.index_id}, exc_info=True)
            connection.close()
            return
        if not kept:
            self.lost.set()
            self._stop.set()
