"""Cursor pagination in DRF's shape (`{"next", "previous", "results"}`) for the registry API.

Each list orders by a key that is unique within its scope (an environment or an endpoint), so a
cursor is a position, never an offset: pages stay stable while rows are added, and a page costs
the same at the end of a long list as at its start.
"""

from __future__ import annotations

from rest_framework.pagination import CursorPagination

PAGE_SIZE = 50
MAX_PAGE_SIZE = 100


class _Cursor(CursorPagination):
    page_size = PAGE_SIZE
    page_size_query_param = "limit"
    max_page_size = MAX_PAGE_SIZE


class BySlug(_Cursor):
    """Endpoints (slug is unique per environment), dynamic triggers and schedules (per endpoint)."""

    ordering = ("slug",)


class ByKey(_Cursor):
    """Trigger sources (key is unique per environment)."""

    ordering = ("key",)


class NewestFirst(_Cursor):
    """Index runs, newest first; the id orders runs created in the same microsecond."""

    ordering = ("-created_at", "-id")
