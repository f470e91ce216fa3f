"""The sync's task chain, and the quick path: a tag that puts a friend in a rule's segment
changes their desired menu at once and queues a sync, which a worker turns into a link."""

from __future__ import annotations

import pytest
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from otodoke.campaigns.tests.conftest import Line, make_contacts
from otodoke.contacts.tagging import add_tags
from otodoke.richmenus import services
from otodoke.richmenus.models import RichMenuAssignment, SyncChain
from otodoke.richmenus.tasks import ensure_chain, richmenu_sync
from otodoke.richmenus.tests.helpers import linked_menu, published
from otodoke.segments.models import Segment
from otodoke.testing.tasks import run_ready_tasks
from otodoke.workspaces.models import Workspace

pytestmark = pytest.mark.django_db(transaction=True)


def queued() -> list[DBTaskResult[..., object]]:
    return list(DBTaskResult.objects.filter(task_path__endswith="richmenu_sync", status="READY"))


def test_starting_the_chain_twice_queues_one_sync_on_the_automation_queue() -> None:
    ensure_chain()
    ensure_chain()
    (sync,) = queued()
    assert sync.queue_name == "automation"
    assert sync.run_after is not None and sync.run_after > timezone.now()
    SyncChain.objects.filter(pk=1).update(next_at=timezone.now())
    assert richmenu_sync.call(True) == {}
    assert richmenu_sync.call(True) == {"chain": "another chain runs"}


def test_a_tag_that_enters_the_segment_queues_a_sync_that_links_the_friend(
    workspace: Workspace, line: Line, vip: Segment
) -> None:
    friend = make_contacts(workspace, line, 1)[0]
    menu = published(workspace, "vip", alias="vip")
    services.create_rule(workspace, name="VIP", segment=vip, menu=menu)
    run_ready_tasks()  # the rule's first (full) sync: nobody is VIP yet
    assert linked_menu(line, friend.line_user_id) is None

    add_tags(workspace, [friend.pk], ["VIP"])
    assignment = RichMenuAssignment.objects.get(contact=friend)
    assert assignment.desired_line_id == menu.line_rich_menu_id  # at once, by the signal
    assert assignment.applied_line_id == ""
    assert queued(), "the tag queued a sync"
    run_ready_tasks()
    assert linked_menu(line, friend.line_user_id) == menu.line_rich_menu_id
    assert RichMenuAssignment.objects.get(contact=friend).applied_line_id == menu.line_rich_menu_id
