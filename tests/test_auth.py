import pytest
from django.utils import timezone

INVALID = {"error": "Invalid or Missing API key"}


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "Bearer",
        "Bearer ",
        "Basic tr_dev_kongflowTestKey0001",
        "Bearer tr_dev_wrong",
        "tr_dev_kongflowTestKey0001",
    ],
)
def test_missing_or_wrong_key_is_401(api_client, dev_environment, header):
    if header is not None:
        api_client.credentials(HTTP_AUTHORIZATION=header)
    response = api_client.get("/api/v1/whoami")
    assert response.status_code == 401
    assert response.json() == INVALID


def test_public_key_does_not_authenticate(api_client, dev_environment):
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {dev_environment.pk_api_key}")
    assert api_client.get("/api/v1/whoami").status_code == 401


def test_key_of_a_deleted_project_authenticates_as_nothing(auth_client, dev_environment):
    dev_environment.project.deleted_at = timezone.now()
    dev_environment.project.save()
    assert auth_client.get("/api/v1/whoami").status_code == 401


def test_whoami_has_what_the_cli_reads_and_no_secret(auth_client, dev_environment):
    response = auth_client.get("/api/v1/whoami")
    assert response.status_code == 200
    body = response.json()
    assert body["id"] == dev_environment.id
    assert body["type"] == "DEVELOPMENT"
    assert body["pkApiKey"] == dev_environment.pk_api_key
    for key in ("slug", "createdAt", "updatedAt"):
        assert isinstance(body[key], str) and body[key]
    assert set(body["project"]) >= {"id", "slug", "name", "createdAt", "updatedAt"}
    assert set(body["organization"]) >= {"id", "slug", "title", "createdAt", "updatedAt"}
    assert dev_environment.api_key not in response.content.decode()


def test_whoami_has_no_null_user_id(auth_client):
    """The 2.x CLI parses `userId` as an optional string: null would fail its whoami check."""
    assert "userId" not in auth_client.get("/api/v1/whoami").json()


def test_tunnels_are_a_clean_empty_404(client):
    """`HEAD /api/v1/tunnels` is how the CLI asks for a tunnel: no body, no HTML, whatever the key."""
    response = client.head("/api/v1/tunnels", HTTP_AUTHORIZATION="Bearer tr_dev_whatever")
    assert response.status_code == 404
    assert response.content == b"" and response["Content-Length"] == "0"
    answer = client.post("/api/v1/tunnels")
    assert answer.status_code == 404
    assert answer.json()["error"].startswith("Tunnels are not supported")
