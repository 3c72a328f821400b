"""Set-based write helpers: every statement they issue covers all rows of a kind at once, which is
what keeps the number of statements independent of the document's size.

`upsert` is one statement per kind, without model instances:

    WITH input AS (SELECT … FROM jsonb_array_elements(%s))   -- the rows, one jsonb array
       , looked AS (SELECT input.*, e._id, e._same FROM input LEFT JOIN LATERAL (   -- one index probe
                     SELECT t.id, (<update cols>) IS NOT DISTINCT FROM (…) FROM t WHERE <key matches>) e)
       , written AS (INSERT INTO t … SELECT … FROM looked WHERE _same IS NOT TRUE ORDER BY <key>
                     ON CONFLICT (<key>) DO UPDATE SET … WHERE (…) IS DISTINCT FROM (EXCLUDED.…)
                     RETURNING id, <key>)
    SELECT id, <key>, true FROM written UNION ALL SELECT _id, <key>, false FROM looked WHERE _id …

* Unchanged rows never reach the INSERT: they are neither rewritten nor locked, and their
  `updated_at` moves only when the row really changes. The `DO UPDATE … WHERE` repeats the test for
  a row that a concurrent transaction committed meanwhile.
* Ids come back for every row (written or not) from the same statement: no re-SELECT. The second
  half of the UNION reads the statement's snapshot, i.e. the rows as they were before it.
* Rows are sorted by their natural key, in Python and in the INSERT's `ORDER BY`, before every
  upsert, so two transactions upserting overlapping rows lock them in the same order (no deadlock).
* Rows the caller asserts to be new (`new=True`: keyed by a row this transaction inserted) are a
  plain INSERT with ids generated here: no `looked`, no conflict clause, no RETURNING, so nothing
  waits for its answer; inside `endpoints.pipelining.sending_ahead()` it is sent without waiting (a
  key that exists after all raises, then or at the next statement; the caller retries from a
  savepoint without `new`).
* Ids are made here for every row (`ids.new_ids`: "c", 8 base36 characters of millisecond time,
  computed once, and 16 random hex characters); an upsert's rows that exist keep their own.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from itertools import repeat
from typing import Any

from django.db import connection, models
from django.db.models import Value
from django.db.models.functions import Concat
from django.utils import timezone

from endpoints import jsoncodec
from endpoints.db import server_binding_cursor
from endpoints.ids import new_ids
from endpoints.pipelining import send_ahead

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
    #: Keys of the rows this statement inserted (`xmax = 0`): nothing can hang off them yet.
    inserted: set[Key] = dataclasses.field(default_factory=set)

    def existing_ids(self) -> list[str]:
        """Ids of the rows that were there before the statement."""
        return [row_id for key, row_id in self.ids.items() if key not in self.inserted]

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
    new: bool = False,
) -> Upserted:
    """Insert the rows, or update the columns `update` of existing rows (natural key `on`) where
    they differ; `update=[]` only inserts the missing ones. Rows are dicts by field attname
    (`job_id`, not `job`); fields left out take their model default. Rows are sorted by `on`.

    `new=True`: the caller asserts that none of the keys exists (their parent row was inserted by
    this transaction, say): a plain INSERT, without lookup or conflict clause. A key that exists
    after all (committed concurrently) raises IntegrityError (unique violation): run such upserts
    in a savepoint, and again without `new` when it fails (`registry_apply` does)."""
    on = [_attname(model, name) for name in on]
    update = [_attname(model, name) for name in update]
    deduped: dict[Key, Mapping[str, Any]] = {}
    for row in rows:
        deduped[_key(row, on)] = row
    if not deduped:
        return Upserted({}, 0, set())
    keys = sorted(deduped)
    ordered = [deduped[key] for key in keys]
    if new and _ids_known(model, ordered[0]):
        return _insert_new(model, ordered, keys, on)
    return _upsert_rows(model, ordered, on, update)


def _key(row: Mapping[str, Any], on: list[str]) -> Key:
    """A row's natural key, as text (how the statement returns it)."""
    return tuple(map(str, map(row.__getitem__, on)))


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


