"""Statements sent ahead: written without waiting for the database, so Python prepares the next one
while PostgreSQL runs this one.

An index's apply is a chain of INSERTs of rows it knows to be new (ids generated here, so nothing
needs a statement's answer), each preceded by tens of milliseconds of Python building its rows. Sent
one after the other and waited for, the two cores take turns; sent ahead, they work at once.

Inside `sending_ahead()`, `send_ahead(sql, params)` enters psycopg's pipeline mode on the connection
and sends the statement without reading its result. Any other statement on the connection, which
may read a result or a row count, first leaves pipeline mode: the sent statements are waited for and
their first error is raised there, as Django's exception (IntegrityError, …), from that statement's
`execute` or at the latest when the block ends. Nothing changes in what is written or in which order
PostgreSQL runs it: only when this process waits for it.

On other backends, with a libpq older than 14, with `DATABASE_PIPELINE=off` and outside the block,
`send_ahead` is a plain `execute`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import cache
from types import TracebackType
from typing import Any

from django.conf import settings
from django.db import connection

from endpoints.db import server_binding_cursor

_ATTR = "_kongflow_ahead"


class _Ahead:
    """One block's state on one connection (Django connections are per thread)."""

    def __init__(self) -> None:
        self.pipeline: Any = None  # psycopg.Pipeline while statements are in flight
        self.sending = False

    def __call__(self, execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any) -> Any:
        """Django execute wrapper: a statement that was not sent ahead waits for those that were."""
        if self.pipeline is not None and not self.sending:
            self.wait()
        return execute(sql, params, many, context)

    def send(self, sql: str, params: Any) -> None:
        with server_binding_cursor() as cursor:
            if self.pipeline is None:
                self.pipeline = connection.connection.pipeline()
                self.pipeline.__enter__()
            self.sending = True
            try:
                cursor.execute(sql, params)
            finally:
                self.sending = False

    def wait(
        self,
        exc_type: type[BaseException] | None = None,
        exc: BaseException | None = None,
        tb: TracebackType | None = None,
    ) -> None:
        """Leave pipeline mode: wait for every statement sent, raise the first one's error (unless
        an exception is already on its way out: psycopg then logs the second one)."""
        pipeline, self.pipeline = self.pipeline, None
        if pipeline is not None:
            with connection.wrap_database_errors:
                pipeline.__exit__(exc_type, exc, tb)


@contextmanager
def sending_ahead() -> Iterator[None]:
    """A block in which `send_ahead` does not wait; left only after every statement sent finished.

    Open it inside the savepoint or transaction the statements belong to: an error raised when it
    ends must reach the `atomic` block that rolls them back."""
    if getattr(connection, _ATTR, None) is not None or not settings.DATABASE_PIPELINE or not _supported():
        yield
        return
    ahead = _Ahead()
    setattr(connection, _ATTR, ahead)
    try:
        with connection.execute_wrapper(ahead):
            try:
                yield
            except BaseException as exc:
                ahead.wait(type(exc), exc, exc.__traceback__)
                raise
            ahead.wait()
    finally:
        setattr(connection, _ATTR, None)


@cache
def _supported() -> bool:
    """Pipeline mode needs libpq 14 or later (psycopg-binary bundles one; a system libpq may be older)."""
    import psycopg

    return bool(psycopg.Pipeline.is_supported())


def send_ahead(sql: str, params: Any) -> None:
    """Execute a statement whose result nobody reads; inside `sending_ahead()`, without waiting."""
    ahead: _Ahead | None = getattr(connection, _ATTR, None)
    if ahead is None:
        with server_binding_cursor() as cursor:
            cursor.execute(sql, params)
        return
    ahead.send(sql, params)
