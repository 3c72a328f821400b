"""Runtime environments: keys shown masked and read-only (key rotation lives on another branch)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.contrib import admin
from django.http import HttpRequest

from endpoints.models import RuntimeEnvironment

if TYPE_CHECKING:
    EnvironmentBase = admin.ModelAdmin[RuntimeEnvironment]
else:
    EnvironmentBase = admin.ModelAdmin


@admin.register(RuntimeEnvironment)
class RuntimeEnvironmentAdmin(EnvironmentBase):
    list_display = ("id", "project", "type", "masked_key", "pk_api_key", "created_at")
    list_filter = ("type",)
    list_select_related = ("project",)
    search_fields = ("id", "slug", "project__slug", "organization__slug")
    fields = (
        "id",
        "slug",
        "type",
        "organization",
        "project",
        "masked_key",
        "pk_api_key",
        "auto_enable_internal_sources",
        "created_at",
        "updated_at",
    )
    readonly_fields = ("id", "masked_key", "pk_api_key", "created_at", "updated_at")
    raw_id_fields = ("organization", "project")

    @admin.display(description="API key")
    def masked_key(self, obj: RuntimeEnvironment) -> str:
        return obj.masked_api_key if obj.api_key else "—"

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # keys are minted by `manage.py createenvironment`
