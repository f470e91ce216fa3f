"""The scheduler's tick for time-based triggers: who it enrols, once per period, with an
injected clock (no sleeping through days)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from otodoke.campaigns.tests.conftest import Line, make_contacts
from otodoke.contacts.models import Contact, ContactTag, Tag
from otodoke.contacts.tagging import add_tags
from otodoke.scenarios import scheduler, timed
from otodoke.scenarios.models import Enrolment, EnrolmentStatus, Scenario, ScenarioVersion
from otodoke.scenarios.presets import instantiate
from otodoke.scenarios.services import activate_scenario, create_scenario, pause_scenario
from otodoke.scenarios.tests.helpers import texts
from otodoke.scenarios.timed import on_contacts_changed, tick
from otodoke.segments.models import SegmentWatch
from otodoke.segments.services import save_segment
from otodoke.workspaces.models import Workspace

pytestmark = pytest.mark.django_db(transaction=True)
UTC = dt.UTC
TOKYO = dt.timezone(dt.timedelta(hours=9))
HELLO = {"type": "send", "messages": [{"type": "text", "text": "お誕生月おめでとうございます"}]}
VIP = {"version": 1, "where": {"kind": "tags", "match": "any", "names": ["VIP"]}}


def _scenario(
    workspace: Workspace, kind: str, params: dict[str, Any], entry_rule: str = "every"
) -> tuple[Scenario, ScenarioVersion]:
    scenario = create_scenario(
        workspace,
        name=f"{kind} {params}",
        spec={
            "trigger": {"kind": kind, "params": params},
            "entry_rule": entry_rule,
            "steps": [HELLO],
        },
    )
    activate_scenario(scenario)
    scenario.refresh_from_db()
    assert scenario.current_version is not None
    return scenario, scenario.current_version


def _enrolled(scenario: Scenario) -> list[tuple[int, int, str]]:
    return sorted(
        Enrolment.objects.filter(scenario=scenario).values_list("contact_id", "run", "source")
    )


def _finish_all(scenario: Scenario) -> None:
    """As if every run went through its steps: only the period key keeps them out now."""
    Enrolment.objects.filter(scenario=scenario).update(status=EnrolmentStatus.COMPLETED)


def _tag(contact: Contact, name: str, at: dt.datetime) -> None:
    tag, _ = Tag.objects.get_or_create(workspace=contact.workspace, name=name)
    ContactTag.objects.create(contact=contact, tag=tag, added_at=at)


def test_birthday_month_fires_once_a_year_however_often_the_tick_runs(
    workspace: Workspace, line: Line
) -> None:
    january, december, unknown = make_contacts(workspace, line, 3)
    Contact.objects.filter(pk=january.pk).update(birth_date=dt.date(1990, 1, 20))
    Contact.objects.filter(pk=december.pk).update(birth_date=dt.date(1990, 12, 3))
    scenario, version = _scenario(
        workspace, "date_attribute", {"on": "birthday_month", "at": "08:00"}
    )

    # 2026-12-31 22:50 UTC is 07:50 on 1 January in Tokyo: not yet.
    start = dt.datetime(2026, 12, 31, 22, 50, tzinfo=UTC)
    assert [r.entered for r in tick(workspace, start)] == [0]
    # Every minute for an hour across 08:00 Tokyo (23:00 UTC, still 31 December in UTC).
    for minute in range(1, 61):
        tick(workspace, start + dt.timedelta(minutes=minute))
        if minute == 30:
            _finish_all(scenario)  # a finished run does not let them in again this year
    assert _enrolled(scenario) == [(january.pk, 1, "bday-month:2027-01")]

    # A year later they are in again (entry rule "every").
    _finish_all(scenario)
    next_year = dt.datetime(2027, 12, 31, 23, 30, tzinfo=UTC)
    results = tick(workspace, next_year)
    assert [(r.version_id, r.period, r.entered) for r in results] == [
        (version.pk, "bday-month:2028-01", 1)
    ]
    assert _enrolled(scenario) == [
        (january.pk, 1, "bday-month:2027-01"),
        (january.pk, 2, "bday-month:2028-01"),
    ]
    assert unknown.pk not in {c for c, _r, _s in _enrolled(scenario)}


def test_inactivity_60_days_enrols_each_lapse_once(workspace: Workspace, line: Line) -> None:
    lapsed, regular = make_contacts(workspace, line, 2)
    Contact.objects.filter(pk=lapsed.pk).update(
        last_visit_at=dt.datetime(2027, 1, 1, 18, 0, tzinfo=TOKYO)
    )
    Contact.objects.filter(pk=regular.pk).update(
        last_visit_at=dt.datetime(2027, 2, 20, 18, 0, tzinfo=TOKYO)
    )
    scenario, _ = _scenario(workspace, "inactivity", {"event": "visit", "days": 60, "at": "10:00"})
    day = dt.datetime(2027, 3, 2, 1, 0, tzinfo=UTC)  # 10:00 Tokyo, 60 days after 1 January
    for minutes in (0, 1, 2, 600):
        tick(workspace, day + dt.timedelta(minutes=minutes))
        _finish_all(scenario)
    assert _enrolled(scenario) == [(lapsed.pk, 1, "inactive:2027-03-02")]
    # The next day they are 61 days out: no second reminder for the same lapse.
    tick(workspace, day + dt.timedelta(days=1))
    assert len(_enrolled(scenario)) == 1


def test_n_days_before_a_contract_renewal(workspace: Workspace, line: Line) -> None:
    renewing, later = make_contacts(workspace, line, 2)
    Contact.objects.filter(pk=renewing.pk).update(attributes={"renewal": "2027/04/01"})
    Contact.objects.filter(pk=later.pk).update(attributes={"renewal": "2027/05/01"})
    scenario, _ = _scenario(
        workspace,
        "date_attribute",
        {"on": "attribute", "key": "renewal", "offset_days": -30, "at": "10:00"},
        entry_rule="once",
    )
    tick(workspace, dt.datetime(2027, 3, 2, 0, 59, tzinfo=UTC))  # 09:59 Tokyo
    assert _enrolled(scenario) == []
    tick(workspace, dt.datetime(2027, 3, 2, 1, 0, tzinfo=UTC))
    tick(workspace, dt.datetime(2027, 3, 2, 1, 1, tzinfo=UTC))
    assert _enrolled(scenario) == [(renewing.pk, 1, "date:2027-04-01")]


def test_entered_a_segment_skips_who_matched_at_activation_then_enrols_newcomers(
    workspace: Workspace, line: Line
) -> None:
    already, newcomer, quick = make_contacts(workspace, line, 3)
    t0 = dt.datetime(2027, 3, 2, 1, 0, tzinfo=UTC)
    _tag(already, "VIP", t0)
    scenario, version = _scenario(workspace, "segment_entered", {"definition": VIP})

    tick(workspace, t0)  # the baseline: `already` matched before, so stays out
    assert _enrolled(scenario) == []
    _tag(newcomer, "VIP", t0)
    t1 = t0 + dt.timedelta(minutes=1)
    assert [r.entered for r in tick(workspace, t1)] == [1]
    assert _enrolled(scenario) == [(newcomer.pk, 1, f"entered:{t1.isoformat()}")]
    assert [r.entered for r in tick(workspace, t1 + dt.timedelta(minutes=1))] == [0]

    # The quick path: a tag change is announced and the contact enters without a full tick.
    _tag(quick, "VIP", t1)
    t2 = t1 + dt.timedelta(seconds=5)
    assert on_contacts_changed(workspace, [quick.pk], t2) == 1
    assert (quick.pk, 1, f"entered:{t2.isoformat()}") in _enrolled(scenario)
    assert [r.entered for r in tick(workspace, t2 + dt.timedelta(minutes=1))] == [0]

    # Leaving and coming back is a new entry (entry rule "every", the first run finished).
    _finish_all(scenario)
    newcomer.contact_tags.all().delete()
    tick(workspace, t2 + dt.timedelta(minutes=2))
    _tag(newcomer, "VIP", t2)
    t3 = t2 + dt.timedelta(minutes=3)
    tick(workspace, t3)
    assert (newcomer.pk, 2, f"entered:{t3.isoformat()}") in _enrolled(scenario)
    assert SegmentWatch.objects.filter(owner_id=version.pk).count() == 1


def test_a_crash_while_enrolling_keeps_the_entry_for_the_next_tick(
    workspace: Workspace, line: Line, monkeypatch: pytest.MonkeyPatch
) -> None:
    (contact,) = make_contacts(workspace, line, 1)
    scenario, _ = _scenario(workspace, "segment_entered", {"definition": VIP})
    t0 = dt.datetime(2027, 3, 2, 1, 0, tzinfo=UTC)
    tick(workspace, t0)
    _tag(contact, "VIP", t0)

    def crash(*args: Any, **kwargs: Any) -> int:
        raise RuntimeError("worker killed")

    with monkeypatch.context() as patch:
        patch.setattr(timed, "enrol", crash)
        with pytest.raises(RuntimeError):
            tick(workspace, t0 + dt.timedelta(minutes=1))
    assert _enrolled(scenario) == []
    # The diff was rolled back with the failed enrolment: the next tick still sees them enter.
    t2 = t0 + dt.timedelta(minutes=2)
    tick(workspace, t2)
    assert _enrolled(scenario) == [(contact.pk, 1, f"entered:{t2.isoformat()}")]


def test_a_broken_trigger_is_reported_and_the_others_still_run(
    workspace: Workspace, line: Line
) -> None:
    (born,) = make_contacts(workspace, line, 1)
    Contact.objects.filter(pk=born.pk).update(birth_date=dt.date(1990, 1, 20))
    segment = save_segment(workspace, name="VIP", definition=VIP, actor=None)
    broken, broken_version = _scenario(workspace, "segment_entered", {"segment_id": segment.pk})
    birthday, _ = _scenario(workspace, "date_attribute", {"on": "birthday_month"})
    segment_id = segment.pk
    segment.delete()  # after activation: the activation check could not stop it

    results = {r.version_id: r for r in tick(workspace, dt.datetime(2027, 1, 1, 1, 0, tzinfo=UTC))}
    assert f"no segment {segment_id}" in results[broken_version.pk].problem
    assert _enrolled(broken) == []
    assert [c for c, _r, _s in _enrolled(birthday)] == [born.pk]


def test_pausing_drops_the_watch_and_reactivation_takes_a_new_baseline(
    workspace: Workspace, line: Line
) -> None:
    (contact,) = make_contacts(workspace, line, 1)
    scenario, version = _scenario(workspace, "segment_entered", {"definition": VIP})
    t0 = dt.datetime(2027, 3, 2, 1, 0, tzinfo=UTC)
    tick(workspace, t0)
    assert SegmentWatch.objects.filter(owner_id=version.pk).exists()
    pause_scenario(scenario)
    tick(workspace, t0 + dt.timedelta(minutes=1))
    assert not SegmentWatch.objects.filter(owner_id=version.pk).exists()

    # Matched while paused: on reactivation that is the baseline, not an entry.
    _tag(contact, "VIP", t0)
    activate_scenario(scenario)
    tick(workspace, t0 + dt.timedelta(minutes=2))
    tick(workspace, t0 + dt.timedelta(minutes=3))
    assert _enrolled(scenario) == []


def test_the_scheduler_sends_the_birthday_coupon_once_over_line(
    workspace: Workspace, line: Line
) -> None:
    january, march = make_contacts(workspace, line, 2)
    Contact.objects.filter(pk=january.pk).update(birth_date=dt.date(1990, 1, 20))
    Contact.objects.filter(pk=march.pk).update(birth_date=dt.date(1990, 3, 3))
    _scenario(workspace, "date_attribute", {"on": "birthday_month", "at": "10:00"})
    ten = dt.datetime(2027, 1, 1, 1, 0, tzinfo=UTC)  # 10:00 Tokyo, outside quiet hours
    for minutes in (0, 1, 5):
        scheduler.tick(now=ten + dt.timedelta(minutes=minutes))
    assert texts(line.received(january.line_user_id or "")) == ["お誕生月おめでとうございます"]
    assert line.received(march.line_user_id or "") == []


def test_a_tag_added_enters_the_segment_trigger_without_waiting_for_a_tick(
    workspace: Workspace, line: Line, settings: Any
) -> None:
    settings.OTODOKE_WATCH_REFRESH_SECONDS = 60
    early, tagged, silent = make_contacts(workspace, line, 3)
    scenario, version = _scenario(workspace, "segment_entered", {"definition": VIP})
    t0 = dt.datetime(2027, 3, 2, 1, 0, tzinfo=UTC)
    # Before the first tick there is no baseline yet: a tag then does not start a scan in the
    # writer's transaction; the tick's baseline counts the contact as already inside.
    add_tags(workspace, [early.pk], ["VIP"], at=t0 - dt.timedelta(seconds=5))
    assert not SegmentWatch.objects.filter(owner_id=version.pk).exists()
    tick(workspace, t0)
    # Through the contacts app (which announces it): enrolled at once.
    add_tags(workspace, [tagged.pk], ["VIP"], at=t0 + dt.timedelta(seconds=5))
    assert [c for c, _r, _s in _enrolled(scenario)] == [tagged.pk]
    assert early.pk not in {c for c, _r, _s in _enrolled(scenario)}
    # Written behind the app's back: only a full evaluation sees it, and that runs at most
    # once a minute however often the scheduler ticks.
    _tag(silent, "VIP", t0)
    tick(workspace, t0 + dt.timedelta(seconds=30))
    assert silent.pk not in {c for c, _r, _s in _enrolled(scenario)}
    tick(workspace, t0 + dt.timedelta(seconds=60))
    assert silent.pk in {c for c, _r, _s in _enrolled(scenario)}


def test_the_birthday_and_60_day_templates_send_on_their_day(
    workspace: Workspace, line: Line
) -> None:
    born_in_january, lapsed, regular = make_contacts(workspace, line, 3)
    Contact.objects.filter(pk=born_in_january.pk).update(birth_date=dt.date(1990, 1, 20))
    Contact.objects.filter(pk=lapsed.pk).update(
        last_visit_at=dt.datetime(2026, 11, 2, 18, 0, tzinfo=TOKYO)  # 60 days before 1 Jan
    )
    Contact.objects.filter(pk=regular.pk).update(
        last_visit_at=dt.datetime(2026, 12, 20, 18, 0, tzinfo=TOKYO)
    )
    for key in ("birthday_month_coupon", "come_back_after_60_days"):
        activate_scenario(instantiate(workspace, key))
    ten = dt.datetime(2027, 1, 1, 1, 0, tzinfo=UTC)  # 1 January, 10:00 in Tokyo
    scheduler.tick(now=ten - dt.timedelta(minutes=1))
    assert line.received(born_in_january.line_user_id or "") == []
    for minutes in (0, 1, 30):
        scheduler.tick(now=ten + dt.timedelta(minutes=minutes))
    (birthday,) = texts(line.received(born_in_january.line_user_id or ""))
    assert "お誕生月おめでとうございます" in birthday
    assert len(texts(line.received(lapsed.line_user_id or ""))) == 1
    assert line.received(regular.line_user_id or "") == []
