"""Registry events for pull consumers, and webhook subscriptions (per environment, by API key)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from endpoints.api import schema
from endpoints.api.authentication import HasEnvironment
from endpoints.api.serializers import EndpointUrlField, StrictCharField
from endpoints.models import RegistryEvent, RuntimeEnvironment, WebhookSubscription
from endpoints.services import events
from endpoints.utils import js_iso

UNAUTHORIZED = {401: OpenApiResponse(schema.ErrorOutput, description="Invalid or Missing API key")}


# --- input ------------------------------------------------------------------------------------
class RegistryEventsQuery(serializers.Serializer):
    after = serializers.IntegerField(min_value=0, default=0)
    limit = serializers.IntegerField(min_value=1, default=100)

    def validate_limit(self, value: int) -> int:
        return min(value, int(settings.KONGFLOW_REGISTRY_EVENTS_PAGE_MAX))


class SubscriptionCreateInput(serializers.Serializer):
    url = EndpointUrlField()
    events = serializers.ListField(child=StrictCharField(max_length=64), allow_empty=False, max_length=50)
    description = StrictCharField(max_length=500, required=False, allow_blank=True, default="")


class SubscriptionUpdateInput(serializers.Serializer):
    url = EndpointUrlField(required=False)
    events = serializers.ListField(
        child=StrictCharField(max_length=64), allow_empty=False, max_length=50, required=False
    )
    description = StrictCharField(max_length=500, required=False, allow_blank=True)
    isActive = serializers.BooleanField(required=False)


class RotateSecretInput(serializers.Serializer):
    graceSeconds = serializers.IntegerField(min_value=0, max_value=30 * 24 * 3600, required=False)


# --- output (documented shapes; the views render dicts) ----------------------------------------
class RegistryEventOutput(serializers.Serializer):
    id = serializers.CharField()
    sequence = serializers.IntegerField()
    type = serializers.CharField()
    version = serializers.IntegerField()
    timestamp = serializers.CharField()
    data = serializers.DictField()  # type: ignore[assignment]  # a documented field named like Serializer.data


class RegistryEventsPageOutput(serializers.Serializer):
    data = RegistryEventOutput(many=True)  # type: ignore[assignment]
    next = serializers.IntegerField(help_text="Pass as `after` to read the following page.")
    hasMore = serializers.BooleanField()


class SubscriptionOutput(serializers.Serializer):
    id = serializers.CharField()
    url = serializers.CharField()
    events = serializers.ListField(child=serializers.CharField())
    description = serializers.CharField()
    isActive = serializers.BooleanField()
    disabledAt = serializers.CharField(allow_null=True)
    disabledReason = serializers.CharField()
    createdAt = serializers.CharField()
    secret = serializers.CharField(required=False, help_text="Only in the answer that created or rotated it.")


def event_output(event: RegistryEvent) -> dict[str, Any]:
    return {
        "id": event.id,
        "sequence": event.sequence,
        "type": event.type,
        "version": event.version,
        "timestamp": js_iso(event.occurred_at),
        "data": event.data,
    }


def subscription_output(subscription: WebhookSubscription, *, secret: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": subscription.id,
        "url": subscription.url,
        "events": subscription.events,
        "description": subscription.description,
        "isActive": subscription.is_active,
        "disabledAt": js_iso(subscription.disabled_at) if subscription.disabled_at else None,
        "disabledReason": subscription.disabled_reason,
        "createdAt": js_iso(subscription.created_at),
    }
    if secret is not None:
        body["secret"] = secret
    return body


# --- views ------------------------------------------------------------------------------------
class EnvironmentAPIView(APIView):
    permission_classes: list[Any] = [HasEnvironment]


def _environment(request: Request) -> RuntimeEnvironment:
    assert isinstance(request.auth, RuntimeEnvironment)  # HasEnvironment checked it
    return request.auth


class RegistryEventsView(EnvironmentAPIView):
    """GET /api/v1/registry-events?after=<sequence>&limit=<n>: the environment's events, in order."""

    @extend_schema(
        parameters=[
            OpenApiParameter("after", int, description="Return events with a greater sequence (default 0)."),
            OpenApiParameter("limit", int, description="Page size (default 100, capped)."),
        ],
        responses={200: RegistryEventsPageOutput, 400: schema.ErrorOutput, **UNAUTHORIZED},
    )
    def get(self, request: Request) -> Response:
        query = RegistryEventsQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        after, limit = query.validated_data["after"], query.validated_data["limit"]
        page = events.registry_events_after(environment=_environment(request), after=after, limit=limit + 1)
        data = [event_output(event) for event in page[:limit]]
        return Response({"data": data, "next": data[-1]["sequence"] if data else after, "hasMore": len(page) > limit})


