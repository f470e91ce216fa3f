"""A one-line, human-readable summary of a definition, through gettext (Japanese and English),
e.g. "Age 30–39 and last visit before 60 days ago" / 「年齢 30〜39歳 かつ 最終来店が60日前より前」.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from otodoke.contacts.models import CUSTOM_KIND_PREFIX, EventKind, Gender
from otodoke.segments import schema as s


def _range(low: int | None, high: int | None, unit: str) -> str:
    """Bounds with thousands separators (30,000円), as prices are written in Japan."""
    low_text = None if low is None else f"{low:,}"
    high_text = None if high is None else f"{high:,}"
    return _bounds(low_text, high_text, unit)


def _bounds(low: str | None, high: str | None, unit: str) -> str:
    if low is not None and high is not None:
        return _("%(low)s–%(high)s%(unit)s") % {"low": low, "high": high, "unit": unit}
    if low is not None:
        return _("%(low)s%(unit)s or more") % {"low": low, "unit": unit}
    return _("%(high)s%(unit)s or less") % {"high": high, "unit": unit}


def _when(node: Any) -> str:
    if getattr(node, "date", None) is not None:
        return str(node.date.isoformat())
    days = node.days_ago
    return ngettext("%(n)d day ago", "%(n)d days ago", days) % {"n": days}


def _window(node: Any) -> str:
    if getattr(node, "within_days", None) is not None:
        n = node.within_days
        return ngettext(" in the last %(n)d day", " in the last %(n)d days", n) % {"n": n}
    if getattr(node, "since", None) or getattr(node, "until", None):
        return _(" between %(since)s and %(until)s") % {
            "since": node.since or "…",
            "until": node.until or "…",
        }
    return ""


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _filter(f: s.PropertyFilter) -> str:
    """One property test, with the builder's own labels for the tests that need words."""
    if f.op == "exists":
        text = f"{f.key} {_('is set')}"
    elif f.op == "contains":
        text = f"{f.key} {_('contains')} {_scalar(f.value)}"
    elif f.op == "in":
        values = f.value if isinstance(f.value, list) else [f.value]
        text = f"{f.key} = " + _(" or ").join(_scalar(v) for v in values)
    else:
        sign = {"equals": "=", "gte": _("≥"), "lte": _("≤")}[f.op]
        text = f"{f.key} {sign} {_scalar(f.value)}"
    return f" [{text}]"


def _event_kind(kind: str) -> str:
    if kind.startswith(CUSTOM_KIND_PREFIX):
        return kind[len(CUSTOM_KIND_PREFIX) :]
    return str(EventKind(kind).label) if kind in EventKind.values else kind


def summarize(
    definition: s.SegmentDefinition | Any,
    *,
    segment_names: Mapping[int, str] | None = None,
    audience_names: Mapping[int, str] | None = None,
) -> str:
    parsed = s.parse_definition(definition)
    return _node(parsed.where, segment_names or {}, audience_names or {}, top=True)


