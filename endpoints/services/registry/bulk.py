"""Set-based write helpers: every statement they issue covers all rows of a kind at once, which is
what keeps the number of statements independent of the document's size."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import models
from django.db.models import Value
from django.db.models.functions import Concat

# Joins the parts of a natural key into one string, so "delete what was not upserted" is one
# statement for all rows (ids are base36 and never contain it).
SEP = "\x1f"


def unique(values: Iterable[str]) -> list[str]:
    """Distinct values in first-seen order (stable `IN` lists)."""
    return list(dict.fromkeys(values))


def keyed(*parts: str) -> str:
    return SEP.join(parts)


def in_key_order(
    model: type[models.Model], rows: Iterable[models.Model], fields: list[str] | None = None
) -> list[models.Model]:
    """The rows sorted by their natural key (`fields`, else the model's first unique constraint, else pk).

    Every bulk write locks its rows in the order given: two indexes of one project's endpoints
    writing the same jobs or integrations in document order could each hold a row the other one
    waits for (a deadlock). In key order, they queue on the first shared row instead.
    """
    if fields is None:
        constraints = [c for c in model._meta.constraints if isinstance(c, models.UniqueConstraint) and c.fields]
        fields = list(constraints[0].fields) if constraints else [model._meta.pk.name]  # type: ignore[union-attr]
    attnames = [model._meta.get_field(name).attname for name in fields]  # type: ignore[union-attr]
    return sorted(rows, key=lambda row: tuple(str(getattr(row, name) or "") for name in attnames))


def upsert(model: type[models.Model], rows: Iterable[models.Model], *, on: list[str], update: list[str]) -> None:
    """Insert, or update `update` where the natural key `on` exists; an update always bumps `updated_at`."""
    model.objects.bulk_create(
        in_key_order(model, rows, on), update_conflicts=True, unique_fields=on, update_fields=[*update, "updated_at"]
    )


def insert_new(model: type[models.Model], rows: Iterable[models.Model]) -> None:
    """Insert the rows whose natural key is not there yet (in key order, like `upsert`)."""
    model.objects.bulk_create(in_key_order(model, rows), ignore_conflicts=True)


def delete_unlisted(queryset: models.QuerySet, key_fields: list[str], keep: set[str]) -> int:
    """Delete the rows of `queryset` whose joined natural key is not in `keep`: one statement."""
    expressions: list[Any] = []
    for position, name in enumerate(key_fields):
        if position:
            expressions.append(Value(SEP))
        expressions.append(name)
    annotated = queryset.annotate(_natural_key=Concat(*expressions, output_field=models.CharField()))
    deleted, _ = annotated.exclude(_natural_key__in=keep).delete()
    return deleted
