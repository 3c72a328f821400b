"""`field__anyof=[...]`: membership in a list sent as one array parameter.

`__in` writes one placeholder per value: with the hundreds of ids or slugs a large index deals in,
Django compiles, psycopg splits and quotes, and PostgreSQL parses a statement that grows with the
list. `= ANY(%s)` is one parameter whatever the list's length (and the same statement text each
time). SQLite has no arrays: there it is an `IN` list.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import EmptyResultSet
from django.db import models
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models.lookups import Lookup
from django.db.models.sql.compiler import SQLCompiler


@models.CharField.register_lookup
@models.ForeignKey.register_lookup
class AnyOf(Lookup):
    lookup_name = "anyof"
    prepare_rhs = False

    def get_prep_lookup(self) -> list[Any]:
        prep = self.lhs.output_field.get_prep_value
        return [prep(value) for value in self.rhs]

    def as_sql(self, compiler: SQLCompiler, connection: BaseDatabaseWrapper) -> tuple[str, tuple[Any, ...]]:
        lhs, lhs_params = self.process_lhs(compiler, connection)
        values = list(self.rhs)
        if connection.vendor == "postgresql":
            return f"{lhs} = ANY(%s)", (*lhs_params, values)
        if not values:
            raise EmptyResultSet
        return f"{lhs} IN ({', '.join(['%s'] * len(values))})", (*lhs_params, *values)
