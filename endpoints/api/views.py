"""Thin API views: check the input's shape, call a service, render the v2 shape."""

from __future__ import annotations

from django.conf import settings
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import exceptions, status
from rest_framework.authentication import BaseAuthentication
from rest_framework.parsers import BaseParser
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from endpoints.api import schema  # noqa: F401 - registers the bearer-key scheme
from endpoints.api import serializers as s
from endpoints.api.authentication import HasEnvironment
from endpoints.api.throttling import HookThrottle, IndexThrottle, RegisterThrottle
from endpoints.models import IndexSource, RuntimeEnvironment
from endpoints.selectors import endpoint_get, endpoint_index_get
from endpoints.services.hooks import endpoint_index_hook
from endpoints.services.indexing import endpoint_index_request, endpoint_index_wait
from endpoints.services.registration import endpoint_register, endpoint_register_from_url


class EnvironmentAPIView(APIView):
    permission_classes = [HasEnvironment]


def _environment(request: Request) -> RuntimeEnvironment:
    assert isinstance(request.auth, RuntimeEnvironment)  # HasEnvironment checked it
    return request.auth


UNAUTHORIZED = {401: OpenApiResponse(s.ErrorOutput, description="Invalid or Missing API key")}
THROTTLED = {
    429: OpenApiResponse(
        s.ErrorOutput, description="Rate limited (KONGFLOW_THROTTLE_*); the Retry-After header says when to retry."
    )
}


class WhoamiView(EnvironmentAPIView):
    @extend_schema(responses={200: s.WhoamiOutput, **UNAUTHORIZED})
    def get(self, request: Request) -> Response:
        return Response(s.WhoamiOutput(request.auth).data)


class EndpointRegisterView(EnvironmentAPIView):
    """POST /api/v1/endpoints: PING the URL, upsert the endpoint, queue its index (CLI `dev`)."""

    throttle_classes = [RegisterThrottle]

    @extend_schema(
        request=s.EndpointRegisterInput,
        responses={200: s.EndpointOutput, 400: s.ErrorOutput, **UNAUTHORIZED, **THROTTLED},
    )
    def post(self, request: Request) -> Response:
        data = s.EndpointRegisterInput(data=request.data)
        data.is_valid(raise_exception=True)
        registration = endpoint_register(
            environment=_environment(request), slug=data.validated_data["id"], url=data.validated_data["url"]
        )
        return Response(s.EndpointOutput(registration.endpoint, context={"index": registration.index}).data)


class EndpointValidateView(EnvironmentAPIView):
    """POST /api/v1/endpoints/validate: register from a URL alone; the slug comes from VALIDATE."""

    throttle_classes = [RegisterThrottle]

    @extend_schema(
        request=s.EndpointValidateInput,
        responses={200: s.EndpointOutput, 400: s.ErrorOutput, **UNAUTHORIZED, **THROTTLED},
    )
    def post(self, request: Request) -> Response:
        data = s.EndpointValidateInput(data=request.data)
        data.is_valid(raise_exception=True)
        registration = endpoint_register_from_url(environment=_environment(request), url=data.validated_data["url"])
        return Response(s.EndpointOutput(registration.endpoint, context={"index": registration.index}).data)


class EndpointIndexView(EnvironmentAPIView):
    """POST /api/v1/endpoints/<slug>/index: index now and answer with the finished run.

    Waits up to KONGFLOW_INDEX_API_WAIT_SECONDS; answers 202 with the pending run after that.
    """

    throttle_classes = [IndexThrottle]

    @extend_schema(
        request=s.EndpointIndexInput,
        responses={
            200: OpenApiResponse(s.EndpointIndexOutput, description="The finished run (also a FAILURE)."),
            202: OpenApiResponse(s.EndpointIndexOutput, description="Still running when the wait ran out."),
            400: s.ErrorOutput,
            404: s.ErrorOutput,
            **UNAUTHORIZED,
            **THROTTLED,
        },
    )
    def post(self, request: Request, endpoint_slug: str) -> Response:
        endpoint = endpoint_get(environment=_environment(request), slug=endpoint_slug)
        data = s.EndpointIndexInput(data=request.data if request.data is not None else {})
        if not data.is_valid():
            raise exceptions.ValidationError("Invalid body")
        index = endpoint_index_request(
            endpoint=endpoint,
            source=IndexSource.API,
            reason=data.validated_data.get("reason"),
            source_data=data.validated_data.get("data"),
            force=data.validated_data["force"],
        )
        index = endpoint_index_wait(index_id=index.id, timeout=settings.KONGFLOW_INDEX_API_WAIT_SECONDS)
        code = status.HTTP_200_OK if index.is_final else status.HTTP_202_ACCEPTED
        return Response(s.EndpointIndexOutput(index).data, status=code)


HOOK_RESPONSES = {
    200: s.HookOutput,
    403: s.ErrorOutput,
    404: s.ErrorOutput,
    409: OpenApiResponse(s.ErrorOutput, description="The endpoint is disabled (failed too often): how to enable it."),
    **THROTTLED,
}


class EndpointIndexHookView(APIView):
    """GET|POST /api/v1/endpoints/<environmentId>/<slug>/index/<hookIdentifier>: deploy hooks."""

    authentication_classes: list[type[BaseAuthentication]] = []
    permission_classes = [AllowAny]
    throttle_classes = [HookThrottle]
    parser_classes: list[type[BaseParser]] = []

    @extend_schema(operation_id="endpoint_index_hook_get", request=None, responses=HOOK_RESPONSES)
    def get(self, request: Request, environment_id: str, endpoint_slug: str, hook_identifier: str) -> Response:
        return self._trigger(request, environment_id, endpoint_slug, hook_identifier)

    @extend_schema(operation_id="endpoint_index_hook_post", request=None, responses=HOOK_RESPONSES)
    def post(self, request: Request, environment_id: str, endpoint_slug: str, hook_identifier: str) -> Response:
        return self._trigger(request, environment_id, endpoint_slug, hook_identifier)

    def _trigger(self, request: Request, environment_id: str, endpoint_slug: str, hook_identifier: str) -> Response:
        endpoint_index_hook(
            environment_id=environment_id,
            slug=endpoint_slug,
            hook_identifier=hook_identifier,
            raw_body=request.body if request.method == "POST" else b"",
        )
        return Response({"ok": True})


class EndpointIndexStatusView(EnvironmentAPIView):
    """GET /api/v1/endpointindex/<id>: the CLI polls this after registering."""

    @extend_schema(responses={200: s.IndexStatusOutput, 404: s.ErrorOutput, **UNAUTHORIZED})
    def get(self, request: Request, index_id: str) -> Response:
        index = endpoint_index_get(environment=_environment(request), index_id=index_id)
        return Response(s.IndexStatusOutput(index).data)
