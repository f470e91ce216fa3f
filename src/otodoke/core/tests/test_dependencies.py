"""What the code imports is what pyproject.toml declares (a fresh install must not miss one)."""

import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[4] / "scripts" / "check_imports.py"


def test_every_imported_package_is_declared_in_pyproject() -> None:
    result = subprocess.run(
        [sys.executable, str(SCRIPT)], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout + result.stderr
