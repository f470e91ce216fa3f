from __future__ import annotations

import csv
import io
from collections.abc import Callable
from pathlib import Path

import pytest

from otodoke.contacts.models import Contact, LineStatus
from otodoke.workspaces.models import Workspace
from otodoke.workspaces.services import create_workspace

WriteCsv = Callable[..., Path]


@pytest.fixture
def workspace(db: None) -> Workspace:
    return create_workspace(
        name="Salon",
        slug="salon",
        channel_id="1",
        channel_secret="s",
        channel_access_token="t",
        api_base_url="http://127.0.0.1:9",
    )


@pytest.fixture
def write_csv(tmp_path: Path) -> WriteCsv:
    """Write rows (header first) as a CSV file in `encoding`; returns its path."""

    def write(rows: list[list[str]], *, encoding: str = "utf-8", name: str = "in.csv") -> Path:
        buffer = io.StringIO(newline="")
        csv.writer(buffer, lineterminator="\r\n").writerows(rows)
        path = tmp_path / name
        path.write_bytes(buffer.getvalue().encode(encoding))
        return path

    return write


def line_id(n: int) -> str:
    return "U" + f"{n:032x}"


def follower(workspace: Workspace, n: int, **fields: object) -> Contact:
    """A LINE-only contact: a friend nobody linked to a customer yet."""
    return Contact.objects.create(
        workspace=workspace,
        line_user_id=line_id(n),
        line_status=LineStatus.FOLLOWING,
        line_display_name=f"friend {n}",
        **fields,
    )
