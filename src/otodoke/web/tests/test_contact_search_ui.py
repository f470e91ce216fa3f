"""The customer search page: filters, sortable picked columns, keyset "next" links, the capped
count, and "save this search as a segment" holding exactly the listed contacts."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, timedelta

from django.test import Client
from django.utils import timezone

from otodoke.contacts.models import Contact, LineStatus
from otodoke.segments.models import Segment
from otodoke.segments.services import count_segment
from otodoke.workspaces.models import Workspace
from otodoke.workspaces.roles import Role

LIST = "/w/salon/contacts/"


def names(page: str) -> list[str]:
    return re.findall(r'<a href="/w/salon/contacts/\d+/">([^<]+)</a>', page)


def salon(workspace: Workspace) -> None:
    now = timezone.now()
    today = timezone.localdate()
    people = [
        # name, gender, age, days since last visit, visits, spent
        ("青木花子", "female", 34, 90, 6, 48_000),
        ("井上さくら", "female", 36, 75, 3, 30_000),
        ("上田美咲", "female", 33, 10, 8, 60_000),  # visited recently
        ("江藤健", "male", 35, 90, 6, 48_000),
        ("小川陽子", "female", 52, 90, 6, 48_000),
    ]
    for i, (name, gender, age, days, visits, spent) in enumerate(people):
        Contact.objects.create(
            workspace=workspace,
            external_id=f"C-{i}",
            name=name,
            gender=gender,
            birth_date=date(today.year - age, 1, 1),
            last_visit_at=now - timedelta(days=days),
            visit_count=visits,
            total_spent=spent,
        )
    Contact.objects.create(
        workspace=workspace,
        line_user_id="U" + "f" * 32,
        line_display_name="LINEだけの友だち",
        line_status=LineStatus.FOLLOWING,
    )


SEARCH = {
    "age_min": "30",
    "age_max": "39",
    "gender": "female",
    "last_visit": "before",
    "last_visit_days": "60",
    "visits_min": "3",
    "spent_min": "20,000",
}


def test_search_lists_whom_the_conditions_describe_with_their_count(
    workspace: Workspace, client_as: Callable[[Role], Client]
) -> None:
    salon(workspace)
    viewer = client_as(Role.VIEWER)
    page = viewer.get(LIST, SEARCH).content.decode()
    assert sorted(names(page)) == ["井上さくら", "青木花子"]
    assert 'data-testid="result-count">2件</strong>' in page
    assert "30,000円" in page and "48,000円" in page


def test_line_only_friends_are_behind_the_who_filter(
    workspace: Workspace, client_as: Callable[[Role], Client]
) -> None:
    salon(workspace)
    viewer = client_as(Role.VIEWER)
    assert "LINEだけの友だち" not in viewer.get(LIST).content.decode()
    only = viewer.get(LIST, {"who": "line_only"}).content.decode()
    assert names(only) == ["LINEだけの友だち"]
    assert len(names(viewer.get(LIST, {"who": "all"}).content.decode())) == 6


def test_sorting_by_a_column_and_its_header_flips_the_direction(
    workspace: Workspace, client_as: Callable[[Role], Client]
) -> None:
    salon(workspace)
    viewer = client_as(Role.VIEWER)
    page = viewer.get(LIST, {"sort": "spent", "dir": "desc"}).content.decode()
    assert names(page)[0] == "上田美咲"
    assert 'aria-sort="descending"' in page
    link = re.search(r'data-column="spent"[^>]*><a href="([^"]+)"', page)
    assert link is not None and "dir=asc" in link.group(1).replace("&amp;", "&")
    ascending = viewer.get(LIST, {"sort": "spent", "dir": "asc"}).content.decode()
    assert names(ascending)[0] == "井上さくら"


def test_picked_columns_are_the_ones_shown(
    workspace: Workspace, client_as: Callable[[Role], Client]
) -> None:
    salon(workspace)
    page = client_as(Role.VIEWER).get(LIST, {"cols": ["name", "tags", "spent"]}).content.decode()
    headers = re.findall(r'<th data-column="(\w+)"', page)
    assert headers == ["name", "spent", "tags"]


def test_next_link_reads_the_following_page_by_keyset(
    workspace: Workspace, client_as: Callable[[Role], Client]
) -> None:
    for i in range(55):
        Contact.objects.create(workspace=workspace, external_id=f"N{i:02d}", name=f"客{i:02d}")
    viewer = client_as(Role.VIEWER)
    first = viewer.get(LIST, {"sort": "name", "dir": "asc"}).content.decode()
    assert names(first)[:2] == ["客00", "客01"] and len(names(first)) == 50
    after = re.search(r'href="\?([^"]*after=[^"]+)" data-testid="next-page"', first)
    assert after is not None
    second = viewer.get(f"{LIST}?{after.group(1).replace('&amp;', '&')}").content.decode()
    assert names(second) == [f"客{i}" for i in range(50, 55)]
    assert 'data-testid="next-page"' not in second
    assert 'data-testid="first-page"' in second


def test_an_edited_cursor_starts_again_from_the_first_page(
    workspace: Workspace, client_as: Callable[[Role], Client]
) -> None:
    response = client_as(Role.VIEWER).get(LIST, {"sort": "name", "after": "garbage"})
    assert response.status_code == 302
    assert "after" not in response["Location"]


def test_bad_ranges_are_named_not_a_500(
    workspace: Workspace, client_as: Callable[[Role], Client]
) -> None:
    salon(workspace)
    page = client_as(Role.VIEWER).get(LIST, {"age_min": "40", "age_max": "30"})
    assert page.status_code == 200
    assert "上限が下限より小さくなっています" in page.content.decode()


def test_saving_the_search_makes_a_segment_with_the_same_count(
    workspace: Workspace, client_as: Callable[[Role], Client]
) -> None:
    salon(workspace)
    operator = client_as(Role.OPERATOR)
    page = operator.get(LIST, SEARCH).content.decode()
    definition = re.search(r'name="definition" value="([^"]+)"', page)
    assert definition is not None
    raw = definition.group(1).replace("&quot;", '"')
    response = operator.post(
        "/w/salon/contacts/save-search/", {"name": "休眠気味の30代女性", "definition": raw}
    )
    segment = Segment.objects.get(workspace=workspace, name="休眠気味の30代女性")
    assert response["Location"] == f"/w/salon/segments/{segment.pk}/"
    assert count_segment(workspace, segment).total == 2


def test_viewers_cannot_save_a_search(
    workspace: Workspace, client_as: Callable[[Role], Client]
) -> None:
    viewer = client_as(Role.VIEWER)
    assert 'data-testid="save-search"' not in viewer.get(LIST).content.decode()
    empty = '{"version": 1, "where": {"kind": "all", "conditions": []}}'
    response = viewer.post("/w/salon/contacts/save-search/", {"name": "x", "definition": empty})
    assert response.status_code == 403
    assert not Segment.objects.exists()
