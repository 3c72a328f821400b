"""A paginator for lists of history (runs, events, deliveries): counts at most `CAP` rows.

Django's admin counts every row a list matches to draw its pages; over millions of runs that count
alone costs more than the page (bench/scale.py: 0.2 s at 200,000 runs, growing with the table).
Counting through `LIMIT CAP + 1` costs the same at any size; past it the list shows the first
CAP // per_page pages, and filters narrow it.
"""

from __future__ import annotations

from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.utils.functional import cached_property

CAP = 10_000


class CappedPaginator(Paginator):
    @cached_property
    def count(self) -> int:
        """The number of rows, or CAP when there are more."""
        rows = self.object_list
        if not isinstance(rows, QuerySet):
            return min(len(rows), CAP)
        return min(rows[: CAP + 1].count(), CAP)
