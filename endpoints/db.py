"""Hand-written statements: a server-binding cursor, and rows read back as model instances.

The cursor is for the statements that carry thousands of values (registry upserts, the outbox) or
run on every request or run (they are then prepared on the connection).

Django's psycopg backend binds parameters on the client: every value of an array parameter is
escaped in Python and spliced into the SQL text, which costs more than the statement itself for an
index of hundreds of jobs. A server-binding cursor sends the values apart from the SQL, and `%b`
placeholders send arrays in binary (no escaping, no parsing of a text literal on the server).

It is still a Django cursor (`_prepare_cursor`): query logging, `execute_wrapper`s, error wrapping
and, with django-prometheus's engine, its counters see these statements like any other.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from typing import Any, TypeVar

from django.db import connection
from django.db.backends.utils import CursorWrapper
from django.db.models import Field, Model

M = TypeVar("M", bound=Model)


def server_binding_cursor() -> CursorWrapper:
    """A server-binding cursor on the default connection; use it as a context manager."""
    connection.ensure_connection()
    with connection.wrap_database_errors:
        raw = _factory(connection.alias)(connection.connection)
    return connection._prepare_cursor(raw)  # type: ignore[attr-defined,no-any-return]


@cache
def _factory(alias: str) -> Any:
    from django.db.backends.postgresql.base import ServerBindingCursor

    try:
        from django_prometheus.db.common import DatabaseWrapperMixin, ExportingCursorWrapper
    except ImportError:  # pragma: no cover - django-prometheus is a dependency
        return ServerBindingCursor
    if isinstance(connection, DatabaseWrapperMixin):
        return ExportingCursorWrapper(ServerBindingCursor, alias, "postgresql")
    return ServerBindingCursor


@dataclass(frozen=True)
class ModelColumns:
    """Fields a hand-written statement selects, with the converters the ORM would apply to them."""

    fields: list[Field[Any, Any]]
    converters: list[list[Any]]

    @classmethod
    def of(cls, fields: Iterable[Field[Any, Any]]) -> ModelColumns:
        # In the model's field order: the order `Model.from_db` takes values in.
        chosen = sorted(fields, key=lambda field: field.model._meta.concrete_fields.index(field))
        converters = []
        for field in chosen:
            col = field.get_col(field.model._meta.db_table)
            converters.append(connection.ops.get_db_converters(col) + col.get_db_converters(connection))
        return cls(chosen, converters)

    def instance(self, model: type[M], values: Iterable[Any]) -> M:
        """The model instance a row's values make (fields not selected are deferred)."""
        converted = []
        for field, value, converters in zip(self.fields, values, self.converters, strict=True):
            for converter in converters:
                value = converter(value, field, connection)
            converted.append(value)
        return model.from_db(connection.alias, [field.attname for field in self.fields], converted)
