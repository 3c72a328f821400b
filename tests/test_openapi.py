from io import StringIO

from django.core.management import call_command


def test_the_openapi_schema_validates_without_warnings(tmp_path):
    target = tmp_path / "schema.yml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(target), stderr=StringIO())
    schema = target.read_text()
    for path in (
        "/api/v1/endpoints:",
        "/api/v1/endpoints/{endpoint_slug}/index:",
        "/api/v1/endpointindex/{index_id}:",
        "/api/v1/whoami:",
        "/api/v1/endpoints/{environment_id}/{endpoint_slug}/index/{hook_identifier}:",
        "/api/v1/endpoints/{endpoint_slug}:",
        "/api/v1/endpoints/{endpoint_slug}/indexes:",
        "/api/v1/endpoints/{endpoint_slug}/jobs:",
        "/api/v1/endpoints/{endpoint_slug}/sources:",
        "/api/v1/endpoints/{endpoint_slug}/triggers:",
        "/api/v1/endpoints/{endpoint_slug}/schedules:",
        "/api/v1/endpoints/{endpoint_slug}/plan:",
    ):
        assert path in schema
    assert "scheme: bearer" in schema


def test_the_schema_and_docs_are_served(client):
    assert client.get("/api/schema").status_code == 200
    assert client.get("/api/docs").status_code == 200
