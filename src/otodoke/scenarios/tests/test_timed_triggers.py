"""Who a time-based trigger finds due at an instant, in the workspace time zone."""

from __future__ import annotations

import datetime as dt
from itertools import count
from typing import Any

import pytest
from django.utils import translation

from otodoke.contacts.models import Contact, Event
from otodoke.scenarios.services import ScenarioError, activate_scenario, create_scenario
from otodoke.scenarios.timed import (
    DateAttributeParams,
    birthday_due,
    birthday_month_due,
    date_attribute_due,
    due_now,
    inactivity_due,
    params_problems,
    parse_params,
    parse_time,
)
from otodoke.segments.schema import DefinitionError
from otodoke.workspaces.models import Workspace
from otodoke.workspaces.services import create_workspace

_numbers = count(1)
UTC = dt.UTC
TOKYO = dt.timezone(dt.timedelta(hours=9))


def _workspace(slug: str = "salon", time_zone: str = "Asia/Tokyo") -> Workspace:
    return create_workspace(
        name=slug,
        slug=slug,
        channel_id=slug,
        channel_secret="s",
        channel_access_token="t",
        api_base_url="http://127.0.0.1:9",
        time_zone=time_zone,
    )


@pytest.fixture
def workspace(db: None) -> Workspace:
    return _workspace()


def _contact(workspace: Workspace, **fields: Any) -> Contact:
    return Contact.objects.create(
        workspace=workspace, external_id=f"T{next(_numbers):05d}", **fields
    )


def _ids(due: Any) -> set[int]:
    return set(due.contact_ids)


def test_birthday_month_starts_in_tokyo_while_it_is_still_december_in_utc(
    workspace: Workspace,
) -> None:
    january = _contact(workspace, birth_date=dt.date(1990, 1, 20))
    _contact(workspace, birth_date=dt.date(1990, 12, 1))
    _contact(workspace)  # no birth date
    ten = dt.time(8, 0)
    # 2026-12-31 23:30 UTC is 2027-01-01 08:30 in Tokyo: the 1st of January, after 08:00.
    due = birthday_month_due(workspace, dt.datetime(2026, 12, 31, 23, 30, tzinfo=UTC), at=ten)
    assert _ids(due) == {january.pk}
    assert due.period == "bday-month:2027-01"
    # 07:30 in Tokyo: before the time of day, nobody yet (same period).
    early = birthday_month_due(workspace, dt.datetime(2026, 12, 31, 22, 30, tzinfo=UTC), at=ten)
    assert (_ids(early), early.period) == (set(), "bday-month:2027-01")
    # 2 January in Tokyo: the 1st is over.
    late = birthday_month_due(workspace, dt.datetime(2027, 1, 1, 15, 0, tzinfo=UTC), at=ten)
    assert _ids(late) == set()


def test_birthday_month_follows_the_workspace_time_zone(db: None) -> None:
    utc_shop = _workspace("london", time_zone="UTC")
    january = _contact(utc_shop, birth_date=dt.date(1990, 1, 5))
    # Same instant as above: still 31 December in a UTC workspace.
    assert _ids(birthday_month_due(utc_shop, dt.datetime(2026, 12, 31, 23, 30, tzinfo=UTC))) == (
        set()
    )
    assert _ids(birthday_month_due(utc_shop, dt.datetime(2027, 1, 1, 0, 0, tzinfo=UTC))) == {
        january.pk
    }


def test_birthday_day_and_29_february_in_a_common_year(workspace: Workspace) -> None:
    today = _contact(workspace, birth_date=dt.date(1985, 3, 2))
    leapling = _contact(workspace, birth_date=dt.date(2000, 2, 29))
    feb28 = _contact(workspace, birth_date=dt.date(1999, 2, 28))
    # 2027-03-01 15:30 UTC = 2027-03-02 00:30 Tokyo.
    due = birthday_due(workspace, dt.datetime(2027, 3, 1, 15, 30, tzinfo=UTC))
    assert _ids(due) == {today.pk}
    assert due.period == "birthday:2027-03-02"
    # 28 Feb 2027 (common year): the 29 Feb birthday is kept on the 28th.
    common = birthday_due(workspace, dt.datetime(2027, 2, 28, 3, 0, tzinfo=UTC))
    assert _ids(common) == {leapling.pk, feb28.pk}
    # 28 Feb 2028 (leap year): only the 28th; the 29th has its own day.
    leap = birthday_due(workspace, dt.datetime(2028, 2, 28, 3, 0, tzinfo=UTC))
    assert _ids(leap) == {feb28.pk}
    assert _ids(birthday_due(workspace, dt.datetime(2028, 2, 29, 3, 0, tzinfo=UTC))) == {
        leapling.pk
    }


