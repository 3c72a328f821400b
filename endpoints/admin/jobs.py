"""Jobs as endpoints registered them: one row per job version, latest versions by default."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString

from endpoints.models import Job, JobVersion
from endpoints.templatetags.console import TRIGGER_KINDS as TRIGGER_TYPES

from .runs import ReadOnlyAdmin
from .widgets import age, badge


class TriggerTypeFilter(admin.SimpleListFilter):
    title = "trigger type"
    parameter_name = "trigger"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(key, label) for key, label in TRIGGER_TYPES.items()]

    def queryset(self, request: HttpRequest, queryset: QuerySet[JobVersion]) -> QuerySet[JobVersion]:
        return queryset.filter(trigger__type=self.value()) if self.value() else queryset


class VersionFilter(admin.SimpleListFilter):
    title = "version"
    parameter_name = "versions"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("all", "all versions")]

    def choices(self, changelist: Any) -> Any:
        yield {
            "selected": self.value() is None,
            "query_string": changelist.get_query_string(remove=[self.parameter_name]),
            "display": "latest only",
        }
        yield {
            "selected": self.value() == "all",
            "query_string": changelist.get_query_string({self.parameter_name: "all"}),
            "display": "all versions",
        }

    def queryset(self, request: HttpRequest, queryset: QuerySet[JobVersion]) -> QuerySet[JobVersion]:
        if self.value() == "all":
            return queryset
        return queryset.filter(aliases__name="latest")


@admin.register(JobVersion)
class JobVersionAdmin(ReadOnlyAdmin):
    list_display = ("job_slug", "endpoint_link", "version", "trigger_type", "state", "environment_type")
    list_filter = (VersionFilter, "status", TriggerTypeFilter, "environment__type")
    list_select_related = ("job", "environment", "endpoint")
    search_fields = ("job__slug", "job__title", "endpoint__slug", "version")
    show_full_result_count = False
    # Newest first (ids are time-ordered): sorting every version of the fleet by job slug cost a
    # sort of all of them (bench/scale.py); the job column still sorts on demand.
    ordering = ("-pk",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[JobVersion]:
        return super().get_queryset(request).defer("event_specification", "properties", "trigger_help")

    @admin.display(description="job", ordering="job__slug")
    def job_slug(self, obj: JobVersion) -> SafeString:
        return format_html('{} <span class="kf-muted">{}</span>', obj.job.slug, obj.job.title)

    @admin.display(description="endpoint", ordering="endpoint__slug")
    def endpoint_link(self, obj: JobVersion) -> SafeString:
        link = reverse("admin:endpoints_endpoint_change", args=[obj.endpoint_id])
        return format_html('<a href="{}">{}</a>', link, obj.endpoint.slug)

    @admin.display(description="trigger")
    def trigger_type(self, obj: JobVersion) -> str:
        kind = (obj.trigger or {}).get("type", "")
        return TRIGGER_TYPES.get(kind, kind or "—")

    @admin.display(description="state", ordering="status")
    def state(self, obj: JobVersion) -> SafeString:
        word = "enabled" if obj.status == "ACTIVE" else "disabled"
        return format_html("{} since {}", badge(word, "ok" if word == "enabled" else "muted"), age(obj.updated_at))

    @admin.display(description="environment", ordering="environment__type")
    def environment_type(self, obj: JobVersion) -> str:
        return obj.environment.type


@admin.register(Job)
class JobAdmin(ReadOnlyAdmin):
    list_display = ("slug", "title", "project", "internal", "deleted_at")
    list_filter = ("internal",)
    list_select_related = ("project",)
    search_fields = ("slug", "title")
