"""Operators' admin for registry events: subscriptions (managed through services), every delivery
with its attempts (read-only, with a Resend action), and the outbox itself (read-only).

Imported from `endpoints/admin.py`; it does not import that module (no cycle when admin becomes a package).
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html

from endpoints.models import RegistryEvent, WebhookAttempt, WebhookDelivery, WebhookSubscription
from endpoints.services import events
from endpoints.services.events.signing import mask_secret
from endpoints.services.events.subscriptions import validate_events, validate_url
from endpoints.services.events.types import EVENT_TYPES

from .runs import ReadOnlyAdmin
from .widgets import pretty_json


class EventTypeFilter(admin.SimpleListFilter):
    """The event types Kongflow emits, from their list: not a DISTINCT over every event."""

    title = "type"
    parameter_name = "type"
    field = "type"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(kind, kind) for kind in sorted(EVENT_TYPES)]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        return queryset.filter(**{self.field: self.value()}) if self.value() else queryset


class DeliveryEventTypeFilter(EventTypeFilter):
    field = "event__type"


class SubscriptionForm(forms.ModelForm):
    class Meta:
        model = WebhookSubscription
        fields = ("environment", "url", "events", "description", "is_active")

    def clean_url(self) -> str:
        try:
            return validate_url(self.cleaned_data["url"])
        except events.InvalidSubscription as exc:
            raise ValidationError(exc.message) from exc

    def clean(self) -> dict[str, Any]:
        cleaned: dict[str, Any] = super().clean() or {}
        environment = cleaned.get("environment") or getattr(self.instance, "environment", None)
        if "url" in cleaned and environment is not None:
            try:  # a literal refused address (or localhost) outside DEVELOPMENT, as the API refuses it
                validate_url(cleaned["url"], environment=environment)
            except events.InvalidSubscription as exc:
                self.add_error("url", exc.message)
        if self.instance._state.adding and environment is not None:
            try:  # checked again, under a lock, when it is created
                events.subscription_room_check(environment=environment)
            except events.InvalidSubscription as exc:
                self.add_error("environment", exc.message)
        return cleaned

    def clean_events(self) -> list[str]:
        value = self.cleaned_data["events"]
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise ValidationError('A JSON list of event types, e.g. ["job.added"] or ["*"].')
        try:
            return validate_events(value)
        except events.InvalidSubscription as exc:
            raise ValidationError(exc.message) from exc


@admin.register(WebhookSubscription)
class WebhookSubscriptionAdmin(admin.ModelAdmin):
    form = SubscriptionForm
    list_display = ("id", "environment", "url", "events", "is_active", "failing_since", "disabled_reason", "created_at")
    list_filter = ("is_active", "environment__type")
    list_select_related = ("environment",)
    search_fields = ("id", "url", "description")
    raw_id_fields = ("environment",)
    readonly_fields = (
        "masked_secret",
        "previous_secret_expires_at",
        "disabled_at",
        "disabled_reason",
        "failing_since",
        "deliveries_link",
        "created_at",
        "updated_at",
    )
    actions = ("rotate_secret", "disable", "enable")

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return (*self.readonly_fields, "environment") if obj is not None else self.readonly_fields

    @admin.display(description="Secret")
    def masked_secret(self, obj: WebhookSubscription) -> str:
        return mask_secret(obj.secret) if obj.secret else "— (shown once, when saved)"

    @admin.display(description="Deliveries")
    def deliveries_link(self, obj: WebhookSubscription) -> str:
        if not obj.pk:
            return "—"
        url = reverse("admin:endpoints_webhookdelivery_changelist") + f"?subscription__id__exact={obj.pk}"
        return format_html('<a href="{}">{} deliveries</a>', url, obj.deliveries.count())

    def save_model(self, request: HttpRequest, obj: WebhookSubscription, form: Any, change: bool) -> None:
        if not change:
            created = events.subscription_create(
                environment=obj.environment, url=obj.url, events=obj.events, description=obj.description
            )
            obj.pk, obj.secret, obj.created_at, obj.updated_at = (
                created.pk,
                created.secret,
                created.created_at,
                created.updated_at,
            )
            obj._state.adding = False
            self.message_user(request, f"Signing secret (shown only now): {created.secret}", messages.WARNING)
            return
        changes = {name: form.cleaned_data[name] for name in form.changed_data if name != "environment"}
        current = WebhookSubscription.objects.get(pk=obj.pk)
        events.subscription_update(subscription=current, changes=changes)

    @admin.action(description="Rotate the signing secret (the old one stays valid for the grace period)")
    def rotate_secret(self, request: HttpRequest, queryset: QuerySet[WebhookSubscription]) -> None:
        for subscription in queryset:
            rotation = events.subscription_rotate_secret(subscription=subscription)
            self.message_user(
                request, f"{subscription.id}: new secret (shown only now): {rotation.secret}", messages.WARNING
            )

    @admin.action(description="Disable selected subscriptions")
    def disable(self, request: HttpRequest, queryset: QuerySet[WebhookSubscription]) -> None:
        count = sum(
            events.subscription_disable(subscription_id=s.id, reason=f"Disabled by {request.user}") for s in queryset
        )
        self.message_user(request, f"Disabled {count} subscription(s).")

    @admin.action(description="Enable selected subscriptions (pending deliveries resume)")
    def enable(self, request: HttpRequest, queryset: QuerySet[WebhookSubscription]) -> None:
        for subscription in queryset:
            events.subscription_update(subscription=subscription, changes={"is_active": True})
        self.message_user(request, f"Enabled {queryset.count()} subscription(s).")


class WebhookAttemptInline(admin.TabularInline):
    model = WebhookAttempt
    fields = ("started_at", "succeeded", "status_code", "duration_ms", "error", "response_preview")
    readonly_fields = fields
    ordering = ("-started_at",)
    extra = 0
    max_num = 0
    can_delete = False


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyAdmin):
    list_display = (
        "id",
        "event_type",
        "event_sequence",
        "subscription",
        "status",
        "attempts",
        "next_attempt_at",
        "last_attempt_at",
        "delivered_at",
    )
    list_filter = ("status", DeliveryEventTypeFilter)
    list_select_related = ("event", "subscription")
    search_fields = ("id", "event__id", "subscription__id", "subscription__url")
    raw_id_fields = ("subscription", "event")
    show_full_result_count = False
    inlines = (WebhookAttemptInline,)
    actions = ("resend",)

    @admin.display(description="Event", ordering="event__type")
    def event_type(self, obj: WebhookDelivery) -> str:
        return obj.event.type

    @admin.display(description="Sequence", ordering="event__sequence")
    def event_sequence(self, obj: WebhookDelivery) -> int:
        return obj.event.sequence

    @admin.action(description="Resend selected deliveries (same webhook-id)")
    def resend(self, request: HttpRequest, queryset: QuerySet[WebhookDelivery]) -> None:
        count = events.webhook_deliveries_resend(delivery_ids=list(queryset.values_list("id", flat=True)))
        self.message_user(request, f"Queued {count} delivery(ies) again.", messages.SUCCESS)


@admin.register(RegistryEvent)
class RegistryEventAdmin(ReadOnlyAdmin):
    list_display = ("sequence", "type", "environment", "occurred_at")
    list_filter = (EventTypeFilter, "environment__type")
    list_select_related = ("environment",)
    search_fields = ("id", "type")
    # Newest first, along registryevent_occurred (bench/scale.py); an environment's own order is its
    # sequence, which the column shows.
    ordering = ("-occurred_at",)
    show_full_result_count = False
    fields = ("id", "environment", "sequence", "type", "version", "occurred_at", "pretty_data")
    readonly_fields = fields

    @admin.display(description="Data")
    def pretty_data(self, obj: RegistryEvent) -> str:
        return pretty_json(obj.data, open_=True)
