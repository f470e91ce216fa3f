"""Tap areas: the rows staff draw on the image, checked against LINE's limits, and the LINE
rich-menu object they become when the menu is published.

An area is stored as ``{"x", "y", "width", "height", "type", "value", "label", "mode",
"target"}`` in image pixels: `value` is the URL (uri), the postback data (postback and date
picker), or the text the friend sends (message); `mode` is the picker's date/time/datetime;
`target` is the ID of the menu a tab switch shows (through its alias).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext as _

MAX_AREAS = 20
ACTION_TYPES = ("uri", "postback", "message", "datetimepicker", "richmenuswitch")
PICKER_MODES = ("date", "time", "datetime")
# LINE's limits (LINE_PLATFORM.md, action objects in a rich menu).
MAX_LABEL = 20
MAX_DATA = 300
MAX_TEXT = 300
MAX_URI = 1000


@dataclass(frozen=True)
class AreaProblem:
    index: int  # -1: the list as a whole
    field: str
    message: str

    def __str__(self) -> str:
        if self.index < 0:
            return self.message
        return _("Area %(n)s (%(field)s): %(message)s") % {
            "n": self.index + 1,
            "field": self.field,
            "message": self.message,
        }


class AreasError(ValueError):
    def __init__(self, problems: list[AreaProblem]) -> None:
        super().__init__("; ".join(str(p) for p in problems))
        self.problems = problems


def _int(value: Any) -> int | None:
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return None


def clean_areas(
    rows: list[dict[str, Any]], width: int, height: int, menu_ids: set[int]
) -> list[dict[str, Any]]:
    """The stored form of `rows`, or AreasError naming each bad row and field.
    `menu_ids`: the workspace's menus a tab switch may point at."""
    problems: list[AreaProblem] = []
    if len(rows) > MAX_AREAS:
        problems.append(
            AreaProblem(-1, "areas", _("LINE allows at most %(n)s tap areas.") % {"n": MAX_AREAS})
        )
    cleaned: list[dict[str, Any]] = []
    for index, row in enumerate(rows):

        def bad(field: str, message: str, index: int = index) -> None:
            problems.append(AreaProblem(index, field, message))

        box = {k: _int(row.get(k)) for k in ("x", "y", "width", "height")}
        x, y, w, h = box["x"], box["y"], box["width"], box["height"]
        if x is None or y is None or w is None or h is None:
            bad("bounds", _("give the position and size in whole pixels"))
            continue
        if x < 0 or y < 0 or w < 1 or h < 1:
            bad("bounds", _("the area must have a positive size inside the image"))
        elif x + w > width or y + h > height:
            bad(
                "bounds",
                _("the area goes past the image (%(w)s×%(h)s)") % {"w": width, "h": height},
            )
        kind = str(row.get("type") or "")
        value = str(row.get("value") or "").strip()
        label = str(row.get("label") or "").strip()
        area: dict[str, Any] = {"x": x, "y": y, "width": w, "height": h, "type": kind}
        if len(label) > MAX_LABEL:
            bad("label", _("at most %(n)s characters (LINE's limit)") % {"n": MAX_LABEL})
        area["label"] = label
        if kind not in ACTION_TYPES:
            bad("type", _("choose what a tap does"))
        elif kind == "uri":
            if not value.startswith(("https://", "http://", "tel:", "line://")):
                bad("value", _("give a URL starting with https://"))
            elif len(value) > MAX_URI:
                bad("value", _("at most %(n)s characters (LINE's limit)") % {"n": MAX_URI})
            area["value"] = value
        elif kind in ("postback", "datetimepicker", "message"):
            limit = MAX_TEXT if kind == "message" else MAX_DATA
            if not value:
                bad("value", _("give the text or data this tap sends"))
            elif len(value) > limit:
                bad("value", _("at most %(n)s characters (LINE's limit)") % {"n": limit})
            area["value"] = value
            if kind == "datetimepicker":
                mode = str(row.get("mode") or "date")
                if mode not in PICKER_MODES:
                    bad("mode", _("choose date, time or date and time"))
                area["mode"] = mode
        elif kind == "richmenuswitch":
            target = _int(row.get("target"))
            if target is None or target not in menu_ids:
                bad("target", _("choose the menu this tab shows"))
            area["target"] = target
            area["value"] = value[:MAX_DATA]
        cleaned.append(area)
    if problems:
        raise AreasError(problems)
    return cleaned


def line_action(area: dict[str, Any], *, uri: str | None, alias: str | None) -> dict[str, Any]:
    """The LINE action object of a stored area. `uri`: the tracked URL for a link area;
    `alias`: the target menu's alias for a tab switch."""
    kind = area["type"]
    action: dict[str, Any] = {"type": kind}
    if area.get("label"):
        action["label"] = area["label"]
    if kind == "uri":
        action["uri"] = uri or area["value"]
    elif kind == "postback":
        action["data"] = area["value"]
        if area.get("label"):
            action["displayText"] = area["label"]
    elif kind == "message":
        action["text"] = area["value"]
    elif kind == "datetimepicker":
        action["data"] = area["value"]
        action["mode"] = area.get("mode", "date")
    elif kind == "richmenuswitch":
        action["richMenuAliasId"] = alias or ""
        action["data"] = area.get("value") or f"richmenu-switch:{alias}"
    return action


def bounds(area: dict[str, Any]) -> dict[str, int]:
    return {k: int(area[k]) for k in ("x", "y", "width", "height")}
