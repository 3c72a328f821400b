"""Kongflow settings: everything comes from the environment, or from a `.env`-style file.

With nothing set the service runs on embedded defaults that need no outside server
(`make run`'s PostgreSQL and kombu's filesystem transport under ./var); production sets DATABASE_URL,
CELERY_BROKER_URL and DJANGO_SECRET_KEY (see docker-compose.yml and .env.example).

The file is `KONGFLOW_ENV_FILE`, else `./.env` when it exists (relative to the working
directory); real environment variables always win over the file.
"""

from __future__ import annotations

import os
from pathlib import Path

import environ
from csp.constants import NONCE, NONE, SELF, UNSAFE_INLINE
from django.core.exceptions import ImproperlyConfigured

from endpointapi.guard import parse_host_port, parse_networks
from kongflow.config import Env, database
from kongflow.durations import parse_duration
from kongflow.encryption import parse_keys

BASE_DIR = Path(__file__).resolve().parent.parent
env = Env()
ENV_FILE = os.environ.get("KONGFLOW_ENV_FILE") or (".env" if Path(".env").is_file() else "")
if ENV_FILE:
    if not Path(ENV_FILE).is_file():
        raise ImproperlyConfigured(f"KONGFLOW_ENV_FILE={ENV_FILE} does not exist")
    # overwrite=False: a variable already in the environment is kept.
    environ.Env.read_env(ENV_FILE, overwrite=False)
VAR_DIR = Path(env.str("KONGFLOW_VAR_DIR", default=str(BASE_DIR / "var")))

DEBUG = env.bool("DJANGO_DEBUG", default=False)
SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="")
# `make run` keeps its generated key in var/secret_key: the documented manage.py commands find it.
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
# Secrets at rest (API keys, webhook secrets): comma-separated Fernet keys, the first encrypts, all
# decrypt. Unset: a key derived from SECRET_KEY (fine for development; production sets its own).
KONGFLOW_ENCRYPTION_KEYS = parse_keys(env.str("KONGFLOW_ENCRYPTION_KEYS", default=""))
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
    "axes",
    "csp",
    "endpoints",
]

MIDDLEWARE = [
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    "endpoints.api.middleware.ApiJsonMiddleware",
    "kongflow.security.RejectNulMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    # Last, as django-axes asks: it turns a lockout raised by the login into the lockout answer.
    "axes.middleware.AxesMiddleware",
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
    # DATABASE_URL, else the embedded PostgreSQL `make run` started in var/ (kongflow.config).
    "default": database(env, VAR_DIR),
}
DATABASES["default"]["ENGINE"] = "django_prometheus.db.backends.postgresql"
# Connection budget (docs/configuration.md): each process keeps a psycopg pool of at most
# DATABASE_POOL_MAX_SIZE connections, opened on demand and reused across requests and tasks. A
# thread holds one connection at a time, so the pool is sized from the process's threads:
# gunicorn.conf.py sets it to a web process's threads, kongflow/celery.py to 2 per prefork child
# (its task and the run's heartbeat thread); elsewhere (manage.py, runserver) it is 4. An explicit
# DATABASE_POOL_MAX_SIZE wins; 0 turns the pool off (behind PgBouncer): a connection then lives
# for one request or task (DATABASE_CONN_MAX_AGE, default 0).
DATABASE_POOL_MAX_SIZE = env.int("DATABASE_POOL_MAX_SIZE", default=4)
DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("DATABASE_CONN_MAX_AGE", default=0))
# With the pool too: a connection the server dropped (restart, failover, pg_terminate_backend) is
# replaced when it is taken from the pool, never handed to a request or task that would then fail.
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
_options = DATABASES["default"].setdefault("OPTIONS", {})
_options.setdefault("application_name", env.str("DATABASE_APPLICATION_NAME", default="kongflow"))
if DATABASE_POOL_MAX_SIZE > 0:
    DATABASES["default"]["CONN_MAX_AGE"] = 0  # the pool keeps connections; Django returns them after each use
    _options["pool"] = {
        "min_size": min(env.int("DATABASE_POOL_MIN_SIZE", default=0), DATABASE_POOL_MAX_SIZE),
        "max_size": DATABASE_POOL_MAX_SIZE,
        "timeout": env.float("DATABASE_POOL_TIMEOUT", default=10.0),
        "max_idle": env.float("DATABASE_POOL_MAX_IDLE", default=300.0),
    }
