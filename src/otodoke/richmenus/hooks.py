"""Where rich menus listen: a tag or an event re-evaluates that contact's rule watches at once
(`segments.watches.refresh_contacts`, the one "entered a segment" mechanism), and a friend who
follows again has lost LINE's per-user link, so they are relinked."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

UID = "otodoke.richmenus"


def on_contacts_changed(workspace: Any, contact_ids: Iterable[int], at: Any) -> None:
    from otodoke.richmenus.models import RichMenuRule
    from otodoke.richmenus.sync import recompute, refresh_watches
    from otodoke.richmenus.tasks import kick

    ids = sorted({int(i) for i in contact_ids})
    if not ids or not RichMenuRule.objects.filter(workspace=workspace, active=True).exists():
        return
    touched, _result = refresh_watches(workspace, at, contact_ids=ids)
    if touched and recompute(workspace, touched):
        kick(workspace.pk)


def _tags(workspace: Any, pairs: list[tuple[int, str]], at: Any, **_: Any) -> None:
    on_contacts_changed(workspace, [contact_id for contact_id, _name in pairs], at)


def _events(workspace: Any, events: list[Any], **_: Any) -> None:
    from django.utils import timezone

    on_contacts_changed(workspace, [e[0] for e in events], timezone.now())


def _followed(workspace: Any, contact_id: int, refollow: bool, at: Any, **_: Any) -> None:
    from otodoke.richmenus.sync import forget_applied

    if refollow:
        forget_applied([contact_id])
    on_contacts_changed(workspace, [contact_id], at)


def connect() -> None:
    from otodoke.contacts import signals as contact_signals
    from otodoke.line import signals as line_signals

    contact_signals.tags_added.connect(_tags, dispatch_uid=f"{UID}.tags")
    contact_signals.events_recorded.connect(_events, dispatch_uid=f"{UID}.events")
    line_signals.friend_followed.connect(_followed, dispatch_uid=f"{UID}.followed")
