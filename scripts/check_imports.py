"""Every third-party package the code imports must be declared in pyproject.toml.

Runtime code (src/, outside tests/ and testing/) must import only [project] dependencies; tests,
the test helpers and scripts/ may also use the dev group. Run: python3 -m uv run python
scripts/check_imports.py (the test suite runs it too). Exits 1 naming each undeclared import.
"""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIRST_PARTY = {"otodoke", "line_emulator"}


def _names(requirements: list[str]) -> set[str]:
    return {_normalise(re.split(r"[\s\[<>=!~;]", req, maxsplit=1)[0]) for req in requirements}


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


def _is_dev_only(path: Path) -> bool:
    parts = path.relative_to(ROOT).parts
    if parts[0] != "src" or path.stem in {"testing", "conftest"}:
        return True
    return "tests" in parts or "testing" in parts


def undeclared() -> list[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    runtime = _names(project["project"]["dependencies"])
    dev = runtime | _names(project["dependency-groups"]["dev"])
    distributions = packages_distributions()
    problems = []
    for path in sorted([*(ROOT / "src").rglob("*.py"), *(ROOT / "scripts").rglob("*.py")]):
        allowed = dev if _is_dev_only(path) else runtime
        for module in sorted(_imports(path)):
            if module in FIRST_PARTY or module in sys.stdlib_module_names:
                continue
            dists = {_normalise(d) for d in distributions.get(module, [])}
            if not dists:
                problems.append(f"{path.relative_to(ROOT)}: {module} (not installed)")
            elif not dists & allowed:
                problems.append(f"{path.relative_to(ROOT)}: {module} (from {', '.join(dists)})")
    return problems


if __name__ == "__main__":
    problems = undeclared()
    sys.stdout.writelines(f"{problem}\n" for problem in problems)
    sys.exit(1 if problems else 0)
