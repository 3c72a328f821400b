"""Operators' admin: endpoints with their deploy-hook URL and a Reindex action; index history read-only."""

from __future__ import annotations

from functools import partial

from django.conf import settings
from django.contrib import admin, messages
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html

from endpoints.admin_environments import RuntimeEnvironmentAdmin
from endpoints.models import (
    Endpoint,
    EndpointIndex,
    IndexSource,
    Job,
    JobVersion,
    Organization,
    Project,
    RuntimeEnvironment,
)
from endpoints.services.indexing import endpoint_index_request
from endpoints.services.registration import endpoints_soft_delete
from endpoints.tasks import probe_endpoint


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin):
    list_display = ("slug", "title", "created_at", "deleted_at")
    search_fields = ("slug", "title")


@admin.register(Project)
class ProjectAdmin(admin.ModelAdmin):
    list_display = ("slug", "name", "organization", "created_at", "deleted_at")
    list_select_related = ("organization",)
    search_fields = ("slug", "name")
    raw_id_fields = ("organization",)


admin.site.register(RuntimeEnvironment, RuntimeEnvironmentAdmin)


class EndpointIndexInline(admin.TabularInline):
    model = EndpointIndex
    fields = ("id", "source", "status", "reason", "requests", "created_at", "finished_at")
    readonly_fields = fields
    ordering = ("-created_at",)
    extra = 0
    max_num = 0
    show_change_link = True
    can_delete = False

    def get_queryset(self, request: HttpRequest) -> QuerySet[EndpointIndex]:
        return super().get_queryset(request).defer("data", "diff", "source_data")


@admin.register(Endpoint)
class EndpointAdmin(admin.ModelAdmin):
    list_display = ("slug", "environment", "url", "version", "sdk_version", "updated_at")
    list_filter = ("environment__type",)
    list_select_related = ("environment",)
    search_fields = ("slug", "url", "id")
    readonly_fields = (
        "id",
        "slug",
        "url",
        "environment",
        "organization",
        "project",
        "indexing_hook_identifier",
        "hook_url",
        "version",
        "sdk_version",
        "created_at",
        "updated_at",
    )
    inlines = (EndpointIndexInline,)
    actions = ("reindex", "probe", "soft_delete")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # endpoints are registered through the API, which pings them first

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False  # see the soft-delete action

    @admin.action(description="Delete selected endpoints (clear the URL; jobs and history stay)")
    def soft_delete(self, request: HttpRequest, queryset: QuerySet[Endpoint]) -> None:
        count = endpoints_soft_delete(endpoint_ids=list(queryset.values_list("id", flat=True)))
        self.message_user(request, f"Deleted {count} endpoint(s); registering a slug again restores it.")

    @admin.display(description="Deploy hook URL")
    def hook_url(self, obj: Endpoint) -> str:
        if not obj.pk or not obj.indexing_hook_identifier:
            return "—"
        origin = settings.KONGFLOW_APP_ORIGIN or ""
        path = f"/api/v1/endpoints/{obj.environment_id}/{obj.slug}/index/{obj.indexing_hook_identifier}"
        return format_html("<code>{}{}</code>", origin, path)

    @admin.action(description="Reindex selected endpoints")
    def reindex(self, request: HttpRequest, queryset: QuerySet[Endpoint]) -> None:
        live = queryset.filter(url__isnull=False).select_related("environment")
        count = 0
        for endpoint in live:
            endpoint_index_request(endpoint=endpoint, source=IndexSource.MANUAL, reason=f"Reindexed by {request.user}")
            count += 1
        skipped = queryset.count() - count
        self.message_user(request, f"Requested an index of {count} endpoint(s).", messages.SUCCESS)
        if skipped:
            self.message_user(request, f"Skipped {skipped} deleted endpoint(s) (no URL).", messages.WARNING)

    @admin.action(description="Probe the function time limit of selected endpoints")
    def probe(self, request: HttpRequest, queryset: QuerySet[Endpoint]) -> None:
        ids = list(queryset.filter(url__isnull=False).values_list("id", flat=True))
        for endpoint_id in ids:
            transaction.on_commit(partial(probe_endpoint.apply_async, kwargs={"endpoint_id": endpoint_id}))
        self.message_user(request, f"Probing {len(ids)} endpoint(s); this takes up to two minutes.", messages.SUCCESS)


@admin.register(EndpointIndex)
class EndpointIndexAdmin(ReadOnlyAdmin):
    list_display = ("id", "endpoint", "source", "status", "error_code", "requests", "created_at", "finished_at")
    list_filter = ("status", "source")
    list_select_related = ("endpoint",)
    search_fields = ("id", "endpoint__slug", "endpoint__id")
    show_full_result_count = False
    date_hierarchy = "created_at"

    @admin.display(description="Error")
    def error_code(self, obj: EndpointIndex) -> str:
        return (obj.error or {}).get("code", "") if obj.status == "FAILURE" else ""


@admin.register(Job)
class JobAdmin(ReadOnlyAdmin):
    list_display = ("slug", "title", "project", "internal", "deleted_at")
    list_filter = ("internal",)
    list_select_related = ("project",)
    search_fields = ("slug", "title")


@admin.register(JobVersion)
class JobVersionAdmin(ReadOnlyAdmin):
    list_display = ("job", "version", "environment", "endpoint", "status", "updated_at")
    list_filter = ("status", "environment__type")
    list_select_related = ("job", "environment", "endpoint")
    search_fields = ("job__slug", "version")
