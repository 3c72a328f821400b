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


def upsert(model: type[models.Model], rows: Iterable[models.Model], *, on: list[str], update: list[str]) -> None:
    """Insert, or update `update` where the natural key `on` exists; an update always bumps `updated_at`."""
    model.objects.bulk_create(rows, update_conflicts=True, unique_fields=on, update_fields=[*update, "updated_at"])


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
