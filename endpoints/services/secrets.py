"""Secrets at rest: rewrite every stored secret with the first of KONGFLOW_ENCRYPTION_KEYS."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from django.apps import apps
from django.db import connections, transaction
from django.db.backends.base.base import BaseDatabaseWrapper

from endpoints.models.fields import EncryptedTextField
from kongflow.encryption import reencrypted


def encrypted_columns() -> Iterator[tuple[str, list[str]]]:
    """(table, [column, …]) of every EncryptedTextField of the app's models."""
    for model in apps.get_app_config("endpoints").get_models():
        columns = [str(field.column) for field in model._meta.concrete_fields if isinstance(field, EncryptedTextField)]
        if columns:
            yield model._meta.db_table, columns


def column_values_rewrite(
    *,
    connection: BaseDatabaseWrapper,
    table: str,
    columns: list[str],
    transform: Callable[[str], str | None],
    batch_size: int = 500,
) -> int:
    """Apply `transform` to every non-null value of `columns` (None: leave it), in batches of rows
    (by id, each batch its own transaction). A value is only replaced if it is still the one read,
    so a rotation that commits in between wins. Returns how many values were rewritten."""
    quote = connection.ops.quote_name
    selected = ", ".join(quote(column) for column in columns)
    rewritten, last_id = 0, ""
    while True:
        with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
            cursor.execute(
                f"SELECT {quote('id')}, {selected} FROM {quote(table)} "  # noqa: S608 - quoted names
                f"WHERE {quote('id')} > %s ORDER BY {quote('id')} LIMIT %s",
                [last_id, batch_size],
            )
            rows = cursor.fetchall()
            for row_id, *values in rows:
                for column, value in zip(columns, values, strict=True):
                    new = None if value is None else transform(value)
                    if new is None:
                        continue
                    cursor.execute(
                        f"UPDATE {quote(table)} SET {quote(column)} = %s "  # noqa: S608 - quoted names
                        f"WHERE {quote('id')} = %s AND {quote(column)} = %s",
                        [new, row_id, value],
                    )
                    rewritten += cursor.rowcount
        if len(rows) < batch_size:
            return rewritten
        last_id = rows[-1][0]


def secrets_reencrypt(*, batch_size: int = 500, using: str = "default") -> dict[str, int]:
    """Encrypt every stored secret with the first key (plaintext ones too); idempotent: a value
    already encrypted with it is left alone. Returns the number rewritten per `table.column`."""
    counts: dict[str, int] = {}
    for table, columns in encrypted_columns():
        for column in columns:
            counts[f"{table}.{column}"] = column_values_rewrite(
                connection=connections[using],
                table=table,
                columns=[column],
                transform=reencrypted,
                batch_size=batch_size,
            )
    return counts
