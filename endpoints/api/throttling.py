"""Abuse limits (DRF throttling on the cache): each outbound PING, index and deploy hook costs
Kongflow a call to someone else's server, so callers get a budget.

Rates use DRF's syntax (``60/min``) and are read from settings on every request; an empty rate
turns a limit off. A cache that is down lets requests through (logged): limits must not take the
API down with them.
"""

from __future__ import annotations

import logging

from django.conf import settings
from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle
from rest_framework.views import APIView

from endpoints.models import RuntimeEnvironment

logger = logging.getLogger(__name__)


class _SettingsRateThrottle(SimpleRateThrottle):
    setting: str

    def get_rate(self) -> str | None:
        return getattr(settings, self.setting, None) or None

    def allow_request(self, request: Request, view: APIView) -> bool:
        try:
            return super().allow_request(request, view)
        except Exception:  # the cache (Redis) is unreachable: fail open
            logger.warning("api.throttle_unavailable", exc_info=True, extra={"scope": self.scope})
            return True


class _PerEnvironmentThrottle(_SettingsRateThrottle):
    def get_cache_key(self, request: Request, view: APIView) -> str | None:
        if not isinstance(request.auth, RuntimeEnvironment):
            return None  # authentication fails first
        return self.cache_format % {"scope": self.scope, "ident": request.auth.id}


class RegisterThrottle(_PerEnvironmentThrottle):
    """POST /api/v1/endpoints and …/validate, per environment: each one PINGs a URL."""

    scope = "register"
    setting = "KONGFLOW_THROTTLE_REGISTER"


class IndexThrottle(_PerEnvironmentThrottle):
    """POST /api/v1/endpoints/<slug>/index, per environment."""

    scope = "index"
    setting = "KONGFLOW_THROTTLE_INDEX"


class HookThrottle(_SettingsRateThrottle):
    """Deploy hooks (no authentication), per client address."""

    scope = "hook"
    setting = "KONGFLOW_THROTTLE_HOOK"

    def get_cache_key(self, request: Request, view: APIView) -> str | None:
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}