# Behind PgBouncer in transaction pooling mode: no server-side cursors (and no Django pool), and
# no prepared statements (psycopg prepares the hot statements Kongflow binds on the server, see
# endpoints/db.py; a prepared statement does not follow a transaction to another server connection).
DATABASES["default"]["DISABLE_SERVER_SIDE_CURSORS"] = env.bool("DATABASE_DISABLE_SERVER_SIDE_CURSORS", default=False)
if DATABASES["default"]["DISABLE_SERVER_SIDE_CURSORS"]:
    _options["prepare_threshold"] = None
# An index's apply sends its INSERTs without waiting for each (libpq pipeline mode, inside its
# transaction: endpoints/pipelining.py). Off: every statement is waited for, as before.
DATABASE_PIPELINE = env.bool("DATABASE_PIPELINE", default=True)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTHENTICATION_BACKENDS = [
    # Refuses a login that is locked out before the password is checked (admin brute force).
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
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
    # Throttles identify deploy-hook callers by address: trust X-Forwarded-For only behind this
    # many proxies (0: the peer address; a client could otherwise pick its own identity).
    "NUM_PROXIES": env.int("KONGFLOW_NUM_PROXIES", default=0),
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
    # A dry run's outcome: the two final statuses of a run.
    "ENUM_NAME_OVERRIDES": {"StatusEnum": "endpoints.models.IndexStatus", "PlanStatusEnum": ["SUCCESS", "FAILURE"]},
}

# --- HTTPS and browser policies (docs/security.md) ----------------------------------------------
# Defaults suit development over plain http on 127.0.0.1; docker-compose.yml turns them on.
# Trust `X-Forwarded-Proto: https` from the proxy in front (only when it sets that header itself).
if env.bool("DJANGO_SECURE_PROXY_SSL_HEADER", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=False)
# Probes and scrapes from inside the deployment speak plain http.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]
SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS", default=False)
SECURE_HSTS_PRELOAD = env.bool("DJANGO_SECURE_HSTS_PRELOAD", default=False)
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = env.bool("DJANGO_SECURE_COOKIES", default=False)
# Inline scripts carry the request's nonce (templates use `request.csp_nonce`); inline styles and
# style attributes (the admin's and Swagger UI's) are allowed.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF, UNSAFE_INLINE],
        "img-src": [SELF, "data:"],
        "font-src": [SELF, "data:"],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}

