"""gunicorn's settings for `gunicorn kongflow.wsgi` (read from the working directory).

WEB_CONCURRENCY processes (default 2) of WEB_THREADS threads (default 8). Each process keeps a
database pool as large as its threads (DATABASE_POOL_MAX_SIZE, unless set): a request thread holds
one connection at a time, so no thread waits for one and the process never holds more
(docs/configuration.md, "Connection budget": processes x threads). Command-line options still win.
"""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kongflow.settings")
# A bad setting ends gunicorn before any worker boots, with one line (in the workers it would be a
# traceback each). Checked in a child process: the master itself never loads Django's settings,
# each worker does, after post_fork has set its pool size.
_check = "from kongflow.config import exit_on_bad_settings; exit_on_bad_settings()"
if subprocess.run([sys.executable, "-c", _check], check=False).returncode != 0:  # noqa: S603
    sys.exit(1)

worker_class = "gthread"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
threads = int(os.environ.get("WEB_THREADS", "8"))


def post_fork(server: Any, worker: Any) -> None:
    """In each worker, before it loads the app (and the settings): its pool matches its threads."""
    os.environ.setdefault("DATABASE_POOL_MAX_SIZE", str(server.cfg.threads))
