"""Operators' admin for runtime environments: API key rotation with a grace, and which endpoints
still answer only to the previous key. Registered from `endpoints.admin`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.timesince import timeuntil

from endpoints.errors import ApiKeyAlreadyRotated
from endpoints.models import RuntimeEnvironment
from endpoints.models.tenancy import mask_key
from endpoints.selectors import environment_key_status, environments_with_old_key_counts
from endpoints.services.environments import (
    environment_api_key_rotate,
    environment_endpoints_key_check,
    environment_previous_key_revoke,
)

ROTATE_TEMPLATE = "admin/endpoints/runtimeenvironment/rotate_key.html"


if TYPE_CHECKING:
    _ModelAdmin = admin.ModelAdmin[RuntimeEnvironment]
else:
    _ModelAdmin = admin.ModelAdmin  # not subscriptable at runtime


@admin.register(RuntimeEnvironment)
class RuntimeEnvironmentAdmin(_ModelAdmin):
    list_display = ("id", "project_name", "type", "masked_key", "grace_state", "old_key_endpoints", "created_at")
    list_filter = ("type",)
    list_select_related = ("project", "organization")
    search_fields = ("id", "slug", "project__slug", "project__name", "organization__slug")
    fields = (
        "id",
        "slug",
        "type",
        "organization",
        "project",
        "masked_key",
        "pk_api_key",
        "key_rotation",
        "auto_enable_internal_sources",
        "created_at",
        "updated_at",
    )
    readonly_fields = ("id", "masked_key", "pk_api_key", "key_rotation", "created_at", "updated_at")
    raw_id_fields = ("organization", "project")
    actions = ("rotate_api_key", "check_endpoint_keys")
    change_form_template = "admin/endpoints/runtimeenvironment/change_form.html"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # keys are minted by `manage.py createenvironment`

    def get_queryset(self, request: HttpRequest) -> QuerySet[RuntimeEnvironment]:
        # One annotated query for the list, whatever its length.
        return environments_with_old_key_counts(super().get_queryset(request))

    # -- columns ------------------------------------------------------------------------------------

    @admin.display(description="Project", ordering="project__name")
    def project_name(self, obj: RuntimeEnvironment) -> str:
        return f"{obj.project.name} ({obj.organization.title})"

    @admin.display(description="API key")
    def masked_key(self, obj: RuntimeEnvironment) -> str:
        return obj.masked_api_key if obj.api_key else "—"

    @admin.display(description="Previous key")
    def grace_state(self, obj: RuntimeEnvironment) -> str:
        if obj.previous_api_key_valid() and obj.previous_api_key_expires_at:
            return format_html(
                '<span class="kf-grace">works until {} (in {})</span>',
                obj.previous_api_key_expires_at.strftime("%Y-%m-%d %H:%M UTC"),
                timeuntil(obj.previous_api_key_expires_at),
            )
        return "—"

    @admin.display(description="Endpoints on the old key")
    def old_key_endpoints(self, obj: RuntimeEnvironment) -> str:
        count = getattr(obj, "old_key_endpoints_count", 0)
        if not obj.previous_api_key_valid():
            return "—"
        return format_html('<strong class="kf-old-key-count">{}</strong>', count) if count else "0"

    @admin.display(description="Key rotation")
    def key_rotation(self, obj: RuntimeEnvironment) -> str:
        if not obj.pk:
            return "—"
        status = environment_key_status(environment=obj)
        if status.in_grace and status.previous_key_expires_at:
            headline = format_html(
                '<p id="kf-grace-state"><strong>Rotation grace:</strong> the previous key ({}) still works until '
                "<strong>{}</strong> (in {}). Endpoints on it must be redeployed with the new key before then.</p>",
                _masked(obj.previous_api_key),
                status.previous_key_expires_at.strftime("%Y-%m-%d %H:%M:%S UTC"),
                timeuntil(status.previous_key_expires_at),
            )
        elif status.rotated_at:
            headline = format_html(
                '<p id="kf-grace-state">Last rotated {}; the previous key ({}) no longer works.</p>',
                status.rotated_at.strftime("%Y-%m-%d %H:%M:%S UTC"),
                _masked(obj.previous_api_key),
            )
        else:
            headline = format_html('<p id="kf-grace-state">{}</p>', "This key has never been rotated.")
        old = status.on("previous")
        if status.rotated_at is None:
            return headline
        if not old:
            listing = format_html(
                '<p id="kf-old-key-endpoints">{}</p>', "No endpoint answers only to the previous key."
            )
        else:
            listing = format_html(
                "<p>Endpoints that last accepted only the previous key (redeploy them with the new one):</p>"
                '<ul id="kf-old-key-endpoints" style="margin-left:0; padding-left:1.2em">{}</ul>',
                format_html_join(
                    "",
                    '<li><a href="{}">{}</a> <code>{}</code></li>',
                    ((reverse("admin:endpoints_endpoint_change", args=[e.id]), e.slug, e.url) for e in old),
                ),
            )
        unknown = status.on("unknown")
        tail = (
            format_html(
                "<p>{} endpoint(s) not contacted since the rotation: {} (<em>Check endpoints now</em> pings them).</p>",
                len(unknown),
                ", ".join(e.slug for e in unknown),
            )
            if unknown
            else ""
        )
        return format_html(
            "{}{}<p>{} endpoint(s) answer to the new key.</p>{}", headline, listing, len(status.on("current")), tail
        )

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        environment = RuntimeEnvironment.objects.filter(id=object_id).first()
        in_grace = environment is not None and environment.previous_api_key_valid()
        return super().change_view(request, object_id, form_url, {**(extra_context or {}), "in_grace": in_grace})

    # -- rotation -----------------------------------------------------------------------------------

    def get_urls(self) -> list[URLPattern]:
        view = self.admin_site.admin_view
        return [
            path(
                "<path:object_id>/rotate-key/", view(self.rotate_key_view), name="endpoints_runtimeenvironment_rotate"
            ),
            path(
                "<path:object_id>/end-grace/", view(self.end_grace_view), name="endpoints_runtimeenvironment_end_grace"
            ),
            path(
                "<path:object_id>/check-keys/",
                view(self.check_keys_view),
                name="endpoints_runtimeenvironment_check_keys",
            ),
            *super().get_urls(),
        ]

    @admin.action(description="Rotate the API key (asks for confirmation)")
    def rotate_api_key(self, request: HttpRequest, queryset: QuerySet[RuntimeEnvironment]) -> HttpResponse | None:
        ids = list(queryset.values_list("id", flat=True)[:2])
        if len(ids) != 1:
            self.message_user(request, "Select exactly one environment to rotate its key.", messages.WARNING)
            return None
        return HttpResponseRedirect(reverse("admin:endpoints_runtimeenvironment_rotate", args=[ids[0]]))

    @admin.action(description="Ping their endpoints to learn which key each accepts")
    def check_endpoint_keys(self, request: HttpRequest, queryset: QuerySet[RuntimeEnvironment]) -> None:
        count = sum(environment_endpoints_key_check(environment_id=pk) for pk in queryset.values_list("id", flat=True))
        self.message_user(
            request, f"Pinging {count} endpoint(s); reload the environment page in a moment.", messages.SUCCESS
        )

    def check_keys_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        environment = self._environment(request, object_id)
        if request.method == "POST":
            count = environment_endpoints_key_check(environment_id=environment.id)
            self.message_user(request, f"Pinging {count} endpoint(s); reload this page in a moment.", messages.SUCCESS)
        return HttpResponseRedirect(reverse("admin:endpoints_runtimeenvironment_change", args=[environment.id]))

    def rotate_key_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        environment = self._environment(request, object_id)
        context: dict[str, Any] = {**self._context(request, environment, "Rotate API key")}
        if request.method == "POST":
            try:
                rotation = environment_api_key_rotate(
                    environment_id=environment.id, expected_key_hash=request.POST.get("rotating", "")
                )
            except ApiKeyAlreadyRotated as exc:
                self.message_user(request, str(exc), messages.WARNING)
                return HttpResponseRedirect(reverse("admin:endpoints_runtimeenvironment_change", args=[environment.id]))
            # Shown once, on this response only: the environment page shows it masked.
            context.update(rotated=True, new_key=rotation.api_key, expires_at=rotation.previous_key_expires_at)
            context["environment"] = rotation.environment
        else:
            context.update(rotated=False, grace=self._grace_text(), in_grace=environment.previous_api_key_valid())
        return TemplateResponse(request, ROTATE_TEMPLATE, context)  # admin_view adds no-store

    def end_grace_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        environment = self._environment(request, object_id)
        if request.method == "POST":
            if environment_previous_key_revoke(environment_id=environment.id):
                self.message_user(request, "The previous API key no longer works.", messages.SUCCESS)
            else:
                self.message_user(request, "There was no previous key to revoke.", messages.WARNING)
            return HttpResponseRedirect(reverse("admin:endpoints_runtimeenvironment_change", args=[environment.id]))
        context = {**self._context(request, environment, "End the rotation grace"), "end_grace": True}
        context["old_key_endpoints"] = environment_key_status(environment=environment).on("previous")
        return TemplateResponse(request, ROTATE_TEMPLATE, context)

    def _environment(self, request: HttpRequest, object_id: str) -> RuntimeEnvironment:
        environment = get_object_or_404(
            RuntimeEnvironment.objects.select_related("project", "organization"), id=object_id
        )
        if not self.has_change_permission(request, environment):
            raise PermissionDenied
        return environment

    def _context(self, request: HttpRequest, environment: RuntimeEnvironment, title: str) -> dict[str, Any]:
        return {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": title,
            "environment": environment,
            "original": environment,
            "now": timezone.now(),
        }

    @staticmethod
    def _grace_text() -> str:
        grace = settings.KONGFLOW_KEY_ROTATION_GRACE
        hours = grace.total_seconds() / 3600
        return f"{hours:g} hour(s)" if hours >= 1 else f"{grace.total_seconds():g} second(s)"


def _masked(key: str | None) -> str:
    return mask_key(key) if key else "—"