# --- Admin login brute force (django-axes) ------------------------------------------------------
# After this many failed logins of one user from one address, that pair is locked out for the
# cool-off; `manage.py axes_reset` (or axes_reset_username / axes_reset_ip) unlocks at once.
AXES_FAILURE_LIMIT = env.int("KONGFLOW_LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = parse_duration("KONGFLOW_LOGIN_COOLOFF", env.str("KONGFLOW_LOGIN_COOLOFF", default="15m"))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "admin/lockout.html"
# The client address as the API's throttles see it (KONGFLOW_NUM_PROXIES).
AXES_CLIENT_IP_CALLABLE = "kongflow.security.client_address"
# Failed attempts only (the lockout state); successful logins are not recorded.
AXES_DISABLE_ACCESS_LOG = True

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
# One queue per kind of work, each consumed by workers of its own, so that slow webhook receivers
# cannot hold the slots indexing needs (docs/operations.md): `<prefix>.index` (index runs, probes, key
# checks), `<prefix>.webhooks` (deliveries), `<prefix>.housekeeping` (beat's sweeps and purges).
KONGFLOW_QUEUE_PREFIX = env.str("KONGFLOW_QUEUE_PREFIX", default="kongflow")
KONGFLOW_INDEX_QUEUE = f"{KONGFLOW_QUEUE_PREFIX}.index"
KONGFLOW_WEBHOOKS_QUEUE = f"{KONGFLOW_QUEUE_PREFIX}.webhooks"
KONGFLOW_HOUSEKEEPING_QUEUE = f"{KONGFLOW_QUEUE_PREFIX}.housekeeping"
CELERY_TASK_DEFAULT_QUEUE = KONGFLOW_INDEX_QUEUE
CELERY_TASK_ROUTES = {
    "endpoints.perform_endpoint_index": {"queue": KONGFLOW_INDEX_QUEUE},
    "endpoints.probe_endpoint": {"queue": KONGFLOW_INDEX_QUEUE},
    "endpoints.check_endpoint_key": {"queue": KONGFLOW_INDEX_QUEUE},
    "endpoints.deliver_webhooks": {"queue": KONGFLOW_WEBHOOKS_QUEUE},
    "endpoints.send_alert": {"queue": KONGFLOW_WEBHOOKS_QUEUE},
    "endpoints.sweep_endpoint_indexes": {"queue": KONGFLOW_HOUSEKEEPING_QUEUE},
    "endpoints.recurring_endpoint_indexing": {"queue": KONGFLOW_HOUSEKEEPING_QUEUE},
    "endpoints.purge_old_endpoint_indexes": {"queue": KONGFLOW_HOUSEKEEPING_QUEUE},
    "endpoints.sweep_webhook_deliveries": {"queue": KONGFLOW_HOUSEKEEPING_QUEUE},
    "endpoints.purge_old_registry_events": {"queue": KONGFLOW_HOUSEKEEPING_QUEUE},
    "endpoints.sweep_alert_notifications": {"queue": KONGFLOW_HOUSEKEEPING_QUEUE},
}
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
# Beat's schedule file holds only "when did each entry last fire": disposable. Its folder is
# created on start (kongflow.beat.Scheduler), falling back to the temp folder when that fails, so
# `celery worker -B` works from any checkout. When housekeeping really ran is in the database
# (HousekeepingRun), which is what /readyz and the metrics report.
CELERY_BEAT_SCHEDULE_FILENAME = env.str("CELERY_BEAT_SCHEDULE_FILENAME", default=str(VAR_DIR / "celerybeat-schedule"))
CELERY_BEAT_SCHEDULER = "kongflow.beat:Scheduler"
# A database error in a task (connection lost, too many clients, deadlock) is retried with backoff.
CELERY_DB_RETRY_BACKOFF_MAX = env.int("CELERY_DB_RETRY_BACKOFF_MAX", default=30)

# --- Cache (throttling) -----------------------------------------------------------------------
# CACHE_URL wins; else a Redis broker is used for the cache too; else (embedded defaults) each
# process keeps its own counters in memory.
_cache_url = env.str("CACHE_URL", default="") or (CELERY_BROKER_URL if CELERY_BROKER_URL.startswith("redis") else "")
if _cache_url.startswith(("redis://", "rediss://")):
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": _cache_url,
            # Deployments (or test runs) that share one Redis keep their counters apart by prefix.
            "KEY_PREFIX": env.str("KONGFLOW_CACHE_KEY_PREFIX", default="kongflow"),
            # Fail fast: a throttle that cannot reach Redis lets the request through.
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        }
    }
elif _cache_url:
    CACHES = {"default": env.cache_url_config(_cache_url)}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "kongflow"}}

# --- Kongflow ---------------------------------------------------------------------------------
ENDPOINTAPI_CONNECT_TIMEOUT = env.float("ENDPOINTAPI_CONNECT_TIMEOUT", default=3.0)
ENDPOINTAPI_READ_TIMEOUT = env.float("ENDPOINTAPI_READ_TIMEOUT", default=15.0)
ENDPOINTAPI_INDEX_READ_TIMEOUT = env.float("ENDPOINTAPI_INDEX_READ_TIMEOUT", default=30.0)
ENDPOINTAPI_MAX_RESPONSE_BYTES = env.int("ENDPOINTAPI_MAX_RESPONSE_BYTES", default=10 * 1024 * 1024)
ENDPOINTAPI_RETRIES = env.int("ENDPOINTAPI_RETRIES", default=1)
# Outbound guard: outside DEVELOPMENT, endpoints may only be on public addresses, plus these
# networks (comma-separated CIDRs, e.g. the docker-compose network of self-hosted endpoints).
ENDPOINTAPI_ALLOWED_NETWORKS = env.str("ENDPOINTAPI_ALLOWED_NETWORKS", default="")
try:
    parse_networks(ENDPOINTAPI_ALLOWED_NETWORKS)
except ValueError as _exc:
    raise ImproperlyConfigured(f"ENDPOINTAPI_ALLOWED_NETWORKS: {_exc}") from None