def _node(
    node: Any, segments: Mapping[int, str], audiences: Mapping[int, str], top: bool = False
) -> str:
    def sub(child: Any) -> str:
        return _node(child, segments, audiences)

    if isinstance(node, s.AllOf):
        if not node.conditions:
            return _("Everyone")
        text = _(" and ").join(sub(c) for c in node.conditions)
        return text if top or len(node.conditions) == 1 else f"({text})"
    if isinstance(node, s.AnyOf):
        text = _(" or ").join(sub(c) for c in node.conditions)
        return text if top or len(node.conditions) == 1 else f"({text})"
    if isinstance(node, s.Not):
        return _("not %(condition)s") % {"condition": sub(node.condition)}
    if isinstance(node, s.GenderIs):
        genders = _(", ").join(str(Gender(v).label) for v in node.values)
        return _("Gender: %(values)s") % {"values": genders}
    if isinstance(node, s.AgeBetween):
        return _("Age %(range)s") % {"range": _range(node.min, node.max, _(" years"))}
    if isinstance(node, s.BirthMonth):
        months = _(", ").join(str(m) for m in node.months)
        return _("Birth month: %(months)s") % {"months": months}
    if isinstance(node, s.Birthday):
        return {
            "today": _("Birthday today"),
            "this_month": _("Birthday this month"),
            "next_month": _("Birthday next month"),
        }[node.when]
    if isinstance(node, s.PrefectureIn):
        return _("Prefecture: %(values)s") % {"values": _(", ").join(node.values)}
    if isinstance(node, s.AttributeIs):
        if node.op == "exists":
            return _("Attribute “%(key)s” is set") % {"key": node.key}
        template = (
            _("Attribute “%(key)s” is %(value)s")
            if node.op == "equals"
            else _("Attribute “%(key)s” contains %(value)s")
        )
        return template % {"key": node.key, "value": node.value}
    if isinstance(node, s.Flag):
        texts = {
            ("consent", True): _("Consents to marketing"),
            ("consent", False): _("Does not consent to marketing"),
            ("has_email", True): _("Has an e-mail address"),
            ("has_email", False): _("Has no e-mail address"),
            ("has_phone", True): _("Has a phone number"),
            ("has_phone", False): _("Has no phone number"),
            ("has_customer_number", True): _("Has a customer number"),
            ("has_customer_number", False): _("Has no customer number (LINE-only friend)"),
        }
        return texts[(node.kind, node.value)]
    if isinstance(node, s.DateRollup):
        label = {
            "last_visit": _("Last visit"),
            "first_visit": _("First visit"),
            "last_purchase": _("Last purchase"),
        }[node.kind]
        if node.op == "never":
            return _("%(what)s: never") % {"what": label}
        if node.op == "before" and node.days_ago is not None:
            # Before the start of the day N days ago: more than N days ago.
            n = node.days_ago
            return ngettext(
                "%(what)s more than %(n)d day ago", "%(what)s more than %(n)d days ago", n
            ) % {"what": label, "n": n}
        if node.op == "before":
            return _("%(what)s before %(when)s") % {"what": label, "when": _when(node)}
        return _("%(what)s on or after %(when)s") % {"what": label, "when": _when(node)}
    if isinstance(node, s.NumberRollup):
        label, unit = {
            "visit_count": (_("Visits"), _(" times")),
            "purchase_count": (_("Purchases"), _(" times")),
            "total_spent": (_("Total spent"), _(" yen")),
        }[node.kind]
        return f"{label} {_range(node.min, node.max, unit)}"
    if isinstance(node, s.Tags):
        names = _(", ").join(node.names)
        text = {
            "any": _("Has any of the tags %(names)s"),
            "all": _("Has all of the tags %(names)s"),
            "none": _("Has none of the tags %(names)s"),
        }[node.match] % {"names": names}
        if node.added_within_days is not None:
            n = node.added_within_days
            text += ngettext(
                " (added in the last %(n)d day)", " (added in the last %(n)d days)", n
            ) % {"n": n}
        return text
    if isinstance(node, s.EventMeasure):
        filters = "".join(_filter(f) for f in node.where)
        op = {"at_least": _("at least"), "at_most": _("at most"), "exactly": _("exactly")}[node.op]
        if node.measure == "count":
            return _("“%(event)s”%(filters)s %(op)s %(n)s times%(window)s") % {
                "event": _event_kind(node.event),
                "filters": filters,
                "op": op,
                "n": node.value,
                "window": _window(node),
            }
        return _("Amount of “%(event)s”%(filters)s %(op)s %(n)s yen%(window)s") % {
            "event": _event_kind(node.event),
            "filters": filters,
            "op": op,
            "n": f"{node.value:,}",
            "window": _window(node),
        }
    if isinstance(node, s.LineStatus):
        labels = {"following": _("following"), "blocked": _("blocked"), "none": _("not a friend")}
        return _("LINE: %(values)s") % {"values": _(", ").join(labels[v] for v in node.values)}
    if isinstance(node, s.LineLinked):
        return _("Linked to LINE") if node.value else _("Not linked to LINE")
    if isinstance(node, s.FriendFor):
        return _("LINE friend for %(range)s") % {
            "range": _range(node.at_least_days, node.at_most_days, _(" days"))
        }
    if isinstance(node, s.InSegment):
        name = segments.get(node.segment_id, f"#{node.segment_id}")
        return _("In segment “%(name)s”") % {"name": name}
    if isinstance(node, s.InAudience):
        name = audiences.get(node.audience_id, f"#{node.audience_id}")
        return _("In audience “%(name)s”") % {"name": name}
    if isinstance(node, s.Clicked):
        if node.link_id is not None:
            text = _("Clicked link #%(id)s") % {"id": node.link_id}
        elif node.campaign_id is not None:
            text = _("Clicked a link of campaign #%(id)s") % {"id": node.campaign_id}
        else:
            text = _("Clicked any link")
        return text + _window(node)
    raise TypeError(f"no summary for {type(node).__name__}")
