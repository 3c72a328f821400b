"""The index transaction commits without waiting for its WAL flush (`synchronous_commit = off`).

Why it is safe for this transaction, and only this one (`SET LOCAL`: the setting ends with it):

* It cannot leave a half state: asynchronous commit never breaks atomicity or consistency. After a
  database crash, either the whole transaction (registry writes, the organization's registry
  generation and the run's SUCCESS) survives, or none of it does. The window is a few hundred
  milliseconds (`wal_writer_delay` x 3).
* The run stays recoverable: the claim that made it STARTED (and bumped `attempts`) committed
  synchronously, in its own transaction, before the fetch. If the SUCCESS is lost, the run is still
  STARTED in the database and the sweeper recovers it like a worker crash: it is re-queued and
  indexed again from the endpoint's document, which is the source of truth for everything written.
* Nothing outside the database depends on it: the only post-commit effect is dispatching the next
  PENDING run of the endpoint, which re-reads the database and is correct either way.

What it buys: the commit of a large index no longer waits for the WAL fsync, which dominates the
commit on a busy disk (see docs/performance.md).
"""

from __future__ import annotations

from django.db import connection


def commit_without_flush_wait() -> None:
    """Inside the index transaction: let its COMMIT return before the WAL flush (PostgreSQL only)."""
    if connection.vendor == "postgresql" and connection.in_atomic_block:
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit = off")
