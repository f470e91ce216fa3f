"""Each (enrolment, step) is sent at most once: a worker killed between recording and
sending, an answer lost after LINE accepted, two workers racing; and the quota stop."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.db import connection

from otodoke.campaigns.models import RateBucket
from otodoke.campaigns.ratelimit import bucket_key
from otodoke.campaigns.tests.conftest import Line, make_contacts
from otodoke.line.client import LineClient
from otodoke.scenarios import sending
from otodoke.scenarios.models import Enrolment, Scenario, SendBatch, StepSend
from otodoke.scenarios.scheduler import tick
from otodoke.scenarios.sending import body_of
from otodoke.scenarios.tests.helpers import NOON, active, text, texts
from otodoke.scenarios.triggers import enrol
from otodoke.workspaces.models import Workspace

pytestmark = pytest.mark.django_db(transaction=True)
MINUTE = dt.timedelta(minutes=1)


def test_a_worker_killed_after_its_request_reached_line_is_resent_with_the_same_key(
    workspace: Workspace, line: Line
) -> None:
    (c,) = make_contacts(workspace, line, 1)
    _, version = active(workspace, [text("一度だけ")])
    enrol(workspace, version, [c.pk], now=NOON, source="test")
    tick(now=NOON, send=False)  # recorded: ledger row and batch with its retry key
    batch = SendBatch.objects.get()
    key = str(batch.retry_key)
    # The dead worker's request: it reached LINE with the key, then the worker died before
    # writing anything but the attempt and its lease.
    with LineClient.for_workspace(workspace) as client:
        client.call("POST", "/v2/bot/message/push", json_body=body_of(batch), retry_key=key)
    SendBatch.objects.filter(pk=batch.pk).update(
        status="in_flight", attempts=1, uncertain_since=NOON, lease_until=NOON
    )

    tick(now=NOON + MINUTE)

    batch.refresh_from_db()
    assert (batch.status, batch.attempts, batch.http_status) == ("sent", 2, 409)
    assert str(batch.retry_key) == key
    assert line.copies() == {c.line_user_id: 1}
    assert StepSend.objects.get().status == "sent"


def test_a_worker_killed_before_sending_sends_on_the_next_tick(
    workspace: Workspace, line: Line
) -> None:
    (c,) = make_contacts(workspace, line, 1)
    _, version = active(workspace, [text("あとで届く")])
    enrol(workspace, version, [c.pk], now=NOON, source="test")
    tick(now=NOON, send=False)
    assert line.copies() == {}
    tick(now=NOON + MINUTE)
    tick(now=NOON + 2 * MINUTE)
    assert line.copies() == {c.line_user_id: 1}


def test_an_answer_lost_after_line_accepted_is_not_sent_twice(
    workspace: Workspace, line: Line
) -> None:
    (c,) = make_contacts(workspace, line, 1)
    _, version = active(workspace, [text("届いたはず")])
    enrol(workspace, version, [c.pk], now=NOON, source="test")
    # The two quota reads pass; the push is delivered but its answer never arrives.
    line.script("none", "none", "drop-after")

    tick(now=NOON)
    batch = SendBatch.objects.get()
    assert batch.status == "pending" and batch.uncertain_since is not None
    tick(now=NOON + 5 * MINUTE)

    batch.refresh_from_db()
    assert batch.status == "sent" and batch.http_status == 409
    assert line.copies() == {c.line_user_id: 1}


def test_two_workers_racing_send_each_step_once(workspace: Workspace, line: Line) -> None:
    contacts = make_contacts(workspace, line, 30)
    # Personalised: one push per contact, so there are many batches to race over.
    _, version = active(workspace, [text("{{ name }}さん"), text("2通目")])
    enrol(workspace, version, [c.pk for c in contacts], now=NOON, source="test")
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            for minute in range(3):
                tick(now=NOON + minute * MINUTE)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)

    assert errors == []
    assert line.copies() == {c.line_user_id: 2 for c in contacts}
    assert StepSend.objects.filter(status="sent").count() == 60
    assert set(Enrolment.objects.values_list("status", flat=True)) == {"completed"}


def test_scenario_sends_take_tokens_from_the_campaigns_bucket(
    workspace: Workspace, line: Line
) -> None:
    (c,) = make_contacts(workspace, line, 1)
    _, version = active(workspace, [text("共有")])
    enrol(workspace, version, [c.pk], now=NOON, source="test")
    tick(now=NOON)
    assert RateBucket.objects.filter(key=bucket_key(workspace.channel_id, "push")).exists()


def test_an_exhausted_quota_stops_sends_with_a_reason_until_it_allows(
    workspace: Workspace, line: Line
) -> None:
    contacts = make_contacts(workspace, line, 3)
    scenario, version = active(workspace, [text("クーポン")])
    line.set_channel(quota_type="limited", quota_value=2)
    enrol(workspace, version, [c.pk for c in contacts], now=NOON, source="test")

    tick(now=NOON)

    assert line.copies() == {}
    scenario.refresh_from_db()
    assert "monthly message limit" in scenario.status_reason
    assert set(Enrolment.objects.values_list("next_due_at", flat=True)) == {
        NOON + sending.QUOTA_HOLD
    }
    line.set_channel(quota_type="limited", quota_value=1000)
    tick(now=NOON + sending.QUOTA_HOLD)
    assert line.copies() == {c.line_user_id: 1 for c in contacts}
    assert Scenario.objects.get().status_reason == ""


def test_lines_own_monthly_limit_answer_holds_the_batch(
    workspace: Workspace, line: Line, monkeypatch: pytest.MonkeyPatch
) -> None:
    (c,) = make_contacts(workspace, line, 1)
    scenario, version = active(workspace, [text("上限")])
    monkeypatch.setattr(sending, "quota_room", lambda workspace: None)  # a stale pre-check
    line.set_channel(quota_type="limited", quota_value=0)
    enrol(workspace, version, [c.pk], now=NOON, source="test")

    tick(now=NOON)

    batch = SendBatch.objects.get()
    assert batch.status == "pending" and batch.http_status == 429
    assert batch.next_attempt_at == NOON + sending.QUOTA_HOLD
    scenario.refresh_from_db()
    assert "monthly message limit" in scenario.status_reason
    assert texts(line.received(c.line_user_id or "")) == []
