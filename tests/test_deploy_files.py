"""docker-compose.yml can only be validated here (no Docker engine): check its production shape."""

import os
import re
import subprocess
import sys
from pathlib import Path

import yaml
from cryptography.fernet import Fernet

REPO = Path(__file__).resolve().parents[1]


def compose():
    return yaml.safe_load((REPO / "docker-compose.yml").read_text())


def test_compose_has_the_production_services():
    services = compose()["services"]
    assert set(services) == {
        "postgres", "redis", "migrate", "web", "worker", "webhooks", "housekeeping", "beat", "proxy"
    }
    for name in ("web", "worker", "webhooks", "housekeeping", "beat", "migrate"):
        env = services[name]["environment"]
        assert env["DATABASE_URL"].startswith("postgres://") and "@postgres:5432/" in env["DATABASE_URL"]
        assert env["CELERY_BROKER_URL"] == "redis://redis:6379/0"
        assert env["DJANGO_SECRET_KEY"].startswith("${DJANGO_SECRET_KEY:?")
        assert env["KONGFLOW_ENCRYPTION_KEYS"].startswith("${KONGFLOW_ENCRYPTION_KEYS:?")
        assert env["RUNTIME_PLATFORM"] == "docker-compose"
    for name in ("web", "worker", "webhooks", "housekeeping", "beat"):
        assert services[name]["depends_on"] == {"migrate": {"condition": "service_completed_successfully"}}
    assert "gunicorn kongflow.wsgi" in " ".join(services["web"]["command"])
    for name in ("worker", "webhooks", "housekeeping"):  # one per queue: tests/test_queues.py
        assert "celery -A kongflow worker --queues" in " ".join(services[name]["command"])
    assert services["beat"]["command"][:4] == ["celery", "-A", "kongflow", "beat"]
    assert "/readyz" in " ".join(services["web"]["healthcheck"]["test"])


def test_the_database_and_redis_are_on_an_internal_network_no_allow_list_opens():
    import ipaddress

    config = compose()
    services, networks = config["services"], config["networks"]
    assert services["postgres"]["networks"] == ["infra"] and services["redis"]["networks"] == ["infra"]
    for name in ("web", "worker", "beat"):
        assert {"infra", "apps"} <= set(services[name]["networks"])
    # The published side: the proxy reaches web on a network of their own, and nothing else.
    assert services["proxy"]["networks"] == ["edge"] and "edge" in services["web"]["networks"]
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


def test_only_the_proxy_is_published():
    services = compose()["services"]
    assert [name for name, service in services.items() if "ports" in service] == ["proxy"]
    assert services["proxy"]["ports"] == ["8000:8080"]
    assert services["proxy"]["depends_on"] == {"web": {"condition": "service_healthy"}}
    assert services["web"]["expose"] == ["8000"]
    dockerfile = (REPO / services["proxy"]["build"] / "Dockerfile").read_text()
    assert "nginx-light" in dockerfile and "COPY kongflow.conf /etc/nginx/conf.d/" in dockerfile


def interpolate(value: str, given: dict[str, str]) -> str:
    """Compose's `${NAME:-default}` / `${NAME:?error}` with `given` as the environment."""

    def substitute(match: re.Match[str]) -> str:
        name, kind, rest = match.group(1), match.group(2), match.group(3)
        if name in given:
            return given[name]
        assert kind == ":-", f"{name} is required by docker-compose.yml: {rest}"
        return rest

    return re.sub(r"\$\{([A-Z_]+)(:[-?])?([^}]*)\}", substitute, str(value))


def test_check_deploy_passes_with_composes_web_environment(tmp_path):
    """`manage.py check --deploy --fail-level WARNING` with exactly the web service's environment
    (its required secrets given strong values, every default as compose would fill it)."""
    given = {
        "DJANGO_SECRET_KEY": Fernet.generate_key().decode() * 2,
        "POSTGRES_PASSWORD": "compose-password",
        "KONGFLOW_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
    }
    web_env = {name: interpolate(value, given) for name, value in compose()["services"]["web"]["environment"].items()}
    web_env["PROMETHEUS_MULTIPROC_DIR"] = str(tmp_path)  # the container's /tmp/prometheus
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "KONGFLOW_VAR_DIR": str(tmp_path), **web_env}
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout

    # The same check fails on the development defaults: it does test something.
    loose = {key: value for key, value in env.items() if not key.startswith(("DJANGO_SECURE", "KONGFLOW_ENCRYPTION"))}
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=REPO,
        env=loose,
        capture_output=True,
        text=True,
    )
    assert result.returncode != 0
    for check in ("security.W004", "security.W008", "security.W012", "security.W016", "kongflow.W001"):
        assert check in result.stderr + result.stdout
