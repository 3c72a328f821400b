"""Set-based write helpers: every statement they issue covers all rows of a kind at once, which is
what keeps the number of statements independent of the document's size.

`upsert` on PostgreSQL is one statement per kind, without model instances:

    WITH input AS (SELECT … FROM unnest(%s::text[], …))      -- one array parameter per column
       , fresh AS (SELECT … FROM input WHERE NOT EXISTS (      -- rows that would change nothing
                     SELECT 1 FROM t WHERE <key matches> AND (<update cols>) IS NOT DISTINCT FROM (…)))
       , written AS (INSERT INTO t … SELECT … FROM fresh ORDER BY <key>
                     ON CONFLICT (<key>) DO UPDATE SET … WHERE (…) IS DISTINCT FROM (EXCLUDED.…)
                     RETURNING id, <key>)
    SELECT id, <key>, true FROM written UNION ALL SELECT t.id, <key>, false FROM t JOIN input …

* Unchanged rows never reach the INSERT: they are neither rewritten nor locked, and their
  `updated_at` moves only when the row really changes. The `DO UPDATE … WHERE` repeats the test for
  a row that a concurrent transaction committed meanwhile.
* Ids come back for every row (written or not) from the same statement: no re-SELECT. The second
  half of the UNION reads the statement's snapshot, i.e. the rows as they were before it.
* Rows are sorted by their natural key, in Python and in the INSERT's `ORDER BY`, before every
  upsert, so two transactions upserting overlapping rows lock them in the same order (no deadlock).
* Ids are generated in SQL only for rows that are inserted: "c", 8 base36 characters of the
  statement's millisecond time (computed once) and 16 random hex characters (`gen_random_uuid`).

SQLite (the embedded default) keeps a simpler path: `bulk_create(update_conflicts=…)` plus one
re-select of the ids; it reports every row as written.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.db import connection, models
from django.db.models import Value
from django.db.models.functions import Concat
from django.utils import timezone

from endpoints.ids import _base36

# Joins the parts of a natural key into one string, so "delete what was not upserted" is one
# statement for all rows (ids are base36 and never contain it).
SEP = "\x1f"

Key = tuple[str, ...]


def unique(values: Iterable[str]) -> list[str]:
    """Distinct values in first-seen order (stable `IN` lists)."""
    return list(dict.fromkeys(values))


def keyed(*parts: str) -> str:
    return SEP.join(parts)


@dataclass
class Upserted:
    """Row ids by natural key (every row passed in), and how many rows were inserted or updated."""

    ids: dict[Key, str]
    written: int

    def by_first(self) -> dict[str, str]:
        """Ids by the first part of the key (when the other parts are the same for every row)."""
        return {key[0]: row_id for key, row_id in self.ids.items()}

    def by_last(self) -> dict[str, str]:
        """Ids by the last part of the key (when the other parts are the same for every row)."""
        return {key[-1]: row_id for key, row_id in self.ids.items()}


def upsert(
    model: type[models.Model],
    rows: Iterable[Mapping[str, Any]],
    *,
    on: list[str],
    update: list[str],
) -> Upserted:
    """Insert the rows, or update the columns `update` of existing rows (natural key `on`) where
    they differ; `update=[]` only inserts the missing ones. Rows are dicts by field attname
    (`job_id`, not `job`); fields left out take their model default. Rows are sorted by `on`."""
    on = [_attname(model, name) for name in on]
    update = [_attname(model, name) for name in update]
    deduped: dict[Key, Mapping[str, Any]] = {}
    for row in rows:
        deduped[tuple(str(row[name]) for name in on)] = row
    if not deduped:
        return Upserted({}, 0)
    ordered = [deduped[key] for key in sorted(deduped)]
    if connection.vendor == "postgresql":
        return _upsert_postgresql(model, ordered, on, update)
    return _upsert_simple(model, ordered, on, update)


def _field(model: type[models.Model], name: str) -> models.Field[Any, Any]:
    field = model._meta.get_field(name)
    assert isinstance(field, models.Field)
    return field


def _attname(model: type[models.Model], name: str) -> str:
    return _field(model, name).attname


def _columns(model: type[models.Model]) -> list[models.Field[Any, Any]]:
    """The columns an INSERT names: all but database-generated keys (auto fields)."""
    return [field for field in model._meta.concrete_fields if not getattr(field, "db_returning", False)]


def _is_generated_id(field: models.Field[Any, Any]) -> bool:
    return field.primary_key and field.has_default() and callable(field.default)


def _timestamp(field: models.Field[Any, Any]) -> bool:
    return isinstance(field, models.DateTimeField) and bool(field.auto_now or field.auto_now_add)


def _text(field: models.Field[Any, Any], value: Any) -> str | None:
    """One value as the text PostgreSQL casts back to the column's type."""
    if value is None:
        return None
    if isinstance(field, models.JSONField):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        return value.isoformat()
    return str(value)


