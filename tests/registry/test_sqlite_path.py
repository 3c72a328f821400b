"""The embedded default (SQLite) keeps its simpler write path: the registry's behaviour tests (and the
schema's composite and statement-checked keys, the `__anyof` lookup) run on it too, in a subprocess
with an in-memory SQLite database (the suite itself runs on PostgreSQL)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection

REPO = Path(__file__).resolve().parents[2]


def test_the_registry_tests_pass_on_sqlite():
    if connection.vendor == "sqlite":
        pytest.skip("already running on SQLite")
    env = {**os.environ, "DATABASE_URL": "sqlite://:memory:"}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "tests/registry/test_full_document.py",
            "tests/registry/test_rules.py",
            "tests/registry/test_set_based.py",
            "tests/test_schema.py",
            "tests/test_statement_foreign_keys.py",
            "tests/test_lookups.py",
        ],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert " passed" in result.stdout and "failed" not in result.stdout
