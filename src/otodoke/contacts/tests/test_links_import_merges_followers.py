from datetime import UTC, datetime

from otodoke.contacts.imports import run_import
from otodoke.contacts.inputs import EventInput
from otodoke.contacts.models import Contact, ContactTag, Event, LineStatus, LinkedVia, Tag
from otodoke.contacts.services import add_tags, ingest_events, link_line_user, merge_contacts
from otodoke.contacts.tests.conftest import WriteCsv, follower, line_id
from otodoke.workspaces.models import Workspace

EARLY = datetime(2024, 1, 1, tzinfo=UTC)
LATE = datetime(2024, 6, 1, tzinfo=UTC)


def test_links_import_merges_a_line_only_follower_into_the_customer(
    workspace: Workspace, write_csv: WriteCsv
) -> None:
    customer = Contact.objects.create(workspace=workspace, external_id="1001", name="山田 花子")
    friend = follower(workspace, 1)
    add_tags(workspace, [customer.pk], ["VIP"], at=LATE)
    add_tags(workspace, [friend.pk], ["VIP"], at=EARLY)
    add_tags(workspace, [friend.pk], ["クーポン"], at=LATE)
    ingest_events(
        workspace,
        [EventInput(external_id="e1", contact_id=friend.pk, kind="visit", occurred_at=LATE,
                    amount=5000)],
    )  # fmt: skip
    path = write_csv([["顧客番号", "LINEユーザーID"], ["1001", line_id(1)]])

    report = run_import(workspace, "links", path)

    assert (report.updated, report.merged, report.error_count) == (1, 1, 0)
    assert not Contact.objects.filter(pk=friend.pk).exists()
    customer.refresh_from_db()
    assert customer.line_user_id == line_id(1)
    assert customer.line_status == LineStatus.FOLLOWING
    assert customer.line_display_name == "friend 1"
    assert customer.line_linked_via == LinkedVia.IMPORT
    assert customer.name == "山田 花子"
    assert (customer.visit_count, customer.total_spent) == (1, 5000)
    assert list(Event.objects.values_list("contact_id", flat=True)) == [customer.pk]
    tags = {
        t.tag.name: t.added_at
        for t in ContactTag.objects.filter(contact=customer).select_related("tag")
    }
    assert set(tags) == {"VIP", "クーポン", "line"}
    assert tags["VIP"] == EARLY  # the earliest of the two
    assert ContactTag.objects.count() == 3
    assert Tag.objects.filter(name="VIP").count() == 1

    again = run_import(workspace, "links", path)
    assert (again.updated, again.unchanged, again.merged) == (0, 1, 0)


def test_links_import_links_plain_customers_and_reports_bad_ids(
    workspace: Workspace, write_csv: WriteCsv
) -> None:
    Contact.objects.create(workspace=workspace, external_id="1")
    Contact.objects.create(workspace=workspace, external_id="2", line_user_id=line_id(9))
    path = write_csv(
        [
            ["会員番号", "LINEユーザーID"],
            ["1", line_id(5)],
            ["2", line_id(6)],  # already linked to another ID
            ["3", line_id(7)],  # no such customer
            ["1", "U123"],  # bad format
        ]
    )

    report = run_import(workspace, "links", path)

    assert report.updated == 1
    assert {(e.row, e.column) for e in report.errors} == {
        (3, "LINEユーザーID"),
        (4, "会員番号"),
        (5, "LINEユーザーID"),
    }
    linked = Contact.objects.get(external_id="1")
    assert linked.line_user_id == line_id(5)
    assert linked.contact_tags.get().tag.name == "line"


def test_merge_contacts_keeps_an_opt_out_and_deletes_the_other(workspace: Workspace) -> None:
    customer = Contact.objects.create(workspace=workspace, external_id="1")
    friend = follower(workspace, 2, marketing_consent=False)

    merged = merge_contacts(customer, friend)

    assert merged.line_user_id == line_id(2)
    assert merged.marketing_consent is False
    assert Contact.objects.count() == 1


def test_link_line_user_merges_a_follower(workspace: Workspace) -> None:
    customer = Contact.objects.create(workspace=workspace, external_id="1")
    follower(workspace, 3)

    linked = link_line_user(customer, line_id(3), via=LinkedVia.ACCOUNT_LINK)

    assert linked.line_linked_via == LinkedVia.ACCOUNT_LINK
    assert Contact.objects.get().pk == customer.pk
