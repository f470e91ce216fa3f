"""Contact pages: personal data masked without the permission, search, CSV import flow."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone, translation

from otodoke.contacts.models import Contact, Event, ImportJob, ImportStatus, LineStatus
from otodoke.contacts.tagging import add_tags
from otodoke.contacts.tasks import run_import_job
from otodoke.workspaces.models import Workspace
from otodoke.workspaces.roles import Role

LINE_ID = "U" + "4af4980629" * 3 + "ab"


def hanako(workspace: Workspace) -> Contact:
    contact = Contact.objects.create(
        workspace=workspace,
        external_id="C-001",
        name="山田花子",
        name_kana="ヤマダハナコ",
        phone="+819012345678",
        email="hanako@example.jp",
        line_user_id=LINE_ID,
        line_status=LineStatus.FOLLOWING,
        line_followed_at=timezone.now(),
    )
    add_tags(workspace, [contact.pk], ["VIP"])
    Event.objects.create(
        workspace=workspace,
        contact=contact,
        kind="purchase",
        amount=5500,
        occurred_at=timezone.now() - timedelta(days=3),
    )
    return contact


def test_viewer_sees_masked_pii_in_list_and_contact_page(
    workspace: Workspace, client_as: Callable[[Role], Client]
) -> None:
    contact = hanako(workspace)
    viewer = client_as(Role.VIEWER)
    for url in ("/w/salon/contacts/", f"/w/salon/contacts/{contact.pk}/"):
        page = viewer.get(url).content.decode()
        assert "山田花子" in page
        assert LINE_ID not in page
        assert "9012345678" not in page
        assert "hanako@example.jp" not in page
        assert LINE_ID[-4:] in page  # masked, still tells two friends apart


def test_manager_sees_pii(workspace: Workspace, client_as: Callable[[Role], Client]) -> None:
    contact = hanako(workspace)
    page = client_as(Role.MANAGER).get(f"/w/salon/contacts/{contact.pk}/").content.decode()
    assert LINE_ID in page
    assert "hanako@example.jp" in page
    assert "VIP" in page
    assert "5,500" in page


def test_search_by_phone_needs_the_pii_permission(
    workspace: Workspace, client_as: Callable[[Role], Client]
) -> None:
    hanako(workspace)
    by_phone = {"q": "090-1234-5678"}
    assert "山田花子" in client_as(Role.MANAGER).get("/w/salon/contacts/", by_phone).text
    assert "山田花子" not in client_as(Role.VIEWER).get("/w/salon/contacts/", by_phone).text
    by_name = {"q": "ヤマダ"}
    assert "山田花子" in client_as(Role.VIEWER).get("/w/salon/contacts/", by_name).text


def test_filters_answer_htmx_with_rows_only(
    workspace: Workspace, client_as: Callable[[Role], Client]
) -> None:
    hanako(workspace)
    Contact.objects.create(workspace=workspace, external_id="C-002", name="佐藤一郎")
    response = client_as(Role.VIEWER).get(
        "/w/salon/contacts/", {"tag": "VIP"}, HTTP_HX_REQUEST="true"
    )
    assert response.text.strip().startswith('<div id="contact-rows"')
    assert "山田花子" in response.text
    assert "佐藤一郎" not in response.text


def test_contact_of_another_workspace_is_404(
    workspace: Workspace, client_as: Callable[[Role], Client]
) -> None:
    from otodoke.workspaces.services import create_workspace

    other = create_workspace(
        name="Other",
        channel_id="9",
        channel_secret="s",
        channel_access_token="t",
        api_base_url="http://127.0.0.1:9",
    )
    stranger = Contact.objects.create(workspace=other, external_id="X", name="他店")
    assert client_as(Role.OWNER).get(f"/w/salon/contacts/{stranger.pk}/").status_code == 404


def test_viewer_cannot_import(client_as: Callable[[Role], Client]) -> None:
    assert client_as(Role.VIEWER).get("/w/salon/contacts/import/").status_code == 403


CSV = "顧客番号,氏名,携帯電話,会員ランク\r\n1,山田花子,090-1111-2222,ゴールド\r\n2,佐藤一郎,x,\r\n"


def test_import_guesses_columns_then_runs_the_job_and_reports_bad_rows(
    workspace: Workspace, client_as: Callable[[Role], Client]
) -> None:
    client = client_as(Role.OPERATOR)
    upload = SimpleUploadedFile("customers.csv", CSV.encode("cp932"), "text/csv")
    response = client.post("/w/salon/contacts/import/", {"kind": "contacts", "file": upload})
    assert response.status_code == 302
    mapping_url = response["Location"]

    page = client.get(mapping_url).text
    # Headers were matched by the importer's synonyms; the unknown column is left out.
    assert re.search(r'name="col_0".*?<option value="external_id" selected>', page, re.S)
    assert re.search(r'name="col_2".*?<option value="phone" selected>', page, re.S)
    assert re.search(r'name="col_3".*?<option value="-" selected>', page, re.S)
    assert "cp932" in page

    handle = re.search(r'name="f" value="([^"]+)"', page)
    assert handle is not None
    form = {"f": handle.group(1), "kind": "contacts", "col_0": "external_id", "col_1": "name"}
    form |= {"col_2": "phone", "col_3": "attributes"}  # keep 会員ランク after all
    response = client.post("/w/salon/contacts/import/map/", form)
    assert response.status_code == 302
    job = ImportJob.objects.get()
    assert job.status == ImportStatus.PENDING
    assert job.options["mapping"] == {"会員ランク": "attributes"}

    run_import_job.call(job.pk, str(next(iter(_upload_files(workspace)))))
    html = client.get(response["Location"], HTTP_HX_REQUEST="true").text
    assert 'data-status="succeeded"' in html
    assert "hx-trigger" not in html  # finished: polling stops
    assert 'data-testid="error-report"' in html
    assert Contact.objects.get(external_id="1").attributes == {"会員ランク": "ゴールド"}


def _upload_files(workspace: Workspace) -> list[Path]:
    from otodoke.web.imports import upload_dir

    return sorted(p for p in upload_dir(workspace).iterdir() if p.is_file())  # not errors/


def test_mapping_page_refuses_foreign_file_names(client_as: Callable[[Role], Client]) -> None:
    response = client_as(Role.OWNER).get(
        "/w/salon/contacts/import/map/", {"kind": "contacts", "f": "../../keys.json"}
    )
    assert response.status_code == 400


def test_contact_page_lists_the_campaigns_the_contact_received(
    workspace: Workspace, client_as: Callable[[Role], Client]
) -> None:
    from otodoke.campaigns.models import (
        Campaign,
        Delivery,
        DeliveryKind,
        DeliveryRecipient,
        ExclusionReason,
        RecipientStatus,
    )

    contact = Contact.objects.create(workspace=workspace, external_id="C-9", name="山田花子")
    sent = Campaign.objects.create(workspace=workspace, name="冬のキャンペーン", messages=[])
    skipped = Campaign.objects.create(workspace=workspace, name="春のお知らせ", messages=[])
    test_only = Campaign.objects.create(workspace=workspace, name="テストだけ", messages=[])
    for campaign, status, reason in [
        (sent, RecipientStatus.SENT, ""),
        (skipped, RecipientStatus.EXCLUDED, ExclusionReason.BLOCKED),
    ]:
        delivery = Delivery.objects.create(campaign=campaign, kind=DeliveryKind.LIVE)
        DeliveryRecipient.objects.create(
            delivery=delivery, contact=contact, status=status, reason=reason
        )
    test_delivery = Delivery.objects.create(campaign=test_only, kind=DeliveryKind.TEST)
    DeliveryRecipient.objects.create(
        delivery=test_delivery, contact=contact, status=RecipientStatus.SENT
    )

    page = client_as(Role.VIEWER).get(f"/w/{workspace.slug}/contacts/{contact.pk}/")

    html = page.content.decode()
    assert "冬のキャンペーン" in html and "春のお知らせ" in html
    assert "テストだけ" not in html  # test sends are staff checks, not campaigns received
    with translation.override("ja"):
        assert str(ExclusionReason.BLOCKED.label) in html
