"""Rich-menu fixtures: the campaign tests' workspace on the real-HTTP emulator, published
menus with generated images, and a VIP segment."""

from __future__ import annotations

from typing import Any

import pytest

from otodoke.campaigns.tests.conftest import (  # noqa: F401 - fixtures
    Line,
    engine_settings,
    english,
    line,
    owner,
    workspace,
)
from otodoke.segments.models import Segment
from otodoke.segments.services import save_segment
from otodoke.workspaces.models import Workspace


@pytest.fixture(autouse=True)
def media_in_tmp(settings: Any, tmp_path: Any) -> None:
    settings.MEDIA_ROOT = str(tmp_path / "media")


@pytest.fixture
def vip(workspace: Workspace) -> Segment:  # noqa: F811 - the imported fixture
    return save_segment(
        workspace,
        name="VIP",
        description="",
        definition={"version": 1, "where": {"kind": "tags", "match": "any", "names": ["VIP"]}},
        actor=None,
    )