# Kongflow's own listening sockets (host:port, comma-separated), refused to every endpoint and
# webhook like the database, broker and cache (endpoints.services.infrastructure). 0.0.0.0 stands
# for every address of this machine. The default: the web port on every address, and the worker's
# metrics port when this process knows it.
KONGFLOW_PORT = env.int("KONGFLOW_PORT", default=8000)
KONGFLOW_WORKER_METRICS_PORT = env.int("KONGFLOW_WORKER_METRICS_PORT", default=0)
_metrics_addr = env.str("KONGFLOW_WORKER_METRICS_ADDR", default="0.0.0.0")  # noqa: S104 - a default, not a bind
_metrics_addr = f"[{_metrics_addr}]" if ":" in _metrics_addr else _metrics_addr
KONGFLOW_SELF_ADDRESSES = env.list(
    "KONGFLOW_SELF_ADDRESSES",
    default=[f"0.0.0.0:{KONGFLOW_PORT}"]
    + ([f"{_metrics_addr}:{KONGFLOW_WORKER_METRICS_PORT}"] if KONGFLOW_WORKER_METRICS_PORT else []),
)
for _address in KONGFLOW_SELF_ADDRESSES:
    try:
        parse_host_port(_address)
    except ValueError as _exc:
        raise ImproperlyConfigured(f"KONGFLOW_SELF_ADDRESSES: {_exc}") from None

# Abuse limits (DRF rate syntax, e.g. "60/min"; empty = off), read on every request.
KONGFLOW_THROTTLE_REGISTER = env.str("KONGFLOW_THROTTLE_REGISTER", default="60/min")  # per environment
KONGFLOW_THROTTLE_INDEX = env.str("KONGFLOW_THROTTLE_INDEX", default="60/min")  # per environment
KONGFLOW_THROTTLE_HOOK = env.str("KONGFLOW_THROTTLE_HOOK", default="120/min")  # per client address
# Request headers larger than this in total are answered 431 (gunicorn refuses a single header
# line over 8190 bytes itself).
KONGFLOW_MAX_HEADER_BYTES = env.int("KONGFLOW_MAX_HEADER_BYTES", default=16 * 1024)
# When set, GET /metrics (and the worker's metrics port) need `Authorization: Bearer <token>`.
KONGFLOW_METRICS_TOKEN = env.str("KONGFLOW_METRICS_TOKEN", default="")

# How long POST /api/v1/endpoints/<slug>/index waits for the index to finish before answering 202.
KONGFLOW_INDEX_API_WAIT_SECONDS = env.float("KONGFLOW_INDEX_API_WAIT_SECONDS", default=20.0)
KONGFLOW_INDEX_MAX_ATTEMPTS = env.int("KONGFLOW_INDEX_MAX_ATTEMPTS", default=7)
KONGFLOW_HOOK_DELAY_SECONDS = env.float("KONGFLOW_HOOK_DELAY_SECONDS", default=5.0)
# Liveness of STARTED runs: the worker refreshes the run's heartbeat every HEARTBEAT seconds (from
# a thread, also during a slow fetch); the sweeper recovers a run whose heartbeat is older than
# LEASE seconds. Worst-case recovery of a killed worker: LEASE + SWEEP_INTERVAL (+ the index).
KONGFLOW_INDEX_HEARTBEAT_SECONDS = env.float("KONGFLOW_INDEX_HEARTBEAT_SECONDS", default=10.0)
KONGFLOW_INDEX_LEASE_SECONDS = env.float("KONGFLOW_INDEX_LEASE_SECONDS", default=40.0)
# A message that arrives at most this early (clock skew) waits in the task instead of being dropped.
KONGFLOW_INDEX_EARLY_TOLERANCE_SECONDS = env.float("KONGFLOW_INDEX_EARLY_TOLERANCE_SECONDS", default=30.0)
# A PENDING run whose message was never sent (broker down) is sent once it is this overdue.
KONGFLOW_SWEEP_PENDING_AFTER_SECONDS = env.int("KONGFLOW_SWEEP_PENDING_AFTER_SECONDS", default=10)
# Last-resort: a sent message that has not started its run after this long is sent again (the broker
# lost it without restarting). Well above any expected backlog, so a backlog is never fed.
KONGFLOW_DISPATCH_LOST_AFTER_SECONDS = env.int("KONGFLOW_DISPATCH_LOST_AFTER_SECONDS", default=2 * 3600)
KONGFLOW_SWEEP_INTERVAL_SECONDS = env.float("KONGFLOW_SWEEP_INTERVAL_SECONDS", default=15.0)
KONGFLOW_INDEX_RETENTION_DAYS = env.int("KONGFLOW_INDEX_RETENTION_DAYS", default=7)
# The recurring index (endpoints.services.indexing.recurring): each live PRODUCTION and STAGING
# endpoint once every MINUTES, at its own slot in that interval. Beat ticks every INTERVAL_SECONDS;
# a tick requests at most BATCH endpoints, and fewer when MAX_BACKLOG runs wait in the index queue
# already (none at MAX_BACKLOG). The most a cycle can cover: BATCH x MINUTES x 60 / INTERVAL_SECONDS.
KONGFLOW_RECURRING_INDEX_MINUTES = env.int("KONGFLOW_RECURRING_INDEX_MINUTES", default=10)
KONGFLOW_RECURRING_INDEX_INTERVAL_SECONDS = env.float("KONGFLOW_RECURRING_INDEX_INTERVAL_SECONDS", default=10.0)
KONGFLOW_RECURRING_INDEX_BATCH = env.int("KONGFLOW_RECURRING_INDEX_BATCH", default=500)
KONGFLOW_RECURRING_INDEX_MAX_BACKLOG = env.int("KONGFLOW_RECURRING_INDEX_MAX_BACKLOG", default=1000)
KONGFLOW_PURGE_INTERVAL_SECONDS = env.float("KONGFLOW_PURGE_INTERVAL_SECONDS", default=3600.0)
# Consecutive failures after which an endpoint that succeeded before is "failing", not "degraded".
KONGFLOW_HEALTH_FAILING_AFTER = env.int("KONGFLOW_HEALTH_FAILING_AFTER", default=3)
# Consecutive failed indexes (final FAILURE runs) after which a non-DEVELOPMENT endpoint is disabled
# (v2: 96); a warning event at half of it. 0: never.
KONGFLOW_DISABLE_AFTER_FAILURES = env.int("KONGFLOW_DISABLE_AFTER_FAILURES", default=96)
if KONGFLOW_DISABLE_AFTER_FAILURES < 0:
    raise ImproperlyConfigured("KONGFLOW_DISABLE_AFTER_FAILURES must be 0 (never) or a positive number")
