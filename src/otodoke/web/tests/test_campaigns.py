"""Campaign pages through Django's test client: compose, preview, estimate, approval rules,
test send, send and schedule, progress and results. LINE is the emulator over real HTTP where a
page asks LINE something or a send runs; everywhere else LINE is unreachable on purpose."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from line_emulator.testing import TEST_CHANNEL_ID, TEST_TOKEN, EmulatorServer
from otodoke.campaigns import engine, services
from otodoke.campaigns.models import (
    Campaign,
    CampaignStatus,
    Delivery,
    DeliveryKind,
    DeliveryStatus,
)
from otodoke.contacts.models import Contact, LineStatus
from otodoke.messaging.clicks import register_click
from otodoke.messaging.links import click_token
from otodoke.segments.models import Audience, AudienceMember, AudienceSource, Segment
from otodoke.segments.services import count_segment, save_segment
from otodoke.tracking.models import TrackedLink
from otodoke.workspaces.models import Workspace
from otodoke.workspaces.roles import Role

URL = "/w/salon/campaigns/"
SHOP = "https://shop.example.jp/spring"


def friend(workspace: Workspace, name: str, n: int, **extra: Any) -> Contact:
    fields: dict[str, Any] = {
        "line_user_id": f"U{n:032x}",
        "line_status": LineStatus.FOLLOWING,
        "marketing_consent": True,
        **extra,
    }
    return Contact.objects.create(workspace=workspace, name=name, **fields)


def tokyo_segment(workspace: Workspace) -> Segment:
    definition = {"version": 1, "where": {"kind": "prefecture", "values": ["東京都"]}}
    return save_segment(workspace, name="東京のお客様", definition=definition, actor=None)


def compose_data(segment: Segment, **overrides: str) -> dict[str, str]:
    data = {
        "name": "春のセール",
        "track_links": "on",
        "m0-kind": "text",
        "m0-text": '{{ name | default("お客様") }}様、春のセールです ' + SHOP,
        "include_segments": str(segment.pk),
    }
    data.update(overrides)
    return data


def draft(workspace: Workspace, author: User | None, **kwargs: Any) -> Campaign:
    return services.create_campaign(
        workspace,
        name=kwargs.pop("name", "春のセール"),
        messages=kwargs.pop("messages", [{"type": "text", "text": "{{ name }}様 " + SHOP}]),
        target=kwargs.pop("target", {"all_friends": True}),
        actor=author,
        **kwargs,
    )


# --- list and compose ---------------------------------------------------------------------------


def test_list_shows_each_campaign_with_status_and_counts(
    workspace: Workspace, members: dict[Role, User], client_as: Callable[[Role], Client]
) -> None:
    campaign = draft(workspace, members[Role.OPERATOR])
    Delivery.objects.create(campaign=campaign, kind=DeliveryKind.LIVE, sent=12, excluded=3)
    page = client_as(Role.VIEWER).get(URL).content.decode()
    assert "春のセール" in page
    assert "下書き" in page or "Draft" in page
    assert ">12<" in page
    assert "/campaigns/new/" not in page  # a viewer is not offered the composer


def test_viewer_cannot_compose_or_send(
    workspace: Workspace, members: dict[Role, User], client_as: Callable[[Role], Client]
) -> None:
    campaign = draft(workspace, members[Role.OPERATOR])
    viewer = client_as(Role.VIEWER)
    assert viewer.get(f"{URL}new/").status_code == 403
    assert viewer.post(f"{URL}new/", compose_data(tokyo_segment(workspace))).status_code == 403
    for action in ("send", "test", "approve", "cancel", "clickers"):
        assert viewer.post(f"{URL}{campaign.pk}/{action}/", {"when": "now"}).status_code == 403
    page = viewer.get(f"{URL}{campaign.pk}/").content.decode()
    assert 'data-testid="send"' not in page and 'data-testid="send-test"' not in page
    assert not Delivery.objects.filter(campaign=campaign).exists()


def test_operator_saves_a_draft_with_a_personalised_message_and_a_segment(
    workspace: Workspace, members: dict[Role, User], client_as: Callable[[Role], Client]
) -> None:
    segment = tokyo_segment(workspace)
    response = client_as(Role.OPERATOR).post(f"{URL}new/", compose_data(segment))
    campaign = Campaign.objects.get(workspace=workspace)
    assert response.status_code == 302
    assert response["Location"] == f"{URL}{campaign.pk}/"
    assert campaign.messages[0]["text"].startswith('{{ name | default("お客様") }}様')
    assert campaign.target == {"include": [{"segment": segment.pk}], "exclude": []}
    assert campaign.created_by == members[Role.OPERATOR]
    assert campaign.status == CampaignStatus.DRAFT


def test_every_message_kind_becomes_a_line_message_object(
    workspace: Workspace, client_as: Callable[[Role], Client]
) -> None:
    bubble = {"type": "bubble", "body": {"type": "box", "layout": "vertical",
              "contents": [{"type": "text", "text": "クーポン"}]}}  # fmt: skip
    data = compose_data(
        tokyo_segment(workspace),
        **{
            "m1-kind": "image",
            "m1-image_url": "https://img.example.jp/a.jpg",
            "m2-kind": "sticker",
            "m2-package_id": "446",
            "m2-sticker_id": "1988",
            "m3-kind": "flex",
            "m3-alt_text": "クーポン",
            "m3-flex_json": json.dumps(bubble),
        },
    )
    assert client_as(Role.OPERATOR).post(f"{URL}new/", data).status_code == 302
    kinds = [m["type"] for m in Campaign.objects.get().messages]
    assert kinds == ["text", "image", "sticker", "flex"]
    assert Campaign.objects.get().messages[1]["previewImageUrl"] == "https://img.example.jp/a.jpg"


def test_a_message_over_lines_limit_is_refused_naming_index_field_and_limit(
    workspace: Workspace, client_as: Callable[[Role], Client]
) -> None:
    data = compose_data(tokyo_segment(workspace), **{"m0-text": "あ" * 5001})
    response = client_as(Role.OPERATOR).post(f"{URL}new/", data)
    page = response.content.decode()
    assert response.status_code == 400
    assert "messages[0].text" in page and "5,001" in page and "5,000" in page
    assert not Campaign.objects.exists()


def test_flex_json_errors_name_the_field(
    workspace: Workspace, client_as: Callable[[Role], Client]
) -> None:
    operator = client_as(Role.OPERATOR)
    segment = tokyo_segment(workspace)
    broken = compose_data(segment, **{"m1-kind": "flex", "m1-alt_text": "x", "m1-flex_json": "{"})
    page = operator.post(f"{URL}new/", broken).content.decode()
    assert "JSON" in page and "line 1" in page
    carousel = {"type": "carousel", "contents": [{"type": "bubble"}] * 13}
    too_many = compose_data(
        segment, **{"m1-kind": "flex", "m1-alt_text": "x", "m1-flex_json": json.dumps(carousel)}
    )
    response = operator.post(f"{URL}new/", too_many)
    assert response.status_code == 400
    assert "messages[1].contents.contents" in response.content.decode()
    assert not Campaign.objects.exists()


def test_a_target_is_required(workspace: Workspace, client_as: Callable[[Role], Client]) -> None:
    data = compose_data(tokyo_segment(workspace), include_segments="")
    response = client_as(Role.OPERATOR).post(f"{URL}new/", data)
    assert response.status_code == 400
    assert not Campaign.objects.exists()


def test_another_workspaces_segment_cannot_be_targeted(
    workspace: Workspace, members: dict[Role, User], client_as: Callable[[Role], Client]
) -> None:
    from otodoke.workspaces.services import create_workspace

    other = create_workspace(
        name="other", slug="other", channel_id="3", channel_secret="s" * 32,
        channel_access_token="t" * 40, api_base_url="http://127.0.0.1:9",
    )  # fmt: skip
    foreign = tokyo_segment(other)
    response = client_as(Role.OPERATOR).post(f"{URL}new/", compose_data(foreign))
    assert response.status_code == 400
    assert not Campaign.objects.exists()


def test_copy_prefills_the_composer(
    workspace: Workspace, members: dict[Role, User], client_as: Callable[[Role], Client]
) -> None:
    campaign = draft(workspace, members[Role.OPERATOR], name="秋のセール")
    page = client_as(Role.OPERATOR).get(f"{URL}new/?copy={campaign.pk}").content.decode()
    assert "秋のセール" in page and SHOP in page


# --- preview and estimate ----------------------------------------------------------------------


def test_preview_shows_the_message_with_the_sample_contacts_name(
    workspace: Workspace, client_as: Callable[[Role], Client]
) -> None:
    friend(workspace, "佐藤一郎", 1)
    hanako = friend(workspace, "山田花子", 2)
    data = {**compose_data(tokyo_segment(workspace)), "sample": str(hanako.pk)}
    response = client_as(Role.OPERATOR).post(f"{URL}new/preview/", data, HTTP_HX_REQUEST="true")
    page = response.content.decode()
    assert response.status_code == 200
    assert "山田花子様、春のセールです" in page
    assert f'<a href="{SHOP}"' in page
    assert "<html" not in page  # only the fragment


def test_preview_uses_the_default_when_the_name_is_missing(
    workspace: Workspace, client_as: Callable[[Role], Client]
) -> None:
    nameless = friend(workspace, "", 3)
    data = {**compose_data(tokyo_segment(workspace)), "sample": str(nameless.pk)}
    page = client_as(Role.OPERATOR).post(f"{URL}new/preview/", data).content.decode()
    assert "お客様様、春のセールです" in page


def test_preview_reports_a_template_error(
    workspace: Workspace, client_as: Callable[[Role], Client]
) -> None:
    data = compose_data(tokyo_segment(workspace), **{"m0-text": "{{ name "})
    page = client_as(Role.OPERATOR).post(f"{URL}new/preview/", data).content.decode()
    assert "messages[0].text" in page and 'data-testid="preview-issues"' in page


def test_estimate_counts_who_is_reachable_after_exclusions(
    workspace: Workspace, client_as: Callable[[Role], Client]
) -> None:
    segment = tokyo_segment(workspace)
    tokyo = [friend(workspace, f"客{n}", n, prefecture="東京都") for n in range(1, 5)]
    friend(workspace, "大阪", 9, prefecture="大阪府")
    Contact.objects.filter(pk=tokyo[0].pk).update(line_status=LineStatus.BLOCKED)
    audience = Audience.objects.create(
        workspace=workspace, name="スタッフ", source=AudienceSource.MANUAL
    )
    AudienceMember.objects.create(audience=audience, contact=tokyo[1])
    data = {"include_segments": str(segment.pk), "exclude_audiences": str(audience.pk)}
    page = client_as(Role.OPERATOR).post(f"{URL}new/estimate/", data).content.decode()
    assert 'data-testid="estimate-targeted">3<' in page
    assert 'data-testid="estimate-reachable">2<' in page
    assert 'data-testid="quota-unknown"' in page  # LINE is unreachable here: said calmly


def test_estimate_shows_cost_against_the_months_quota(
    workspace: Workspace, emulator: EmulatorServer, client_as: Callable[[Role], Client]
) -> None:
    Workspace.objects.filter(pk=workspace.pk).update(
        api_base_url=emulator.url, channel_id=TEST_CHANNEL_ID,
        channel_access_token=TEST_TOKEN, plan="light",
    )  # fmt: skip
    httpx.patch(
        f"{emulator.url}/_emulator/channels/{TEST_CHANNEL_ID}",
        json={"quota_type": "limited", "quota_value": 3},
        timeout=10,
    ).raise_for_status()
    for n in range(1, 6):
        friend(workspace, f"客{n}", n)
    page = client_as(Role.OPERATOR).post(f"{URL}new/estimate/", {"all_friends": "on"}).content
    text = page.decode()
    assert 'data-testid="estimate-reachable">5<' in text
    assert 'data-testid="over-quota"' in text
    assert 'data-testid="estimate-cost"' in text


# --- approval, test send, send ------------------------------------------------------------------


@pytest.fixture
def approval_on(workspace: Workspace) -> Workspace:
    Workspace.objects.filter(pk=workspace.pk).update(require_approval=True)
    workspace.refresh_from_db()
    return workspace


def test_operator_cannot_send_where_approval_is_on(
    approval_on: Workspace, members: dict[Role, User], client_as: Callable[[Role], Client]
) -> None:
    campaign = draft(approval_on, members[Role.OPERATOR])
    operator = client_as(Role.OPERATOR)
    page = operator.get(f"{URL}{campaign.pk}/").content.decode()
    assert 'data-testid="send"' not in page and 'data-testid="approve"' not in page
    assert 'data-testid="awaiting-approval"' in page

    refused = operator.post(f"{URL}{campaign.pk}/send/", {"when": "now"})
    assert refused.status_code == 409
    assert 'data-testid="refused"' in refused.content.decode()
    assert operator.post(f"{URL}{campaign.pk}/approve/").status_code == 403
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.DRAFT and campaign.approved_at is None
    assert not Delivery.objects.filter(campaign=campaign).exists()


def test_the_author_cannot_approve_their_own_campaign(
    approval_on: Workspace, members: dict[Role, User], client_as: Callable[[Role], Client]
) -> None:
    campaign = draft(approval_on, members[Role.MANAGER])
    manager = client_as(Role.MANAGER)
    assert 'data-testid="approve"' not in manager.get(f"{URL}{campaign.pk}/").content.decode()
    assert manager.post(f"{URL}{campaign.pk}/approve/").status_code == 403
    campaign.refresh_from_db()
    assert campaign.approved_at is None


def test_after_approval_the_operator_can_send(
    approval_on: Workspace, members: dict[Role, User], client_as: Callable[[Role], Client]
) -> None:
    campaign = draft(approval_on, members[Role.OPERATOR])
    manager = client_as(Role.MANAGER)
    assert 'data-testid="approve"' in manager.get(f"{URL}{campaign.pk}/").content.decode()
    assert manager.post(f"{URL}{campaign.pk}/approve/").status_code == 302
    campaign.refresh_from_db()
    assert campaign.approved_by == members[Role.MANAGER]

    operator = client_as(Role.OPERATOR)
    assert 'data-testid="send"' in operator.get(f"{URL}{campaign.pk}/").content.decode()
    assert (
        operator.post(f"{URL}{campaign.pk}/send/", {"when": "now", "confirm": "1"}).status_code
        == 302
    )
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.SENDING
    assert Delivery.objects.filter(campaign=campaign, kind=DeliveryKind.LIVE).count() == 1


def test_a_campaign_is_sent_once(
    workspace: Workspace, members: dict[Role, User], client_as: Callable[[Role], Client]
) -> None:
    campaign = draft(workspace, members[Role.OPERATOR])
    operator = client_as(Role.OPERATOR)
    assert (
        operator.post(f"{URL}{campaign.pk}/send/", {"when": "now", "confirm": "1"}).status_code
        == 302
    )
    assert (
        operator.post(f"{URL}{campaign.pk}/send/", {"when": "now", "confirm": "1"}).status_code
        == 409
    )
    assert Delivery.objects.filter(campaign=campaign).count() == 1


def test_schedule_reads_the_time_in_the_workspace_time_zone(
    workspace: Workspace, members: dict[Role, User], client_as: Callable[[Role], Client]
) -> None:
    campaign = draft(workspace, members[Role.OPERATOR])
    data = {"when": "later", "at": "2031-01-02T09:30", "confirm": "1"}
    assert client_as(Role.OPERATOR).post(f"{URL}{campaign.pk}/send/", data).status_code == 302
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.SCHEDULED
    assert campaign.scheduled_at == dt.datetime(2031, 1, 2, 0, 30, tzinfo=dt.UTC)


def test_schedule_needs_a_future_time(
    workspace: Workspace, members: dict[Role, User], client_as: Callable[[Role], Client]
) -> None:
    campaign = draft(workspace, members[Role.OPERATOR])
    operator = client_as(Role.OPERATOR)
    assert operator.post(f"{URL}{campaign.pk}/send/", {"when": "later"}).status_code == 400
    past = {"when": "later", "at": "2001-01-01T09:00"}
    assert operator.post(f"{URL}{campaign.pk}/send/", past).status_code == 400
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.DRAFT


def test_test_send_goes_to_the_chosen_contacts(
    workspace: Workspace, members: dict[Role, User], client_as: Callable[[Role], Client]
) -> None:
    staff = friend(workspace, "店長", 7)
    campaign = draft(workspace, members[Role.OPERATOR])
    operator = client_as(Role.OPERATOR)
    search = operator.get(f"{URL}{campaign.pk}/?q=店", HTTP_HX_REQUEST="true").content.decode()
    assert "店長" in search and "<html" not in search
    assert operator.post(f"{URL}{campaign.pk}/test/", {}).status_code == 400
    response = operator.post(f"{URL}{campaign.pk}/test/", {"contacts": [str(staff.pk)]})
    assert response.status_code == 302
    test = Delivery.objects.get(campaign=campaign)
    assert test.kind == DeliveryKind.TEST and test.test_contact_ids == [staff.pk]
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.DRAFT


def test_cancel_discards_a_draft(
    workspace: Workspace, members: dict[Role, User], client_as: Callable[[Role], Client]
) -> None:
    campaign = draft(workspace, members[Role.OPERATOR])
    operator = client_as(Role.OPERATOR)
    assert operator.post(f"{URL}{campaign.pk}/cancel/").status_code == 302
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.CANCELLED
    assert operator.post(f"{URL}{campaign.pk}/cancel/").status_code == 409


def test_campaigns_of_other_workspaces_are_not_found(
    workspace: Workspace, members: dict[Role, User], client_as: Callable[[Role], Client]
) -> None:
    assert client_as(Role.OWNER).get(f"{URL}999999/").status_code == 404
    assert client_as(Role.OWNER).post(f"{URL}999999/send/", {"when": "now"}).status_code == 404


# --- progress and results -----------------------------------------------------------------------


def test_progress_polls_while_sending_and_refreshes_the_page_when_done(
    workspace: Workspace, members: dict[Role, User], client_as: Callable[[Role], Client]
) -> None:
    campaign = draft(workspace, members[Role.OPERATOR])
    delivery = services.send_campaign(campaign, actor=None)
    Delivery.objects.filter(pk=delivery.pk).update(eligible=4, sent=1, status="sending")
    viewer = client_as(Role.VIEWER)
    fragment = viewer.get(f"{URL}{campaign.pk}/progress/", HTTP_HX_REQUEST="true")
    assert 'hx-trigger="every 1s"' in fragment.content.decode()
    assert 'data-testid="send-percent">25%<' in fragment.content.decode()
    assert "HX-Refresh" not in fragment

    Campaign.objects.filter(pk=campaign.pk).update(status=CampaignStatus.SENT)
    done = viewer.get(f"{URL}{campaign.pk}/progress/", HTTP_HX_REQUEST="true")
    assert done["HX-Refresh"] == "true"


@pytest.fixture
def on_emulator(workspace: Workspace, emulator: EmulatorServer, settings: Any) -> Workspace:
    settings.PUBLIC_BASE_URL = "https://otodoke.example"
    Workspace.objects.filter(pk=workspace.pk).update(
        api_base_url=emulator.url, channel_id=TEST_CHANNEL_ID, channel_access_token=TEST_TOKEN
    )
    workspace.refresh_from_db()
    return workspace


def run(delivery_id: int) -> str:
    status = ""
    for _ in range(60):
        status = engine.run_delivery(delivery_id)
        if status != DeliveryStatus.SENDING:
            break
    return status


def test_results_show_outcomes_clicks_and_make_a_segment_of_the_clickers(
    on_emulator: Workspace,
    emulator: EmulatorServer,
    members: dict[Role, User],
    client_as: Callable[[Role], Client],
) -> None:
    people = [friend(on_emulator, f"客{n}", n) for n in range(1, 4)]
    body = {"friends": [{"user_id": c.line_user_id, "status": "following"} for c in people]}
    httpx.post(
        f"{emulator.url}/_emulator/channels/{TEST_CHANNEL_ID}/friends", json=body, timeout=10
    ).raise_for_status()
    friend(on_emulator, "同意なし", 9, marketing_consent=False)
    campaign = draft(on_emulator, members[Role.OPERATOR])
    delivery = services.send_campaign(campaign, actor=None)
    assert run(delivery.pk) == DeliveryStatus.DONE
    link = TrackedLink.objects.get(campaign_id=campaign.pk)
    register_click(click_token(link.pk, people[0].pk))
    register_click(click_token(link.pk, people[0].pk))

    page = client_as(Role.VIEWER).get(f"{URL}{campaign.pk}/").content.decode()
    assert 'data-testid="count-sent">3<' in page
    assert 'data-testid="count-excluded">1<' in page
    assert 'data-testid="send-percent">100%<' in page
    assert "配信許可なし" in page  # the excluded reason, in the staff's language
    assert 'data-testid="link-click-count">2<' in page
    assert "<polyline" in page
    assert 'data-testid="clickers-form"' not in page  # a viewer cannot create segments

    operator = client_as(Role.OPERATOR)
    made = operator.post(f"{URL}{campaign.pk}/clickers/", {"name": "春のクリック者", "link": ""})
    assert made.status_code == 302
    segment = Segment.objects.get(name="春のクリック者")
    assert count_segment(on_emulator, segment).total == 1
    duplicate = operator.post(f"{URL}{campaign.pk}/clickers/", {"name": "春のクリック者"})
    assert duplicate.status_code == 400


def test_progress_of_a_finished_campaign_says_when_it_ended(
    on_emulator: Workspace, members: dict[Role, User], client_as: Callable[[Role], Client]
) -> None:
    campaign = draft(on_emulator, members[Role.OPERATOR])
    delivery = services.send_campaign(campaign, actor=None)
    run(delivery.pk)  # nobody is a friend: done at once, with no recipients
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.SENT
    assert timezone.now() >= (Delivery.objects.get(pk=delivery.pk).finished_at or timezone.now())
    page = client_as(Role.OWNER).get(f"{URL}{campaign.pk}/").content.decode()
    assert 'data-testid="send-percent">100%<' in page
