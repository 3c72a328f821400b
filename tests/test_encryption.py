"""Secrets at rest: API keys and webhook secrets are Fernet tokens in the database (real
PostgreSQL, read back with raw SQL and pg_dump), keys rotate by adding one and running
`reencrypt`, and migration 0015 encrypts the plaintext rows of an older database (and back)."""

from __future__ import annotations

import subprocess
from io import StringIO

import pytest
from cryptography.fernet import Fernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.test import override_settings

from endpoints.models import RuntimeEnvironment, WebhookSubscription
from endpoints.models.tenancy import hash_key
from endpoints.selectors import environment_for_api_key
from endpoints.services.environments import environment_api_key_rotate
from endpoints.services.events import subscription_create, subscription_rotate_secret
from kongflow.encryption import UndecryptableSecret, derived_key, looks_encrypted, parse_keys
from tests import factories

KEY_A = Fernet.generate_key().decode()
KEY_B = Fernet.generate_key().decode()


def raw(table: str, column: str, row_id: str) -> str | None:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {column} FROM {table} WHERE id = %s", [row_id])  # noqa: S608 - test constants
        return cursor.fetchone()[0]


def rotated_environment() -> RuntimeEnvironment:
    environment = factories.RuntimeEnvironmentFactory()
    environment_api_key_rotate(environment_id=environment.id)
    return RuntimeEnvironment.objects.get(id=environment.id)


def subscription(environment: RuntimeEnvironment) -> WebhookSubscription:
    created = subscription_create(environment=environment, url="http://127.0.0.1:9/hook", events=["*"])
    subscription_rotate_secret(subscription=created)
    return WebhookSubscription.objects.get(id=created.id)


@pytest.mark.django_db
def test_the_database_holds_tokens_and_the_models_read_the_secrets():
    environment = rotated_environment()
    hook = subscription(environment)
    stored = {
        environment.api_key: raw("endpoints_runtimeenvironment", "api_key", environment.id),
        environment.previous_api_key: raw("endpoints_runtimeenvironment", "previous_api_key", environment.id),
        hook.secret: raw("endpoints_webhooksubscription", "secret", hook.id),
        hook.previous_secret: raw("endpoints_webhooksubscription", "previous_secret", hook.id),
    }
    for secret, token in stored.items():
        assert secret.startswith(("tr_dev_", "whsec_"))
        assert token != secret and secret not in token and looks_encrypted(token)
        assert Fernet(derived_key(settings.SECRET_KEY)).decrypt(token.encode()).decode() == secret
    # Lookups stay by hash: both keys still authenticate.
    assert environment_for_api_key(environment.api_key) == environment
    assert environment_for_api_key(environment.previous_api_key) == environment
    assert raw("endpoints_runtimeenvironment", "api_key_hash", environment.id) == hash_key(environment.api_key)


@pytest.mark.django_db
def test_the_ciphertext_column_cannot_be_compared():
    from django.core.exceptions import FieldError

    with pytest.raises(FieldError):
        RuntimeEnvironment.objects.filter(api_key="tr_dev_x").exists()
    assert not RuntimeEnvironment.objects.filter(previous_api_key__isnull=False).exists()


