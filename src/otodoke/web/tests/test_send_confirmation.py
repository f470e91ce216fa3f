"""配信する asks first (issue 12.9), and the estimate and a paused send tell the truth about
this month's limit on every plan (issue 12.8). LINE is the emulator over real HTTP."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import httpx
from django.contrib.auth.models import User
from django.test import Client

from line_emulator.testing import TEST_CHANNEL_ID, TEST_TOKEN, EmulatorServer
from otodoke.campaigns import engine, services
from otodoke.campaigns.models import Campaign, CampaignStatus, Delivery, DeliveryStatus
from otodoke.contacts.models import Contact, LineStatus
from otodoke.workspaces.models import Workspace
from otodoke.workspaces.roles import Role

URL = "/w/salon/campaigns/"
TEXT = [
    {"type": "text", "text": "春のセールです"},
    {"type": "text", "text": "ご来店お待ちしています"},
]


def friends(workspace: Workspace, n: int) -> list[Contact]:
    return Contact.objects.bulk_create(
        Contact(
            workspace=workspace,
            name=f"客{i}",
            line_user_id=f"U{i:032x}",
            line_status=LineStatus.FOLLOWING,
            marketing_consent=True,
        )
        for i in range(1, n + 1)
    )


def on_line(workspace: Workspace, emulator: EmulatorServer, plan: str, **quota: Any) -> None:
    Workspace.objects.filter(pk=workspace.pk).update(
        api_base_url=emulator.url,
        channel_id=TEST_CHANNEL_ID,
        channel_access_token=TEST_TOKEN,
        plan=plan,
    )
    workspace.refresh_from_db()
    httpx.patch(
        f"{emulator.url}/_emulator/channels/{TEST_CHANNEL_ID}", json=quota, timeout=10
    ).raise_for_status()


def draft(workspace: Workspace, author: User) -> Campaign:
    return services.create_campaign(
        workspace, name="春のセール", messages=TEXT, target={"all_friends": True}, actor=author
    )


def shown(page: str, name: str) -> str:
    found = re.search(rf'data-testid="{name}"[^>]*>(.*?)</', page, re.S)
    assert found, f"{name} not on the page"
    return re.sub(r"<[^>]+>", "", found.group(1)).strip()


# --- the confirmation step (12.9) -------------------------------------------------------------


def test_send_shows_the_confirmation_and_creates_nothing_until_confirmed(
    workspace: Workspace,
    emulator: EmulatorServer,
    members: dict[Role, User],
    client_as: Callable[[Role], Client],
) -> None:
    on_line(workspace, emulator, "standard", quota_type="limited", quota_value=1000)
    friends(workspace, 3)
    campaign = draft(workspace, members[Role.OPERATOR])
    operator = client_as(Role.OPERATOR)

    asked = operator.post(f"{URL}{campaign.pk}/send/", {"when": "now"})

    assert asked.status_code == 200
    page = asked.content.decode()
    assert 'data-testid="confirm-send-page"' in page
    assert shown(page, "confirm-recipients") == "3"
    assert shown(page, "confirm-bubbles") == "2"  # two bubbles, still one message each
    assert shown(page, "confirm-counted") == "3"
    assert shown(page, "confirm-remaining") == "1,000"
    assert "プランの無料メッセージ通数内" in shown(page, "confirm-cost")
    assert 'name="confirm" value="1"' in page
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.DRAFT
    assert not Delivery.objects.filter(campaign=campaign).exists()

    confirmed = operator.post(f"{URL}{campaign.pk}/send/", {"when": "now", "confirm": "1"})

    assert confirmed.status_code == 302
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.SENDING
    assert Delivery.objects.filter(campaign=campaign).count() == 1


def test_a_scheduled_send_is_confirmed_too_and_keeps_its_time(
    workspace: Workspace, members: dict[Role, User], client_as: Callable[[Role], Client]
) -> None:
    campaign = draft(workspace, members[Role.OPERATOR])
    operator = client_as(Role.OPERATOR)
    data = {"when": "later", "at": "2031-01-02T09:30"}

    page = operator.post(f"{URL}{campaign.pk}/send/", data).content.decode()

    assert "2031-01-02 09:30" in page and 'name="at" value="2031-01-02T09:30"' in page
    assert 'data-testid="quota-unknown"' in page  # LINE unreachable here: said, not a 500
    assert not Delivery.objects.filter(campaign=campaign).exists()
    assert operator.post(f"{URL}{campaign.pk}/send/", {**data, "confirm": "1"}).status_code == 302
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.SCHEDULED


def test_the_confirmation_is_refused_for_a_campaign_already_sent(
    workspace: Workspace, members: dict[Role, User], client_as: Callable[[Role], Client]
) -> None:
    campaign = draft(workspace, members[Role.OPERATOR])
    services.send_campaign(campaign, actor=None)
    refused = client_as(Role.OPERATOR).post(f"{URL}{campaign.pk}/send/", {"when": "now"})
    assert refused.status_code == 409
    assert 'data-testid="confirm-send-page"' not in refused.content.decode()
    assert Delivery.objects.filter(campaign=campaign).count() == 1


# --- the estimate on each plan (12.8) ---------------------------------------------------------


def estimate_page(client: Client) -> str:
    return client.post(f"{URL}new/estimate/", {"all_friends": "on"}).content.decode()


def test_communication_plan_estimate_shows_the_plans_remaining_not_no_limit(
    workspace: Workspace, emulator: EmulatorServer, client_as: Callable[[Role], Client]
) -> None:
    # LINE gives no cap, but コミュニケーションプラン stops at its 200 free messages.
    on_line(workspace, emulator, "communication", quota_type="none")
    friends(workspace, 230)

    page = estimate_page(client_as(Role.OPERATOR))

    assert shown(page, "estimate-remaining").startswith("200")
    assert "プランの無料メッセージ" in shown(page, "estimate-remaining")
    assert shown(page, "estimate-will-send") == "200"
    assert shown(page, "estimate-cost") == "なし（このプランは追加メッセージを送りません）"
    assert "上限なし" not in page and "約¥0" not in page and "約0円" not in page
    warning = shown(page, "over-quota")
    assert "200" in warning and "30" in warning  # how many go out, how many stay unsent


def test_light_plan_estimate_uses_lines_cap_when_it_is_smaller(
    workspace: Workspace, emulator: EmulatorServer, client_as: Callable[[Role], Client]
) -> None:
    on_line(workspace, emulator, "light", quota_type="limited", quota_value=3)
    friends(workspace, 5)

    page = estimate_page(client_as(Role.OPERATOR))

    assert shown(page, "estimate-remaining").startswith("3")
    assert "LINEの月間上限" in shown(page, "estimate-remaining")
    assert shown(page, "estimate-will-send") == "3"
    assert shown(page, "estimate-cost") == "なし（このプランは追加メッセージを送りません）"
    assert "2" in shown(page, "over-quota")


def test_standard_plan_estimate_prices_the_paid_messages(
    workspace: Workspace, emulator: EmulatorServer, client_as: Callable[[Role], Client]
) -> None:
    # Standard has no plan cap: with no LINE cap the remaining is "no limit", honestly.
    on_line(workspace, emulator, "standard", quota_type="none")
    friends(workspace, 4)
    page = estimate_page(client_as(Role.OPERATOR))
    assert shown(page, "estimate-remaining") == "上限なし"
    assert shown(page, "estimate-will-send") == "4"
    assert "プランの無料メッセージ通数内" in shown(page, "estimate-cost")
    assert 'data-testid="over-quota"' not in page


def test_the_dashboard_shows_the_communication_plans_own_limit(
    workspace: Workspace, emulator: EmulatorServer, client_as: Callable[[Role], Client]
) -> None:
    on_line(workspace, emulator, "communication", quota_type="none")
    page = client_as(Role.VIEWER).get("/w/salon/dashboard/quota/", HTTP_HX_REQUEST="true")
    html = page.content.decode()
    assert shown(html, "quota-limit") == "200 （プランの無料メッセージ）"
    assert "上限なし" not in html and 'class="gauge ok"' in html


# --- the paused send: one reason, one action (12.8) -------------------------------------------


def paused(workspace: Workspace, author: User) -> Campaign:
    campaign = draft(workspace, author)
    delivery = services.send_campaign(campaign, actor=None)
    assert engine.run_delivery(delivery.pk) == DeliveryStatus.PAUSED
    campaign.refresh_from_db()
    return campaign


def test_the_owner_sees_the_reason_once_and_only_send_up_to_the_limit(
    workspace: Workspace,
    emulator: EmulatorServer,
    members: dict[Role, User],
    client_as: Callable[[Role], Client],
) -> None:
    on_line(workspace, emulator, "communication", quota_type="none")
    friends(workspace, 205)
    campaign = paused(workspace, members[Role.OPERATOR])

    page = client_as(Role.OWNER).get(f"{URL}{campaign.pk}/").content.decode()

    reason = campaign.status_reason
    assert "200" in reason and "5" in reason and "承認権限" in reason
    assert page.count(reason) == 1  # not once in the banner and again in the progress card
    assert shown(page, "confirm-quota") == "上限まで配信する（200人）"
    assert "5人には送りません" in shown(page, "paused-plan")
    assert 'data-testid="resume"' not in page and "配信を再開" not in page

    operator = client_as(Role.OPERATOR).get(f"{URL}{campaign.pk}/").content.decode()
    assert 'data-testid="confirm-quota"' not in operator and 'data-testid="resume"' not in operator
    assert "承認権限のある人の確認が必要です" in shown(operator, "paused-plan")

    assert client_as(Role.OWNER).post(f"{URL}{campaign.pk}/confirm-quota/").status_code == 302
    delivery = Delivery.objects.get(campaign=campaign)
    assert engine.run_delivery(delivery.pk) == DeliveryStatus.DONE
    delivery.refresh_from_db()
    assert (delivery.sent, delivery.excluded) == (200, 5)
    results = client_as(Role.OWNER).get(f"{URL}{campaign.pk}/").content.decode()
    assert "未送信（今月の配信上限を超えるため）" in results


def test_when_nothing_fits_the_one_action_is_to_resume_next_month(
    workspace: Workspace,
    emulator: EmulatorServer,
    members: dict[Role, User],
    client_as: Callable[[Role], Client],
) -> None:
    on_line(workspace, emulator, "light", quota_type="limited", quota_value=0)
    friends(workspace, 3)
    campaign = paused(workspace, members[Role.OPERATOR])

    page = client_as(Role.OWNER).get(f"{URL}{campaign.pk}/").content.decode()

    assert "来月" in campaign.status_reason and "1通も送れません" in campaign.status_reason
    assert 'data-testid="confirm-quota"' not in page
    assert shown(page, "resume") == "配信を再開"
    # Next month LINE has room again: resuming checks anew and the send goes out.
    on_line(workspace, emulator, "light", quota_type="limited", quota_value=5000)
    assert client_as(Role.OWNER).post(f"{URL}{campaign.pk}/resume/").status_code == 302
    delivery = Delivery.objects.get(campaign=campaign)
    assert engine.run_delivery(delivery.pk) == DeliveryStatus.DONE
    delivery.refresh_from_db()
    assert delivery.sent == 3
