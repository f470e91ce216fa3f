"""Masking of personal data for members without Permission.VIEW_PII.

Masks keep just enough to tell two records apart on screen (the last few characters), never
enough to use: a masked LINE user ID cannot be uploaded as an audience, a masked phone cannot
be called."""

from __future__ import annotations

import re

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


# --- personal data inside free text (import error messages) ----------------------------------

# A quoted value, as messages quote them in English (“…”) and in Japanese (「…」).
_QUOTED = re.compile(r"([“「])([^”」]*)([”」])")
_LINE_ID = re.compile(r"U[0-9a-fA-F]{32}")
_EMAIL = re.compile(r"[^\s@＠“”「」\"'<>()]+[@＠][^\s@＠“”「」\"'<>()]+")
# Phone-like: at least 10 digits (a Japanese number with its area code), with the separators
# people type (full-width digits and dashes included); dates and amounts have fewer digits.
_PHONE = re.compile(r"[+＋]?\d(?:[\s\-‐－ー−()（）]*\d){9,}")


def mask_value(value: str) -> str:
    """A masked form of one value of unknown kind (a phone, an e-mail or a LINE user ID)."""
    if "@" in value or "＠" in value:
        return mask_email(value.replace("＠", "@"))
    if _LINE_ID.fullmatch(value.strip()):
        return mask_line_user_id(value.strip())
    return mask_phone(value) if value else value


def mask_text(text: str, *, quoted: bool = False) -> str:
    """`text` with every LINE user ID, e-mail address and phone number in it masked; with
    `quoted`, every “quoted value” too (a rejected phone need not look like a phone)."""
    if quoted:
        text = _QUOTED.sub(lambda m: m.group(1) + mask_value(m.group(2)) + m.group(3), text)
    text = _LINE_ID.sub(lambda m: mask_line_user_id(m.group(0)), text)
    text = _EMAIL.sub(lambda m: mask_email(m.group(0).replace("＠", "@")), text)
    return _PHONE.sub(lambda m: mask_phone(m.group(0)), text)
