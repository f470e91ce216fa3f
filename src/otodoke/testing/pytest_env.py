"""Loaded with `-p otodoke.testing.pytest_env` so it runs before pytest-django reads settings.

Tests never depend on a developer's keys.json: they get fixed throwaway keys and their own data
folder (the SQLite test database lives there as a file so a real worker subprocess can open it).
"""

import os
from pathlib import Path
from typing import Any

import pytest

_REPO = Path(__file__).resolve().parents[3]

os.environ.setdefault("SECRET_KEY", "test-secret-key-not-for-production")
# A fixed, valid Fernet key for tests only.
os.environ.setdefault("OTODOKE_ENCRYPTION_KEYS", "dGVzdC1rZXktdGVzdC1rZXktdGVzdC1rZXktdGVzdCE=")
# One data folder and one PostgreSQL test database per test run, so concurrent runs on one
# machine never share (and destroy) each other's test database.
os.environ.setdefault("OTODOKE_DATA_DIR", str(_REPO / "var" / "test" / str(os.getpid())))
os.environ.setdefault("OTODOKE_TEST_DB_NAME", f"test_otodoke_{os.getpid()}")
Path(os.environ["OTODOKE_DATA_DIR"]).mkdir(parents=True, exist_ok=True)


def pytest_unconfigure(config: object) -> None:
    """Remove this run's data folder (the test database file and anything tests wrote)."""
    import shutil

    run_dir = Path(os.environ["OTODOKE_DATA_DIR"])
    if run_dir.parent == _REPO / "var" / "test":
        shutil.rmtree(run_dir, ignore_errors=True)


@pytest.fixture(autouse=True)
def fast_password_hashing(settings: Any) -> None:
    """The production hasher spends about a second per password on purpose (more on a loaded
    machine); tests create staff and log in a lot. Every test gets a fast hasher: none asserts
    which hasher production uses, and processes a test starts keep the real one. The real
    hashers stay listed after it, so a password a process hashed still checks here."""
    fast = "django.contrib.auth.hashers.MD5PasswordHasher"
    settings.PASSWORD_HASHERS = [fast, *(h for h in settings.PASSWORD_HASHERS if h != fast)]