def _upsert_postgresql(
    model: type[models.Model], rows: list[Mapping[str, Any]], on: list[str], update: list[str]
) -> Upserted:
    def q(name: str | None) -> str:
        return str(connection.ops.quote_name(str(name)))

    table = q(model._meta.db_table)
    now = timezone.now()
    pk = model._meta.pk
    assert pk is not None
    input_fields: list[models.Field[Any, Any]] = []
    defaults: dict[str, Any] = {}
    for field in _columns(model):
        if field.attname in rows[0] or field.attname in on:
            input_fields.append(field)
        elif _timestamp(field):
            defaults[field.attname] = now
        elif not _is_generated_id(field):
            input_fields.append(field)
            defaults[field.attname] = field.get_default() if field.has_default() else None
    arrays = [
        [_text(field, row.get(field.attname, defaults.get(field.attname))) for row in rows] for field in input_fields
    ]
    typed = ", ".join(
        f"u.c{i}::{field.db_type(connection)} AS {q(field.column)}" for i, field in enumerate(input_fields)
    )
    names = ", ".join(f"c{i}" for i in range(len(input_fields)))
    unnest = ", ".join(["%s::text[]"] * len(input_fields))
    by_attname = {field.attname: field for field in input_fields}
    keys = [q(by_attname[name].column) for name in on]
    sets = [q(by_attname[name].column) for name in update]
    key_match = " AND ".join(f"t.{k} = i.{k}" for k in keys)

    insert_cols = [q(field.column) for field in input_fields]
    select_cols = [f"f.{q(field.column)}" for field in input_fields]
    params: list[Any] = list(arrays)
    if _is_generated_id(pk) and pk.attname not in by_attname:
        insert_cols.insert(0, q(pk.column))
        prefix = "c" + _base36(int(time.time() * 1000), 8)
        select_cols.insert(0, "%s || substr(replace(gen_random_uuid()::text, '-', ''), 1, 16)")
        params.append(prefix)
    for attname, value in defaults.items():
        if attname not in by_attname:
            insert_cols.append(q(_field(model, attname).column))
            select_cols.append("%s")
            params.append(value)

    if sets:
        unchanged = f"({', '.join(f't.{c}' for c in sets)}) IS NOT DISTINCT FROM ({', '.join(f'i.{c}' for c in sets)})"
        assignments = [f"{c} = EXCLUDED.{c}" for c in sets]
        if any(f.attname == "updated_at" for f in _columns(model)) and "updated_at" not in update:
            assignments.append(f"{q('updated_at')} = EXCLUDED.{q('updated_at')}")
        conflict = (
            f"DO UPDATE SET {', '.join(assignments)} WHERE ({', '.join(f'{table}.{c}' for c in sets)}) "
            f"IS DISTINCT FROM ({', '.join(f'EXCLUDED.{c}' for c in sets)})"
        )
    else:
        unchanged = "true"
        conflict = "DO NOTHING"
    pk_col = q(pk.column)
    key_list = ", ".join(keys)
    aliased = ", ".join(f"{table}.{k} AS _k{i}" for i, k in enumerate(keys))
    # Identifiers come from model metadata and are quoted; every value is a parameter.
    sql = (
        f"WITH input AS (SELECT {typed} FROM unnest({unnest}) AS u({names})), "  # noqa: S608
        f"fresh AS (SELECT * FROM input i WHERE NOT EXISTS "
        f"(SELECT 1 FROM {table} t WHERE {key_match} AND {unchanged})), "
        f"written AS (INSERT INTO {table} ({', '.join(insert_cols)}) "
        f"SELECT {', '.join(select_cols)} FROM fresh f ORDER BY {', '.join(f'f.{k}' for k in keys)} "
        f"ON CONFLICT ({key_list}) {conflict} RETURNING {pk_col} AS _id, {aliased}) "
        f"SELECT _id, {', '.join(f'_k{i}' for i in range(len(keys)))}, true FROM written "
        f"UNION ALL SELECT t.{pk_col}, {', '.join(f't.{k}' for k in keys)}, false "
        f"FROM {table} t JOIN input i ON {key_match}"
    )
    ids: dict[Key, str] = {}
    written = 0
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        for row_id, *key, was_written in cursor.fetchall():
            ids[tuple(str(part) for part in key)] = row_id
            written += bool(was_written)
    missing = [row for row in rows if tuple(str(row[name]) for name in on) not in ids]
    if missing:
        # A row committed by a concurrent transaction after this statement's snapshot and equal
        # to ours: neither half returned it.
        ids.update(_select_ids(model, missing, on))
    return Upserted(ids, written)


def _select_ids(model: type[models.Model], rows: list[Mapping[str, Any]], on: list[str]) -> dict[Key, str]:
    wanted = {tuple(str(row[name]) for name in on) for row in rows}
    filters = {f"{name}__in": unique(str(row[name]) for row in rows) for name in on}
    pk_name = model._meta.pk.attname
    found: dict[Key, str] = {}
    for values in model._default_manager.filter(**filters).values_list(pk_name, *on):
        key = tuple(str(part) for part in values[1:])
        if key in wanted:
            found[key] = values[0]
    return found


def _upsert_simple(
    model: type[models.Model], rows: list[Mapping[str, Any]], on: list[str], update: list[str]
) -> Upserted:
    objects = [model(**row) for row in rows]
    if update:
        updated_at = [f.attname for f in _columns(model) if f.attname == "updated_at" and f.attname not in update]
        model._default_manager.bulk_create(
            objects, update_conflicts=True, unique_fields=on, update_fields=[*update, *updated_at]
        )
    else:
        model._default_manager.bulk_create(objects, ignore_conflicts=True)
    return Upserted(_select_ids(model, rows, on), len(rows))


def delete_unlisted(queryset: models.QuerySet[Any], key_fields: list[str], keep: set[str]) -> int:
    """Delete the rows of `queryset` whose joined natural key is not in `keep`: one statement."""
    expressions: list[Any] = []
    for position, name in enumerate(key_fields):
        if position:
            expressions.append(Value(SEP))
        expressions.append(name)
    annotated = queryset.annotate(_natural_key=Concat(*expressions, output_field=models.CharField()))
    deleted, _ = annotated.exclude(_natural_key__in=keep).delete()
    return int(deleted)
