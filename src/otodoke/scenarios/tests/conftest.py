"""Scenario fixtures: the campaign tests' emulator workspace, and a fixed clock."""

from __future__ import annotations

from otodoke.campaigns.tests.conftest import (  # noqa: F401 - fixtures
    Line,
    engine_settings,
    english,
    line,
    make_contacts,
    owner,
    workspace,
)
