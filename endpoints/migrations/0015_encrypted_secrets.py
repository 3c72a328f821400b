"""API keys and webhook secrets are stored encrypted (kongflow.encryption): the columns become
text (a Fernet token is longer than the key) and lose their unique index (tokens are randomised;
`api_key_hash` stays unique), then every plaintext value is encrypted with the first of
KONGFLOW_ENCRYPTION_KEYS. Reversible: going back decrypts them (with the same keys configured).
"""

from django.db import migrations

import endpoints.models.fields
from endpoints.services.secrets import column_values_rewrite
from kongflow.encryption import decrypt, looks_encrypted, reencrypted

SECRETS = {
    "endpoints_runtimeenvironment": ["api_key", "previous_api_key"],
    "endpoints_webhooksubscription": ["secret", "previous_secret"],
}


def encrypt_secrets(apps, schema_editor):
    for table, columns in SECRETS.items():
        column_values_rewrite(
            connection=schema_editor.connection, table=table, columns=columns, transform=reencrypted
        )


def decrypt_secrets(apps, schema_editor):
    for table, columns in SECRETS.items():
        column_values_rewrite(
            connection=schema_editor.connection,
            table=table,
            columns=columns,
            transform=lambda value: decrypt(value) if looks_encrypted(value) else None,
        )


class Migration(migrations.Migration):

    dependencies = [
        ('endpoints', '0014_organization_allowed_networks'),
    ]

    operations = [
        migrations.AlterField(
            model_name='runtimeenvironment',
            name='api_key',
            field=endpoints.models.fields.EncryptedTextField(),
        ),
        migrations.AlterField(
            model_name='runtimeenvironment',
            name='previous_api_key',
            field=endpoints.models.fields.EncryptedTextField(blank=True, editable=False, null=True),
        ),
        migrations.AlterField(
            model_name='webhooksubscription',
            name='previous_secret',
            field=endpoints.models.fields.EncryptedTextField(blank=True, null=True),
        ),
        migrations.AlterField(
            model_name='webhooksubscription',
            name='secret',
            field=endpoints.models.fields.EncryptedTextField(),
        ),
        migrations.RunPython(encrypt_secrets, decrypt_secrets),
    ]
