"""Registry events for pull consumers, and webhook subscriptions (per environment, by API key)."""

from __future__ import annotations

from django.conf import settings
from django.utils.cache import add_never_cache_headers
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from endpoints.api.serializers import EndpointUrlField, ErrorOutput, JsDateTimeField, QueryInput, StrictCharField
from endpoints.api.views import UNAUTHORIZED, EnvironmentAPIView
from endpoints.models import RuntimeEnvironment, WebhookSubscription
from endpoints.services import events
from endpoints.utils import js_iso


# --- input ------------------------------------------------------------------------------------
class RegistryEventsQuery(QueryInput):
    after = serializers.IntegerField(min_value=0, default=0, help_text="Return events with a greater sequence.")
    limit = serializers.IntegerField(min_value=1, default=100, help_text="Page size (capped by the server).")

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


# --- output: each serializer renders its response and is what the schema says about it ---------
class RegistryEventOutput(serializers.Serializer):
    id = serializers.CharField()
    sequence = serializers.IntegerField()
    type = serializers.CharField()
    version = serializers.IntegerField()
    timestamp = JsDateTimeField(source="occurred_at")
    data = serializers.JSONField()  # type: ignore[assignment]  # a documented field named like Serializer.data


class RegistryEventsPageOutput(serializers.Serializer):
    data = RegistryEventOutput(many=True)  # type: ignore[assignment]
    next = serializers.IntegerField(help_text="Pass as `after` to read the following page.")
    hasMore = serializers.BooleanField()


class SubscriptionOutput(serializers.Serializer):
    id = serializers.CharField()
    url = serializers.CharField()
    events = serializers.ListField(child=serializers.CharField())
    description = serializers.CharField()
    isActive = serializers.BooleanField(source="is_active")
    disabledAt = JsDateTimeField(source="disabled_at", allow_null=True)
    disabledReason = serializers.CharField(source="disabled_reason")
    createdAt = JsDateTimeField(source="created_at")


class SubscriptionSecretOutput(SubscriptionOutput):
    """The answer that created or rotated a subscription: the only one that shows the secret."""

    secret = serializers.SerializerMethodField()

    def get_secret(self, subscription: WebhookSubscription) -> str:
        return str(self.context["secret"])


class SubscriptionRotatedOutput(SubscriptionSecretOutput):
    """The answer to a rotation: the new secret, and until when the previous one still signs."""

    previousSecretExpiresAt = serializers.SerializerMethodField()

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_previousSecretExpiresAt(self, subscription: WebhookSubscription) -> str | None:
        expires = self.context.get("previous_secret_expires_at")
        return js_iso(expires) if expires else None


# --- views ------------------------------------------------------------------------------------
def _environment(request: Request) -> RuntimeEnvironment:
    assert isinstance(request.auth, RuntimeEnvironment)  # HasEnvironment checked it
    return request.auth


def _carries_secret(response: Response) -> Response:
    """No cache (browser, proxy) may keep an answer that shows a secret."""
    add_never_cache_headers(response)
    return response


class RegistryEventsView(EnvironmentAPIView):
    """GET /api/v1/registry-events?after=<sequence>&limit=<n>: the environment's events, in order."""

    @extend_schema(
        parameters=[RegistryEventsQuery],
        responses={200: RegistryEventsPageOutput, 400: ErrorOutput, **UNAUTHORIZED},
    )
    def get(self, request: Request) -> Response:
        query = RegistryEventsQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        after, limit = query.validated_data["after"], query.validated_data["limit"]
        page = events.registry_events_after(environment=_environment(request), after=after, limit=limit + 1)
        data = page[:limit]
        body = {"data": data, "next": data[-1].sequence if data else after, "hasMore": len(page) > limit}
        return Response(RegistryEventsPageOutput(body).data)


class SubscriptionListView(EnvironmentAPIView):
    """GET/POST /api/v1/event-subscriptions."""

    @extend_schema(responses={200: SubscriptionOutput(many=True), **UNAUTHORIZED})
    def get(self, request: Request) -> Response:
        subscriptions = events.subscriptions_of(environment=_environment(request))
        return Response(SubscriptionOutput(subscriptions, many=True).data)

    @extend_schema(
        request=SubscriptionCreateInput,
        responses={201: SubscriptionSecretOutput, 400: ErrorOutput, **UNAUTHORIZED},
    )
    def post(self, request: Request) -> Response:
        data = SubscriptionCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        subscription = events.subscription_create(environment=_environment(request), **data.validated_data)
        body = SubscriptionSecretOutput(subscription, context={"secret": subscription.secret}).data
        return _carries_secret(Response(body, status=status.HTTP_201_CREATED))


class SubscriptionDetailView(EnvironmentAPIView):
    """GET/PATCH/DELETE /api/v1/event-subscriptions/<id> (the secret is never shown again)."""

    @extend_schema(responses={200: SubscriptionOutput, 404: ErrorOutput, **UNAUTHORIZED})
    def get(self, request: Request, subscription_id: str) -> Response:
        subscription = events.subscription_get(environment=_environment(request), subscription_id=subscription_id)
        return Response(SubscriptionOutput(subscription).data)

    @extend_schema(
        request=SubscriptionUpdateInput,
        responses={200: SubscriptionOutput, 400: ErrorOutput, 404: ErrorOutput, **UNAUTHORIZED},
    )
    def patch(self, request: Request, subscription_id: str) -> Response:
        subscription = events.subscription_get(environment=_environment(request), subscription_id=subscription_id)
        data = SubscriptionUpdateInput(data=request.data)
        data.is_valid(raise_exception=True)
        changes = dict(data.validated_data)
        if "isActive" in changes:
            changes["is_active"] = changes.pop("isActive")
        subscription = events.subscription_update(subscription=subscription, changes=changes)
        return Response(SubscriptionOutput(subscription).data)

    @extend_schema(responses={204: None, 404: ErrorOutput, **UNAUTHORIZED})
    def delete(self, request: Request, subscription_id: str) -> Response:
        subscription = events.subscription_get(environment=_environment(request), subscription_id=subscription_id)
        events.subscription_delete(subscription=subscription)
        return Response(status=status.HTTP_204_NO_CONTENT)


class SubscriptionRotateSecretView(EnvironmentAPIView):
    """POST /api/v1/event-subscriptions/<id>/rotate-secret: a new secret, the old one valid for the grace."""

    @extend_schema(
        request=RotateSecretInput,
        responses={200: SubscriptionRotatedOutput, 400: ErrorOutput, 404: ErrorOutput, **UNAUTHORIZED},
    )
    def post(self, request: Request, subscription_id: str) -> Response:
        subscription = events.subscription_get(environment=_environment(request), subscription_id=subscription_id)
        data = RotateSecretInput(data=request.data)
        data.is_valid(raise_exception=True)
        rotation = events.subscription_rotate_secret(
            subscription=subscription, grace_seconds=data.validated_data.get("graceSeconds")
        )
        context = {"secret": rotation.secret, "previous_secret_expires_at": rotation.previous_secret_expires_at}
        return _carries_secret(Response(SubscriptionRotatedOutput(rotation.subscription, context=context).data))