# Key rotation: how long the replaced API key keeps working (API and calls to endpoints).
KONGFLOW_KEY_ROTATION_GRACE = parse_duration(
    "KONGFLOW_KEY_ROTATION_GRACE", env.str("KONGFLOW_KEY_ROTATION_GRACE", default="24h")
)
# docker-compose only: rewrite http://localhost endpoint URLs to host.docker.internal (§5.2).
RUNTIME_PLATFORM = env.str("RUNTIME_PLATFORM", default="")

# --- Registry events and webhooks ---------------------------------------------------------------
# Seconds to wait after the 1st, 2nd, … failed attempt (±jitter); after the last, the delivery FAILED.
# The default (Standard Webhooks / Svix) spans about 27 hours.
KONGFLOW_WEBHOOK_RETRY_SCHEDULE = env.list(
    "KONGFLOW_WEBHOOK_RETRY_SCHEDULE", cast=float, default=[5, 300, 1800, 7200, 18000, 36000, 36000]
)
KONGFLOW_WEBHOOK_RETRY_JITTER = env.float("KONGFLOW_WEBHOOK_RETRY_JITTER", default=0.2)
# A subscription whose deliveries all failed for this long is disabled (webhook.disabled).
KONGFLOW_WEBHOOK_DISABLE_AFTER_SECONDS = env.float("KONGFLOW_WEBHOOK_DISABLE_AFTER_SECONDS", default=5 * 24 * 3600)
KONGFLOW_WEBHOOK_SECRET_GRACE_SECONDS = env.int("KONGFLOW_WEBHOOK_SECRET_GRACE_SECONDS", default=24 * 3600)
KONGFLOW_WEBHOOK_CONNECT_TIMEOUT = env.float("KONGFLOW_WEBHOOK_CONNECT_TIMEOUT", default=3.0)
KONGFLOW_WEBHOOK_READ_TIMEOUT = env.float("KONGFLOW_WEBHOOK_READ_TIMEOUT", default=10.0)
KONGFLOW_WEBHOOK_MAX_RESPONSE_BYTES = env.int("KONGFLOW_WEBHOOK_MAX_RESPONSE_BYTES", default=64 * 1024)
KONGFLOW_WEBHOOK_LEASE_SECONDS = env.int("KONGFLOW_WEBHOOK_LEASE_SECONDS", default=120)
KONGFLOW_WEBHOOK_DRAIN_BUDGET_SECONDS = env.float("KONGFLOW_WEBHOOK_DRAIN_BUDGET_SECONDS", default=60.0)
KONGFLOW_WEBHOOK_SWEEP_INTERVAL_SECONDS = env.float("KONGFLOW_WEBHOOK_SWEEP_INTERVAL_SECONDS", default=10.0)
# Fairness: deliveries in flight (subscriptions being drained) at once, per environment and per
# receiver URL (across environments). Keep the first below the webhooks worker's concurrency, so that
# one tenant's backlog never holds every slot; a drain that finds no slot is left to the sweeper.
KONGFLOW_WEBHOOK_MAX_IN_FLIGHT_PER_ENVIRONMENT = env.int("KONGFLOW_WEBHOOK_MAX_IN_FLIGHT_PER_ENVIRONMENT", default=4)
KONGFLOW_WEBHOOK_MAX_IN_FLIGHT_PER_URL = env.int("KONGFLOW_WEBHOOK_MAX_IN_FLIGHT_PER_URL", default=2)
# Event subscriptions per environment (each event fans out to one delivery per subscription).
KONGFLOW_MAX_SUBSCRIPTIONS = env.int("KONGFLOW_MAX_SUBSCRIPTIONS", default=50)
KONGFLOW_REGISTRY_EVENTS_PAGE_MAX = env.int("KONGFLOW_REGISTRY_EVENTS_PAGE_MAX", default=500)
KONGFLOW_EVENT_RETENTION_DAYS = env.int("KONGFLOW_EVENT_RETENTION_DAYS", default=30)

