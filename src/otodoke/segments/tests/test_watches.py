"""Segment watches: baseline, entered/left as a set-based diff, incremental refresh, and a
bounded number of queries whatever the number of contacts."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from otodoke.contacts.models import Contact
from otodoke.segments.models import SegmentWatch, SegmentWatchMember
from otodoke.segments.schema import DefinitionError
from otodoke.segments.services import save_segment
from otodoke.segments.tests.conftest import NOW, MakeContact, tag
from otodoke.segments.watches import (
    drop_watch,
    ensure_watch,
    members,
    refresh,
    refresh_contacts,
    refresh_workspace_contacts,
)
from otodoke.workspaces.models import Workspace
from otodoke.workspaces.services import create_workspace

VIP = {"version": 1, "where": {"kind": "tags", "match": "any", "names": ["VIP"]}}
# Time-dependent: nobody writes anything when a last visit becomes 60 days old.
LAPSED = {"version": 1, "where": {"kind": "last_visit", "op": "before", "days_ago": 60}}


def _workspace(slug: str) -> Workspace:
    return create_workspace(
        name=slug,
        slug=slug,
        channel_id=slug,
        channel_secret="s",
        channel_access_token="t",
        api_base_url="http://127.0.0.1:9",
    )


def _member_ids(watch: SegmentWatch) -> set[int]:
    return set(members(watch).values_list("pk", flat=True))


def _untag(contact: Contact, name: str) -> None:
    contact.contact_tags.filter(tag__name=name).delete()


def test_first_refresh_baselines_current_members_without_reporting_them(
    workspace: Workspace, make_contact: MakeContact
) -> None:
    already = make_contact()
    tag(already, "VIP")
    make_contact()
    watch = ensure_watch(workspace, "scenario_version", 1, VIP)

    assert watch.last_evaluated_at is None
    assert refresh(watch, NOW) == ([], [])
    assert _member_ids(watch) == {already.pk}
    watch.refresh_from_db()
    assert watch.last_evaluated_at == NOW

    # Only someone who starts matching afterwards is reported as entering.
    later = make_contact()
    tag(later, "VIP")
    entered, left = refresh(watch, NOW + dt.timedelta(minutes=1))
    assert (entered, left) == ([later.pk], [])


def test_without_baseline_the_first_refresh_reports_everyone_as_entered(
    workspace: Workspace, make_contact: MakeContact
) -> None:
    a, b = make_contact(), make_contact()
    tag(a, "VIP")
    tag(b, "VIP")
    make_contact()
    watch = ensure_watch(workspace, "richmenu_rule", 3, VIP, baseline=False)
    assert refresh(watch, NOW) == (sorted([a.pk, b.pk]), [])


def test_refresh_reports_exactly_who_entered_and_who_left(
    workspace: Workspace, make_contact: MakeContact
) -> None:
    stays, leaves, joins, never = (make_contact() for _ in range(4))
    tag(stays, "VIP")
    tag(leaves, "VIP")
    watch = ensure_watch(workspace, "scenario_version", 2, VIP)
    refresh(watch, NOW)

    _untag(leaves, "VIP")
    tag(joins, "VIP")
    diff = refresh(watch, NOW + dt.timedelta(minutes=5))
    assert diff.entered == [joins.pk]
    assert diff.left == [leaves.pk]
    assert _member_ids(watch) == {stays.pk, joins.pk}
    assert never.pk not in _member_ids(watch)
    # Nothing changed since: nothing to report, and the stayer keeps its entry time.
    assert refresh(watch, NOW + dt.timedelta(minutes=6)) == ([], [])
    kept = SegmentWatchMember.objects.get(watch=watch, contact=stays)
    assert kept.entered_at == NOW
    assert SegmentWatchMember.objects.get(watch=watch, contact=joins).entered_at == NOW + (
        dt.timedelta(minutes=5)
    )


def test_a_full_refresh_sees_time_passing_with_no_data_change(
    workspace: Workspace, make_contact: MakeContact
) -> None:
    visited = make_contact(last_visit_at=NOW - dt.timedelta(days=30))
    watch = ensure_watch(workspace, "scenario_version", 4, LAPSED)
    refresh(watch, NOW)
    assert _member_ids(watch) == set()
    # 31 days later the visit is 61 days old: the contact enters without any write.
    assert refresh(watch, NOW + dt.timedelta(days=31)).entered == [visited.pk]
    # A new visit brings them back out.
    Contact.objects.filter(pk=visited.pk).update(last_visit_at=NOW + dt.timedelta(days=31))
    assert refresh(watch, NOW + dt.timedelta(days=32)).left == [visited.pk]


def test_refresh_contacts_re_evaluates_only_the_given_contacts(
    workspace: Workspace, make_contact: MakeContact
) -> None:
    a, b, c = make_contact(), make_contact(), make_contact()
    tag(c, "VIP")
    watch = ensure_watch(workspace, "scenario_version", 5, VIP)
    refresh(watch, NOW)

    tag(a, "VIP")
    tag(b, "VIP")
    _untag(c, "VIP")
    later = NOW + dt.timedelta(seconds=3)
    # Only a's change was announced: b and c wait for the scheduled full refresh.
    assert refresh_contacts(watch, [a.pk], later) == ([a.pk], [])
    assert _member_ids(watch) == {a.pk, c.pk}
    assert refresh_contacts(watch, [c.pk, c.pk], later) == ([], [c.pk])
    assert refresh(watch, later) == ([b.pk], [])
    # The incremental path does not count as a full evaluation.
    watch.refresh_from_db()
    assert watch.last_evaluated_at == later


def test_refresh_contacts_on_a_never_evaluated_watch_takes_the_baseline(
    workspace: Workspace, make_contact: MakeContact
) -> None:
    old, changed = make_contact(), make_contact()
    tag(old, "VIP")
    tag(changed, "VIP")
    watch = ensure_watch(workspace, "scenario_version", 6, VIP)
    # Without the baseline, `old` would later count as entering; with it, nobody does now.
    assert refresh_contacts(watch, [changed.pk], NOW) == ([], [])
    assert _member_ids(watch) == {old.pk, changed.pk}
    watch.refresh_from_db()
    assert watch.last_evaluated_at == NOW


def test_refresh_workspace_contacts_diffs_every_watch_of_the_workspace_only(
    workspace: Workspace, make_contact: MakeContact
) -> None:
    other = _workspace("other")
    vip_watch = ensure_watch(workspace, "scenario_version", 7, VIP)
    rule_watch = ensure_watch(workspace, "richmenu_rule", 7, VIP)
    foreign = ensure_watch(other, "scenario_version", 8, VIP)
    for w in (vip_watch, rule_watch, foreign):
        refresh(w, NOW)
    contact = make_contact()
    tag(contact, "VIP")
    elsewhere = make_contact(other)
    tag(elsewhere, "VIP")

    results = refresh_workspace_contacts(workspace, [contact.pk, elsewhere.pk], NOW)
    assert results == {
        ("scenario_version", 7): ([contact.pk], []),
        ("richmenu_rule", 7): ([contact.pk], []),
    }
    # A contact of another workspace never enters this workspace's watch.
    assert _member_ids(vip_watch) == {contact.pk}
    only_rules = refresh_workspace_contacts(other, [elsewhere.pk], NOW, owner_kind="richmenu_rule")
    assert only_rules == {}
    assert _member_ids(foreign) == set()


def test_ensure_watch_validates_and_a_new_definition_keeps_members_for_the_diff(
    workspace: Workspace, make_contact: MakeContact
) -> None:
    with pytest.raises(DefinitionError):
        ensure_watch(workspace, "scenario_version", 9, {"version": 1, "where": {"kind": "nope"}})
    assert not SegmentWatch.objects.exists()

    vip, gold = make_contact(), make_contact()
    tag(vip, "VIP")
    tag(gold, "GOLD")
    watch = ensure_watch(workspace, "scenario_version", 9, VIP)
    refresh(watch, NOW)
    same = ensure_watch(
        workspace,
        "scenario_version",
        9,
        {"version": 1, "where": {"kind": "tags", "match": "any", "names": ["GOLD"]}},
    )
    assert same.pk == watch.pk
    assert refresh(same, NOW + dt.timedelta(minutes=1)) == ([gold.pk], [vip.pk])

    drop_watch("scenario_version", 9)
    assert not SegmentWatchMember.objects.exists()


def test_a_definition_that_no_longer_compiles_raises_and_changes_nothing(
    workspace: Workspace, make_contact: MakeContact
) -> None:
    inner = save_segment(workspace, name="VIP", definition=VIP, actor=None)
    contact = make_contact()
    tag(contact, "VIP")
    watch = ensure_watch(
        workspace,
        "scenario_version",
        10,
        {"version": 1, "where": {"kind": "in_segment", "segment_id": inner.pk}},
    )
    refresh(watch, NOW)
    assert _member_ids(watch) == {contact.pk}
    inner.delete()
    with pytest.raises(DefinitionError):
        refresh(watch, NOW + dt.timedelta(minutes=1))
    watch.refresh_from_db()
    assert watch.last_evaluated_at == NOW
    assert _member_ids(watch) == {contact.pk}


def _populate(workspace: Workspace, n: int) -> list[Contact]:
    """`n` contacts, the even ones VIP."""
    contacts = Contact.objects.bulk_create(
        Contact(workspace=workspace, external_id=f"B{workspace.pk}-{i:06d}") for i in range(n)
    )
    for c in contacts[::2]:
        tag(c, "VIP")
    return contacts


def _flip(contacts: list[Contact]) -> None:
    """Every VIP stops being one and everyone else becomes one."""
    for i, c in enumerate(contacts):
        if i % 2 == 0:
            _untag(c, "VIP")
        else:
            tag(c, "VIP")


def _diff_queries(workspace: Workspace, n: int, owner_id: int) -> tuple[int, Any]:
    contacts = _populate(workspace, n)
    watch = ensure_watch(workspace, "scenario_version", owner_id, VIP)
    refresh(watch, NOW)
    _flip(contacts)
    with CaptureQueriesContext(connection) as queries:
        diff = refresh(watch, NOW + dt.timedelta(minutes=1))
    assert len(diff.entered) == n // 2
    assert len(diff.left) == n // 2
    return len(queries), diff


def test_the_diff_takes_a_bounded_number_of_queries_whatever_the_contact_count(
    workspace: Workspace, django_assert_max_num_queries: Any
) -> None:
    small, _ = _diff_queries(workspace, 10, 11)
    big, _ = _diff_queries(_workspace("big"), 400, 12)
    # Same statements for 400 contacts as for 10 (statistics checks aside, which are a few
    # fixed probes per table): nothing loops per contact.
    assert big <= small + 4 * 2
    contacts = _populate(_workspace("c"), 300)
    watch = ensure_watch(contacts[0].workspace, "scenario_version", 13, VIP)
    refresh(watch, NOW)
    _flip(contacts)
    # Per table checked for stale statistics (4 before, 1 after): up to 4 probes and an
    # ANALYZE; then lock, DELETE … RETURNING, INSERT … SELECT … RETURNING, update, savepoints.
    with django_assert_max_num_queries(5 * 5 + 6):
        diff = refresh(watch, NOW + dt.timedelta(minutes=1))
    assert len(diff.entered) == len(diff.left) == 150
