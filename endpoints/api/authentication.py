"""`Authorization: Bearer <secret key>` -> the key's RuntimeEnvironment (request.auth)."""

from __future__ import annotations

from typing import Any

from rest_framework import authentication, exceptions
from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from endpoints.models import RuntimeEnvironment
from endpoints.selectors import environment_for_api_key

INVALID_KEY = "Invalid or Missing API key"


class EnvironmentApiKeyAuthentication(authentication.BaseAuthentication):
    def authenticate(self, request: Request) -> tuple[None, RuntimeEnvironment]:
        header = request.META.get("HTTP_AUTHORIZATION", "")
        scheme, _, key = header.partition(" ")
        if scheme != "Bearer" or not key.strip():
            raise exceptions.AuthenticationFailed(INVALID_KEY)
        environment = environment_for_api_key(key.strip())
        if environment is None:
            raise exceptions.AuthenticationFailed(INVALID_KEY)
        return (None, environment)

    def authenticate_header(self, request: Request) -> str:
        return "Bearer"


class HasEnvironment(BasePermission):
    """Permission: the request authenticated as an environment (user is None for API keys)."""

    def has_permission(self, request: Request, view: Any) -> bool:
        return isinstance(request.auth, RuntimeEnvironment)

    def has_object_permission(self, request: Request, view: Any, obj: Any) -> bool:
        return True
