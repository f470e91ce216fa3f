"""Where scenarios listen: the lower apps' signals, connected once in AppConfig.ready."""

from __future__ import annotations


def connect() -> None:
    """Connected in the next commits (triggers and exits)."""
