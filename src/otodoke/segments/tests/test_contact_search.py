"""Customer search: the filters are a segment definition, keyset pages neither repeat nor skip
a contact (ties on the sort value, NULLs, both directions), and the count stops at its cap."""

from __future__ import annotations

import datetime as dt
import random

import pytest

from otodoke.contacts.models import Contact, LineStatus
from otodoke.segments import contact_search as search
from otodoke.segments.schema import parse_definition
from otodoke.segments.services import contacts_matching, count_segment
from otodoke.segments.tests.conftest import NOW, MakeContact, line_id
from otodoke.workspaces.models import Workspace


def all_pages(
    workspace: Workspace, sort: str, descending: bool, size: int
) -> tuple[list[int], int]:
    contacts = Contact.objects.filter(workspace=workspace)
    seen: list[int] = []
    cursor = None
    pages = 0
    while True:
        page = search.read_page(
            contacts, sort=sort, descending=descending, cursor=cursor, size=size
        )
        pages += 1
        seen += [c.pk for c in page.rows]
        if page.next_cursor is None:
            return seen, pages
        cursor = search.decode_cursor(sort, page.next_cursor)


def expected_order(workspace: Workspace, sort: str, descending: bool) -> list[int]:
    """The order in Python: value (NULLs last whatever the direction), then id the same way."""
    key = search.SORTS[sort]
    down = descending != key.inverted
    rows = list(Contact.objects.filter(workspace=workspace))
    present = [c for c in rows if getattr(c, key.column) is not None]
    missing = [c for c in rows if getattr(c, key.column) is None]
    if key.column in {"name", "name_kana"}:
        # Text orders by the database's collation: take its order of the whole list at once.
        order = [f"-{key.column}", "-pk"] if down else [key.column, "pk"]
        return list(
            Contact.objects.filter(workspace=workspace)
            .order_by(*order)
            .values_list("pk", flat=True)
        )
    present.sort(key=lambda c: (getattr(c, key.column), c.pk), reverse=down)
    missing.sort(key=lambda c: c.pk, reverse=down)
    return [c.pk for c in present + missing]


@pytest.fixture
def crowd(workspace: Workspace, make_contact: MakeContact) -> list[Contact]:
    """37 contacts with many ties on every sort value and some NULL dates."""
    rng = random.Random(15)
    people = []
    for i in range(37):
        visited = rng.random() < 0.7
        people.append(
            make_contact(
                name=rng.choice(["佐藤", "鈴木", "高橋", ""]),
                name_kana=rng.choice(["サトウ", "スズキ", "タカハシ"]),
                birth_date=dt.date(1980 + rng.randrange(3), 1, 1) if i % 4 else None,
                last_visit_at=NOW - dt.timedelta(days=rng.randrange(3)) if visited else None,
                visit_count=rng.randrange(3),
                total_spent=rng.choice([0, 5000, 30000]),
            )
        )
    return people


