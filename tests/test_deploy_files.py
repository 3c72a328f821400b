"""docker-compose.yml can only be validated here (no Docker engine): check its production shape."""

from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]


def compose():
    return yaml.safe_load((REPO / "docker-compose.yml").read_text())


def test_compose_has_the_production_services():
    services = compose()["services"]
    assert set(services) == {"postgres", "redis", "migrate", "web", "worker", "beat"}
    for name in ("web", "worker", "beat", "migrate"):
        env = services[name]["environment"]
        assert env["DATABASE_URL"].startswith("postgres://") and "@postgres:5432/" in env["DATABASE_URL"]
        assert env["CELERY_BROKER_URL"] == "redis://redis:6379/0"
        assert env["DJANGO_SECRET_KEY"].startswith("${DJANGO_SECRET_KEY:?")
        assert env["RUNTIME_PLATFORM"] == "docker-compose"
    for name in ("web", "worker", "beat"):
        assert services[name]["depends_on"] == {"migrate": {"condition": "service_completed_successfully"}}
    assert "gunicorn kongflow.wsgi" in " ".join(services["web"]["command"])
    assert "celery -A kongflow worker" in " ".join(services["worker"]["command"])
    assert services["beat"]["command"][:4] == ["celery", "-A", "kongflow", "beat"]
    assert "/readyz" in " ".join(services["web"]["healthcheck"]["test"])


def test_the_database_and_redis_are_on_an_internal_network_no_allow_list_opens():
    import ipaddress

    config = compose()
    services, networks = config["services"], config["networks"]
    assert services["postgres"]["networks"] == ["infra"] and services["redis"]["networks"] == ["infra"]
    for name in ("web", "worker", "beat"):
        assert set(services[name]["networks"]) == {"infra", "apps"}
    assert networks["infra"]["internal"] is True
    infra = ipaddress.ip_network(networks["infra"]["ipam"]["config"][0]["subnet"])
    apps = ipaddress.ip_network(networks["apps"]["ipam"]["config"][0]["subnet"])
    allowed = services["web"]["environment"]["ENDPOINTAPI_ALLOWED_NETWORKS"]
    assert allowed == f"${{ENDPOINTAPI_ALLOWED_NETWORKS:-{apps}}}"  # the apps subnet only
    assert not infra.overlaps(apps)
    self_addresses = services["web"]["environment"]["KONGFLOW_SELF_ADDRESSES"]
    assert "worker:9808" in self_addresses and "0.0.0.0:8000" in self_addresses


def test_the_image_installs_every_package_the_services_import():
    dockerfile = (REPO / "Dockerfile").read_text()
    for package in ("kongflow", "endpoints", "endpointapi", "templates", "manage.py", "pyproject.toml"):
        assert f"COPY {package}" in dockerfile
