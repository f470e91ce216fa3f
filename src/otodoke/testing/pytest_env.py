"""Loaded with `-p otodoke.testing.pytest_env` so it runs before pytest-django reads settings.

Tests never depend on a developer's keys.json: they get fixed throwaway keys and their own data
folder (the SQLite test database lives there as a file so a real worker subprocess can open it).
"""

import os
from pathlib import Path

_REPO = Path(__file__).resolve().parents[3]

os.environ.setdefault("SECRET_KEY", "test-secret-key-not-for-production")
# A fixed, valid Fernet key for tests only.
os.environ.setdefault("OTODOKE_ENCRYPTION_KEYS", "dGVzdC1rZXktdGVzdC1rZXktdGVzdC1rZXktdGVzdCE=")
os.environ.setdefault("OTODOKE_DATA_DIR", str(_REPO / "var" / "test"))
Path(os.environ["OTODOKE_DATA_DIR"]).mkdir(parents=True, exist_ok=True)
