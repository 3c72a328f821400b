"""`field__anyof=[...]`: membership in a list sent as one array parameter.

`__in` writes one placeholder per value: with the hundreds of ids or slugs a large index deals in,
Django compiles, psycopg splits and quotes, and PostgreSQL parses a statement that grows with the
list. `= ANY(%s)` is one parameter whatever the list's length (and the same statement text each
time).
"""

from __future__ import annotations

from typing import Any

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
        return f"{lhs} = ANY(%s)", (*lhs_params, list(self.rhs))
