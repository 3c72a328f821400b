"""Foreign keys as model constraints, where Django's `ForeignKey` falls short.

Registry rows repeat their scope (environment, organization, project) beside the row they hang
off, so lists filter without joins. Checked one column at a time, a 500-job index queues ~9,000
row checks, one per column; checked through one composite key per parent, the same columns cost
one check and must also *agree* with the parent (a job version's environment is its endpoint's).

* `CompositeForeignKey`: a multi-column FOREIGN KEY, checked row by row like Django's own.
* `StatementForeignKey`: the same guarantees, checked once per statement and distinct parent
  (PostgreSQL triggers, see `fk_triggers`), for keys whose rows are written in bulk and share a few
  parents (an index's environment, endpoint, project, integrations). On other databases it is a
  plain FOREIGN KEY.

The single-column `ForeignKey` fields stay (joins, Python-side cascades) with `db_constraint=False`
where a constraint here covers them. The parent needs a unique constraint on the referenced columns.

The first field is the relation (a `ForeignKey`): its model is the one referenced. (Not named by
label: SQLite's table rebuilds render constraints against a registry holding one model.)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import models
from django.db.backends.base.schema import BaseDatabaseSchemaEditor

from .fk_triggers import ForeignKeyTriggers

Model = type[models.Model] | None
Editor = BaseDatabaseSchemaEditor | None


class _ForeignKey(models.BaseConstraint):
    """FOREIGN KEY (fields) REFERENCES <fields[0]'s model> (to_fields), deferred like Django's own."""

    min_fields = 1

    def __init__(self, *, fields: list[str], to_fields: list[str], name: str) -> None:
        if len(fields) != len(to_fields) or len(fields) < self.min_fields:
            raise ValueError(f"{type(self).__name__} maps {self.min_fields} or more fields onto as many.")
        super().__init__(name=name)
        self.fields, self.to_fields = list(fields), list(to_fields)

    def _target(self, model: type[models.Model]) -> type[models.Model]:
        target = model._meta.get_field(self.fields[0]).related_model
        if not isinstance(target, type) or not issubclass(target, models.Model):
            raise TypeError(f"{self.name}: the first field must be a resolved ForeignKey.")
        return target

    def _clause(self, model: Model, schema_editor: Editor) -> str:
        assert model is not None and schema_editor is not None
        target = self._target(model)
        q = schema_editor.quote_name
        columns = ", ".join(q(_column(model, name)) for name in self.fields)
        referenced = ", ".join(q(_column(target, name)) for name in self.to_fields)
        return (
            f"CONSTRAINT {q(self.name)} FOREIGN KEY ({columns}) "
            f"REFERENCES {q(target._meta.db_table)} ({referenced}) DEFERRABLE INITIALLY DEFERRED"
        )

    def constraint_sql(self, model: Model, schema_editor: Editor) -> str:
        return self._clause(model, schema_editor)

    def create_sql(self, model: Model, schema_editor: Editor) -> str:
        assert model is not None and schema_editor is not None
        return f"ALTER TABLE {schema_editor.quote_name(model._meta.db_table)} ADD {self._clause(model, schema_editor)}"

    def remove_sql(self, model: Model, schema_editor: Editor) -> str:
        assert model is not None and schema_editor is not None
        q = schema_editor.quote_name
        return f"ALTER TABLE {q(model._meta.db_table)} DROP CONSTRAINT {q(self.name)}"

    def validate(self, *args: Any, **kwargs: Any) -> None:
        """Like a ForeignKey's, checked by the database, not by `full_clean`."""

    def deconstruct(self) -> tuple[str, Sequence[Any], dict[str, Any]]:
        path, args, kwargs = super().deconstruct()
        kwargs.update(fields=self.fields, to_fields=self.to_fields)
        return path, args, kwargs

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, _ForeignKey):
            return NotImplemented
        return (type(self), self.name, self.fields, self.to_fields) == (
            type(other),
            other.name,
            other.fields,
            other.to_fields,
        )

    def __hash__(self) -> int:
        return hash((type(self), self.name, tuple(self.fields), tuple(self.to_fields)))


class CompositeForeignKey(_ForeignKey):
    """A multi-column FOREIGN KEY, deferred like Django's own."""

    min_fields = 2


class StatementForeignKey(_ForeignKey):
    """A foreign key checked once per statement and distinct parent on PostgreSQL (`fk_triggers`);
    a FOREIGN KEY elsewhere."""

    def _triggers(self, model: Model, schema_editor: Editor) -> ForeignKeyTriggers | None:
        assert model is not None and schema_editor is not None
        if schema_editor.connection.vendor != "postgresql":
            return None
        target = self._target(model)
        return ForeignKeyTriggers(
            name=self.name,
            child=model._meta.db_table,
            columns=[_column(model, name) for name in self.fields],
            parent=target._meta.db_table,
            parent_columns=[_column(target, name) for name in self.to_fields],
            quote=schema_editor.quote_name,
        )

    def constraint_sql(self, model: Model, schema_editor: Editor) -> str:
        triggers = self._triggers(model, schema_editor)
        if triggers is None:
            return self._clause(model, schema_editor)
        assert schema_editor is not None
        schema_editor.deferred_sql.append(triggers.create_sql())  # after CREATE TABLE
        return ""  # nothing inside CREATE TABLE (Django skips empty constraint clauses)

    def create_sql(self, model: Model, schema_editor: Editor) -> str:
        triggers = self._triggers(model, schema_editor)
        return super().create_sql(model, schema_editor) if triggers is None else triggers.create_sql()

    def remove_sql(self, model: Model, schema_editor: Editor) -> str:
        triggers = self._triggers(model, schema_editor)
        return super().remove_sql(model, schema_editor) if triggers is None else triggers.remove_sql()


def _column(model: type[models.Model], name: str) -> str:
    field = model._meta.get_field(name)
    assert isinstance(field, models.Field) and field.column is not None
    return field.column
