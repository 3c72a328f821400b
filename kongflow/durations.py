"""Durations in settings: `90` (seconds), `90s`, `15m`, `24h`, `7d`."""

from __future__ import annotations

import re
from datetime import timedelta

from django.core.exceptions import ImproperlyConfigured

_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(name: str, value: str) -> timedelta:
    """The duration `value` of setting `name`; ImproperlyConfigured with one readable line otherwise."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*", value.lower())
    if match is None:
        raise ImproperlyConfigured(f"{name} must be a duration such as 3600, 90s, 15m, 24h or 7d (got {value!r})")
    return timedelta(seconds=float(match.group(1)) * _UNITS[match.group(2)])
