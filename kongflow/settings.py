"""Kongflow settings: everything comes from the environment.

With nothing set the service runs on embedded defaults that need no outside server
(SQLite and kombu's filesystem transport under ./var); production sets DATABASE_URL,
CELERY_BROKER_URL and DJANGO_SECRET_KEY (see docker-compose.yml).
"""

from __future__ import annotations

from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

from kongflow.durations import parse_duration

BASE_DIR = Path(__file__).resolve().parent.parent
env = environ.Env()
VAR_DIR = Path(env.str("KONGFLOW_VAR_DIR", default=str(BASE_DIR / "var")))

DEBUG = env.bool("DJANGO_DEBUG", default=False)
SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="")
# `make run` keeps its generated key in var/secret_key: the README's manage.py commands find it.
_SECRET_KEY_FILE = VAR_DIR / "secret_key"
if not SECRET_KEY and _SECRET_KEY_FILE.is_file():
    SECRET_KEY = _SECRET_KEY_FILE.read_text().strip()
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "DJANGO_SECRET_KEY is required when DJANGO_DEBUG is off "
            f"(set it, or run `make run` once to generate {_SECRET_KEY_FILE})"
        )
    SECRET_KEY = "insecure-development-key-do-not-use-in-production"  # noqa: S105
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])
# The public origin shown in deploy-hook URLs (admin); falls back to the request's host.
KONGFLOW_APP_ORIGIN = env.str("KONGFLOW_APP_ORIGIN", default="")


INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_prometheus",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "endpoints",
]

MIDDLEWARE = [
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_prometheus.middleware.PrometheusAfterMiddleware",
]

ROOT_URLCONF = "kongflow.urls"
WSGI_APPLICATION = "kongflow.wsgi.application"
APPEND_SLASH = False

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {
    "default": env.db_url("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'kongflow.sqlite3'}"),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    VAR_DIR.mkdir(parents=True, exist_ok=True)
DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("DATABASE_CONN_MAX_AGE", default=60))
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    DATABASES["default"]["ENGINE"] = "django_prometheus.db.backends.postgresql"
elif DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Web and worker share the file: wait for locks instead of failing at once.
    DATABASES["default"].setdefault("OPTIONS", {}).update({"timeout": 20, "transaction_mode": "IMMEDIATE"})
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["endpoints.api.authentication.EnvironmentApiKeyAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["endpoints.api.parsers.SafeJSONParser"],
    "EXCEPTION_HANDLER": "endpoints.api.exceptions.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "UNAUTHENTICATED_USER": None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Kongflow endpoints API",
    "DESCRIPTION": "Trigger.dev v2 compatible endpoint registration and indexing.",
    "VERSION": "0.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
}

# --- Celery -----------------------------------------------------------------------------------
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="filesystem://")
if CELERY_BROKER_URL == "filesystem://":
    _queue_dir = VAR_DIR / "broker"
    for _folder in (_queue_dir / "processed", _queue_dir / "control"):
        _folder.mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_queue_dir),
        "data_folder_out": str(_queue_dir),
        "processed_folder": str(_queue_dir / "processed"),
        "control_folder": str(_queue_dir / "control"),
        "store_processed": False,
    }
else:
    # Redis re-delivers an unacked (acks_late) message after visibility_timeout: keep it well
    # above the longest countdown and the task hard time limit.
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=3600)}
CELERY_TASK_DEFAULT_QUEUE = env.str("CELERY_TASK_DEFAULT_QUEUE", default="kongflow")
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=240)
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=300)
# Publishing happens inside request handlers: fail fast when the broker is down, the sweeper
# re-dispatches what could not be sent.
CELERY_BROKER_CONNECTION_TIMEOUT = env.float("CELERY_BROKER_CONNECTION_TIMEOUT", default=2.0)
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.2}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")

# --- Kongflow ---------------------------------------------------------------------------------
ENDPOINTAPI_CONNECT_TIMEOUT = env.float("ENDPOINTAPI_CONNECT_TIMEOUT", default=3.0)
ENDPOINTAPI_READ_TIMEOUT = env.float("ENDPOINTAPI_READ_TIMEOUT", default=15.0)
ENDPOINTAPI_INDEX_READ_TIMEOUT = env.float("ENDPOINTAPI_INDEX_READ_TIMEOUT", default=30.0)
ENDPOINTAPI_MAX_RESPONSE_BYTES = env.int("ENDPOINTAPI_MAX_RESPONSE_BYTES", default=10 * 1024 * 1024)
ENDPOINTAPI_RETRIES = env.int("ENDPOINTAPI_RETRIES", default=1)

# How long POST /api/v1/endpoints/<slug>/index waits for the index to finish before answering 202.
KONGFLOW_INDEX_API_WAIT_SECONDS = env.float("KONGFLOW_INDEX_API_WAIT_SECONDS", default=20.0)
KONGFLOW_INDEX_MAX_ATTEMPTS = env.int("KONGFLOW_INDEX_MAX_ATTEMPTS", default=7)
KONGFLOW_HOOK_DELAY_SECONDS = env.float("KONGFLOW_HOOK_DELAY_SECONDS", default=5.0)
# A PENDING index whose task has not started after this long is dispatched again.
KONGFLOW_SWEEP_PENDING_AFTER_SECONDS = env.int("KONGFLOW_SWEEP_PENDING_AFTER_SECONDS", default=60)
# A STARTED index older than this is considered orphaned (its worker died).
KONGFLOW_SWEEP_STARTED_AFTER_SECONDS = env.int(
    "KONGFLOW_SWEEP_STARTED_AFTER_SECONDS", default=CELERY_TASK_TIME_LIMIT + 60
)
KONGFLOW_SWEEP_INTERVAL_SECONDS = env.float("KONGFLOW_SWEEP_INTERVAL_SECONDS", default=30.0)
KONGFLOW_INDEX_RETENTION_DAYS = env.int("KONGFLOW_INDEX_RETENTION_DAYS", default=7)
KONGFLOW_RECURRING_INDEX_MINUTES = env.int("KONGFLOW_RECURRING_INDEX_MINUTES", default=10)
# Key rotation: how long the replaced API key keeps working (API and calls to endpoints).
KONGFLOW_KEY_ROTATION_GRACE = parse_duration(
    "KONGFLOW_KEY_ROTATION_GRACE", env.str("KONGFLOW_KEY_ROTATION_GRACE", default="24h")
)
# docker-compose only: rewrite http://localhost endpoint URLs to host.docker.internal (§5.2).
RUNTIME_PLATFORM = env.str("RUNTIME_PLATFORM", default="")

CELERY_BEAT_SCHEDULE = {
    "sweep-endpoint-indexes": {
        "task": "endpoints.sweep_endpoint_indexes",
        "schedule": KONGFLOW_SWEEP_INTERVAL_SECONDS,
    },
    "recurring-endpoint-indexing": {"task": "endpoints.recurring_endpoint_indexing", "schedule": 300.0},
    "purge-old-endpoint-indexes": {"task": "endpoints.purge_old_endpoint_indexes", "schedule": 3600.0},
}

# --- Logging ----------------------------------------------------------------------------------
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
LOG_FORMAT = env.str("LOG_FORMAT", default="text")
if LOG_FORMAT not in ("text", "json"):
    raise ImproperlyConfigured(f"LOG_FORMAT must be text or json (got {LOG_FORMAT!r})")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "text": {"()": "kongflow.logging.TextFormatter"},
        "json": {"()": "kongflow.logging.JsonFormatter"},
    },
    "filters": {"context": {"()": "kongflow.logging.ContextFilter"}},
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT, "filters": ["context"]},
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
