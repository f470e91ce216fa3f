"""Secrets at rest: Fernet (AES-128-CBC + HMAC-SHA256) from `cryptography`, with key rotation.

Values are stored as Fernet tokens and come back from the database as `Secret` objects that
never print their plaintext; code asks for it explicitly with `.reveal()`. A wrong key is an
`EncryptionKeyError` naming the cause, never garbage.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models


class EncryptionKeyError(Exception):
    """The stored value was encrypted with a key this install does not have."""


@cache
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    try:
        return MultiFernet([Fernet(key.encode()) for key in keys])
    except ValueError as exc:
        raise ImproperlyConfigured(
            "OTODOKE_ENCRYPTION_KEYS holds a value that is not a Fernet key "
            "(32 url-safe base64-encoded bytes)"
        ) from exc


def fernet() -> MultiFernet:
    return _fernet(tuple(settings.ENCRYPTION_KEYS))


def encrypt(plaintext: str) -> str:
    return fernet().encrypt(plaintext.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return fernet().decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise EncryptionKeyError(
            "A stored secret cannot be decrypted: OTODOKE_ENCRYPTION_KEYS does not contain the "
            "key it was encrypted with (keys.json replaced, or the key rotated without keeping "
            "the old one). Restore the old key, or re-enter the channel credentials."
        ) from exc


class Secret:
    """A decrypted-on-demand value. `str()` and `repr()` never show the plaintext."""

    __slots__ = ("_token",)

    def __init__(self, token: str) -> None:
        self._token = token

    @classmethod
    def from_plaintext(cls, plaintext: str) -> Secret:
        return cls(encrypt(plaintext))

    @property
    def token(self) -> str:
        return self._token

    def reveal(self) -> str:
        return decrypt(self._token)

    def masked(self, visible: int = 4) -> str:
        """For display: the last few characters only, e.g. `••••••a1b2`."""
        plain = self.reveal()
        if len(plain) <= visible * 2:
            return "•" * len(plain)
        return "•" * 6 + plain[-visible:]

    def __str__(self) -> str:
        return "Secret(••••••)"

    __repr__ = __str__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other.reveal() == self.reveal()

    def __hash__(self) -> int:
        return hash(self._token)


def revealed(value: Secret | None) -> str:
    """The plaintext of a stored secret, or "" when none is stored (a workspace created in the
    UI before its LINE channel is connected): LINE then refuses the call as unauthorised."""
    return value.reveal() if value is not None else ""


class EncryptedTextField(models.TextField[Any, Any]):
    """Stores a `Secret` (or a plaintext `str`, encrypted on save) as a Fernet token."""

    def from_db_value(self, value: str | None, expression: Any, connection: Any) -> Secret | None:
        if value is None or value == "":
            return None
        return Secret(value)

    def to_python(self, value: Any) -> Secret | None:
        if value is None or value == "" or isinstance(value, Secret):
            return value or None
        return Secret.from_plaintext(str(value))

    def get_prep_value(self, value: Any) -> str | None:
        if value is None or value == "":
            return None if self.null else ""
        if isinstance(value, Secret):
            return value.token
        return encrypt(str(value))