def test_n_days_before_a_custom_date_attribute_in_any_common_spelling(
    workspace: Workspace,
) -> None:
    spellings = [
        "2027-04-01",
        "2027/04/01",
        "2027/4/1",
        "2027年4月1日",
        "2027-04-01T09:00:00+09:00",
    ]
    renewing = [_contact(workspace, attributes={"contract_renewal": v}) for v in spellings]
    next_day = _contact(workspace, attributes={"contract_renewal": "2027-04-02"})
    _contact(workspace, attributes={"contract_renewal": "2027-04-011"})
    _contact(workspace, attributes={"other": "2027-04-01"})
    _contact(workspace)
    # 30 days before 1 April 2027 is 2 March; 10:00 in Tokyo is 01:00 UTC.
    at_ten = dt.datetime(2027, 3, 2, 1, 0, tzinfo=UTC)
    due = date_attribute_due(
        workspace, at_ten, key="contract_renewal", offset_days=-30, at=dt.time(10, 0)
    )
    assert _ids(due) == {c.pk for c in renewing}
    assert due.period == "date:2027-04-01"
    before_ten = date_attribute_due(
        workspace,
        at_ten - dt.timedelta(minutes=1),
        key="contract_renewal",
        offset_days=-30,
        at=dt.time(10, 0),
    )
    assert _ids(before_ten) == set()
    # The day before and the day after are not their day (the next day is someone else's).
    for shift, expected in ((-1, set()), (1, {next_day.pk})):
        other_day = date_attribute_due(
            workspace, at_ten + dt.timedelta(days=shift), key="contract_renewal", offset_days=-30
        )
        assert _ids(other_day) == expected
    # And "3 days after" uses the same attribute the other way round.
    after = date_attribute_due(
        workspace, dt.datetime(2027, 4, 4, 1, 0, tzinfo=UTC), key="contract_renewal", offset_days=3
    )
    assert _ids(after) == {c.pk for c in renewing}


def test_inactivity_60_days_without_a_visit_uses_the_local_day_of_the_last_visit(
    workspace: Workspace,
) -> None:
    # Today (Tokyo): 2027-03-02. 60 days before: 2027-01-01 (local), all of that day.
    now = dt.datetime(2027, 3, 2, 1, 0, tzinfo=UTC)  # 10:00 Tokyo
    lapsed_early = _contact(workspace, last_visit_at=dt.datetime(2027, 1, 1, 0, 0, tzinfo=TOKYO))
    lapsed_late = _contact(workspace, last_visit_at=dt.datetime(2027, 1, 1, 23, 59, tzinfo=TOKYO))
    _contact(workspace, last_visit_at=dt.datetime(2026, 12, 31, 23, 59, tzinfo=TOKYO))  # 61 days
    recent = _contact(workspace, last_visit_at=dt.datetime(2027, 1, 2, 0, 0, tzinfo=TOKYO))
    _contact(workspace)  # never visited: not "inactive", never a customer
    due = inactivity_due(workspace, now, event="visit", days=60)
    assert _ids(due) == {lapsed_early.pk, lapsed_late.pk}
    assert due.period == "inactive:2027-03-02"
    # Tomorrow the same people are 61 days out and not due again; whoever last came a day
    # later is.
    tomorrow = inactivity_due(workspace, now + dt.timedelta(days=1), event="visit", days=60)
    assert _ids(tomorrow) == {recent.pk}


def test_inactivity_for_a_kind_without_a_rollup_reads_the_events(workspace: Workspace) -> None:
    now = dt.datetime(2027, 3, 2, 1, 0, tzinfo=UTC)
    lapsed = _contact(workspace)
    came_back = _contact(workspace)
    for contact, at in [
        (lapsed, dt.datetime(2026, 12, 20, 12, 0, tzinfo=TOKYO)),
        (lapsed, dt.datetime(2027, 1, 1, 12, 0, tzinfo=TOKYO)),
        (came_back, dt.datetime(2027, 1, 1, 12, 0, tzinfo=TOKYO)),
        (came_back, dt.datetime(2027, 2, 1, 12, 0, tzinfo=TOKYO)),
    ]:
        Event.objects.create(
            workspace=workspace, contact=contact, kind="custom:lesson", occurred_at=at
        )
    due = inactivity_due(workspace, now, event="custom:lesson", days=60)
    assert _ids(due) == {lapsed.pk}


