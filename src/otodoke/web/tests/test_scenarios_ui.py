"""The scenario pages through Django's test client: the list with status, trigger and counts,
creating from a template, editing cards (trigger, rules, steps: add, reorder, remove), the
activation check naming problems, role rules, statistics, the contact page and quiet hours."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable

import pytest
from django.test import Client
from django.utils import timezone, translation

from otodoke.contacts.models import Contact
from otodoke.scenarios.models import (
    AutomationSettings,
    Enrolment,
    EnrolmentStatus,
    Scenario,
    ScenarioStatus,
)
from otodoke.scenarios.services import activate_scenario, create_scenario
from otodoke.segments.models import Segment
from otodoke.workspaces.models import Workspace
from otodoke.workspaces.roles import Role

pytestmark = pytest.mark.django_db

Login = Callable[[Role], Client]


def url(path: str) -> str:
    return f"/w/salon/{path}"


def simple(workspace: Workspace, name: str = "あいさつ", text: str = "ようこそ") -> Scenario:
    return create_scenario(
        workspace,
        name=name,
        spec={
            "trigger": {"kind": "friend_added"},
            "steps": [{"type": "send", "messages": [{"type": "text", "text": text}]}],
        },
    )


def enrol(scenario: Scenario, contact: Contact, status: str, step: int = 0) -> Enrolment:
    assert scenario.current_version is not None
    return Enrolment.objects.create(
        scenario=scenario,
        version=scenario.current_version,
        contact=contact,
        status=status,
        step_index=step,
        entered_at=timezone.now(),
        next_due_at=timezone.now() + dt.timedelta(days=1) if status == "active" else None,
        run=Enrolment.objects.filter(scenario=scenario, contact=contact).count() + 1,
    )


def test_the_navigation_lists_scenarios_with_status_trigger_and_counts(
    workspace: Workspace, client_as: Login
) -> None:
    scenario = simple(workspace)
    activate_scenario(scenario)
    simple(workspace, name="下書きのシナリオ")
    a, b, c = (Contact.objects.create(workspace=workspace, name=n) for n in "ABC")
    enrol(scenario, a, EnrolmentStatus.ACTIVE)
    enrol(scenario, b, EnrolmentStatus.COMPLETED)
    enrol(scenario, c, EnrolmentStatus.CONVERTED)

    page = client_as(Role.VIEWER).get(url("scenarios/"))
    html = page.content.decode()
    assert page.status_code == 200
    assert 'data-testid="nav-scenarios"' in html and "シナリオ" in html
    with translation.override("ja"):
        assert str(ScenarioStatus.ACTIVE.label) in html and "下書き" in html
    assert "友だち追加されたとき" in html
    row = html.split("あいさつ</a>")[1].split("</tr>")[0]
    assert '<td data-testid="count-active">1</td>' in row
    assert '<td data-testid="count-completed">1</td>' in row
    assert '<td data-testid="count-converted">1</td>' in row

    only_drafts = client_as(Role.VIEWER).get(url("scenarios/?status=draft")).content.decode()
    assert "下書きのシナリオ" in only_drafts and "あいさつ</a>" not in only_drafts


def test_one_click_on_a_template_creates_an_editable_draft(
    workspace: Workspace, client_as: Login
) -> None:
    client = client_as(Role.OPERATOR)
    gallery = client.get(url("scenarios/new/")).content.decode()
    for name in ("登録後未購入クーポン", "トライアル→定期購入", "カゴ落ちリマインド"):
        assert name in gallery
    for name in ("誕生月クーポン", "再来店促進", "友だち追加あいさつ"):
        assert name in gallery

    response = client.post(url("scenarios/new/"), {"template": "birthday_month_coupon"})
    scenario = Scenario.objects.get()
    assert response.status_code == 302 and response["Location"].endswith(f"/{scenario.pk}/")
    assert scenario.name == "誕生月クーポン" and scenario.status == ScenarioStatus.DRAFT
    assert scenario.template == "birthday_month_coupon"
    detail = client.get(response["Location"]).content.decode()
    assert "誕生月の1日 10:00" in detail
    assert 'data-testid="step-card-0"' in detail


def test_viewers_read_but_cannot_create_edit_or_activate(
    workspace: Workspace, client_as: Login
) -> None:
    scenario = simple(workspace)
    viewer = client_as(Role.VIEWER)
    detail = viewer.get(url(f"scenarios/{scenario.pk}/"))
    assert detail.status_code == 200
    assert 'data-testid="activate"' not in detail.content.decode()
    assert 'data-testid="edit-trigger"' not in detail.content.decode()
    assert viewer.get(url("scenarios/new/")).status_code == 403
    assert viewer.post(url("scenarios/new/"), {"template": "welcome_on_follow"}).status_code == 403
    assert viewer.get(url(f"scenarios/{scenario.pk}/steps/0/")).status_code == 403
    assert viewer.post(url(f"scenarios/{scenario.pk}/activate/")).status_code == 403
    scenario.refresh_from_db()
    assert scenario.status == ScenarioStatus.DRAFT and Scenario.objects.count() == 1


def test_operators_activate_pause_and_archive(workspace: Workspace, client_as: Login) -> None:
    scenario = simple(workspace)
    operator = client_as(Role.OPERATOR)
    for action, status in (("activate", "active"), ("pause", "paused"), ("archive", "archived")):
        assert operator.post(url(f"scenarios/{scenario.pk}/{action}/")).status_code == 302
        scenario.refresh_from_db()
        assert scenario.status == status


def test_the_activation_check_names_a_missing_segment_and_blocks_activation(
    workspace: Workspace, client_as: Login
) -> None:
    segment = Segment.objects.create(
        workspace=workspace,
        name="一時的",
        definition={"version": 1, "where": {"kind": "all", "conditions": []}},
    )
    scenario = create_scenario(
        workspace,
        name="問題あり",
        spec={
            "trigger": {"kind": "friend_added"},
            "conditions": {"version": 1, "where": {"kind": "in_segment", "segment_id": segment.pk}},
            "steps": [{"type": "send", "messages": [{"type": "text", "text": "こんにちは"}]}],
        },
    )
    segment.delete()
    client = client_as(Role.OWNER)
    html = client.get(url(f"scenarios/{scenario.pk}/")).content.decode()
    problems = html.split('data-testid="activation-problems"')[1].split("</ul>")[0]
    # The missing segment is named, at the trigger's conditions.
    assert "トリガー:" in problems
    response = client.post(url(f"scenarios/{scenario.pk}/activate/"), follow=True)
    scenario.refresh_from_db()
    assert scenario.status == ScenarioStatus.DRAFT
    assert "flash error" in response.content.decode()


def test_a_send_step_with_an_invalid_message_is_refused_naming_the_limit(
    workspace: Workspace, client_as: Login
) -> None:
    scenario = simple(workspace)
    client = client_as(Role.OPERATOR)
    response = client.post(
        url(f"scenarios/{scenario.pk}/steps/0/"),
        {"m0-kind": "text", "m0-text": "あ" * 5001, "track_links": "on"},
    )
    assert response.status_code == 400
    assert "5,000" in response.content.decode()
    scenario.refresh_from_db()
    assert scenario.current_version is not None
    assert scenario.current_version.steps[0]["messages"][0]["text"] == "ようこそ"


def test_steps_are_added_edited_reordered_and_removed_through_cards(
    workspace: Workspace, client_as: Login
) -> None:
    scenario = simple(workspace)
    client = client_as(Role.OPERATOR)
    base = url(f"scenarios/{scenario.pk}/")
    form = client.get(base + "steps/new/?type=wait&at=0")
    assert form.status_code == 200
    assert (
        client.post(
            base + "steps/new/?type=wait&at=0", {"mode": "duration", "hours": "2"}
        ).status_code
        == 302
    )
    assert client.post(base + "steps/new/?type=add_tag", {"tag": "VIP"}).status_code == 302
    edited = client.post(
        base + "steps/1/",
        {"m0-kind": "text", "m0-text": "{{ name }}様、ようこそ", "track_links": "on"},
    )
    assert edited.status_code == 302
    scenario.refresh_from_db()
    steps = scenario.current_version.steps  # type: ignore[union-attr]
    assert [s["type"] for s in steps] == ["wait", "send", "add_tag"]
    assert steps[0]["hours"] == 2 and steps[2]["tag"] == "VIP"
    assert steps[1]["messages"] == [{"type": "text", "text": "{{ name }}様、ようこそ"}]

    client.post(base + "steps/2/change/", {"action": "up"})
    client.post(base + "steps/0/change/", {"action": "remove"})
    scenario.refresh_from_db()
    assert [s["type"] for s in scenario.current_version.steps] == ["add_tag", "send"]  # type: ignore[union-attr]


def test_editing_an_active_scenario_publishes_a_new_version_and_says_so(
    workspace: Workspace, client_as: Login
) -> None:
    scenario = simple(workspace)
    activate_scenario(scenario)
    first = scenario.current_version
    client = client_as(Role.OPERATOR)
    detail = client.get(url(f"scenarios/{scenario.pk}/")).content.decode()
    assert 'data-testid="version-note"' in detail
    response = client.post(
        url(f"scenarios/{scenario.pk}/steps/0/"),
        {"m0-kind": "text", "m0-text": "新しいあいさつ"},
        follow=True,
    )
    scenario.refresh_from_db()
    assert scenario.current_version is not None and first is not None
    assert scenario.current_version.number == first.number + 1
    assert scenario.current_version.published_at is not None
    first.refresh_from_db()
    assert first.steps[0]["messages"][0]["text"] == "ようこそ"
    assert "新しいバージョン" in response.content.decode()


def test_trigger_and_rules_are_edited_with_forms(workspace: Workspace, client_as: Login) -> None:
    scenario = simple(workspace)
    client = client_as(Role.OPERATOR)
    base = url(f"scenarios/{scenario.pk}/")
    response = client.post(
        base + "trigger/",
        {"kind": "event", "event": "purchase", "event_key": "category", "event_value": "trial"},
    )
    assert response.status_code == 302
    missing = client.post(base + "trigger/", {"kind": "tag_added", "tag": ""})
    assert missing.status_code == 400
    rules = client.post(
        base + "rules/",
        {
            "name": "トライアル",
            "entry_rule": "after_days",
            "reentry_days": "30",
            "goal_event": "purchase",
            "goal_key": "category",
            "goal_value": "subscription",
        },
    )
    assert rules.status_code == 302
    scenario.refresh_from_db()
    version = scenario.current_version
    assert version is not None
    assert version.trigger == {
        "kind": "event",
        "params": {
            "event": "purchase",
            "where": [{"key": "category", "op": "equals", "value": "trial"}],
        },
    }
    assert (version.entry_rule, version.reentry_days) == ("after_days", 30)
    assert version.goal is not None and version.goal["event"] == "purchase"
    assert scenario.name == "トライアル"


def test_statistics_per_step_and_the_contact_page(workspace: Workspace, client_as: Login) -> None:
    scenario = create_scenario(
        workspace,
        name="二段階",
        spec={
            "trigger": {"kind": "friend_added"},
            "steps": [
                {"type": "send", "messages": [{"type": "text", "text": "1"}]},
                {"type": "wait", "days": 3},
                {"type": "send", "messages": [{"type": "text", "text": "2"}]},
            ],
        },
    )
    hanako = Contact.objects.create(workspace=workspace, name="花子")
    enrol(scenario, hanako, EnrolmentStatus.ACTIVE, step=1)
    client = client_as(Role.VIEWER)
    html = client.get(url(f"scenarios/{scenario.pk}/")).content.decode()
    assert 'data-testid="step-chart"' in html
    waiting_row = html.split('data-testid="step-stat-1"')[1].split("</tr>")[0]
    assert "<td>1</td>" in waiting_row

    contact = client.get(url(f"contacts/{hanako.pk}/")).content.decode()
    section = contact.split('data-testid="contact-enrolments"')[1].split("</section>")[0]
    assert "二段階" in section
    assert "ステップ2" in section and 'data-testid="enrolment-due"' in section


def test_quiet_hours_are_a_workspace_setting(workspace: Workspace, client_as: Login) -> None:
    owner = client_as(Role.OWNER)
    page = owner.get(url("settings/automation/")).content.decode()
    assert 'value="21:00"' in page and 'value="09:00"' in page
    saved = owner.post(
        url("settings/automation/"), {"enabled": "on", "start": "22:00", "end": "08:30"}
    )
    assert saved.status_code == 302
    row = AutomationSettings.objects.get(workspace=workspace)
    assert (row.quiet_start, row.quiet_end) == (dt.time(22, 0), dt.time(8, 30))
    same = owner.post(url("settings/automation/"), {"start": "22:00", "end": "22:00"})
    assert same.status_code == 400
    assert client_as(Role.OPERATOR).get(url("settings/automation/")).status_code == 403


def test_who_may_enter_is_built_with_the_segment_builder(
    workspace: Workspace, client_as: Login
) -> None:
    scenario = simple(workspace)
    client = client_as(Role.OPERATOR)
    page = client.get(url(f"scenarios/{scenario.pk}/conditions/")).content.decode()
    # The segment builder itself: its hidden definition and its htmx round trip.
    assert 'data-testid="builder"' in page and "/w/salon/segments/builder/" in page
    definition = {
        "version": 1,
        "where": {
            "kind": "all",
            "conditions": [{"kind": "tags", "match": "any", "names": ["VIP"]}],
        },
    }
    saved = client.post(
        url(f"scenarios/{scenario.pk}/conditions/"),
        {"definition": json.dumps(definition), "save": "1"},
    )
    assert saved.status_code == 302
    scenario.refresh_from_db()
    assert scenario.current_version is not None
    conditions = scenario.current_version.conditions
    assert conditions is not None and conditions["where"]["conditions"][0]["names"] == ["VIP"]
    detail = client.get(url(f"scenarios/{scenario.pk}/")).content.decode()
    assert "VIP" in detail.split('data-testid="trigger-card"')[1].split("</section>")[0]

    client.post(url(f"scenarios/{scenario.pk}/conditions/"), {"clear": "1"})
    scenario.refresh_from_db()
    assert scenario.current_version is not None and scenario.current_version.conditions is None


def test_a_workspace_without_a_channel_token_is_named_not_a_500(
    workspace: Workspace, client_as: Login
) -> None:
    scenario = simple(workspace)
    Workspace.objects.filter(pk=workspace.pk).update(channel_access_token="")
    client = client_as(Role.OWNER)
    page = client.get(url(f"scenarios/{scenario.pk}/"))
    assert page.status_code == 200
    problems = page.content.decode().split('data-testid="activation-problems"')[1]
    assert "チャネルアクセストークン" in problems.split("</ul>")[0]
    response = client.post(url(f"scenarios/{scenario.pk}/activate/"), follow=True)
    assert "チャネルアクセストークン" in response.content.decode()
    scenario.refresh_from_db()
    assert scenario.status == ScenarioStatus.DRAFT
