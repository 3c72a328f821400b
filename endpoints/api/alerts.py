"""Alert channels of the key's environment: GET/POST /api/v1/alert-channels, DELETE /api/v1/alert-channels/<id>."""

from __future__ import annotations

import re
from typing import Any

from drf_spectacular.utils import PolymorphicProxySerializer, extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from endpoints.api.serializers import EndpointUrlField, ErrorOutput, JsDateTimeField
from endpoints.api.views import UNAUTHORIZED, EnvironmentAPIView
from endpoints.models import AlertChannel, AlertChannelType, RuntimeEnvironment
from endpoints.services import alerts
from endpoints.utils import mask_url


class EmailChannelInput(serializers.Serializer):
    type = serializers.ChoiceField(choices=[AlertChannelType.EMAIL.value])
    email = serializers.EmailField(max_length=254)


#: What RFC 3986 allows in a URI: no spaces, no non-ASCII (an international host name is given in
#: punycode), `%` only as an escape.
_URI = re.compile(r"(?:[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=]|%[0-9A-Fa-f]{2})+")


class WebhookUrlField(EndpointUrlField):
    """An endpoint-style URL that is also a URI (an incoming webhook's URL always is)."""

    def to_internal_value(self, data: Any) -> str:
        url = super().to_internal_value(data)
        if not _URI.fullmatch(url):
            self.fail("invalid")
        return url


class SlackChannelInput(serializers.Serializer):
    type = serializers.ChoiceField(choices=[AlertChannelType.SLACK.value])
    url = WebhookUrlField(help_text="A Slack-compatible incoming webhook (a JSON POST with `text`).")


CHANNEL_INPUT = PolymorphicProxySerializer(
    component_name="AlertChannelInput",
    serializers={"email": EmailChannelInput, "slack": SlackChannelInput},
    resource_type_field_name="type",
)


class AlertChannelOutput(serializers.Serializer):
    id = serializers.CharField()
    type = serializers.ChoiceField(choices=AlertChannelType.values)
    email = serializers.SerializerMethodField()
    url = serializers.SerializerMethodField(help_text="Masked: the URL is a credential.")
    createdAt = JsDateTimeField(source="created_at")

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_email(self, channel: AlertChannel) -> str | None:
        return channel.email or None

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_url(self, channel: AlertChannel) -> str | None:
        return mask_url(channel.url) if channel.url else None


def _environment(request: Request) -> RuntimeEnvironment:
    assert isinstance(request.auth, RuntimeEnvironment)  # HasEnvironment checked it
    return request.auth


def _input(data: Any) -> dict[str, Any]:
    kind = data.get("type") if isinstance(data, dict) else None
    if kind not in AlertChannelType.values:
        raise alerts.InvalidAlertChannel('type: "email" or "slack"')
    form = (EmailChannelInput if kind == AlertChannelType.EMAIL else SlackChannelInput)(data=data)
    form.is_valid(raise_exception=True)
    return dict(form.validated_data)


class AlertChannelListView(EnvironmentAPIView):
    """GET/POST /api/v1/alert-channels."""

    @extend_schema(responses={200: AlertChannelOutput(many=True), **UNAUTHORIZED})
    def get(self, request: Request) -> Response:
        channels = alerts.alert_channels_of(environment=_environment(request))
        return Response(AlertChannelOutput(channels, many=True).data)

    @extend_schema(request=CHANNEL_INPUT, responses={201: AlertChannelOutput, 400: ErrorOutput, **UNAUTHORIZED})
    def post(self, request: Request) -> Response:
        channel = alerts.alert_channel_create(environment=_environment(request), **_input(request.data))
        return Response(AlertChannelOutput(channel).data, status=status.HTTP_201_CREATED)


class AlertChannelDetailView(EnvironmentAPIView):
    """DELETE /api/v1/alert-channels/<id>."""

    @extend_schema(responses={204: None, 404: ErrorOutput, **UNAUTHORIZED})
    def delete(self, request: Request, channel_id: str) -> Response:
        channel = alerts.alert_channel_get(environment=_environment(request), channel_id=channel_id)
        alerts.alert_channel_delete(channel=channel)
        return Response(status=status.HTTP_204_NO_CONTENT)