def test_due_now_reads_the_trigger_params(workspace: Workspace) -> None:
    born = _contact(workspace, birth_date=dt.date(1990, 1, 20))
    now = dt.datetime(2027, 1, 1, 1, 0, tzinfo=UTC)  # 10:00 Tokyo on the 1st
    params = parse_params("date_attribute", {"on": "birthday_month", "at": "10:00"})
    assert _ids(due_now(workspace, "date_attribute", params, now, version_id=1)) == {born.pk}
    later = parse_params("date_attribute", {"on": "birthday_month", "at": "10:01"})
    assert _ids(due_now(workspace, "date_attribute", later, now, version_id=1)) == set()
    assert parse_time(None) == dt.time(0, 0)


@pytest.mark.parametrize(
    ("kind", "params", "path"),
    [
        ("date_attribute", {"on": "attribute"}, "$.trigger.params"),
        ("date_attribute", {"on": "birthday", "at": "25:00"}, "$.trigger.params.at"),
        ("date_attribute", {"on": "someday"}, "$.trigger.params.on"),
        ("inactivity", {"event": "visit", "days": 0}, "$.trigger.params.days"),
        ("inactivity", {"event": "walk", "days": 60}, "$.trigger.params"),
        ("segment_entered", {}, "$.trigger.params"),
        ("segment_entered", {"definition": {"version": 1, "where": {"kind": "x"}}}, "$.where"),
    ],
)
def test_bad_params_are_named_by_their_field(
    workspace: Workspace, kind: str, params: dict[str, Any], path: str
) -> None:
    problems = params_problems(workspace, kind, params)
    assert problems, params
    assert problems[0].path.startswith(path)
    with pytest.raises(DefinitionError):
        parse_params(kind, params)


def test_a_watched_segment_that_does_not_exist_is_a_problem(workspace: Workspace) -> None:
    problems = params_problems(workspace, "segment_entered", {"segment_id": 999})
    assert [p.message for p in problems] == ["no segment 999 in this workspace"]
    assert params_problems(workspace, "inactivity", {"event": "visit", "days": 60}) == []


def test_problems_are_in_the_users_language(workspace: Workspace) -> None:
    with translation.override("ja"):
        (ja,) = params_problems(workspace, "date_attribute", {"on": "attribute"})
    with translation.override("en"):
        (en,) = params_problems(workspace, "segment_entered", {})
    assert ja.message == "日付が入っているカスタム項目（key）を指定してください"
    assert en.message == "give either a segment definition or a saved segment (segment_id)"


def test_activation_names_a_bad_time_based_trigger(workspace: Workspace) -> None:
    scenario = create_scenario(
        workspace,
        name="renewal",
        spec={
            "trigger": {"kind": "date_attribute", "params": {"on": "attribute", "at": "9時"}},
            "steps": [{"type": "send", "messages": [{"type": "text", "text": "更新のご案内"}]}],
        },
    )
    with pytest.raises(ScenarioError) as caught:
        activate_scenario(scenario)
    paths = [p.path for p in caught.value.problems]
    assert "$.trigger.params.at" in paths
    scenario.refresh_from_db()
    assert scenario.status == "draft"


def test_the_templates_attribute_spelling_and_a_day_past_the_months_end(
    workspace: Workspace,
) -> None:
    month = parse_params(
        "date_attribute", {"attribute": "birth_date", "match": "month", "day": 31, "at": "10:00"}
    )
    assert isinstance(month, DateAttributeParams)
    assert (month.on, month.day, month.at) == ("birthday_month", 31, "10:00")
    renewal = parse_params("date_attribute", {"attribute": "renewal", "offset_days": -30})
    assert isinstance(renewal, DateAttributeParams)
    assert (renewal.on, renewal.key, renewal.offset_days) == ("attribute", "renewal", -30)
    day = parse_params("date_attribute", {"attribute": "birth_date", "match": "day"})
    assert isinstance(day, DateAttributeParams) and day.on == "birthday"

    february = _contact(workspace, birth_date=dt.date(1990, 2, 14))
    # "Day 31" in February 2027 is its last day, the 28th (10:00 Tokyo = 01:00 UTC).
    on_28th = dt.datetime(2027, 2, 28, 1, 0, tzinfo=UTC)
    assert _ids(due_now(workspace, "date_attribute", month, on_28th, version_id=1)) == {february.pk}
    on_27th = on_28th - dt.timedelta(days=1)
    assert _ids(due_now(workspace, "date_attribute", month, on_27th, version_id=1)) == set()
