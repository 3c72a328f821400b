"""The registry as an API: what each endpoint of the key's environment exposes, its health and
its index history (cursor pages), soft delete, and a dry run of an index (`plan`).

Views are thin: a query serializer checks the filters, a selector of `endpoints.selectors_api`
reads (always within the key's environment: another environment's slug is a 404), and a service
writes (`endpoint_soft_delete`) or fetches (`endpoint_index_preview`, the console's dry run).
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import BaseThrottle

from endpoints import selectors_api
from endpoints.api import pagination
from endpoints.api import registry_serializers as r
from endpoints.api.authentication import HasEnvironment
from endpoints.api.serializers import ErrorOutput
from endpoints.api.throttling import IndexThrottle
from endpoints.api.views import THROTTLED, UNAUTHORIZED, EndpointRegisterView, EnvironmentAPIView, _environment
from endpoints.errors import EndpointNotFound
from endpoints.models import DynamicTriggerType, Endpoint
from endpoints.selectors import endpoint_get
from endpoints.services.indexing import endpoint_index_preview
from endpoints.services.lifecycle import endpoint_soft_delete

NOT_FOUND = {404: OpenApiResponse(ErrorOutput, description="No such endpoint in the key's environment.")}
BAD_QUERY = {400: OpenApiResponse(ErrorOutput, description="An unknown or invalid query parameter.")}
LIST_ERRORS = {**BAD_QUERY, **UNAUTHORIZED}
PAGE_NOT_FOUND = {404: OpenApiResponse(ErrorOutput, description="No such endpoint, or an invalid cursor.")}


class _Page(generics.GenericAPIView):
    """A cursor page of one selector's queryset, rendered by `serializer_class`."""

    permission_classes = [HasEnvironment]
    query: type[r.PageQuery] = r.PageQuery

    def filters(self, request: Request) -> dict[str, Any]:
        query = self.query(data=request.query_params)
        query.is_valid(raise_exception=True)
        return {k: v for k, v in query.validated_data.items() if k not in ("cursor", "limit")}

    def page(self, queryset: QuerySet[Any]) -> list[Any]:
        return list(self.paginate_queryset(queryset) or [])

    def respond(self, rows: list[Any]) -> Response:
        return self.get_paginated_response(self.get_serializer(rows, many=True).data)


class EndpointsView(EndpointRegisterView, _Page):
    """POST /api/v1/endpoints: PING the URL, upsert the endpoint, queue its index (CLI `dev`)."""

    query = r.EndpointsQuery
    serializer_class = r.EndpointSummaryOutput
    pagination_class = pagination.BySlug

    def get_throttles(self) -> list[BaseThrottle]:
        return super().get_throttles() if self.request.method == "POST" else []

    @extend_schema(
        operation_id="v1_endpoints_list",
        description="The environment's endpoints (by slug) with their health, counts and latest runs; "
        "soft-deleted ones only with health=DELETED.",
        parameters=[r.EndpointsQuery],
        responses={200: r.EndpointSummaryOutput(many=True), **LIST_ERRORS, 404: ErrorOutput},
    )
    def get(self, request: Request) -> Response:
        rows = self.page(selectors_api.endpoints_list(environment=_environment(request), **self.filters(request)))
        selectors_api.endpoints_attach_latest_runs(rows)
        return self.respond(rows)


class EndpointDetailView(EnvironmentAPIView):
    """GET|DELETE /api/v1/endpoints/<slug>: one endpoint (also soft-deleted), or its soft delete."""

    @extend_schema(responses={200: r.EndpointSummaryOutput, **NOT_FOUND, **UNAUTHORIZED})
    def get(self, request: Request, endpoint_slug: str) -> Response:
        endpoint = selectors_api.endpoint_summary_get(environment=_environment(request), slug=endpoint_slug)
        if endpoint is None:
            raise EndpointNotFound()
        return Response(r.EndpointSummaryOutput(endpoint, context={"request": request}).data)

    @extend_schema(
        description="Soft delete: the URL is cleared, jobs and history stay; registering the slug again "
        "restores it. Deleting a deleted endpoint is a 204 too.",
        responses={204: None, **NOT_FOUND, **UNAUTHORIZED},
    )
    def delete(self, request: Request, endpoint_slug: str) -> Response:
        endpoint_soft_delete(endpoint=endpoint_get(environment=_environment(request), slug=endpoint_slug))
        return Response(status=status.HTTP_204_NO_CONTENT)


