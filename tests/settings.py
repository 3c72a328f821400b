"""Test settings: real PostgreSQL and Redis on loopback, queues of our own per test session."""

import hashlib
import os
from pathlib import Path

# One database per checkout, so that two clones can run their suites side by side.
_CHECKOUT = hashlib.sha256(str(Path(__file__).resolve().parents[1]).encode()).hexdigest()[:8]
os.environ.setdefault("DJANGO_SECRET_KEY", "test-secret-key")
os.environ.setdefault("DATABASE_URL", f"postgres://postgres@127.0.0.1:5432/kongflow_{_CHECKOUT}")
os.environ.setdefault("CELERY_BROKER_URL", "redis://127.0.0.1:6379/14")
# Queues of our own (<prefix>.index, .webhooks, .housekeeping) per test session.
os.environ.setdefault("KONGFLOW_QUEUE_PREFIX", f"kongflow-test-{os.getpid()}")
os.environ.setdefault("KONGFLOW_VAR_DIR", "/tmp/kongflow-test-var")
# The SDK fixtures of PRODUCTION environments listen on loopback; guard tests override this.
os.environ.setdefault("ENDPOINTAPI_ALLOWED_NETWORKS", "127.0.0.0/8,::1/128")

from kongflow.settings import *  # noqa: E402, F403

DATABASES["default"]["CONN_MAX_AGE"] = 0  # noqa: F405
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
WHITENOISE_AUTOREFRESH = True
# Throttle counters in memory (per process), cleared between tests by an autouse fixture; a process
# a test starts with CACHE_URL (several hosts sharing a cache) uses that one.
if not os.environ.get("CACHE_URL"):
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "kongflow-tests"}}