def _ids_known(model: type[models.Model], first: Mapping[str, Any]) -> bool:
    """Whether an INSERT's ids can be known without its answer: made here, or given in the rows."""
    pk = model._meta.pk
    return pk is not None and (_is_generated_id(pk) or pk.attname in first)


def _timestamp(field: models.Field[Any, Any]) -> bool:
    return isinstance(field, models.DateTimeField) and bool(field.auto_now or field.auto_now_add)


def _same_everywhere(values: list[Any]) -> bool:
    """Whether a column holds one value in every row: equal and of one type (1, 1.0 and True are
    equal in Python, not in JSON); containers only when they are the very same object."""
    first = values[0]
    if values.count(first) != len(values):
        return False
    if isinstance(first, dict | list):
        return all(value is first for value in values)
    return len(set(map(type, values))) == 1


def _input(
    rows: list[Mapping[str, Any]], fields: list[models.Field[Any, Any]], ids: list[str] | None = None
) -> tuple[str, list[str]]:
    """The input CTE's select list, and its two parameters: the rows and the columns that are the same
    in every row (the organization, the environment, a status), each sent once.

    Rows travel as one jsonb array of arrays (values by position, no keys), encoded by orjson here
    and parsed once by PostgreSQL; JSON columns arrive as the values they are (no double encoding),
    other columns as text cast to their type, as an explicit cast does (`varchar(n)` clips). Against
    an array of objects with every column, this sends and parses about a third of the bytes.

    `ids`: the rows' primary keys, the first of `fields`, not in the rows."""
    dicts = [row if type(row) is dict else dict(row) for row in rows]
    constant: list[models.Field[Any, Any]] = []
    varying: list[models.Field[Any, Any]] = []
    constants: list[Any] = []
    columns: list[list[Any]] = []
    if ids is not None:
        varying.append(fields[0])
        columns.append(ids)
        fields = fields[1:]
    for field in fields:
        values = list(map(dict.get, dicts, repeat(field.attname)))  # a column, at C speed
        if _same_everywhere(values):
            constant.append(field)
            constants.append(values[0])
        else:
            varying.append(field)
            columns.append(values)
    positional = list(zip(*columns, strict=True)) if columns else [() for _ in dicts]
    document = jsoncodec.dumps(positional, default=_json_default)

    def read(source: str, position: int, field: models.Field[Any, Any]) -> str:
        if isinstance(field, models.JSONField):
            return f"NULLIF({source}->{position}, 'null'::jsonb)"  # JSON null is SQL NULL
        return f"({source}->>{position})::{field.db_type(connection)}"

    quote = connection.ops.quote_name
    select = {field.attname: read("e", at, field) for at, field in enumerate(varying)}
    select |= {field.attname: read("c.v", at, field) for at, field in enumerate(constant)}
    typed = ", ".join(f"{select[field.attname]} AS {quote(str(field.column))}" for field in [*varying, *constant])
    return typed, [document, jsoncodec.dumps(constants, default=_json_default)]


def _json_default(value: Any) -> str:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not a registry value")


def _q(name: str | None) -> str:
    return str(connection.ops.quote_name(str(name)))


@dataclass
class _Columns:
    """An INSERT's columns: those the rows carry (`input`), then those every row takes the same
    default for (`defaults`, sent once as parameters)."""

    input: list[models.Field[Any, Any]]
    defaults: dict[str, Any]

    @classmethod
    def of(cls, model: type[models.Model], first: Mapping[str, Any], on: list[str], *, with_pk: bool) -> _Columns:
        # Every row carries the keys of the first one; a column missing from it takes its default, a
        # constant of the statement (timestamps: now).
        now = timezone.now()
        pk = model._meta.pk
        input_fields: list[models.Field[Any, Any]] = [pk] if with_pk and pk is not None else []
        defaults: dict[str, Any] = {}
        for field in _columns(model):
            if field in input_fields:
                continue
            if field.attname in first or field.attname in on:
                input_fields.append(field)
            elif _timestamp(field):
                defaults[field.attname] = now
            elif not _is_generated_id(field):
                defaults[field.attname] = field.get_default() if field.has_default() else None
        return cls(input_fields, defaults)

    def defaults_sql(self, model: type[models.Model]) -> tuple[list[str], list[str], list[Any]]:
        """The default columns' names, their select expressions, and their parameters."""
        names, selects, params = [], [], []
        for attname, value in self.defaults.items():
            field = _field(model, attname)
            names.append(_q(field.column))
            selects.append(f"%s::{field.db_type(connection)}")
            params.append(field.get_db_prep_save(value, connection))
        return names, selects, params


