"""Display filters shared by the UI's templates."""

from __future__ import annotations

from django import template

register = template.Library()


@register.filter
def num(value: object) -> str:
    """1234567 → "1,234,567" (both languages group by thousands); None → "—"."""
    if value is None or value == "":
        return "—"
    if isinstance(value, int | float):
        return f"{value:,}"
    return str(value)


@register.filter
def yen(value: object) -> str:
    """30000 → "30,000円" (how prices are written in Japan, in both languages); None → "—"."""
    if value is None or value == "":
        return "—"
    if isinstance(value, int | float):
        return f"{value:,}円"
    return f"{value}円"
