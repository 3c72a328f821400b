"""docker-compose.yml can only be validated here (no Docker engine): check its production shape."""

from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]


def compose():
    return yaml.safe_load((REPO / "docker-compose.yml").read_text())


def test_compose_has_the_production_services():
    services = compose()["services"]
    assert set(services) == {"postgres", "redis", "migrate", "web", "worker", "webhooks", "housekeeping", "beat"}
    for name in ("web", "worker", "webhooks", "housekeeping", "beat", "migrate"):
        env = services[name]["environment"]
        assert env["DATABASE_URL"].startswith("postgres://") and "@postgres:5432/" in env["DATABASE_URL"]
        assert env["CELERY_BROKER_URL"] == "redis://redis:6379/0"
        assert env["DJANGO_SECRET_KEY"].startswith("${DJANGO_SECRET_KEY:?")
        assert env["RUNTIME_PLATFORM"] == "docker-compose"
    for name in ("web", "worker", "webhooks", "housekeeping", "beat"):
        assert services[name]["depends_on"] == {"migrate": {"condition": "service_completed_successfully"}}
    assert "gunicorn kongflow.wsgi" in " ".join(services["web"]["command"])
    for name in ("worker", "webhooks", "housekeeping"):  # one per queue: tests/test_queues.py
        assert "celery -A kongflow worker --queues" in " ".join(services[name]["command"])
    assert services["beat"]["command"][:4] == ["celery", "-A", "kongflow", "beat"]
    assert "/readyz" in " ".join(services["web"]["healthcheck"]["test"])


def test_the_image_installs_every_package_the_services_import():
    dockerfile = (REPO / "Dockerfile").read_text()
    for package in ("kongflow", "endpoints", "endpointapi", "templates", "manage.py", "pyproject.toml"):
        assert f"COPY {package}" in dockerfile
