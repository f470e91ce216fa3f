"""Masking of personal data for members without Permission.VIEW_PII.

Masks keep just enough to tell two records apart on screen (the last few characters), never
enough to use: a masked LINE user ID cannot be uploaded as an audience, a masked phone cannot
be called."""

from __future__ import annotations

MASK = "•" * 6


def mask_line_user_id(value: str | None) -> str:
    if not value:
        return ""
    return f"U{MASK}{value[-4:]}"


def mask_phone(value: str | None) -> str:
    if not value:
        return ""
    return f"{MASK}{value[-2:]}"


def mask_email(value: str | None) -> str:
    if not value:
        return ""
    local, _, domain = value.partition("@")
    return f"{local[:1]}{MASK}@{domain}" if domain else MASK
