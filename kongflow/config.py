"""Reading the environment: every bad value is one line naming the setting, and the database is
DATABASE_URL or else the embedded PostgreSQL that `make run` started in var/ (kongflow.embedded_db).

Settings read their variables through `Env` (django-environ's, made strict): a value that is not
what the setting takes raises ImproperlyConfigured naming the variable and the value, which
manage.py, gunicorn (gunicorn.conf.py) and celery (kongflow.celery) print as one line.
"""

from __future__ import annotations

import re
import sys
import warnings
from pathlib import Path
from typing import Any, NoReturn

import environ
from django.core.exceptions import ImproperlyConfigured

# What `make run` (scripts/run, kongflow.embedded_db) keeps in var/ while its PostgreSQL runs.
EMBEDDED_PGDATA = "postgres"
EMBEDDED_URL_FILE = "database_url"

_TRUE = frozenset(environ.Env.BOOLEAN_TRUE_STRINGS)
_FALSE = frozenset({"false", "off", "no", "n", "0", ""})


def _bool(raw: str) -> bool:
    value = raw.strip().lower()
    if value not in _TRUE | _FALSE:
        raise ValueError("not a boolean")
    return value in _TRUE


_STRICT: dict[Any, tuple[str, Any]] = {
    bool: ("a boolean (on/off, true/false, yes/no, 1/0)", _bool),
    int: ("an integer", int),
    float: ("a number", float),
}


class Env(environ.Env):  # type: ignore[misc]  # environ: untyped
    """django-environ's Env, strict: `abc` is not a number and `maybe` is not a boolean (Env reads
    `12abc` as 12 and anything unknown as False); every failure is ImproperlyConfigured naming the
    variable and its value."""

    def get_value(
        self, var: str, cast: Any = None, default: Any = environ.Env.NOTSET, parse_default: bool = False
    ) -> Any:
        raw = self.ENVIRON.get(var)
        if raw is not None and isinstance(cast, type) and cast in _STRICT:
            kind, parse = _STRICT[cast]
            try:
                return parse(raw)
            except ValueError:
                raise ImproperlyConfigured(f"{var} must be {kind} (got {raw!r})") from None
        try:
            return super().get_value(var, cast=cast, default=default, parse_default=parse_default)
        except (ValueError, TypeError) as exc:
            shown = _redacted(raw) if raw is not None else raw
            raise ImproperlyConfigured(f"{var} is not valid (got {shown!r}: {exc})") from None


def database(env: Env, var_dir: Path) -> dict[str, Any]:
    """DATABASES["default"] from DATABASE_URL, else from the embedded PostgreSQL running in var_dir."""
    url = env.str("DATABASE_URL", default="") or embedded_database_url(var_dir)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "Engine not recognized": refused below, in one line
            config: dict[str, Any] = env.db_url_config(url)
    except (ValueError, KeyError) as exc:
        raise ImproperlyConfigured(f"DATABASE_URL is not a database URL (got {_redacted(url)!r}: {exc})") from None
    if config.get("ENGINE") != "django.db.backends.postgresql":
        raise ImproperlyConfigured(
            f"DATABASE_URL must be a PostgreSQL URL, postgres://USER:PASSWORD@HOST:PORT/NAME (got {_redacted(url)!r})"
        )
    return config


def embedded_database_url(var_dir: Path) -> str:
    """The URL the embedded PostgreSQL of `make run` wrote to var_dir, while it runs."""
    url_file = var_dir / EMBEDDED_URL_FILE
    if url_file.is_file() and (var_dir / EMBEDDED_PGDATA / "postmaster.pid").is_file():
        return url_file.read_text().strip()
    raise ImproperlyConfigured(
        f"DATABASE_URL is not set and no embedded PostgreSQL is running in {var_dir} "
        "(start one with `make run` in another terminal, or set DATABASE_URL)"
    )


def _redacted(url: str) -> str:
    return re.sub(r"(//[^/:@]*:)[^/@]*@", r"\1***@", url)


def exit_on_bad_settings() -> None:
    """Load Django's settings now; a bad one ends the process with one line instead of a traceback
    (gunicorn's master in gunicorn.conf.py, the celery command in kongflow.celery)."""
    from django.conf import settings

    try:
        settings.INSTALLED_APPS  # noqa: B018 - the first attribute read loads the settings module
    except ImproperlyConfigured as exc:
        exit_with(exc)


def exit_with(exc: ImproperlyConfigured) -> NoReturn:
    sys.exit(f"Configuration error: {exc}")
