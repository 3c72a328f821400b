"""Database settings read from the environment (kongflow/settings.py), in a process of their own."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _options(**env: str) -> dict[str, object]:
    code = (
        "import json, django; django.setup(); from django.conf import settings; "
        "print(json.dumps(settings.DATABASES['default']['OPTIONS'], default=str))"
    )
    environ = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "kongflow.settings",
        "DJANGO_SECRET_KEY": "test",
        "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/test",
        **env,
    }
    command = [sys.executable, "-c", code]
    out = subprocess.run(command, cwd=REPO, env=environ, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_statements_are_prepared_by_default():
    assert "prepare_threshold" not in _options()


def test_behind_pgbouncer_nothing_is_prepared():
    """A prepared statement lives on one server connection; PgBouncer hands transactions to others."""
    assert _options(DATABASE_DISABLE_SERVER_SIDE_CURSORS="on")["prepare_threshold"] is None