# --- Alert channels (e-mail, Slack-compatible webhooks) ---------------------------------------------
# Channels per environment; messages per channel in any hour (the rest are suppressed: kept, counted,
# summed up in the channel's next message); seconds before each retry of a failed send.
KONGFLOW_MAX_ALERT_CHANNELS = env.int("KONGFLOW_MAX_ALERT_CHANNELS", default=10)
KONGFLOW_ALERT_MAX_PER_HOUR = env.int("KONGFLOW_ALERT_MAX_PER_HOUR", default=20)
KONGFLOW_ALERT_RETRY_SCHEDULE = env.list("KONGFLOW_ALERT_RETRY_SCHEDULE", cast=float, default=[30, 300, 1800])
KONGFLOW_ALERT_SWEEP_INTERVAL_SECONDS = env.float("KONGFLOW_ALERT_SWEEP_INTERVAL_SECONDS", default=15.0)
# Mail: Django's SMTP backend. The sender is KONGFLOW_ALERT_FROM_EMAIL, else DEFAULT_FROM_EMAIL.
EMAIL_HOST = env.str("EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
EMAIL_HOST_USER = env.str("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env.str("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=False)
EMAIL_USE_SSL = env.bool("EMAIL_USE_SSL", default=False)
if EMAIL_USE_TLS and EMAIL_USE_SSL:
    raise ImproperlyConfigured("EMAIL_USE_TLS and EMAIL_USE_SSL are exclusive: set one of them")
EMAIL_TIMEOUT = env.float("EMAIL_TIMEOUT", default=10.0)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="kongflow@localhost")
KONGFLOW_ALERT_FROM_EMAIL = env.str("KONGFLOW_ALERT_FROM_EMAIL", default="")

CELERY_BEAT_SCHEDULE = {
    "sweep-alert-notifications": {
        "task": "endpoints.sweep_alert_notifications",
        "schedule": KONGFLOW_ALERT_SWEEP_INTERVAL_SECONDS,
    },
    "sweep-webhook-deliveries": {
        "task": "endpoints.sweep_webhook_deliveries",
        "schedule": KONGFLOW_WEBHOOK_SWEEP_INTERVAL_SECONDS,
    },
    "purge-old-registry-events": {"task": "endpoints.purge_old_registry_events", "schedule": 3600.0},
    "sweep-endpoint-indexes": {
        "task": "endpoints.sweep_endpoint_indexes",
        "schedule": KONGFLOW_SWEEP_INTERVAL_SECONDS,
    },
    "recurring-endpoint-indexing": {
        "task": "endpoints.recurring_endpoint_indexing",
        "schedule": KONGFLOW_RECURRING_INDEX_INTERVAL_SECONDS,
    },
    "purge-old-endpoint-indexes": {
        "task": "endpoints.purge_old_endpoint_indexes",
        "schedule": KONGFLOW_PURGE_INTERVAL_SECONDS,
    },
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
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # django-axes announces itself at every start (commands print nothing but their output).
        "axes.apps": {"level": "WARNING"},
    },
}
