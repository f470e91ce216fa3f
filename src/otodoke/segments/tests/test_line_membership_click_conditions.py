"""LINE friend state and period, nested groups, membership of segments and audiences,
clicks."""

from __future__ import annotations

import datetime as dt
from typing import Any

from otodoke.campaigns.models import Campaign
from otodoke.segments.audiences import create_audience_from_contacts
from otodoke.segments.services import save_segment
from otodoke.segments.tests.conftest import NOW, MakeContact, Match, line_id, tag
from otodoke.tracking.services import create_tracked_link, record_click
from otodoke.workspaces.models import Workspace


def _not(where: dict[str, Any]) -> dict[str, Any]:
    return {"kind": "not", "condition": where}


def test_line_status_linked_and_friend_period(make_contact: MakeContact, match: Match) -> None:
    friend_60 = make_contact(
        line_user_id=line_id(1),
        line_status="following",
        line_followed_at=NOW - dt.timedelta(days=60),
    )
    friend_10 = make_contact(
        external_id=None,
        line_user_id=line_id(2),
        line_status="following",
        line_followed_at=NOW - dt.timedelta(days=10),
    )
    blocked = make_contact(
        line_user_id=line_id(3), line_status="blocked", line_followed_at=NOW - dt.timedelta(days=90)
    )
    customer = make_contact()
    assert match({"kind": "line_status", "values": ["following"]}) == {friend_60.pk, friend_10.pk}
    assert match({"kind": "line_status", "values": ["blocked", "none"]}) == {
        blocked.pk,
        customer.pk,
    }
    assert match({"kind": "line_linked"}) == {friend_60.pk, blocked.pk}
    assert match({"kind": "line_linked", "value": False}) == {friend_10.pk, customer.pk}
    assert match({"kind": "friend_for", "at_least_days": 30}) == {friend_60.pk}
    assert match({"kind": "friend_for", "at_most_days": 30}) == {friend_10.pk}
    assert match(_not({"kind": "friend_for", "at_least_days": 30})) == {
        friend_10.pk,
        blocked.pk,
        customer.pk,
    }


def test_nested_groups(make_contact: MakeContact, match: Match) -> None:
    a = make_contact(gender="female", prefecture="東京都", visit_count=5)
    b = make_contact(gender="female", prefecture="大阪府", visit_count=1)
    c = make_contact(gender="male", prefecture="東京都", visit_count=9)
    where = {
        "kind": "all",
        "conditions": [
            {
                "kind": "any",
                "conditions": [
                    {"kind": "gender", "values": ["female"]},
                    {"kind": "visit_count", "min": 9},
                ],
            },
            {"kind": "not", "condition": {"kind": "prefecture", "values": ["大阪府"]}},
        ],
    }
    assert match(where) == {a.pk, c.pk}
    assert match(_not(where)) == {b.pk}


def test_segment_in_segment_and_audience(
    make_contact: MakeContact, match: Match, workspace: Workspace
) -> None:
    vip = make_contact()
    tag(vip, "VIP")
    picked = make_contact()
    other = make_contact()
    inner = save_segment(
        workspace,
        name="VIP",
        definition={"version": 1, "where": {"kind": "tags", "match": "any", "names": ["VIP"]}},
        actor=None,
    )
    audience = create_audience_from_contacts(
        workspace, name="picked", contact_ids=[picked.pk], actor=None
    )
    assert match({"kind": "in_segment", "segment_id": inner.pk}) == {vip.pk}
    assert match({"kind": "in_audience", "audience_id": audience.pk}) == {picked.pk}
    either = {
        "kind": "any",
        "conditions": [
            {"kind": "in_segment", "segment_id": inner.pk},
            {"kind": "in_audience", "audience_id": audience.pk},
        ],
    }
    assert match(_not(either)) == {other.pk}


def test_clicked_link_or_campaign(
    make_contact: MakeContact, match: Match, workspace: Workspace
) -> None:
    a, b, c = make_contact(), make_contact(), make_contact()
    seven, eight = (
        Campaign.objects.create(workspace=workspace, name=name, messages=[]).pk
        for name in ("seven", "eight")
    )
    link1 = create_tracked_link(workspace, "https://example.com/a", campaign_id=seven)
    link2 = create_tracked_link(workspace, "https://example.com/b", campaign_id=seven)
    other = create_tracked_link(workspace, "https://example.com/c", campaign_id=eight)
    record_click(link1, contact=a, now=NOW - dt.timedelta(days=2))
    record_click(link2, contact=b, now=NOW - dt.timedelta(days=20))
    record_click(other, contact=c, now=NOW)
    record_click(other, contact=None, now=NOW)
    assert match({"kind": "clicked", "link_id": link1.pk}) == {a.pk}
    assert match({"kind": "clicked", "campaign_id": seven}) == {a.pk, b.pk}
    assert match({"kind": "clicked", "campaign_id": seven, "within_days": 7}) == {a.pk}
    assert match({"kind": "clicked"}) == {a.pk, b.pk, c.pk}
