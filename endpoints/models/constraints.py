"""Composite foreign keys, where Django's `ForeignKey` falls short.

Registry rows repeat their scope (environment, organization, project) beside the row they hang
off, so lists filter without joins. Checked one column at a time, each of those columns costs a
row check per row; checked through one composite key per parent, the same columns cost one check
and must also *agree* with the parent (a job version's environment is its endpoint's).

The single-column `ForeignKey` fields stay (joins, Python-side cascades) with `db_constraint=False`
where a composite key covers them. The parent needs a unique constraint on the referenced columns.
The first field is the relation (a `ForeignKey`): its model is the one referenced.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import models
from django.db.backends.base.schema import BaseDatabaseSchemaEditor

Model = type[models.Model] | None
Editor = BaseDatabaseSchemaEditor | None


class CompositeForeignKey(models.BaseConstraint):
    """FOREIGN KEY (fields) REFERENCES <fields[0]'s model> (to_fields), deferred like Django's own."""

    def __init__(self, *, fields: list[str], to_fields: list[str], name: str) -> None:
        if len(fields) != len(to_fields) or len(fields) < 2:
            raise ValueError("CompositeForeignKey maps 2 or more fields onto as many.")
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
        if not isinstance(other, CompositeForeignKey):
            return NotImplemented
        return (type(self), self.name, self.fields, self.to_fields) == (
            type(other),
            other.name,
            other.fields,
            other.to_fields,
        )

    def __hash__(self) -> int:
        return hash((type(self), self.name, tuple(self.fields), tuple(self.to_fields)))


def _column(model: type[models.Model], name: str) -> str:
    field = model._meta.get_field(name)
    assert isinstance(field, models.Field) and field.column is not None
    return field.column