@dataclass
class _Insert:
    """What both INSERT forms share: the input CTE's select list, the INSERT's columns and select
    list, their parameters in statement order, and the ids made here (None: the rows carry theirs)."""

    typed: str
    insert_cols: list[str]
    select_cols: list[str]
    params: list[Any]
    by_attname: dict[str, models.Field[Any, Any]]
    ids: list[str] | None

    @property
    def input_cte(self) -> str:
        """`input`: the rows, typed, from their two parameters (the first two of `params`)."""
        # The select list is built from model metadata, quoted; the rows are parameters.
        return f"input AS (SELECT {self.typed} FROM jsonb_array_elements(%s::jsonb) e, (SELECT %s::jsonb AS v) c)"  # noqa: S608

    @classmethod
    def of(cls, model: type[models.Model], rows: list[Mapping[str, Any]], on: list[str]) -> _Insert:
        pk = model._meta.pk
        assert pk is not None
        # Ids are made here for every row (an upsert's rows that exist keep their own): a random
        # part per row made by the statement costs more than sending it.
        generate = _is_generated_id(pk) and pk.attname not in rows[0]
        columns = _Columns.of(model, rows[0], on, with_pk=generate)
        ids = new_ids(len(rows)) if generate else None
        typed, input_params = _input(rows, columns.input, ids)
        names, selects, default_params = columns.defaults_sql(model)
        return cls(
            typed=typed,
            insert_cols=[_q(field.column) for field in columns.input] + names,
            select_cols=[f"f.{_q(field.column)}" for field in columns.input] + selects,
            params=[*input_params, *default_params],
            by_attname={field.attname: field for field in columns.input},
            ids=ids,
        )


def _insert_new(
    model: type[models.Model], rows: list[Mapping[str, Any]], keys: list[Key], on: list[str]
) -> Upserted:
    """Rows asserted new: a plain INSERT with ids made here, sent ahead (nobody reads its answer)."""
    table = _q(model._meta.db_table)
    pk = model._meta.pk
    assert pk is not None
    insert = _Insert.of(model, rows, on)
    order = ", ".join(f"f.{_q(insert.by_attname[name].column)}" for name in on)
    send_ahead(
        f"WITH {insert.input_cte} INSERT INTO {table} ({', '.join(insert.insert_cols)}) "  # noqa: S608
        f"SELECT {', '.join(insert.select_cols)} FROM input f ORDER BY {order}",
        insert.params,
    )
    ids = insert.ids if insert.ids is not None else [str(row[pk.attname]) for row in rows]
    return Upserted(dict(zip(keys, ids, strict=True)), len(rows), set(keys))


