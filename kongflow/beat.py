"""Celery beat's scheduler: the persistent one, with a schedule file that can always be opened.

The file only remembers when each entry last fired, so losing it costs at most one early run of
each housekeeping task. Its folder is created when missing; when it cannot be (read-only
checkout, another user's folder) the file goes to the temp folder instead of beat dying at start.
"""

from __future__ import annotations

import hashlib
import logging
import tempfile
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
