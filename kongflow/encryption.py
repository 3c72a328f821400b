"""Secrets at rest: API keys and webhook secrets are stored as Fernet tokens (AES-128-CBC +
HMAC-SHA256), so a database dump alone reveals no usable key.

`KONGFLOW_ENCRYPTION_KEYS` is a comma-separated list of Fernet keys: the first encrypts, all
decrypt (rotation: put a new key first, keep the old ones until `manage.py reencrypt` has run).
A key derived from DJANGO_SECRET_KEY (HKDF-SHA256) always decrypts too, last, and is the one that
encrypts when no key is set: the embedded defaults work with nothing configured, and moving from
them to keys of one's own is "set the keys, run reencrypt".
"""

from __future__ import annotations

import base64
import binascii
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

SETTING = "KONGFLOW_ENCRYPTION_KEYS"
_FERNET_VERSION = 0x80
_HKDF_INFO = b"kongflow secrets at rest v1"


class UndecryptableSecret(RuntimeError):
    """A stored token that none of the configured keys opens (never carries the token)."""


def parse_keys(text: str) -> list[str]:
    """The keys of the setting's value; ImproperlyConfigured (naming the key's position, never the
    key) for one that is not a Fernet key."""
    keys = [key.strip() for key in text.split(",") if key.strip()]
    for position, key in enumerate(keys, start=1):
        try:
            Fernet(key)
        except (ValueError, binascii.Error):
            raise ImproperlyConfigured(
                f"{SETTING}: key #{position} is not a Fernet key (32 url-safe base64-encoded bytes; generate one "
                'with `python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"`)'
            ) from None
    return keys


def derived_key(secret_key: str) -> str:
    """The Fernet key derived from DJANGO_SECRET_KEY (HKDF-SHA256)."""
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=b"kongflow", info=_HKDF_INFO)
    return base64.urlsafe_b64encode(hkdf.derive(secret_key.encode())).decode()


@lru_cache(maxsize=4)
def _fernets(keys: tuple[str, ...], secret_key: str) -> tuple[MultiFernet, Fernet]:
    ordered = [*keys, *([] if derived_key(secret_key) in keys else [derived_key(secret_key)])]
    fernets = [Fernet(key) for key in ordered]
    return MultiFernet(fernets), fernets[0]


def _current() -> tuple[MultiFernet, Fernet]:
    return _fernets(tuple(settings.KONGFLOW_ENCRYPTION_KEYS), settings.SECRET_KEY)


def encrypt(plaintext: str) -> str:
    return _current()[0].encrypt(plaintext.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return _current()[0].decrypt(token.encode()).decode()
    except InvalidToken:
        raise UndecryptableSecret(
            f"A stored secret cannot be decrypted: the key that encrypted it is not in {SETTING} "
            "(or DJANGO_SECRET_KEY changed while the derived key was in use)"
        ) from None


def looks_encrypted(value: str) -> bool:
    """A Fernet token (whichever key made it), as opposed to a plaintext key such as `tr_dev_…`."""
    try:
        raw = base64.urlsafe_b64decode(value.encode())
    except (ValueError, binascii.Error):
        return False
    return len(raw) >= 57 and raw[0] == _FERNET_VERSION


def reencrypted(value: str) -> str | None:
    """`value` (a token or a plaintext secret) encrypted with the first key, or None when it already is."""
    multi, first = _current()
    if not looks_encrypted(value):
        return encrypt(value)
    try:
        first.decrypt(value.encode())
        return None
    except InvalidToken:
        pass
    try:
        return multi.rotate(value.encode()).decode()
    except InvalidToken:
        raise UndecryptableSecret(f"A stored secret was encrypted with a key that is not in {SETTING}") from None


def uses_derived_key() -> bool:
    """No key of one's own is set: secrets are encrypted with the key derived from DJANGO_SECRET_KEY."""
    return not settings.KONGFLOW_ENCRYPTION_KEYS
