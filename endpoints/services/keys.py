"""API keys and hook identifiers in the shapes the v2 SDK and CLI expect (§3.1, §5.2)."""

from __future__ import annotations

import hmac
import re
import secrets
import string

from endpoints.models import EnvironmentType, RuntimeEnvironment

_KEY_ALPHABET = string.ascii_letters + string.digits
# The original alphabet has no "w"; keep it literally (§8).
HOOK_IDENTIFIER_ALPHABET = "0123456789abcdefghijklmnopqrstuvxyz"

ENV_KEY_PREFIX = {
    EnvironmentType.DEVELOPMENT: "dev",
    EnvironmentType.PRODUCTION: "prod",
    EnvironmentType.STAGING: "stg",
    EnvironmentType.PREVIEW: "prev",
}


def generate_api_key(env_type: str, *, public: bool) -> str:
    """`tr_<env>_<20 alnum>` (secret) or `pk_<env>_<20 alnum>` (public)."""
    random_part = "".join(secrets.choice(_KEY_ALPHABET) for _ in range(20))
    return f"{'pk' if public else 'tr'}_{ENV_KEY_PREFIX[EnvironmentType(env_type)]}_{random_part}"


def api_key_matches_type(key: str, env_type: str) -> bool:
    """A secret key of the given environment type that the SDK client would also accept."""
    prefix = ENV_KEY_PREFIX[EnvironmentType(env_type)]
    return re.fullmatch(rf"tr_{prefix}_[a-zA-Z0-9]+", key) is not None


def generate_hook_identifier() -> str:
    return "".join(secrets.choice(HOOK_IDENTIFIER_ALPHABET) for _ in range(10))


def constant_time_equals(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


def environment_api_keys(environment: RuntimeEnvironment) -> list[str]:
    """The keys to present to the environment's endpoints: the current one first, then the
    previous one while its rotation grace lasts."""
    if environment.previous_api_key and environment.previous_api_key_valid():
        return [environment.api_key, environment.previous_api_key]
    return [environment.api_key]
