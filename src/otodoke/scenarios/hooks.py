"""Where scenarios listen: the lower apps' signals, connected once in AppConfig.ready.

Each receiver is one call into `triggers` (entering) or `scheduler` (leaving, goals), so the
lower apps never import scenarios.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db.models import Max

from otodoke.contacts import signals as contact_signals
from otodoke.contacts.merging import MERGE_HANDLERS
from otodoke.contacts.tagging import LINE_TAG
from otodoke.line import signals as line_signals
from otodoke.messaging import signals as messaging_signals

UID = "otodoke.scenarios"


def _followed(workspace: Any, contact_id: int, refollow: bool, at: Any, **_: Any) -> None:
    from otodoke.scenarios.triggers import on_follow

    on_follow(workspace, [contact_id], now=at, refollow=refollow)


def _unfollowed(contact_id: int, at: Any, **_: Any) -> None:
    from otodoke.scenarios.models import ExitReason
    from otodoke.scenarios.scheduler import exit_contacts

    exit_contacts([contact_id], ExitReason.BLOCKED, now=at)


def _tags(workspace: Any, pairs: list[tuple[int, str]], source: str, at: Any, **_: Any) -> None:
    from otodoke.scenarios.triggers import on_linked, on_tags_added

    on_tags_added(workspace, pairs, now=at)
    linked = [cid for cid, name in pairs if name == LINE_TAG and source == "auto"]
    if linked:
        # Linking a customer to LINE tags them `line` automatically (contacts.services).
        on_linked(workspace, linked, now=at)


def _events(workspace: Any, events: list[Any], **_: Any) -> None:
    from django.utils import timezone

    from otodoke.scenarios.models import Enrolment, EnrolmentStatus
    from otodoke.scenarios.scheduler import check_goals
    from otodoke.scenarios.triggers import on_events

    now = timezone.now()
    # One cheap probe first: an import hands over millions of events in batches, and a
    # workspace without an active goal-bearing enrolment has no goal to check.
    if Enrolment.objects.filter(
        scenario__workspace=workspace,
        status=EnrolmentStatus.ACTIVE,
        version__goal__isnull=False,
    ).exists():
        check_goals(workspace, sorted({e[0] for e in events}), now=now)
    on_events(workspace, events, now=now)


def _clicked(
    workspace: Any, contact_id: int, link_id: int, campaign_id: int | None, at: Any, **_: Any
) -> None:
    from otodoke.scenarios.triggers import on_click

    on_click(workspace, contact_id, link_id=link_id, campaign_id=campaign_id, now=at)


def _message(workspace: Any, contact_id: int, text: str, at: Any, **_: Any) -> None:
    from otodoke.scenarios.triggers import on_message

    on_message(workspace, contact_id, text, now=at)


def _postback(workspace: Any, contact_id: int, data: str, at: Any, **_: Any) -> None:
    from otodoke.scenarios.triggers import on_postback

    on_postback(workspace, contact_id, data, now=at)


def move_enrolments(pairs: Sequence[tuple[int, int]]) -> None:
    """A merge (`other` into `into`): `other`'s enrolments become `into`'s. Where both are
    inside the same scenario, `into`'s stays and `other`'s exits; run numbers stay unique."""
    from otodoke.scenarios.models import Enrolment, EnrolmentStatus

    for into_id, other_id in pairs:
        mine = set(
            Enrolment.objects.filter(contact_id=into_id, status=EnrolmentStatus.ACTIVE).values_list(
                "scenario_id", flat=True
            )
        )
        Enrolment.objects.filter(
            contact_id=other_id, status=EnrolmentStatus.ACTIVE, scenario_id__in=mine
        ).update(status=EnrolmentStatus.EXITED, exit_reason="merged", next_due_at=None)
        top = dict(
            Enrolment.objects.filter(contact_id=into_id)
            .values_list("scenario_id")
            .annotate(m=Max("run"))
            .order_by()
        )
        for enrolment in Enrolment.objects.filter(contact_id=other_id).order_by("run"):
            top[enrolment.scenario_id] = top.get(enrolment.scenario_id, 0) + 1
            enrolment.contact_id = into_id
            enrolment.run = top[enrolment.scenario_id]
            enrolment.save(update_fields=["contact", "run"])


def connect() -> None:
    line_signals.friend_followed.connect(_followed, dispatch_uid=f"{UID}.followed")
    line_signals.friend_unfollowed.connect(_unfollowed, dispatch_uid=f"{UID}.unfollowed")
    line_signals.message_received.connect(_message, dispatch_uid=f"{UID}.message")
    line_signals.postback_received.connect(_postback, dispatch_uid=f"{UID}.postback")
    contact_signals.tags_added.connect(_tags, dispatch_uid=f"{UID}.tags")
    contact_signals.events_recorded.connect(_events, dispatch_uid=f"{UID}.events")
    messaging_signals.link_clicked.connect(_clicked, dispatch_uid=f"{UID}.clicked")
    if move_enrolments not in MERGE_HANDLERS:
        MERGE_HANDLERS.append(move_enrolments)
