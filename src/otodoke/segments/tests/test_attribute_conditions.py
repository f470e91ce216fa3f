"""Attribute conditions: gender, age, birthdays (workspace time zone), prefecture, custom
attributes, consent, has e-mail / phone; each with NULL / empty data and its `not`."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from otodoke.segments.tests.conftest import MakeContact, Match
from otodoke.workspaces.models import Workspace
from otodoke.workspaces.services import create_workspace


def _not(where: dict[str, Any]) -> dict[str, Any]:
    return {"kind": "not", "condition": where}


def test_gender_matches_listed_values(make_contact: MakeContact, match: Match) -> None:
    a = make_contact(gender="female")
    make_contact(gender="male")
    c = make_contact(gender="unknown")
    assert match({"kind": "gender", "values": ["female", "unknown"]}) == {a.pk, c.pk}


def test_age_band_is_inclusive_and_computed_on_the_local_date(
    make_contact: MakeContact, match: Match
) -> None:
    # NOW is 2024-03-15 in Tokyo.
    turned_30_today = make_contact(birth_date=dt.date(1994, 3, 15))
    turns_30_tomorrow = make_contact(birth_date=dt.date(1994, 3, 16))
    is_39 = make_contact(birth_date=dt.date(1984, 3, 16))
    turned_40_today = make_contact(birth_date=dt.date(1984, 3, 15))
    make_contact(birth_date=None)
    assert match({"kind": "age", "min": 30, "max": 39}) == {turned_30_today.pk, is_39.pk}
    assert turns_30_tomorrow.pk not in match({"kind": "age", "min": 30})
    assert turned_40_today.pk in match({"kind": "age", "min": 40})


def test_no_birth_date_matches_no_age_condition_but_matches_its_not(
    make_contact: MakeContact, match: Match
) -> None:
    unknown = make_contact(birth_date=None)
    young = make_contact(birth_date=dt.date(2010, 1, 1))
    assert match({"kind": "age", "max": 150}) == {young.pk}
    assert match(_not({"kind": "age", "max": 150})) == {unknown.pk}
    assert match(_not({"kind": "birth_month", "months": [1]})) == {unknown.pk}


def test_birthday_this_month_uses_the_workspace_date_not_utc(
    make_contact: MakeContact, match: Match
) -> None:
    march_first = make_contact(birth_date=dt.date(1990, 3, 1))
    feb = make_contact(birth_date=dt.date(1990, 2, 10))
    # 2024-02-29 15:00 UTC is 2024-03-01 00:00 in Tokyo: already March there.
    midnight_tokyo = dt.datetime(2024, 2, 29, 15, 0, tzinfo=dt.UTC)
    assert match({"kind": "birthday", "when": "this_month"}, now=midnight_tokyo) == {march_first.pk}
    assert match({"kind": "birthday", "when": "today"}, now=midnight_tokyo) == {march_first.pk}
    one_minute_before = midnight_tokyo - dt.timedelta(minutes=1)
    assert match({"kind": "birthday", "when": "this_month"}, now=one_minute_before) == {feb.pk}
    assert match({"kind": "birthday", "when": "next_month"}, now=one_minute_before) == {
        march_first.pk
    }


def test_age_changes_at_local_midnight(make_contact: MakeContact, match: Match) -> None:
    born = make_contact(birth_date=dt.date(2004, 3, 1))
    midnight_tokyo = dt.datetime(2024, 2, 29, 15, 0, tzinfo=dt.UTC)
    assert match({"kind": "age", "min": 20}, now=midnight_tokyo) == {born.pk}
    assert match({"kind": "age", "min": 20}, now=midnight_tokyo - dt.timedelta(seconds=1)) == set()


def test_leap_day_birthday_is_on_28_february_in_common_years(
    make_contact: MakeContact, match: Match
) -> None:
    leapling = make_contact(birth_date=dt.date(2000, 2, 29))
    feb_28_2023 = dt.datetime(2023, 2, 28, 3, 0, tzinfo=dt.UTC)
    assert match({"kind": "birthday", "when": "today"}, now=feb_28_2023) == {leapling.pk}
    # Age turns on 1 March in a common year.
    assert match({"kind": "age", "min": 23}, now=feb_28_2023) == set()
    assert match({"kind": "age", "min": 23}, now=feb_28_2023 + dt.timedelta(days=1)) == {
        leapling.pk
    }


def test_other_workspace_time_zone(make_contact: MakeContact, match: Match, db: None) -> None:
    la = create_workspace(
        name="LA",
        slug="la",
        channel_id="2",
        channel_secret="s",
        channel_access_token="t",
        api_base_url="http://127.0.0.1:9",
        time_zone="America/Los_Angeles",
    )
    born = make_contact(ws=la, birth_date=dt.date(1990, 3, 1))
    # 2024-03-01 05:00 UTC is still 29 Feb in Los Angeles (and already 1 Mar in Tokyo).
    now = dt.datetime(2024, 3, 1, 5, 0, tzinfo=dt.UTC)
    assert match({"kind": "birthday", "when": "today"}, ws=la, now=now) == set()
    assert match({"kind": "birthday", "when": "today"}, ws=la, now=now + dt.timedelta(hours=4)) == {
        born.pk
    }


def test_birth_month(make_contact: MakeContact, match: Match) -> None:
    jan = make_contact(birth_date=dt.date(1990, 1, 31))
    make_contact(birth_date=dt.date(1990, 2, 1))
    dec = make_contact(birth_date=dt.date(1990, 12, 1))
    assert match({"kind": "birth_month", "months": [1, 12]}) == {jan.pk, dec.pk}


def test_prefecture_in_list(make_contact: MakeContact, match: Match) -> None:
    tokyo = make_contact(prefecture="東京都")
    make_contact(prefecture="大阪府")
    blank = make_contact(prefecture="")
    assert match({"kind": "prefecture", "values": ["東京都", "神奈川県"]}) == {tokyo.pk}
    assert blank.pk in match(_not({"kind": "prefecture", "values": ["東京都"]}))


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        ({"kind": "attribute", "key": "コース", "op": "equals", "value": "年間契約"}, {"yearly"}),
        (
            {"kind": "attribute", "key": "コース", "op": "contains", "value": "契約"},
            {"yearly", "monthly"},
        ),
        ({"kind": "attribute", "key": "コース", "op": "exists"}, {"yearly", "monthly", "null"}),
        ({"kind": "attribute", "key": "rank", "op": "equals", "value": 3}, {"yearly"}),
        ({"kind": "attribute", "key": "vip", "op": "equals", "value": True}, {"monthly"}),
        ({"kind": "attribute", "key": "plan", "op": "contains", "value": "gold"}, {"yearly"}),
    ],
)
def test_custom_attributes(
    make_contact: MakeContact, match: Match, where: dict[str, Any], expected: set[str]
) -> None:
    people = {
        "yearly": make_contact(attributes={"コース": "年間契約", "rank": 3, "plan": "Gold"}),
        "monthly": make_contact(attributes={"コース": "月額契約", "rank": "3", "vip": True}),
        "null": make_contact(attributes={"コース": None}),
        "empty": make_contact(attributes={}),
    }
    ids = {name: c.pk for name, c in people.items()}
    got = match(where)
    assert got == {ids[n] for n in expected}
    # `not` is the exact complement, also for a key that is absent or JSON null.
    assert match(_not(where)) == set(ids.values()) - got


def test_consent_email_phone_flags(make_contact: MakeContact, match: Match) -> None:
    a = make_contact(marketing_consent=True, email="a@example.com", phone="")
    b = make_contact(marketing_consent=False, email="", phone="+819012345678")
    assert match({"kind": "consent"}) == {a.pk}
    assert match({"kind": "consent", "value": False}) == {b.pk}
    assert match({"kind": "has_email"}) == {a.pk}
    assert match({"kind": "has_email", "value": False}) == {b.pk}
    assert match({"kind": "has_phone"}) == {b.pk}
    assert match(_not({"kind": "has_phone"})) == {a.pk}


def test_contacts_of_another_workspace_never_match(
    make_contact: MakeContact, match: Match, workspace: Workspace
) -> None:
    other = create_workspace(
        name="Other",
        slug="other",
        channel_id="3",
        channel_secret="s",
        channel_access_token="t",
        api_base_url="http://127.0.0.1:9",
    )
    mine = make_contact(gender="male")
    make_contact(ws=other, gender="male")
    assert match({"kind": "gender", "values": ["male"]}) == {mine.pk}
    assert match({"kind": "all", "conditions": []}) == {mine.pk}
