"""Would set-based foreign-key checks beat PostgreSQL's row triggers for an index's apply?

    .venv/bin/python bench/fk_checks.py [--jobs 500] [--repeat 9]

Captures the INSERTs of a first index of `--jobs` jobs (real SDK endpoint, scenario `many`; the
run's transaction is rolled back before the organization's generation is bumped), then replays them
in rolled-back transactions, alternating two ways of checking their foreign keys:

* triggers: as Kongflow does, the row checks queued by the INSERTs run at `SET CONSTRAINTS ALL
  IMMEDIATE`;
* set-based: the INSERTs run with row triggers off (`session_replication_role = replica`, superuser
  only), then one statement per constraint checks the distinct keys of the inserted rows against
  their parents and locks those `FOR KEY SHARE`, as PostgreSQL's own check does.

The keys checked once per statement (`StatementForeignKey`, the scope columns an apply's rows
share) are not compared here: they are not row checks, and run inside the INSERTs (not timed).

Prints medians; uses bench/run.py's database (recreated) and loopback only. Asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import bench.run as base  # sets the environment before Django loads

os.environ["DATABASE_PIPELINE"] = "off"  # statements captured one by one, with their parameters
os.environ["LOG_LEVEL"] = "CRITICAL"  # the captured run ends in a deliberate crash


class _Stop(Exception):
    pass


class _Rollback(Exception):
    pass


def capture_inserts(jobs: int) -> list[tuple[str, Any]]:
    from django.db import connection

    from endpoints.models import IndexSource
    from endpoints.services.indexing import endpoint_index_request, endpoint_index_run
    from tests.support.sdk import sdk_endpoint

    env = base.new_environment()
    captured: list[tuple[str, Any]] = []

    def capture(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        if sql.lstrip().startswith("UPDATE endpoints_organization SET registry_generation"):
            raise _Stop()  # after the writes and their checks: the run's transaction rolls back
        captured.append((sql, params))
        return execute(sql, params, many, context)

    extra = ["--jobs", str(jobs)]
    with sdk_endpoint(api_key=env.api_key, endpoint_id="many", scenario="many", extra_args=extra) as sdk:
        endpoint = base.new_endpoint(env, "many", sdk.url)
        index = endpoint_index_request(endpoint=endpoint, source=IndexSource.MANUAL)
        with connection.execute_wrapper(capture):
            endpoint_index_run(index_id=index.id)  # records the crash; nothing of the apply is kept
    return [(sql, params) for sql, params in captured if sql.lstrip().startswith("WITH input")]


def inserted_ids(inserts: list[tuple[str, Any]]) -> dict[str, list[str]]:
    """The ids each INSERT sends (first positional column, or the statement's constant)."""
    ids: dict[str, list[str]] = {}
    for sql, params in inserts:
        table = re.search(r'INSERT INTO "?(\w+)"?', sql)
        column = re.search(r'\((e|c\.v)->>(\d+)\)::varchar\(\d+\) AS "id"', sql)
        assert table and column, sql[:120]
        rows = json.loads(params[0]) if column.group(1) == "e" else [json.loads(params[1])]
        ids.setdefault(table.group(1), []).extend(str(row[int(column.group(2))]) for row in rows)
    return ids


def set_based_checks(tables: list[str]) -> list[tuple[str, str]]:
    """(statement, child table) per foreign key of `tables`: missing parents, counted, and the
    existing ones locked."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT conrelid::regclass::text, confrelid::regclass::text, "
            "(SELECT array_agg(a.attname ORDER BY k.i) FROM unnest(conkey) WITH ORDINALITY k(n, i) "
            " JOIN pg_attribute a ON a.attrelid = conrelid AND a.attnum = k.n), "
            "(SELECT array_agg(a.attname ORDER BY k.i) FROM unnest(confkey) WITH ORDINALITY k(n, i) "
            " JOIN pg_attribute a ON a.attrelid = confrelid AND a.attnum = k.n) "
            "FROM pg_constraint WHERE contype = 'f' AND conrelid::regclass::text = ANY(%s)",
            [tables],
        )
        constraints = cursor.fetchall()
    checks = []
    for child, parent, child_columns, parent_columns in constraints:
        keys = ", ".join(f"c.{name}" for name in child_columns)
        not_null = " AND ".join(f"c.{name} IS NOT NULL" for name in child_columns)  # MATCH SIMPLE
        parents = ", ".join(f"p.{name}" for name in parent_columns)
        checks.append(
            (
                f"WITH k AS (SELECT DISTINCT {keys} FROM {child} c WHERE c.id = ANY(%s) AND {not_null}), "  # noqa: S608
                f"l AS (SELECT {parents} FROM {parent} p WHERE ({parents}) IN (SELECT * FROM k) FOR KEY SHARE OF p) "
                "SELECT (SELECT count(*) FROM k) - (SELECT count(*) FROM l)",
                child,
            )
        )
    return checks


def replay(inserts: list[tuple[str, Any]], checks: list[tuple[str, str]] | None, ids: dict[str, list[str]]) -> float:
    """Seconds the foreign-key checks of one replay took (rolled back)."""
    from django.db import connection, transaction

    try:
        with transaction.atomic(), connection.cursor() as cursor:
            if checks is not None:
                cursor.execute("SET LOCAL session_replication_role = replica")
            for sql, params in inserts:
                cursor.execute(sql, params)
            started = time.perf_counter()
            if checks is None:
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            else:
                cursor.execute("SET LOCAL session_replication_role = origin")
                for sql, child in checks:
                    cursor.execute(sql, [ids[child]])
                    missing = cursor.fetchone()[0]
                    assert missing == 0, (child, missing)
            elapsed = time.perf_counter() - started
            raise _Rollback(elapsed)
    except _Rollback as done:
        return float(done.args[0])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=9)
    args = parser.parse_args()
    base.recreate_database()
    import django

    django.setup()
    inserts = capture_inserts(args.jobs)
    ids = inserted_ids(inserts)
    checks = set_based_checks(sorted(ids))
    triggers, set_based = [], []
    for _ in range(args.repeat):
        triggers.append(replay(inserts, None, ids))
        set_based.append(replay(inserts, checks, ids))
    rows = sum(len(value) for value in ids.values())
    print(f"{args.jobs} jobs: {len(inserts)} INSERTs of {rows} rows, {len(checks)} foreign keys")
    print(f"  row triggers (SET CONSTRAINTS ALL IMMEDIATE): {statistics.median(triggers) * 1000:.1f} ms")
    print(f"  set-based, one statement per foreign key:      {statistics.median(set_based) * 1000:.1f} ms")


if __name__ == "__main__":
    main()
