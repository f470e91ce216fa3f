"""The first commands a newcomer types, in a fresh data folder with no keys and no database:
the real `otodoke` process answers `--help` and says what to run instead of a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest


def _otodoke(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        k: v for k, v in os.environ.items() if k not in {"SECRET_KEY", "OTODOKE_ENCRYPTION_KEYS"}
    }
    env.pop("DJANGO_SETTINGS_MODULE", None)
    env.update(OTODOKE_DATA_DIR=str(data_dir), DATABASE_URL=f"sqlite:///{data_dir / 'db.sqlite3'}")
    return subprocess.run(
        [sys.executable, "-m", "otodoke", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize("command", [["segment", "--help"], ["import", "--help"], ["help"]])
def test_subcommand_help_works_before_init(tmp_path: Path, command: list[str]) -> None:
    result = _otodoke(tmp_path, *command)
    assert result.returncode == 0, result.stderr
    assert "usage" in result.stdout or "使い方" in result.stdout  # Japanese by default
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "keys.json").exists()  # help created no keys


def test_a_command_before_init_names_init_without_a_traceback(tmp_path: Path) -> None:
    result = _otodoke(tmp_path, "workspace", "list")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "otodoke init" in result.stderr


def test_a_command_before_migrate_says_to_migrate(tmp_path: Path) -> None:
    assert _otodoke(tmp_path, "init").returncode == 0
    result = _otodoke(tmp_path, "workspace", "list")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "otodoke migrate" in result.stderr