@pytest.mark.django_db(transaction=True)
def test_a_database_dump_reveals_no_key():
    environment = rotated_environment()
    hook = subscription(environment)
    database = settings.DATABASES["default"]
    dump = subprocess.run(
        ["pg_dump", "-h", database["HOST"], "-p", str(database["PORT"]), "-U", database["USER"], database["NAME"]],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "endpoints_runtimeenvironment" in dump and environment.id in dump
    for secret in (environment.api_key, environment.previous_api_key, hook.secret, hook.previous_secret):
        assert secret not in dump
        assert secret.split("_")[-1] not in dump  # not even its random part


@pytest.mark.django_db
def test_key_rotation_by_adding_a_key_then_reencrypt():
    with override_settings(KONGFLOW_ENCRYPTION_KEYS=[KEY_A]):
        environment = rotated_environment()
        hook = subscription(environment)
        token = raw("endpoints_runtimeenvironment", "api_key", environment.id)
        assert Fernet(KEY_A).decrypt(token.encode()).decode() == environment.api_key

    with override_settings(KONGFLOW_ENCRYPTION_KEYS=[KEY_B, KEY_A]):
        # Old tokens still decrypt; new writes use KEY_B.
        assert RuntimeEnvironment.objects.get(id=environment.id).api_key == environment.api_key
        out = StringIO()
        call_command("reencrypt", "--batch-size", "1", stdout=out)
        assert "endpoints_runtimeenvironment.api_key: 1 re-encrypted" in out.getvalue()
        assert "endpoints_webhooksubscription.previous_secret: 1 re-encrypted" in out.getvalue()
        assert "Done: 4 secrets" in out.getvalue()
        again = StringIO()
        call_command("reencrypt", stdout=again)
        assert "Done: 0 secrets" in again.getvalue()  # idempotent

    with override_settings(KONGFLOW_ENCRYPTION_KEYS=[KEY_B]):
        # KEY_A can go: everything is readable with KEY_B alone.
        reread = RuntimeEnvironment.objects.get(id=environment.id)
        assert (reread.api_key, reread.previous_api_key) == (environment.api_key, environment.previous_api_key)
        rehook = WebhookSubscription.objects.get(id=hook.id)
        assert (rehook.secret, rehook.previous_secret) == (hook.secret, hook.previous_secret)
        assert environment_for_api_key(environment.api_key) == environment

    with override_settings(KONGFLOW_ENCRYPTION_KEYS=[KEY_A]), pytest.raises(UndecryptableSecret) as caught:
        RuntimeEnvironment.objects.get(id=environment.id)
    assert environment.api_key not in str(caught.value)


@pytest.mark.django_db
def test_the_derived_key_still_decrypts_after_moving_to_keys_of_ones_own():
    environment = rotated_environment()  # encrypted with the key derived from SECRET_KEY
    with override_settings(KONGFLOW_ENCRYPTION_KEYS=[KEY_A]):
        assert RuntimeEnvironment.objects.get(id=environment.id).api_key == environment.api_key
        call_command("reencrypt", stdout=StringIO())
        token = raw("endpoints_runtimeenvironment", "api_key", environment.id)
        assert Fernet(KEY_A).decrypt(token.encode()).decode() == environment.api_key


def test_malformed_keys_are_a_configuration_error_that_does_not_echo_them():
    assert parse_keys(f" {KEY_A} , {KEY_B},") == [KEY_A, KEY_B]
    with pytest.raises(ImproperlyConfigured, match="key #2 is not a Fernet key") as caught:
        parse_keys(f"{KEY_A},not-a-key-but-secret")
    assert "not-a-key-but-secret" not in str(caught.value)


@pytest.mark.django_db(transaction=True)
def test_migration_encrypts_plaintext_rows_and_reverses():
    executor = MigrationExecutor(connection)
    target = ("endpoints", "0015_encrypted_secrets")
    before = [parent.key for parent in executor.loader.graph.node_map[target].parents]
    leaves = executor.loader.graph.leaf_nodes()
    executor.migrate(before)
    old = executor.loader.project_state(before).apps
    organization = old.get_model("endpoints", "Organization").objects.create(slug="o", title="O")
    project = old.get_model("endpoints", "Project").objects.create(slug="p", name="P", organization=organization)
    old.get_model("endpoints", "RuntimeEnvironment").objects.create(
        id="env1",
        slug="development",
        type="DEVELOPMENT",
        api_key="tr_dev_plaintextKey0001",
        api_key_hash=hash_key("tr_dev_plaintextKey0001"),
        pk_api_key="pk_dev_plaintextKey0001",
        organization=organization,
        project=project,
    )
    old.get_model("endpoints", "WebhookSubscription").objects.create(
        id="sub1", environment_id="env1", url="http://127.0.0.1:9/", secret="whsec_cGxhaW50ZXh0"
    )
    try:
        executor = MigrationExecutor(connection)
        executor.migrate([target])
        token = raw("endpoints_runtimeenvironment", "api_key", "env1")
        assert looks_encrypted(token) and "plaintextKey" not in token
        assert raw("endpoints_runtimeenvironment", "previous_api_key", "env1") is None
        assert looks_encrypted(raw("endpoints_webhooksubscription", "secret", "sub1"))
        assert environment_for_api_key("tr_dev_plaintextKey0001").id == "env1"
        assert WebhookSubscription.objects.get(id="sub1").secret == "whsec_cGxhaW50ZXh0"

        executor = MigrationExecutor(connection)
        executor.migrate(before)  # reversible: plaintext again
        assert raw("endpoints_runtimeenvironment", "api_key", "env1") == "tr_dev_plaintextKey0001"
        assert raw("endpoints_webhooksubscription", "secret", "sub1") == "whsec_cGxhaW50ZXh0"
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(leaves)
