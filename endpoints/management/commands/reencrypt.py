"""Rewrite every stored secret with the first of KONGFLOW_ENCRYPTION_KEYS (after adding a key)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from endpoints.services.secrets import secrets_reencrypt
from kongflow.encryption import uses_derived_key


class Command(BaseCommand):
    help = (
        "Re-encrypt every API key and webhook secret with the first key of KONGFLOW_ENCRYPTION_KEYS "
        "(idempotent, in batches). Run it after putting a new key first; then the old keys can go."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--batch-size", type=int, default=500, help="Rows per transaction.")

    def handle(self, *args: Any, batch_size: int, **options: Any) -> None:
        if uses_derived_key():
            self.stderr.write("KONGFLOW_ENCRYPTION_KEYS is not set: using the key derived from DJANGO_SECRET_KEY.")
        counts = secrets_reencrypt(batch_size=batch_size)
        for column, count in counts.items():
            self.stdout.write(f"{column}: {count} re-encrypted")
        self.stdout.write(f"Done: {sum(counts.values())} secrets re-encrypted with the first key.")
