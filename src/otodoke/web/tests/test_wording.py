"""Wording and formatting (issue 15.5): yen with separators, phones in the domestic form, the
time-zone list starting with Asia/Tokyo, the import pages naming the user's own file."""

from __future__ import annotations

import re
from collections.abc import Callable

from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from otodoke.contacts.cleaning import domestic_phone
from otodoke.contacts.models import Contact, Event, ImportJob
from otodoke.workspaces.models import Workspace
from otodoke.workspaces.roles import Role


def test_phones_read_the_japanese_way() -> None:
    assert domestic_phone("+817019529228") == "070-1952-9228"
    assert domestic_phone("+81312345678") == "03-1234-5678"
    assert domestic_phone("+14155552671") == "+1 415-555-2671"
    assert domestic_phone("") == ""


def test_the_contact_page_shows_yen_and_a_domestic_phone(
    workspace: Workspace, client_as: Callable[[Role], Client]
) -> None:
    contact = Contact.objects.create(
        workspace=workspace, name="花子", phone="+817019529228", total_spent=30000
    )
    Event.objects.create(
        workspace=workspace, contact=contact, kind="visit", amount=5500, occurred_at=timezone.now()
    )
    page = client_as(Role.OWNER).get(f"/w/salon/contacts/{contact.pk}/").content.decode()
    assert 'data-testid="total-spent">30,000円<' in page and "5,500円" in page
    assert "¥" not in page
    assert 'data-testid="phone">070-1952-9228<' in page
    edit = client_as(Role.OWNER).get(f"/w/salon/contacts/{contact.pk}/edit/").content.decode()
    assert 'value="070-1952-9228"' in edit


def test_the_time_zone_list_starts_with_tokyo(client_as: Callable[[Role], Client]) -> None:
    page = client_as(Role.OWNER).get("/w/salon/settings/").content.decode()
    select = re.search(r'<select name="time_zone".*?</select>', page, re.S)
    assert select is not None
    zones = re.findall(r'<option value="([^"]+)"', select.group(0))
    assert zones[0] == "Asia/Tokyo"
    assert zones.count("Asia/Tokyo") == 1


def test_the_import_pages_name_the_users_file(client_as: Callable[[Role], Client]) -> None:
    client = client_as(Role.OPERATOR)
    csv = "顧客番号,氏名\r\n1,山田花子\r\n".encode("cp932")
    upload = SimpleUploadedFile("2026年12月_顧客.csv", csv, "text/csv")
    mapping_url = client.post("/w/salon/contacts/import/", {"kind": "contacts", "file": upload})[
        "Location"
    ]
    page = client.get(mapping_url).content.decode()
    assert 'data-testid="import-file-name">2026年12月_顧客.csv<' in page

    handle = re.search(r'name="f" value="([^"]+)"', page)
    assert handle is not None
    form = {"f": handle.group(1), "kind": "contacts", "col_0": "external_id", "col_1": "name"}
    form["name"] = "2026年12月_顧客.csv"
    job_url = client.post("/w/salon/contacts/import/map/", form)["Location"]
    assert ImportJob.objects.get().file_name == "2026年12月_顧客.csv"
    assert "2026年12月_顧客.csv" in client.get(job_url).content.decode()
