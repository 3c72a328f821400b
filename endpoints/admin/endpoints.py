"""The endpoints list and page: health first, then what the endpoint registered; actions call services."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

from endpoints.console import (
    endpoint_latest_diff,
    endpoint_recent_runs,
    endpoint_registry,
    endpoints_with_counts,
    health_filter,
)
from endpoints.errors import EndpointRegistrationError
from endpoints.models import Endpoint, EndpointHealth, IndexSource, IndexStatus
from endpoints.services.health import endpoint_enable
from endpoints.services.indexing import endpoint_index_preview, endpoint_index_request
from endpoints.services.lifecycle import (
    endpoint_ping,
    endpoint_restore,
    endpoint_soft_delete,
    endpoints_probe_request,
)
from endpoints.services.registration import endpoints_soft_delete

from .add_endpoint import add_endpoint_view
from .paginator import CappedPaginator
from .widgets import age, badge, diff_table, health_badge

RECENT_RUNS = 10
ENABLED_MESSAGE = (
    "Enabled: the failure count starts again at 0; the recurring index and deploy hooks resume. "
    "Reindex to check it now."
)

if TYPE_CHECKING:
    EndpointAdminBase = admin.ModelAdmin[Endpoint]
else:
    EndpointAdminBase = admin.ModelAdmin


class HealthFilter(admin.SimpleListFilter):
    title = "health"
    parameter_name = "health"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(value, label) for value, label in EndpointHealth.choices]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Endpoint]) -> QuerySet[Endpoint]:
        value = self.value()
        return queryset.filter(health_filter(value)) if value else queryset


class LastStatusFilter(admin.SimpleListFilter):
    title = "last index"
    parameter_name = "last_status"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(IndexStatus.SUCCESS, "succeeded"), (IndexStatus.FAILURE, "failed"), ("none", "never finished")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Endpoint]) -> QuerySet[Endpoint]:
        value = self.value()
        if value == "none":
            return queryset.filter(last_index_status__isnull=True)
        return queryset.filter(last_index_status=value) if value else queryset


@admin.register(Endpoint)
class EndpointAdmin(EndpointAdminBase):
    list_display = ("slug", "project_environment", "health_column", "last_index", "active_jobs_column", "sdk_version")
    list_filter = ("environment__type", HealthFilter, LastStatusFilter)
    list_select_related = ("environment", "project")
    search_fields = ("slug", "url")
    list_per_page = 50
    show_full_result_count = False
    paginator = CappedPaginator
    ordering = ("slug",)
    change_form_template = "admin/endpoints/endpoint/change_form.html"
    actions = ("reindex", "enable", "probe", "soft_delete", "restore")
    fieldsets = (
        (
            None,
            {
                "fields": (
                    "health_detail",
                    "url_display",
                    "environment_display",
                    "hook_url",
                    "version",
                    "sdk_version",
                    "created_at",
                    "updated_at",
                )
            },
        ),
        (
            "Advanced: probe thresholds",
            {
                "classes": ("collapse",),
                "fields": (
                    "run_chunk_execution_limit",
                    "start_task_threshold",
                    "before_execute_task_threshold",
                    "before_complete_task_threshold",
                    "after_complete_task_threshold",
                ),
            },
        ),
    )
    readonly_fields = (
        "health_detail",
        "url_display",
        "environment_display",
        "hook_url",
        "version",
        "sdk_version",
        "created_at",
        "updated_at",
        "run_chunk_execution_limit",
        "start_task_threshold",
        "before_execute_task_threshold",
        "before_complete_task_threshold",
        "after_complete_task_threshold",
    )

    # -- permissions: the page is read-only; changes happen through actions (services) ------------

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # see the soft-delete action

    def has_add_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("endpoints.add_endpoint")

    def has_operate_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("endpoints.change_endpoint")

    def get_queryset(self, request: HttpRequest) -> QuerySet[Endpoint]:
        return endpoints_with_counts(super().get_queryset(request))

    # -- list columns -------------------------------------------------------------------------------

    @admin.display(description="project / environment", ordering="project__name")
    def project_environment(self, obj: Endpoint) -> SafeString:
        return format_html(
            '{} / {} <span class="kf-muted">{}</span>', obj.project.name, obj.environment.slug, obj.environment.type
        )

    @admin.display(description="health", ordering="health")
    def health_column(self, obj: Endpoint) -> SafeString:
        return health_badge(obj)

    @admin.display(description="last index", ordering="last_index_at")
    def last_index(self, obj: Endpoint) -> SafeString | str:
        if not obj.last_index_status:
            return "—"
        return format_html("{} {}", badge(obj.last_index_status), age(obj.last_index_at))

    @admin.display(description="active jobs", ordering="active_jobs")
    def active_jobs_column(self, obj: Endpoint) -> int:
        return getattr(obj, "active_jobs", 0)

    # -- page fields --------------------------------------------------------------------------------

    @admin.display(description="Health")
    def health_detail(self, obj: Endpoint) -> SafeString:
        last = format_html(" last index {} {}", badge(obj.last_index_status or ""), age(obj.last_index_at))
        return format_html("{}{}", health_badge(obj), last if obj.last_index_status else "")

    @admin.display(description="URL")
    def url_display(self, obj: Endpoint) -> SafeString:
        if obj.url:
            return format_html("<code>{}</code>", obj.url)
        return format_html(
            '{} <span class="kf-muted">was <code>{}</code></span>', badge("deleted"), obj.url_before_delete or "?"
        )

    @admin.display(description="Environment")
    def environment_display(self, obj: Endpoint) -> SafeString:
        environment = obj.environment
        link = reverse("admin:endpoints_runtimeenvironment_change", args=[environment.id])
        return format_html(
            '<a href="{}">{} / {}</a> {} <span class="kf-muted">{}</span>',
            link,
            obj.project.name,
            environment.slug,
            badge(environment.type, "info"),
            environment.id,
        )

    @admin.display(description="Deploy hook URL")
    def hook_url(self, obj: Endpoint) -> SafeString | str:
        if not obj.pk or not obj.indexing_hook_identifier:
            return "—"
        origin = settings.KONGFLOW_APP_ORIGIN or ""
        url = f"{origin}/api/v1/endpoints/{obj.environment_id}/{obj.slug}/index/{obj.indexing_hook_identifier}"
        return format_html(
            '<code id="kf-hook-url"{}>{}</code> '
            '<button type="button" class="kf-copy" data-copy-target="kf-hook-url">Copy</button>',
            # Without KONGFLOW_APP_ORIGIN the page completes the path with the origin it is served from.
            "" if origin else mark_safe(" data-relative"),
            url,
        )

    # -- the page -----------------------------------------------------------------------------------

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        endpoint = self.get_object(request, object_id)
        context = dict(extra_context or {})
        if endpoint is not None:
            latest = endpoint_latest_diff(endpoint_id=endpoint.id)
            context.update(
                latest_success=latest,
                latest_diff=diff_table(latest.diff if latest else None),
                recent_runs=endpoint_recent_runs(endpoint_id=endpoint.id, limit=RECENT_RUNS),
                runs_url=reverse("admin:endpoints_endpointindex_changelist") + f"?endpoint__id__exact={endpoint.id}",
                jobs_url=reverse("admin:endpoints_jobversion_changelist") + f"?endpoint__id__exact={endpoint.id}",
                registry=endpoint_registry(endpoint=endpoint),
                can_operate=self.has_operate_permission(request),
                is_deleted=endpoint.url is None,
                is_disabled=endpoint.health == EndpointHealth.DISABLED,
            )
        return super().change_view(request, object_id, form_url, context)

    def add_view(
        self, request: HttpRequest, form_url: str = "", extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        return add_endpoint_view(self, request)

    def get_urls(self) -> list[URLPattern]:
        urls = [
            path(
                "<path:object_id>/operate/<str:operation>/",
                self.admin_site.admin_view(self.operate_view),
                name="endpoints_endpoint_operate",
            )
        ]
        return urls + super().get_urls()

    def operate_view(self, request: HttpRequest, object_id: str, operation: str) -> HttpResponse:
        """One button of the endpoint page: POST only, each calls one service and reports."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not self.has_operate_permission(request):
            return HttpResponse(status=403)
        endpoint = get_object_or_404(
            Endpoint.objects.select_related("environment__organization", "project"), pk=object_id
        )
        page = reverse("admin:endpoints_endpoint_change", args=[endpoint.id])
        if operation == "dry-run":
            preview = endpoint_index_preview(endpoint=endpoint)
            return TemplateResponse(
                request,
                "admin/endpoints/endpoint/dry_run.html",
                {
                    **self.admin_site.each_context(request),
                    "opts": self.model._meta,
                    "endpoint": endpoint,
                    "preview": preview,
                    "diff": diff_table(preview.diff) if preview.diff is not None else None,
                    "title": f"Dry run of {endpoint.slug}",
                    "page_url": page,
                },
            )
        handler = {
            "reindex": self._reindex_one,
            "enable": self._enable_one,
            "ping": self._ping_one,
            "probe": self._probe_one,
            "delete": self._delete_one,
            "restore": self._restore_one,
        }.get(operation)
        if handler is None:
            return HttpResponse(status=404)
        handler(request, endpoint)
        return HttpResponseRedirect(page)

    def _reindex_one(self, request: HttpRequest, endpoint: Endpoint) -> None:
        if not endpoint.url:
            self.message_user(request, "The endpoint is deleted: restore it first.", messages.WARNING)
            return
        reason = f"Reindexed by {request.user}"
        run = endpoint_index_request(endpoint=endpoint, source=IndexSource.MANUAL, reason=reason)
        link = reverse("admin:endpoints_endpointindex_change", args=[run.id])
        joined = " (joined the run already pending)" if run.requests > 1 else ""
        self.message_user(request, format_html('Requested index run <a href="{}">{}</a>{}.', link, run.id, joined))

    def _enable_one(self, request: HttpRequest, endpoint: Endpoint) -> None:
        if endpoint_enable(endpoint=endpoint, by="operator", reason=f"Enabled by {request.user}"):
            self.message_user(request, ENABLED_MESSAGE, messages.SUCCESS)
        else:
            self.message_user(request, "The endpoint was not disabled.", messages.WARNING)

    def _ping_one(self, request: HttpRequest, endpoint: Endpoint) -> None:
        outcome = endpoint_ping(endpoint=endpoint)
        if outcome.ok:
            sdk = f", SDK {outcome.sdk_version}" if outcome.sdk_version else ""
            self.message_user(request, f"Ping ok in {outcome.duration_ms} ms{sdk}.", messages.SUCCESS)
        else:
            self.message_user(request, f"Ping failed after {outcome.duration_ms} ms: {outcome.message}", messages.ERROR)

    def _probe_one(self, request: HttpRequest, endpoint: Endpoint) -> None:
        queued = endpoints_probe_request(endpoint_ids=[endpoint.id])
        if queued:
            self.message_user(request, "Probe queued: it takes up to two minutes; the limit shows under Advanced.")
        else:
            self.message_user(request, "The endpoint is deleted: nothing to probe.", messages.WARNING)

    def _delete_one(self, request: HttpRequest, endpoint: Endpoint) -> None:
        if endpoint_soft_delete(endpoint=endpoint):
            self.message_user(request, "Deleted: the URL is cleared; jobs and history stay. Restore brings it back.")
        else:
            self.message_user(request, "The endpoint was already deleted.", messages.WARNING)

    def _restore_one(self, request: HttpRequest, endpoint: Endpoint) -> None:
        try:
            registration = endpoint_restore(endpoint=endpoint)
        except EndpointRegistrationError as exc:
            self.message_user(request, f"Could not restore: {exc.message}", messages.ERROR)
            return
        link = reverse("admin:endpoints_endpointindex_change", args=[registration.index.id])
        self.message_user(
            request,
            format_html(
                'Restored: the endpoint answered the ping; index run <a href="{}">{}</a> queued.',
                link,
                registration.index.id,
            ),
        )

    # -- bulk actions -------------------------------------------------------------------------------

    @admin.action(description="Reindex selected endpoints", permissions=["operate"])
    def reindex(self, request: HttpRequest, queryset: QuerySet[Endpoint]) -> None:
        live = list(queryset.filter(url__isnull=False).select_related("environment"))
        for endpoint in live:
            endpoint_index_request(endpoint=endpoint, source=IndexSource.MANUAL, reason=f"Reindexed by {request.user}")
        self.message_user(request, f"Requested an index of {len(live)} endpoint(s).", messages.SUCCESS)
        skipped = queryset.count() - len(live)
        if skipped:
            self.message_user(request, f"Skipped {skipped} deleted endpoint(s) (no URL).", messages.WARNING)

    @admin.action(description="Enable selected disabled endpoints", permissions=["operate"])
    def enable(self, request: HttpRequest, queryset: QuerySet[Endpoint]) -> None:
        disabled = list(queryset.filter(health=EndpointHealth.DISABLED).select_related("environment"))
        enabled = sum(
            endpoint_enable(endpoint=endpoint, by="operator", reason=f"Enabled by {request.user}")
            for endpoint in disabled
        )
        self.message_user(request, f"Enabled {enabled} endpoint(s). {ENABLED_MESSAGE}", messages.SUCCESS)

    @admin.action(description="Probe the function time limit of selected endpoints", permissions=["operate"])
    def probe(self, request: HttpRequest, queryset: QuerySet[Endpoint]) -> None:
        ids = endpoints_probe_request(endpoint_ids=list(queryset.values_list("id", flat=True)))
        self.message_user(request, f"Probing {len(ids)} endpoint(s); this takes up to two minutes.", messages.SUCCESS)

    @admin.action(
        description="Delete selected endpoints (clear the URL; jobs and history stay)", permissions=["operate"]
    )
    def soft_delete(self, request: HttpRequest, queryset: QuerySet[Endpoint]) -> None:
        count = endpoints_soft_delete(endpoint_ids=list(queryset.values_list("id", flat=True)))
        self.message_user(request, f"Deleted {count} endpoint(s); Restore (or registering the slug) brings them back.")

    @admin.action(description="Restore selected deleted endpoints (ping, then index)", permissions=["operate"])
    def restore(self, request: HttpRequest, queryset: QuerySet[Endpoint]) -> None:
        for endpoint in queryset.filter(url__isnull=True).select_related("environment"):
            try:
                endpoint_restore(endpoint=endpoint)
            except EndpointRegistrationError as exc:
                self.message_user(request, f"{endpoint.slug}: could not restore: {exc.message}", messages.ERROR)
            else:
                self.message_user(request, f"{endpoint.slug}: restored and queued for an index.", messages.SUCCESS)
