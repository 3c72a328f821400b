"""Model fields of our own."""

from __future__ import annotations

from typing import Any

from django.db import models
from django.db.models import Lookup

from kongflow.encryption import decrypt, encrypt


class EncryptedTextField(models.TextField):  # type: ignore[type-arg]
    """Read and written as the plain secret, stored as a Fernet token (kongflow.encryption).

    Tokens are randomised, so the column cannot be compared: only `isnull` lookups are allowed
    (find a secret by a hash column of its own).
    """

    def from_db_value(self, value: str | None, expression: Any, connection: Any) -> str | None:
        return None if value is None else decrypt(value)

    def get_prep_value(self, value: Any) -> Any:
        value = super().get_prep_value(value)
        return None if value is None else encrypt(value)

    def get_lookup(self, lookup_name: str) -> type[Lookup[Any]] | None:
        return super().get_lookup(lookup_name) if lookup_name == "isnull" else None
