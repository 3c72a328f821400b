"""Operators' admin for alert channels (per environment: list, add, delete; a webhook URL is only
ever shown masked) and the notifications sent to them (read-only)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html

from endpoints.models import AlertChannel, AlertNotification
from endpoints.services import alerts

from .runs import ReadOnlyAdmin


class AlertChannelForm(forms.ModelForm):
    url = forms.CharField(
        required=False,
        max_length=2000,
        widget=forms.URLInput(attrs={"size": 80, "autocomplete": "off"}),
        help_text="For a Slack channel: its incoming-webhook URL (shown masked once saved).",
    )

    class Meta:
        model = AlertChannel
        fields = ("environment", "type", "email", "url")

    def clean_url(self) -> str | None:
        return self.cleaned_data.get("url") or None  # NULL for an e-mail channel (its check constraint)

    def clean(self) -> dict[str, Any]:
        cleaned: dict[str, Any] = super().clean() or {}
        environment, kind = cleaned.get("environment"), cleaned.get("type")
        if environment is not None and kind:
            try:  # the API's rules; the cap is checked again, under a lock, when it is created
                alerts.alert_channel_validate(
                    environment=environment, type=kind, email=cleaned.get("email") or "", url=cleaned.get("url") or ""
                )
                alerts.alert_room_check(environment=environment)
            except alerts.InvalidAlertChannel as exc:
                raise forms.ValidationError(exc.message) from exc
        return cleaned


@admin.register(AlertChannel)
class AlertChannelAdmin(admin.ModelAdmin):
    form = AlertChannelForm
    list_display = ("id", "environment", "type", "target", "suppressed", "notifications_link", "created_at")
    list_filter = ("type", "environment__type", "environment")
    list_select_related = ("environment",)
    search_fields = ("id", "email", "environment__slug")
    raw_id_fields = ("environment",)

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        if obj is None:
            return ("environment", "type", "email", "url")
        return ("environment", "type", "target", "suppressed", "notifications_link", "created_at")

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return () if obj is None else self.get_fields(request, obj)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # delete and add again: a channel has nothing else to change

    @admin.display(description="Sends to")
    def target(self, obj: AlertChannel) -> str:
        return obj.target_display

    @admin.display(description="Notifications")
    def notifications_link(self, obj: AlertChannel) -> str:
        url = reverse("admin:endpoints_alertnotification_changelist") + f"?channel__id__exact={obj.pk}"
        return format_html('<a href="{}">notifications</a>', url)

    def save_model(self, request: HttpRequest, obj: AlertChannel, form: Any, change: bool) -> None:
        data = form.cleaned_data
        created = alerts.alert_channel_create(
            environment=data["environment"], type=data["type"], email=data.get("email") or "", url=data.get("url") or ""
        )
        obj.pk, obj.created_at, obj.updated_at = created.pk, created.created_at, created.updated_at
        obj._state.adding = False

    def delete_model(self, request: HttpRequest, obj: AlertChannel) -> None:
        alerts.alert_channel_delete(channel=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[AlertChannel]) -> None:
        for channel in queryset:
            alerts.alert_channel_delete(channel=channel)


@admin.register(AlertNotification)
class AlertNotificationAdmin(ReadOnlyAdmin):
    list_display = (
        "created_at",
        "transition",
        "endpoint",
        "channel_target",
        "status",
        "attempts",
        "sent_at",
        "last_error",
    )
    list_filter = ("status", "transition", "channel__type", "channel__environment__type")
    list_select_related = ("channel", "endpoint")
    search_fields = ("id", "endpoint__slug", "event_id")
    ordering = ("-created_at",)
    show_full_result_count = False
    fields = (
        "channel_target",
        "endpoint",
        "transition",
        "status",
        "attempts",
        "next_attempt_at",
        "admitted_at",
        "suppressed_before",
        "sent_at",
        "last_error",
        "event_id",
        "streak",
        "subject",
        "message",
        "created_at",
    )
    readonly_fields = fields

    @admin.display(description="Channel", ordering="channel__type")
    def channel_target(self, obj: AlertNotification) -> str:
        return str(obj.channel)

    @admin.display(description="Message")
    def message(self, obj: AlertNotification) -> str:
        return format_html("<pre>{}</pre>", obj.text)
