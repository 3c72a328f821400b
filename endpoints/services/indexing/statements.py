"""The statements every run starts and ends with: its claim (PENDING -> STARTED) and its SUCCESS.

Each is written once per process (and shape) from the model's metadata and sent on the
server-binding cursor, so psycopg prepares it on the connection, rather than compiled by the ORM on
every run. Statuses are SQL literals: a prepared generic plan can still use the partial unique
indexes. JSON values are encoded here (orjson); the document either travels as a parameter or, for
an identical body, is copied from the previous SUCCESS row by the database itself.
"""

from __future__ import annotations

from datetime import datetime
from functools import cache
from typing import Any

from django.db import IntegrityError, connection, transaction

from endpoints import jsoncodec
from endpoints.db import server_binding_cursor
from endpoints.models import EndpointIndex, IndexStatus

from .lease import worker_identity


def index_claim(
    index_id: str, owner: str, now: datetime, *, attempts: int | None, due: datetime | None = None
) -> bool | None:
    """PENDING -> STARTED for this attempt (any attempt when None), if due by `due` (when given).

    None when the endpoint already has a STARTED run (its unique constraint)."""
    stamp = connection.ops.adapt_datetimefield_value
    params = {
        "id": index_id,
        "now": stamp(now),
        "worker": worker_identity(),
        "owner": owner,
        "attempts": attempts,
        "due": stamp(due) if due is not None else None,
    }
    try:
        if connection.in_atomic_block:
            with transaction.atomic():  # a savepoint: the violation must not abort the caller's transaction
                claimed = _execute_claim(params)
        else:
            claimed = _execute_claim(params)  # one statement, its own transaction
    except IntegrityError:
        return None
    return claimed == 1


@cache
def _claim_sql(by_attempt: bool, by_due: bool) -> str:
    table = connection.ops.quote_name(EndpointIndex._meta.db_table)
    sql = (
        f"UPDATE {table} SET status = '{IndexStatus.STARTED.value}', attempts = attempts + 1, "  # noqa: S608
        "started_at = %(now)s, heartbeat_at = %(now)s, worker = %(worker)s, lease_owner = %(owner)s, "
        f"updated_at = %(now)s WHERE id = %(id)s AND status = '{IndexStatus.PENDING.value}'"
    )
    if by_attempt:
        sql += " AND attempts = %(attempts)s"
    if by_due:
        sql += " AND (run_at IS NULL OR run_at <= %(due)s)"
    return sql


def _execute_claim(params: dict[str, Any]) -> int:
    with server_binding_cursor() as cursor:
        cursor.execute(_claim_sql(params["attempts"] is not None, params["due"] is not None), params)
        return int(cursor.rowcount)


@cache
def _success_sql(copy_document: bool) -> str:
    table = connection.ops.quote_name(EndpointIndex._meta.db_table)
    copied = f"(SELECT p.data FROM {table} p WHERE p.id = %(previous)s)"  # noqa: S608 - model metadata
    document = copied if copy_document else "%(data)s::jsonb"
    return (
        f"UPDATE {table} SET status = '{IndexStatus.SUCCESS.value}', stats = %(stats)s::jsonb, "  # noqa: S608
        f"data = {document}, diff = %(diff)s::jsonb, warnings = %(warnings)s::jsonb, "
        "document_hash = %(document_hash)s, "
        "body_hash = %(body_hash)s, registry_generation = %(generation)s, error = NULL, exchange = NULL, "
        "finished_at = %(now)s, heartbeat_at = NULL, updated_at = %(now)s "
        f"WHERE id = %(id)s AND status = '{IndexStatus.STARTED.value}' AND attempts = %(attempts)s"
    )


def _json(value: Any) -> str | None:
    return None if value is None else jsoncodec.dumps(value)


def index_success_store(
    *,
    index: EndpointIndex,
    stats: dict[str, Any] | None,
    data: dict[str, Any] | None,
    previous_id: str | None,
    diff: dict[str, Any],
    warnings: list[dict[str, Any]],
    document_hash: str,
    body_hash: str | None,
    generation: int | None,
    now: datetime,
) -> bool:
    """STARTED -> SUCCESS while this attempt still holds the run; False when it does not (fenced).

    `data` is the document, or None to copy the document of the run `previous_id`."""
    copy_document = data is None
    assert not copy_document or previous_id is not None
    params: dict[str, Any] = {
        "id": index.id,
        "attempts": index.attempts,
        "stats": _json(stats),
        "data": _json(data),
        "previous": previous_id,
        "diff": _json(diff),
        "warnings": _json(warnings),
        "document_hash": document_hash,
        "body_hash": body_hash,
        "generation": generation,
        "now": connection.ops.adapt_datetimefield_value(now),
    }
    with server_binding_cursor() as cursor:
        cursor.execute(_success_sql(copy_document), params)
        return int(cursor.rowcount) == 1
