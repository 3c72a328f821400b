"""OpenAPI: the bearer-key scheme. Response shapes are described by the output serializers that
render them (``endpoints.api.serializers``), so the schema cannot drift from the responses."""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class EnvironmentApiKeyScheme(OpenApiAuthenticationExtension):  # type: ignore[no-untyped-call]  # drf-spectacular: untyped __init_subclass__
    target_class = "endpoints.api.authentication.EnvironmentApiKeyAuthentication"
    name = "environmentApiKey"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "The environment's secret API key (tr_dev_…, tr_prod_…).",
        }
