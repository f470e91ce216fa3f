"""The audit log's details as people read them: translated labels and values, never a
Python dict or a code such as `no_consent`. Entries keep their raw details; only the page
words them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from otodoke.campaigns.models import ExclusionReason
from otodoke.contacts.models import ImportKind, LineStatus
from otodoke.workspaces.models import AuditLog
from otodoke.workspaces.roles import Role

LABELS: dict[str, Promise] = {
    "job": gettext_lazy("Import no."),
    "rows": gettext_lazy("Rows"),
    "kind": gettext_lazy("Kind"),
    "role": gettext_lazy("Role"),
    "invitation": gettext_lazy("Invitation no."),
    "days": gettext_lazy("Valid for (days)"),
    "channel_id": gettext_lazy("Channel ID"),
    "plan": gettext_lazy("Plan"),
    "api_base_url": gettext_lazy("LINE API address"),
    "fields": gettext_lazy("Changed"),
    "segment_id": gettext_lazy("Segment no."),
    "name": gettext_lazy("Name"),
    "scopes": gettext_lazy("Scopes"),
    "key_id": gettext_lazy("Key ID"),
    "created": gettext_lazy("Added"),
    "updated": gettext_lazy("Updated"),
    "unchanged": gettext_lazy("Unchanged"),
    "error_count": gettext_lazy("Rows with errors"),
    "contact": gettext_lazy("Contact no."),
    "friend_contact": gettext_lazy("LINE friend's contact no."),
    "by_customer": gettext_lazy("At the customer's request"),
    "removed": gettext_lazy("Removed"),
    "at": gettext_lazy("At"),
    "request_id": gettext_lazy("LINE request ID"),
    "method": gettext_lazy("Sent by"),
    "event": gettext_lazy("Webhook event no."),
    "status": gettext_lazy("Result"),
    "scheduled_at": gettext_lazy("Scheduled for"),
    "source": gettext_lazy("Source"),
    "hashed": gettext_lazy("IDs hashed"),
    "files": gettext_lazy("Files"),
    "skipped": gettext_lazy("Left out"),
    "unknown_friend_state": gettext_lazy("Friend state unknown"),
    "time_zone": gettext_lazy("Time zone"),
    "require_approval": gettext_lazy("Approval required"),
    "link_keyword": gettext_lazy("Link keyword"),
}
# Kept in the entry for recovery or matching, but meaningless to read.
HIDDEN = frozenset({"definition", "customer_number_hmac", "errors", "tags"})
_CODES: dict[str, str] = {}


def _code_label(value: str) -> str:
    if not _CODES:
        for choices in (ExclusionReason, Role, ImportKind, LineStatus):
            _CODES.update({code: str(label) for code, label in choices.choices})
    return _CODES.get(value, value)


def _word(value: Any) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, int | float):
        return f"{value:,}"
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value) if "T" in value and value[:4].isdigit() else None
        except ValueError:
            moment = None
        if moment is not None and timezone.is_aware(moment):
            return f"{timezone.localtime(moment):%Y-%m-%d %H:%M}"
        return _code_label(value)
    if isinstance(value, list):
        return "、".join(_word(v) for v in value) or "—"
    if isinstance(value, dict):
        return "、".join(f"{label(str(k))} {_word(v)}" for k, v in value.items()) or "—"
    return str(value)


def label(key: str) -> str:
    found = LABELS.get(key)
    return str(found) if found is not None else _code_label(key)


def detail_phrases(entry: AuditLog) -> list[str]:
    """「ラベル: 値」 phrases; a settings change reads 「プラン: free → standard」."""
    details = entry.details if isinstance(entry.details, dict) else {}
    phrases = []
    changes = entry.action == "settings.changed"
    for key, value in details.items():
        if key in HIDDEN or value is None:
            continue
        if changes and isinstance(value, list) and len(value) == 2:
            phrases.append(f"{label(key)}: {_word(value[0])} → {_word(value[1])}")
        else:
            phrases.append(f"{label(key)}: {_word(value)}")
    return phrases
