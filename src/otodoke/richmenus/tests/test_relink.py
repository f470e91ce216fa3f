"""Per-segment menus over real HTTP: who entered and who left a rule's segment is relinked,
nobody else; a re-run makes no call; a crash between bulk calls resumes without double work."""

from __future__ import annotations

import datetime as dt
import threading
from typing import Any
from unittest.mock import patch

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from otodoke.campaigns.tests.conftest import Line, make_contacts
from otodoke.contacts.tagging import add_tags, remove_tags
from otodoke.line.client import LineClient
from otodoke.richmenus import services, sync
from otodoke.richmenus.models import ChunkStatus, RelinkChunk, RichMenuAssignment
from otodoke.richmenus.tests.helpers import bulk_calls, linked_menu, published
from otodoke.segments.models import Segment
from otodoke.workspaces.models import Workspace

pytestmark = pytest.mark.django_db


def test_a_segment_rule_relinks_exactly_the_contacts_who_entered_and_left(
    workspace: Workspace, line: Line, vip: Segment
) -> None:
    people = make_contacts(workspace, line, 6)
    menu = published(workspace, "vip", alias="vip")
    add_tags(workspace, [p.pk for p in people[:3]], ["VIP"])
    services.create_rule(workspace, name="VIP members", segment=vip, menu=menu, priority=1)

    now = timezone.now()
    first = sync.sync(workspace, now=now, full=True)
    assert first.linked == 3 and first.unlinked == 0 and first.calls == 1
    assert [linked_menu(line, p.line_user_id) for p in people] == [menu.line_rich_menu_id] * 3 + [
        None
    ] * 3

    # One contact enters (tagged: the signal refreshes that contact at once), one leaves
    # (untagged: found by the next full refresh of the watch).
    add_tags(workspace, [people[3].pk], ["VIP"])
    remove_tags(workspace, [people[0].pk], ["VIP"])
    line.responses()  # the log so far
    before = bulk_calls(line)
    later = now + dt.timedelta(minutes=2)
    second = sync.sync(workspace, now=later)
    assert (second.linked, second.unlinked) == (1, 1)
    chunks = list(RelinkChunk.objects.filter(created_at__gte=now).order_by("id"))
    assert sorted(tuple(c.user_ids) for c in chunks[-2:]) == sorted(
        [(people[3].line_user_id,), (people[0].line_user_id,)]
    )
    after = bulk_calls(line)
    assert after["link"] - before["link"] == 1 and after["unlink"] - before["unlink"] == 1
    assert linked_menu(line, people[3].line_user_id) == menu.line_rich_menu_id
    assert linked_menu(line, people[0].line_user_id) is None
    assert linked_menu(line, people[1].line_user_id) == menu.line_rich_menu_id

    # Nothing changed: no call at all.
    again = sync.sync(workspace, now=later + dt.timedelta(minutes=2))
    assert again.calls == 0
    assert bulk_calls(line) == after


def test_the_higher_priority_rule_wins_and_a_contact_page_says_why(
    workspace: Workspace, line: Line, vip: Segment, owner: User
) -> None:
    from otodoke.segments.services import save_segment

    people = make_contacts(workspace, line, 2)
    everyone = save_segment(
        workspace,
        name="友だち",
        description="",
        definition={"version": 1, "where": {"kind": "line_status", "values": ["following"]}},
        actor=None,
    )
    vip_menu = published(workspace, "vip", alias="vip")
    member_menu = published(workspace, "member", alias="member")
    add_tags(workspace, [people[0].pk], ["VIP"])
    services.create_rule(workspace, name="Members", segment=everyone, menu=member_menu, priority=5)
    services.create_rule(workspace, name="VIP first", segment=vip, menu=vip_menu, priority=1)
    sync.sync(workspace, full=True)

    assert linked_menu(line, people[0].line_user_id) == vip_menu.line_rich_menu_id
    assert linked_menu(line, people[1].line_user_id) == member_menu.line_rich_menu_id
    seen = services.contact_menu(people[0])
    assert seen.menu == vip_menu and seen.rule is not None and seen.in_sync
    assert "VIP first" in seen.reason

    client = Client()
    client.force_login(owner)
    page = client.get(f"/w/{workspace.slug}/contacts/{people[0].pk}/").content.decode()
    section = page[page.index('data-testid="contact-richmenu"') :]
    assert "vip</a>" in section and "ルール「VIP first」" in section


