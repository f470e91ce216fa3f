"""Typed helpers for reading the environment, plus the locally kept generated keys."""

from __future__ import annotations

import ipaddress
import json
import os
import secrets
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}

KEYS_FILE = "keys.json"


def data_dir() -> Path:
    """Where the SQLite database, generated keys and uploads live (OTODOKE_DATA_DIR)."""
    return Path(os.environ.get("OTODOKE_DATA_DIR", Path.cwd() / "data")).resolve()


def env_bool(name: str, *, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, not {raw!r}")


def env_int(name: str, *, default: int, minimum: int = 0) -> int:
    raw = os.environ.get(name)
    if raw is None or not raw.strip():
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be a whole number, not {raw!r}") from exc
    if value < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}, not {value}")
    return value


def env_list(name: str) -> list[str]:
    raw = os.environ.get(name, "")
    return [item.strip() for item in raw.split(",") if item.strip()]


def env_networks(name: str) -> list[str]:
    """A comma-separated list of IP addresses or CIDR networks; a bad entry fails loudly."""
    values = env_list(name)
    for value in values:
        try:
            ipaddress.ip_network(value, strict=False)
        except ValueError as exc:
            raise ImproperlyConfigured(
                f"{name}: {value!r} is not an IP address or CIDR network"
            ) from exc
    return values


def load_local_keys(data_dir: Path) -> dict[str, Any]:
    path = data_dir / KEYS_FILE
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise ImproperlyConfigured(f"{path} is not readable JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise ImproperlyConfigured(f"{path} must hold a JSON object")
    return data


def generate_keys() -> dict[str, Any]:
    return {
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ENCRYPTION_KEYS": [Fernet.generate_key().decode()],
    }


def ensure_local_keys(data_dir: Path) -> Path:
    """Create DATA_DIR/keys.json once (mode 600) and never overwrite it: the stored channel
    secrets can only be read back with the key they were encrypted with."""
    path = data_dir / KEYS_FILE
    if path.exists():
        return path
    data_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(generate_keys(), fh, indent=2)
    return path


def env_proxy_ssl_header(name: str) -> tuple[str, str] | None:
    """Django's SECURE_PROXY_SSL_HEADER from ``Header-Name: value`` (``X-Forwarded-Proto:
    https``); a bare header name means the value ``https``. Empty: not behind such a proxy."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return None
    header, _, value = raw.partition(":")
    header, value = header.strip(), value.strip() or "https"
    if not header or not all(c.isalnum() or c == "-" for c in header):
        raise ImproperlyConfigured(
            f"{name} must be a header name and value such as 'X-Forwarded-Proto: https', "
            f"not {raw!r}"
        )
    return "HTTP_" + header.upper().replace("-", "_"), value


def private_files() -> None:
    """Files and folders this process creates are its user's alone (umask 077): the SQLite
    database and its journals, uploads, error reports and keys hold customers' personal data.
    An existing data folder is left as it is; a new one is created 0700."""
    os.umask(0o077)
