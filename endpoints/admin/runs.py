"""Index runs: read-only history. The list never loads the large JSON columns; a failed run's page
shows its error line by line, the hint and the failure inspector; a run's warnings (what the
registry ignored in its document) have their own section."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

from endpoints.console import runs_light
from endpoints.models import EndpointIndex, IndexStatus

from .paginator import CappedPaginator
from .widgets import age, badge, diff_table, duration, error_block, exchange_block, pretty_json, warnings_list

WARNINGS = "Warnings: what the registry ignored"


def run_duration(obj: EndpointIndex) -> float | None:
    if obj.started_at and obj.finished_at:
        return (obj.finished_at - obj.started_at).total_seconds()
    return None


if TYPE_CHECKING:
    ModelAdminBase = admin.ModelAdmin[Any]
else:
    ModelAdminBase = admin.ModelAdmin


class ReadOnlyAdmin(ModelAdminBase):
    paginator = CappedPaginator

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(EndpointIndex)
class EndpointIndexAdmin(ReadOnlyAdmin):
    list_display = (
        "id",
        "endpoint_link",
        "status_badge",
        "source",
        "error_code",
        "warnings_count",
        "requests",
        "queued",
        "took",
    )
    # No date hierarchy: drawing it reads every run's date (bench/scale.py); the date filter is ranges.
    list_filter = ("status", "source", "endpoint__environment__type", "created_at")
    list_select_related = ("endpoint",)
    search_fields = ("id", "endpoint__slug", "endpoint__id")
    show_full_result_count = False
    fieldsets = (
        (None, {"fields": ("status_badge", "endpoint_link", "source", "reason", "coalesced_display")}),
        ("Timing", {"fields": ("queued_at", "started_at", "finished_at", "took", "attempts_display")}),
        ("Error", {"fields": ("error_display",), "classes": ("kf-section-error",)}),
        (WARNINGS, {"fields": ("warnings_display",)}),
        ("Failure inspector", {"fields": ("inspector",)}),
        ("What changed", {"fields": ("diff_display", "stats_display")}),
        ("Document", {"fields": ("document",)}),
    )
    readonly_fields = (
        "status_badge",
        "endpoint_link",
        "source",
        "reason",
        "coalesced_display",
        "queued_at",
        "started_at",
        "finished_at",
        "took",
        "attempts_display",
        "error_display",
        "warnings_display",
        "inspector",
        "diff_display",
        "stats_display",
        "document",
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet[EndpointIndex]:
        return runs_light(super().get_queryset(request))

    def get_object(self, request: HttpRequest, object_id: str, from_field: str | None = None) -> EndpointIndex | None:
        # The page shows every column: load the run whole, once.
        return EndpointIndex.objects.select_related("endpoint").filter(pk=object_id).first()

    def get_fieldsets(self, request: HttpRequest, obj: EndpointIndex | None = None) -> Any:
        fieldsets = list(super().get_fieldsets(request, obj))
        if obj is not None and obj.status != IndexStatus.FAILURE and not obj.error:
            fieldsets = [f for f in fieldsets if f[0] not in ("Error", "Failure inspector")]
        if obj is not None and not obj.warnings:
            fieldsets = [f for f in fieldsets if f[0] != WARNINGS]
        if obj is not None and obj.status != IndexStatus.SUCCESS:
            fieldsets = [f for f in fieldsets if f[0] not in ("What changed", "Document")]
        return fieldsets

    @admin.display(description="status", ordering="status")
    def status_badge(self, obj: EndpointIndex) -> SafeString:
        return badge(obj.status)

    @admin.display(description="endpoint", ordering="endpoint__slug")
    def endpoint_link(self, obj: EndpointIndex) -> SafeString:
        link = reverse("admin:endpoints_endpoint_change", args=[obj.endpoint_id])
        return format_html('<a href="{}">{}</a>', link, obj.endpoint.slug)

    @admin.display(description="error")
    def error_code(self, obj: EndpointIndex) -> str:
        return (obj.error or {}).get("code", "") if obj.status == IndexStatus.FAILURE else ""

    @admin.display(description="warnings")
    def warnings_count(self, obj: EndpointIndex) -> int | str:
        return len(obj.warnings) if obj.warnings else ""

    @admin.display(description="warnings")
    def warnings_display(self, obj: EndpointIndex) -> SafeString:
        return warnings_list(obj.warnings)

    @admin.display(description="queued", ordering="created_at")
    def queued(self, obj: EndpointIndex) -> str:
        return age(obj.created_at)

    @admin.display(description="queued at")
    def queued_at(self, obj: EndpointIndex) -> str:
        return f"{timezone.localtime(obj.created_at):%Y-%m-%d %H:%M:%S} ({age(obj.created_at)})"

    @admin.display(description="duration")
    def took(self, obj: EndpointIndex) -> str:
        return duration(run_duration(obj))

    @admin.display(description="attempts")
    def attempts_display(self, obj: EndpointIndex) -> str:
        return f"{obj.attempts} of {obj.max_attempts}"

    @admin.display(description="requests joined")
    def coalesced_display(self, obj: EndpointIndex) -> SafeString:
        rows = format_html_join(
            "",
            "<li>{} <span class='kf-muted'>{}</span> {}</li>",
            ((entry.get("source"), entry.get("at"), entry.get("reason") or "") for entry in obj.coalesced or []),
        )
        return format_html("{} request(s)<ul class='kf-compact'>{}</ul>", obj.requests, rows)

    @admin.display(description="error")
    def error_display(self, obj: EndpointIndex) -> SafeString:
        return error_block(obj.error)

    @admin.display(description="exchange")
    def inspector(self, obj: EndpointIndex) -> SafeString:
        return exchange_block(obj.exchange)

    @admin.display(description="diff")
    def diff_display(self, obj: EndpointIndex) -> SafeString:
        return diff_table(obj.diff)

    @admin.display(description="stats")
    def stats_display(self, obj: EndpointIndex) -> SafeString:
        if not obj.stats:
            return mark_safe("—")
        cells = format_html_join("", "<tr><th>{}</th><td>{}</td></tr>", sorted(obj.stats.items()))
        return format_html('<table class="kf-kv">{}</table>', cells)

    @admin.display(description="index document")
    def document(self, obj: EndpointIndex) -> SafeString:
        return pretty_json(obj.data, summary="Document")