def test_a_crash_between_bulk_calls_resumes_without_double_work(
    workspace: Workspace, line: Line, vip: Segment, monkeypatch: Any
) -> None:
    people = make_contacts(workspace, line, 1200)  # three chunks of at most 500
    menu = published(workspace, "vip", alias="vip")
    add_tags(workspace, [p.pk for p in people], ["VIP"])
    services.create_rule(workspace, name="VIP", segment=vip, menu=menu)

    real = LineClient.link_rich_menu_to_users
    doomed = {p.line_user_id for p in people[500:1000]}  # the second chunk's users

    def crash_on_second(self: LineClient, rich_menu_id: str, user_ids: list[str]) -> None:
        if user_ids[0] in doomed:
            raise SystemExit("worker killed")  # not an Exception: nothing catches it
        real(self, rich_menu_id, user_ids)

    monkeypatch.setattr(LineClient, "link_rich_menu_to_users", crash_on_second)
    with pytest.raises(SystemExit):
        sync.sync(workspace, full=True)
    # The calls in flight beside the killed one landed at LINE and were recorded as done;
    # the killed one was never made.
    statuses = list(RelinkChunk.objects.order_by("id").values_list("status", flat=True))
    assert statuses[1] == ChunkStatus.PENDING
    done = statuses.count(ChunkStatus.DONE)
    assert bulk_calls(line)["link"] == done

    monkeypatch.setattr(LineClient, "link_rich_menu_to_users", real)
    # The killed worker's lease on the second chunk lapses; the restart takes it over.
    resumed = sync.sync(workspace, now=timezone.now() + dt.timedelta(minutes=5))
    assert resumed.calls == 3 - done and resumed.planned_chunks == 0
    assert bulk_calls(line)["link"] == 3  # 1200 users: exactly three calls in all
    assert all(linked_menu(line, p.line_user_id) == menu.line_rich_menu_id for p in people[::97])
    assert sync.sync(workspace, now=timezone.now() + dt.timedelta(minutes=10)).calls == 0


def test_concurrent_sending_calls_each_chunk_exactly_once(
    workspace: Workspace, line: Line, vip: Segment, settings: Any
) -> None:
    settings.OTODOKE_RICHMENU_IN_FLIGHT = 8
    people = make_contacts(workspace, line, 5100)  # eleven chunks, the last of 100
    menu = published(workspace, "vip", alias="vip")
    add_tags(workspace, [p.pk for p in people], ["VIP"])
    services.create_rule(workspace, name="VIP", segment=vip, menu=menu)

    gate = threading.Barrier(4, timeout=10)
    real = LineClient.link_rich_menu_to_users
    seen: list[tuple[str, ...]] = []
    lock = threading.Lock()

    def link(self: LineClient, rich_menu_id: str, user_ids: list[str]) -> None:
        with lock:
            seen.append(tuple(user_ids))
            early = len(seen) <= 4
        if early:
            gate.wait()  # the first four calls are in flight together, or this times out
        real(self, rich_menu_id, user_ids)

    with patch.object(LineClient, "link_rich_menu_to_users", link):
        result = sync.sync(workspace, full=True)

    assert result.calls == 11 and result.linked == 5100 and not result.errors
    # At LINE (the emulator, over HTTP): eleven bulk links, no user twice, everyone linked.
    assert bulk_calls(line) == {"link": 11, "unlink": 0}
    sent = [u for users in seen for u in users]
    assert len(sent) == len(set(sent)) == 5100
    assert all(linked_menu(line, p.line_user_id) == menu.line_rich_menu_id for p in people[::251])
    assert set(RelinkChunk.objects.values_list("status", flat=True)) == {ChunkStatus.DONE}
    assert not RichMenuAssignment.objects.exclude(applied_line_id=menu.line_rich_menu_id).exists()
    assert sync.sync(workspace, now=timezone.now() + dt.timedelta(minutes=2)).calls == 0
    assert bulk_calls(line)["link"] == 11


def test_deleting_the_segment_drops_its_rule_and_its_friends_see_the_default(
    workspace: Workspace, line: Line, vip: Segment
) -> None:
    from otodoke.segments.services import delete_segment

    people = make_contacts(workspace, line, 2)
    add_tags(workspace, [people[0].pk], ["VIP"])
    menu = published(workspace, "vip", alias="vip")
    services.create_rule(workspace, name="VIP", segment=vip, menu=menu)
    sync.sync(workspace, full=True)
    assert linked_menu(line, people[0].line_user_id) == menu.line_rich_menu_id

    delete_segment(workspace, vip, actor=None)
    result = sync.sync(workspace, now=timezone.now() + dt.timedelta(minutes=2))
    assert (result.unlinked, result.linked) == (1, 0)
    assert linked_menu(line, people[0].line_user_id) is None
    assert services.contact_menu(people[0]).rule is None
