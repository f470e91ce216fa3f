"""Webhook sender (being written)."""

from __future__ import annotations

from line_emulator.state import Emulator


class WebhookSender:
    def __init__(self, emulator: Emulator) -> None:
        self.emulator = emulator

    async def aclose(self) -> None:
        return None