@pytest.mark.parametrize("sort", list(search.SORTS))
@pytest.mark.parametrize("descending", [True, False])
@pytest.mark.parametrize("size", [4, 50])
def test_keyset_pages_cover_every_contact_once_in_order(
    workspace: Workspace, crowd: list[Contact], sort: str, descending: bool, size: int
) -> None:
    seen, pages = all_pages(workspace, sort, descending, size)
    assert len(seen) == len(set(seen)) == len(crowd)
    assert seen == expected_order(workspace, sort, descending)
    assert pages == max(1, -(-len(crowd) // size))


def test_a_contact_added_behind_the_cursor_does_not_shift_the_next_page(
    workspace: Workspace, crowd: list[Contact], make_contact: MakeContact
) -> None:
    contacts = Contact.objects.filter(workspace=workspace)
    first = search.read_page(contacts, sort="spent", descending=True, size=10)
    assert first.next_cursor is not None
    cursor = search.decode_cursor("spent", first.next_cursor)
    make_contact(total_spent=10**9)  # sorts before everything already read
    second = search.read_page(contacts, sort="spent", descending=True, cursor=cursor, size=10)
    assert not {c.pk for c in first.rows} & {c.pk for c in second.rows}
    order = expected_order(workspace, "spent", True)
    assert [c.pk for c in second.rows] == order[11:21]  # one newcomer ahead, none skipped


def test_a_cursor_of_another_sort_or_edited_by_hand_is_refused() -> None:
    with pytest.raises(search.CursorError):
        search.decode_cursor("name", "not-a-cursor")
    row = Contact(pk=3, total_spent=100)
    token = search.encode_cursor("spent", row)
    assert search.decode_cursor("spent", token) == search.Cursor(100, 3)
    with pytest.raises(search.CursorError):
        search.decode_cursor("name", token)


def test_filters_are_a_segment_definition_matching_what_they_describe(
    workspace: Workspace, make_contact: MakeContact
) -> None:
    today = NOW.astimezone(workspace.tzinfo).date()
    fits = make_contact(
        gender="female",
        birth_date=today.replace(year=today.year - 34),
        last_visit_at=NOW - dt.timedelta(days=90),
        visit_count=5,
        total_spent=30_000,
        line_user_id=line_id(1),
        line_status=LineStatus.FOLLOWING,
    )
    make_contact(gender="male", birth_date=fits.birth_date, visit_count=5, total_spent=30_000)
    make_contact(gender="female", birth_date=fits.birth_date, visit_count=1, total_spent=30_000)
    recent = make_contact(
        gender="female",
        birth_date=fits.birth_date,
        last_visit_at=NOW - dt.timedelta(days=3),
        visit_count=5,
        total_spent=30_000,
    )
    # A LINE-only friend: hidden while "who" is customers.
    make_contact(external_id=None, line_user_id=line_id(2), line_status=LineStatus.FOLLOWING)
    filters = search.SearchFilters(
        age_min=30,
        age_max=39,
        genders=("female",),
        last_visit="before",
        last_visit_days=60,
        visits_min=3,
        spent_min=20_000,
        line="linked",
    )
    definition = filters.definition()
    parse_definition(definition)  # a valid segment definition, as saved
    found = set(contacts_matching(workspace, definition, now=NOW).values_list("pk", flat=True))
    assert found == {fits.pk}
    assert count_segment(workspace, definition, now=NOW).total == 1

    within = search.SearchFilters(last_visit="within", last_visit_days=60, who="customers")
    found = set(
        contacts_matching(workspace, within.definition(), now=NOW).values_list("pk", flat=True)
    )
    assert found == {recent.pk}


def test_who_puts_customers_first_and_line_only_friends_behind_a_filter(
    workspace: Workspace, make_contact: MakeContact
) -> None:
    customer = make_contact(name="顧客")
    friend = make_contact(external_id=None, line_user_id=line_id(3), line_status="following")

    def ids(who: str) -> set[int]:
        definition = search.SearchFilters(who=who).definition()
        return set(contacts_matching(workspace, definition).values_list("pk", flat=True))

    assert ids("customers") == {customer.pk}
    assert ids("line_only") == {friend.pk}
    assert ids("all") == {customer.pk, friend.pk}


def test_count_is_exact_up_to_the_cap_and_says_when_it_stopped(
    workspace: Workspace, make_contact: MakeContact
) -> None:
    for _ in range(6):
        make_contact()
    contacts = Contact.objects.filter(workspace=workspace)
    assert search.capped_count(contacts, cap=10) == search.CappedCount(6, capped=False)
    assert search.capped_count(contacts, cap=6) == search.CappedCount(6, capped=False)
    assert search.capped_count(contacts, cap=5) == search.CappedCount(5, capped=True)
    assert search.capped_count(contacts, cap=None) == search.CappedCount(6, capped=False)