def _upsert_rows(
    model: type[models.Model], rows: list[Mapping[str, Any]], on: list[str], update: list[str]
) -> Upserted:
    table = _q(model._meta.db_table)
    pk = model._meta.pk
    assert pk is not None
    insert = _Insert.of(model, rows, on)
    keys = [_q(insert.by_attname[name].column) for name in on]
    sets = [_q(insert.by_attname[name].column) for name in update]
    key_match = " AND ".join(f"t.{k} = i.{k}" for k in keys)

    pk_col = _q(pk.column)
    if sets:
        unchanged = f"({', '.join(f't.{c}' for c in sets)}) IS NOT DISTINCT FROM ({', '.join(f'i.{c}' for c in sets)})"
        assignments = [f"{c} = EXCLUDED.{c}" for c in sets]
        if any(f.attname == "updated_at" for f in _columns(model)) and "updated_at" not in update:
            assignments.append(f"{_q('updated_at')} = EXCLUDED.{_q('updated_at')}")
        conflict = (
            f"DO UPDATE SET {', '.join(assignments)} WHERE ({', '.join(f'{table}.{c}' for c in sets)}) "
            f"IS DISTINCT FROM ({', '.join(f'EXCLUDED.{c}' for c in sets)})"
        )
    else:
        unchanged = "true"
        conflict = "DO NOTHING"
    key_list = ", ".join(keys)
    aliased = ", ".join(f"{table}.{k} AS _k{i}" for i, k in enumerate(keys))
    keys_of = ", ".join(f"l.{k}" for k in keys)
    # Identifiers come from model metadata and are quoted; every value is a parameter. The lookup is
    # LATERAL, one probe of the natural key's unique index per input row: a join the planner may
    # turn into a scan of the whole table would make an index cost what the registry holds.
    conflict_clause = f"ON CONFLICT ({key_list}) {conflict} "
    looked = (
        f"looked AS (SELECT i.*, e._id, e._same FROM input i LEFT JOIN LATERAL "  # noqa: S608
        f"(SELECT t.{pk_col} AS _id, {unchanged} AS _same FROM {table} t WHERE {key_match} LIMIT 1) e ON true), "
    )
    source = "looked f WHERE f._same IS NOT TRUE"
    untouched = f" UNION ALL SELECT l._id, {keys_of}, false, false FROM looked l WHERE l._id IS NOT NULL"  # noqa: S608
    sql = (
        f"WITH {insert.input_cte}, {looked}written AS (INSERT INTO {table} ({', '.join(insert.insert_cols)}) "  # noqa: S608
        f"SELECT {', '.join(insert.select_cols)} FROM {source} "
        f"ORDER BY {', '.join(f'f.{k}' for k in keys)} "
        f"{conflict_clause}RETURNING {pk_col} AS _id, {aliased}, xmax = 0 AS _inserted) "
        f"SELECT _id, {', '.join(f'_k{i}' for i in range(len(keys)))}, true, _inserted FROM written{untouched}"
    )
    ids: dict[Key, str] = {}
    inserted: set[Key] = set()
    written = 0
    with server_binding_cursor() as cursor:
        cursor.execute(sql, insert.params)
        for row_id, *key, was_written, was_inserted in cursor.fetchall():
            natural = tuple(map(str, key))
            ids[natural] = row_id
            written += bool(was_written)
            if was_inserted:
                inserted.add(natural)
    # (Keys are distinct: one id per row means every row came back.)
    missing = [] if len(ids) == len(rows) else [row for row in rows if _key(row, on) not in ids]
    if missing:
        # A row committed by a concurrent transaction after this statement's snapshot and equal
        # to ours: neither half returned it.
        ids.update(_select_ids(model, missing, on))
    return Upserted(ids, written, inserted)


def _select_ids(model: type[models.Model], rows: list[Mapping[str, Any]], on: list[str]) -> dict[Key, str]:
    wanted = {_key(row, on) for row in rows}
    filters = {f"{name}__in": unique(str(row[name]) for row in rows) for name in on}
    pk_name = model._meta.pk.attname
    found: dict[Key, str] = {}
    for values in model._default_manager.filter(**filters).values_list(pk_name, *on):
        key = tuple(str(part) for part in values[1:])
        if key in wanted:
            found[key] = values[0]
    return found


def delete_unlisted(queryset: models.QuerySet[Any], key_fields: list[str], keep: set[str]) -> int:
    """Delete the rows of `queryset` whose joined natural key is not in `keep`: one statement."""
    expressions: list[Any] = []
    for position, name in enumerate(key_fields):
        if position:
            expressions.append(Value(SEP))
        expressions.append(name)
    annotated = queryset.annotate(_natural_key=Concat(*expressions, output_field=models.CharField()))
    deleted, _ = annotated.exclude(_natural_key__anyof=list(keep)).delete()
    return int(deleted)