class SubscriptionListView(EnvironmentAPIView):
    """GET/POST /api/v1/event-subscriptions."""

    @extend_schema(responses={200: SubscriptionOutput(many=True), **UNAUTHORIZED})
    def get(self, request: Request) -> Response:
        subscriptions = WebhookSubscription.objects.filter(environment=_environment(request)).order_by("created_at")
        return Response([subscription_output(s) for s in subscriptions])

    @extend_schema(
        request=SubscriptionCreateInput,
        responses={201: SubscriptionOutput, 400: schema.ErrorOutput, **UNAUTHORIZED},
    )
    def post(self, request: Request) -> Response:
        data = SubscriptionCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        subscription = events.subscription_create(environment=_environment(request), **data.validated_data)
        return Response(subscription_output(subscription, secret=subscription.secret), status=status.HTTP_201_CREATED)


class SubscriptionDetailView(EnvironmentAPIView):
    """GET/PATCH/DELETE /api/v1/event-subscriptions/<id> (the secret is never shown again)."""

    @extend_schema(responses={200: SubscriptionOutput, 404: schema.ErrorOutput, **UNAUTHORIZED})
    def get(self, request: Request, subscription_id: str) -> Response:
        subscription = events.subscription_get(environment=_environment(request), subscription_id=subscription_id)
        return Response(subscription_output(subscription))

    @extend_schema(
        request=SubscriptionUpdateInput,
        responses={200: SubscriptionOutput, 400: schema.ErrorOutput, 404: schema.ErrorOutput, **UNAUTHORIZED},
    )
    def patch(self, request: Request, subscription_id: str) -> Response:
        subscription = events.subscription_get(environment=_environment(request), subscription_id=subscription_id)
        data = SubscriptionUpdateInput(data=request.data)
        data.is_valid(raise_exception=True)
        changes = dict(data.validated_data)
        if "isActive" in changes:
            changes["is_active"] = changes.pop("isActive")
        subscription = events.subscription_update(subscription=subscription, changes=changes)
        return Response(subscription_output(subscription))

    @extend_schema(responses={204: None, 404: schema.ErrorOutput, **UNAUTHORIZED})
    def delete(self, request: Request, subscription_id: str) -> Response:
        subscription = events.subscription_get(environment=_environment(request), subscription_id=subscription_id)
        events.subscription_delete(subscription=subscription)
        return Response(status=status.HTTP_204_NO_CONTENT)


class SubscriptionRotateSecretView(EnvironmentAPIView):
    """POST /api/v1/event-subscriptions/<id>/rotate-secret: a new secret, the old one valid for the grace."""

    @extend_schema(
        request=RotateSecretInput,
        responses={200: SubscriptionOutput, 400: schema.ErrorOutput, 404: schema.ErrorOutput, **UNAUTHORIZED},
    )
    def post(self, request: Request, subscription_id: str) -> Response:
        subscription = events.subscription_get(environment=_environment(request), subscription_id=subscription_id)
        data = RotateSecretInput(data=request.data)
        data.is_valid(raise_exception=True)
        rotation = events.subscription_rotate_secret(
            subscription=subscription, grace_seconds=data.validated_data.get("graceSeconds")
        )
        body = subscription_output(rotation.subscription, secret=rotation.secret)
        expires = rotation.previous_secret_expires_at
        body["previousSecretExpiresAt"] = js_iso(expires) if expires else None
        return Response(body)
