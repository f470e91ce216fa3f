"""Issue 15 "Done when": editing a draft in Chromium, in Japanese. The composer opens on the
draft with its text, the preview follows the edit, saving changes the same campaign; a sent
campaign offers no editing."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import Page, expect

from otodoke.campaigns.models import Campaign, CampaignStatus
from otodoke.contacts.models import Contact, LineStatus
from otodoke.testing.browser import htmx_settled
from otodoke.web.tests.test_campaigns import draft
from otodoke.workspaces.models import Workspace
from otodoke.workspaces.roles import Role

pytestmark = pytest.mark.browser


def test_an_operator_edits_a_draft_in_chromium(
    workspace: Workspace,
    members: dict[Role, User],
    page_as: Callable[..., Page],
    live_server: object,
) -> None:
    Contact.objects.create(
        workspace=workspace,
        name="花子",
        line_user_id="U" + "a1" * 16,
        line_status=LineStatus.FOLLOWING,
    )
    campaign = draft(
        workspace,
        members[Role.OPERATOR],
        messages=[{"type": "text", "text": "{{ name }}様 春です"}],
    )
    page = page_as(Role.OPERATOR)
    page.goto(f"{live_server}/w/salon/campaigns/{campaign.pk}/")
    page.get_by_test_id("edit-draft").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("下書きの編集")
    text = page.locator("#id_m0-text")
    expect(text).to_have_value("{{ name }}様 春です")
    htmx_settled(page)
    page.locator("#id_name").fill("春の最終セール")
    text.fill("{{ name }}様 最終日です")
    expect(page.get_by_test_id("preview-text")).to_have_text("花子様 最終日です")
    htmx_settled(page)
    page.get_by_test_id("save-draft").click()

    expect(page.get_by_text("下書きを保存しました。")).to_be_visible()
    expect(page.get_by_role("heading", level=1)).to_contain_text("春の最終セール")
    assert Campaign.objects.count() == 1
    campaign.refresh_from_db()
    assert campaign.messages == [{"type": "text", "text": "{{ name }}様 最終日です"}]

    Campaign.objects.filter(pk=campaign.pk).update(status=CampaignStatus.SENT)
    page.reload()
    expect(page.get_by_test_id("edit-draft")).to_have_count(0)
