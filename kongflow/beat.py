"""Celery beat's scheduler: the persistent one, with a schedule file that can always be opened,
and messages that say when they were fired.

The file only remembers when each entry last fired, so losing it costs at most one early run of
each housekeeping task. Its folder is created when missing; when it cannot be (read-only
checkout, another user's folder) the file goes to the temp folder instead of beat dying at start.

Every message of an interval entry carries `fired_at` (now, ISO 8601) and `every` (the interval in
seconds): the task claims that interval in the database and does nothing when another beat's
message already did (endpoints.services.indexing.housekeeping_claim). So beat may run on several
hosts at once, and housekeeping goes on while any one of them is up.
"""

from __future__ import annotations

import copy
import hashlib
import logging
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from celery.beat import PersistentScheduler

logger = logging.getLogger(__name__)


def usable_schedule_path(filename: str) -> str:
    """`filename` if its folder exists or can be created and is writable, else one in the temp folder."""
    path = Path(filename)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        probe = path.parent / f".{path.name}.probe"
        probe.touch()
        probe.unlink()
        return str(path)
    except OSError:
        digest = hashlib.sha256(str(path).encode()).hexdigest()[:8]  # one file per wanted path
        fallback = Path(tempfile.gettempdir()) / f"kongflow-{digest}-{path.name}"
        logger.warning("beat.schedule_fallback", extra={"wanted": str(path), "using": str(fallback)})
        return str(fallback)


class Scheduler(PersistentScheduler):  # type: ignore[misc]  # celery is untyped
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["schedule_filename"] = usable_schedule_path(kwargs.get("schedule_filename") or "celerybeat-schedule")
        super().__init__(*args, **kwargs)

    def apply_async(self, entry: Any, producer: Any = None, advance: bool = True, **kwargs: Any) -> Any:
        every = getattr(entry.schedule, "run_every", None)
        if not isinstance(every, timedelta):
            return super().apply_async(entry, producer, advance, **kwargs)
        if advance:  # the stored entry moves on; what is sent is a copy with this firing's kwargs
            entry = self.reserve(entry)
        fired = copy.copy(entry)
        fired.kwargs = {**entry.kwargs, "fired_at": datetime.now(UTC).isoformat(), "every": every.total_seconds()}
        return super().apply_async(fired, producer, False, **kwargs)
