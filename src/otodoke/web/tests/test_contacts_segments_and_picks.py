"""The contact list narrowed by a saved segment (what it matches now), and a manual pick of
contacts from the list frozen as an audience."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from django.contrib.messages import get_messages
from django.test import Client

from otodoke.contacts.models import Contact, LineStatus
from otodoke.segments.models import Audience, AudienceMember, AudienceSource, Segment
from otodoke.segments.services import save_segment
from otodoke.workspaces.models import Workspace
from otodoke.workspaces.roles import Role
from otodoke.workspaces.services import create_workspace

LIST = "/w/salon/contacts/"
PICK = "/w/salon/audiences/from-contacts/"


@pytest.fixture
def people(workspace: Workspace) -> dict[str, Contact]:
    def make(name: str, n: int, prefecture: str) -> Contact:
        return Contact.objects.create(
            workspace=workspace,
            name=name,
            prefecture=prefecture,
            line_user_id=f"U{n:032x}",
            line_status=LineStatus.FOLLOWING,
        )

    return {
        "hanako": make("山田花子", 1, "東京都"),
        "taro": make("佐藤太郎", 2, "東京都"),
        "jiro": make("大阪次郎", 3, "大阪府"),
    }


def other_shop() -> Workspace:
    return create_workspace(
        name="別の店",
        slug="other",
        channel_id="2000000002",
        channel_secret="s",
        channel_access_token="t",
        api_base_url="http://127.0.0.1:9",
    )


def tokyo(workspace: Workspace) -> Segment:
    definition = {"version": 1, "where": {"kind": "prefecture", "values": ["東京都"]}}
    return save_segment(workspace, name="東京のお客様", definition=definition, actor=None)


def row_names(page: str) -> list[str]:
    return re.findall(r'<a href="/w/salon/contacts/\d+/">([^<]+)</a>', page)


def test_segment_filter_lists_exactly_whom_the_segment_matches_now(
    workspace: Workspace, people: dict[str, Contact], client_as: Callable[[Role], Client]
) -> None:
    segment = tokyo(workspace)
    viewer = client_as(Role.VIEWER)
    full = viewer.get(LIST).content.decode()
    assert f'<option value="{segment.pk}">東京のお客様</option>' in full

    page = viewer.get(LIST, {"segment": segment.pk}).content.decode()
    assert sorted(row_names(page)) == ["佐藤太郎", "山田花子"]
    assert f'href="/w/salon/segments/{segment.pk}/" data-testid="open-in-builder"' in page

    # "Now": a contact who moves to Tokyo is in the list at once, no snapshot involved.
    Contact.objects.filter(pk=people["jiro"].pk).update(prefecture="東京都")
    rows = viewer.get(LIST, {"segment": segment.pk}, headers={"HX-Request": "true"})
    assert sorted(row_names(rows.content.decode())) == ["佐藤太郎", "大阪次郎", "山田花子"]


def test_segment_filter_combines_with_search_and_ignores_other_workspaces_segments(
    workspace: Workspace, people: dict[str, Contact], client_as: Callable[[Role], Client]
) -> None:
    segment = tokyo(workspace)
    viewer = client_as(Role.VIEWER)
    page = viewer.get(LIST, {"segment": str(segment.pk), "q": "花子"}).content.decode()
    assert row_names(page) == ["山田花子"]

    other = other_shop()
    foreign = save_segment(
        other,
        name="全員",
        definition={"version": 1, "where": {"kind": "all", "conditions": []}},
        actor=None,
    )
    page = viewer.get(LIST, {"segment": foreign.pk}).content.decode()
    assert 'data-testid="open-in-builder"' not in page
    assert "全員" not in page


def test_segment_that_no_longer_compiles_shows_nobody_and_says_why(
    workspace: Workspace, people: dict[str, Contact], client_as: Callable[[Role], Client]
) -> None:
    inner = tokyo(workspace)
    outer = save_segment(
        workspace,
        name="東京以外",
        definition={
            "version": 1,
            "where": {"kind": "not", "condition": {"kind": "in_segment", "segment_id": inner.pk}},
        },
        actor=None,
    )
    gone = inner.pk
    inner.delete()
    page = client_as(Role.VIEWER).get(LIST, {"segment": outer.pk}).content.decode()
    assert row_names(page) == []
    assert 'data-testid="segment-problem"' in page
    assert f"no segment {gone} in this workspace" in page


def test_editor_picks_contacts_into_an_audience_holding_exactly_them(
    workspace: Workspace, people: dict[str, Contact], client_as: Callable[[Role], Client]
) -> None:
    operator = client_as(Role.OPERATOR)
    page = operator.get(LIST).content.decode()
    assert 'data-testid="pick-form"' in page
    assert f'name="contact_ids" value="{people["hanako"].pk}" form="pick-form"' in page

    picked = [people["hanako"].pk, people["jiro"].pk]
    response = operator.post(PICK, {"name": "イベント招待", "contact_ids": picked})
    audience = Audience.objects.get(workspace=workspace)
    assert response.status_code == 302
    assert response["Location"] == f"/w/salon/audiences/{audience.pk}/"
    assert audience.name == "イベント招待"
    assert audience.source == AudienceSource.MANUAL
    members = AudienceMember.objects.filter(audience=audience).values_list("contact_id", flat=True)
    assert sorted(members) == sorted(picked)
    assert audience.size == 2


def test_pick_of_a_foreign_contact_creates_nothing_and_keeps_the_filters(
    workspace: Workspace, people: dict[str, Contact], client_as: Callable[[Role], Client]
) -> None:
    other = other_shop()
    stranger = Contact.objects.create(workspace=other, name="他店の客")
    operator = client_as(Role.OPERATOR)
    response = operator.post(
        PICK,
        {"name": "x", "contact_ids": [people["taro"].pk, stranger.pk], "back": "q=太郎&page=2"},
    )
    assert response.status_code == 302
    assert response["Location"] == LIST + "?q=%E5%A4%AA%E9%83%8E&page=2"
    assert not Audience.objects.exists()
    [message] = [str(m) for m in get_messages(response.wsgi_request)]
    assert str(stranger.pk) in message

    nothing_ticked = operator.post(PICK, {"name": "x"})
    assert nothing_ticked.status_code == 302
    assert not Audience.objects.exists()


def test_viewer_gets_no_pick_controls_and_a_403(
    workspace: Workspace, people: dict[str, Contact], client_as: Callable[[Role], Client]
) -> None:
    viewer = client_as(Role.VIEWER)
    page = viewer.get(LIST).content.decode()
    assert 'data-testid="pick-form"' not in page
    assert 'name="contact_ids"' not in page
    response = viewer.post(PICK, {"name": "x", "contact_ids": [people["hanako"].pk]})
    assert response.status_code == 403
    assert not Audience.objects.exists()