class _EndpointPage(_Page):
    """A page of something of one endpoint of the key's environment."""

    def endpoint(self, request: Request, slug: str) -> Endpoint:
        return endpoint_get(environment=_environment(request), slug=slug)


class EndpointIndexesView(_EndpointPage):
    """GET /api/v1/endpoints/<slug>/indexes: index runs, newest first."""

    query = r.IndexesQuery
    serializer_class = r.IndexRunOutput
    pagination_class = pagination.NewestFirst

    @extend_schema(
        parameters=[r.IndexesQuery],
        responses={200: r.IndexRunOutput(many=True), **LIST_ERRORS, **PAGE_NOT_FOUND},
    )
    def get(self, request: Request, endpoint_slug: str) -> Response:
        endpoint = self.endpoint(request, endpoint_slug)
        return self.respond(self.page(selectors_api.endpoint_runs_list(endpoint=endpoint, **self.filters(request))))


class EndpointJobsView(_EndpointPage):
    """GET /api/v1/endpoints/<slug>/jobs: the jobs whose latest version is on the endpoint."""

    query = r.JobsQuery
    serializer_class = r.JobOutput
    pagination_class = pagination.BySlug

    @extend_schema(parameters=[r.JobsQuery], responses={200: r.JobOutput(many=True), **LIST_ERRORS, **PAGE_NOT_FOUND})
    def get(self, request: Request, endpoint_slug: str) -> Response:
        endpoint = self.endpoint(request, endpoint_slug)
        return self.respond(self.page(selectors_api.endpoint_jobs_list(endpoint=endpoint, **self.filters(request))))


class EndpointSourcesView(_EndpointPage):
    """GET /api/v1/endpoints/<slug>/sources: its trigger sources."""

    query = r.ActiveQuery
    serializer_class = r.SourceOutput
    pagination_class = pagination.ByKey

    @extend_schema(
        parameters=[r.ActiveQuery], responses={200: r.SourceOutput(many=True), **LIST_ERRORS, **PAGE_NOT_FOUND}
    )
    def get(self, request: Request, endpoint_slug: str) -> Response:
        endpoint = self.endpoint(request, endpoint_slug)
        return self.respond(self.page(selectors_api.endpoint_sources_list(endpoint=endpoint, **self.filters(request))))


class _DynamicTriggersView(_EndpointPage):
    query = r.ActiveQuery
    serializer_class = r.DynamicTriggerOutput
    pagination_class = pagination.BySlug
    trigger_type: str

    def get(self, request: Request, endpoint_slug: str) -> Response:
        endpoint = self.endpoint(request, endpoint_slug)
        rows = selectors_api.endpoint_dynamic_triggers_list(
            endpoint=endpoint, trigger_type=self.trigger_type, **self.filters(request)
        )
        return self.respond(self.page(rows))


_TRIGGERS_SCHEMA = extend_schema(
    parameters=[r.ActiveQuery], responses={200: r.DynamicTriggerOutput(many=True), **LIST_ERRORS, **PAGE_NOT_FOUND}
)


@_TRIGGERS_SCHEMA
class EndpointTriggersView(_DynamicTriggersView):
    """GET /api/v1/endpoints/<slug>/triggers: its dynamic triggers."""

    trigger_type = DynamicTriggerType.EVENT


@_TRIGGERS_SCHEMA
class EndpointSchedulesView(_DynamicTriggersView):
    """GET /api/v1/endpoints/<slug>/schedules: its dynamic schedules."""

    trigger_type = DynamicTriggerType.SCHEDULE


class EndpointPlanView(EnvironmentAPIView):
    """POST /api/v1/endpoints/<slug>/plan: fetch the index now and answer what an index would add,
    remove and change, writing nothing (the console's Dry run: `endpoint_index_preview`)."""

    throttle_classes = [IndexThrottle]

    @extend_schema(
        request=None,
        responses={
            200: OpenApiResponse(
                r.PlanOutput, description="The dry run; a fetch that failed is a 200 with status FAILURE."
            ),
            **NOT_FOUND,
            **UNAUTHORIZED,
            **THROTTLED,
        },
    )
    def post(self, request: Request, endpoint_slug: str) -> Response:
        endpoint = endpoint_get(environment=_environment(request), slug=endpoint_slug)
        return Response(r.PlanOutput(endpoint_index_preview(endpoint=endpoint)).data)
