"""LINE's standard stickers a bot may send (packageId → stickerIds), for the reply picker.

From LINE's published list of stickers available to the Messaging API; a small choice of two
packages keeps the picker short."""

from __future__ import annotations

STANDARD_STICKERS: dict[str, list[str]] = {
    "446": [str(n) for n in range(1988, 2028)],
    "789": [str(n) for n in range(10855, 10895)],
}
# The picker shows these (the first few of each package).
PICKER: list[tuple[str, str]] = [
    (package, sticker) for package, ids in STANDARD_STICKERS.items() for sticker in ids[:8]
]


def is_standard(package_id: str, sticker_id: str) -> bool:
    return sticker_id in STANDARD_STICKERS.get(package_id, [])
