"""Add an endpoint from the admin: the registration service pings it first; its error shows under the field."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html

from endpoints.errors import EndpointRegistrationError
from endpoints.models import RuntimeEnvironment
from endpoints.services.registration import endpoint_register, endpoint_register_from_url

if TYPE_CHECKING:
    from django.contrib.admin import ModelAdmin


class EnvironmentChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return f"{obj.project.name} / {obj.slug} ({obj.type})"


class AddEndpointForm(forms.Form):
    environment = EnvironmentChoiceField(
        queryset=RuntimeEnvironment.objects.select_related("project").order_by("project__name", "slug")
    )
    url = forms.CharField(
        label="URL",
        max_length=2000,
        widget=forms.URLInput(attrs={"size": 70, "placeholder": "https://my-app.example.com/api/trigger"}),
    )
    slug = forms.CharField(
        label="Endpoint id",
        max_length=200,
        required=False,
        help_text="The id the SDK was created with (`new TriggerClient({ id })`). Leave empty to ask the "
        "endpoint (VALIDATE, SDK 2.0.4 and later).",
    )

    def clean_url(self) -> str:
        url: str = self.cleaned_data["url"].strip()
        try:
            parts = urlsplit(url)
            parts.port  # noqa: B018 - raises ValueError on a bad port
        except ValueError:
            raise forms.ValidationError("Invalid url") from None
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise forms.ValidationError("Invalid url: an absolute http(s) URL is needed")
        return url


def add_endpoint_view(model_admin: ModelAdmin[Any], request: HttpRequest) -> HttpResponse:
    if not model_admin.has_add_permission(request):
        raise PermissionDenied
    form = AddEndpointForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        environment = form.cleaned_data["environment"]
        url, slug = form.cleaned_data["url"], form.cleaned_data["slug"]
        try:
            if slug:
                registration = endpoint_register(environment=environment, slug=slug, url=url)
            else:
                registration = endpoint_register_from_url(environment=environment, url=url)
        except EndpointRegistrationError as exc:
            form.add_error("url", f"The endpoint did not answer the ping: {exc.message}")
        else:
            endpoint = registration.endpoint
            model_admin.message_user(
                request,
                format_html("Registered {}: the ping succeeded and an index run is queued.", endpoint.slug),
                messages.SUCCESS,
            )
            return HttpResponseRedirect(reverse("admin:endpoints_endpoint_change", args=[endpoint.id]))
    context = {
        **model_admin.admin_site.each_context(request),
        "opts": model_admin.model._meta,
        "title": "Add endpoint",
        "form": form,
    }
    return TemplateResponse(request, "admin/endpoints/endpoint/add.html", context)
