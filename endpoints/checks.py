"""System checks of our own (`manage.py check --deploy`)."""

from __future__ import annotations

from typing import Any

from django.core.checks import Warning as CheckWarning

from kongflow.encryption import SETTING, uses_derived_key


def encryption_keys_check(app_configs: Any, **kwargs: Any) -> list[CheckWarning]:
    if not uses_derived_key():
        return []
    return [
        CheckWarning(
            f"{SETTING} is not set: API keys and webhook secrets are encrypted with a key derived from "
            "DJANGO_SECRET_KEY.",
            hint=f"Set {SETTING} to a key of its own (docs/security.md), then run `manage.py reencrypt`.",
            id="kongflow.W001",
        )
    ]
