"""A cursor for the few statements that carry thousands of values (registry upserts, the outbox).

Django's psycopg backend binds parameters on the client: every value of an array parameter is
escaped in Python and spliced into the SQL text, which costs more than the statement itself for an
index of hundreds of jobs. A server-binding cursor sends the values apart from the SQL, and `%b`
placeholders send arrays in binary (no escaping, no parsing of a text literal on the server).

It is still a Django cursor (`_prepare_cursor`): query logging, `execute_wrapper`s, error wrapping
and, with django-prometheus's engine, its counters see these statements like any other.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from django.db import connection
from django.db.backends.utils import CursorWrapper


def server_binding_cursor() -> CursorWrapper:
    """A server-binding cursor on the default connection (PostgreSQL); use it as a context manager.

    On another backend, the connection's ordinary cursor (which has no `%b` placeholders)."""
    if connection.vendor != "postgresql":
        return connection.cursor()
    connection.ensure_connection()
    with connection.wrap_database_errors:
        raw = _factory(connection.alias, connection.vendor)(connection.connection)
    return connection._prepare_cursor(raw)  # type: ignore[attr-defined,no-any-return]


@cache
def _factory(alias: str, vendor: str) -> Any:
    from django.db.backends.postgresql.base import ServerBindingCursor

    try:
        from django_prometheus.db.common import DatabaseWrapperMixin, ExportingCursorWrapper
    except ImportError:  # pragma: no cover - django-prometheus is a dependency
        return ServerBindingCursor
    if isinstance(connection, DatabaseWrapperMixin):
        return ExportingCursorWrapper(ServerBindingCursor, alias, vendor)
    return ServerBindingCursor
