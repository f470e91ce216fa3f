"""Merging a LINE-only follower into a customer keeps audience memberships and clicks."""

from otodoke.contacts.merging import merge_contacts
from otodoke.segments.audiences import create_audience_from_contacts
from otodoke.segments.models import AudienceMember
from otodoke.segments.tests.conftest import MakeContact, line_id
from otodoke.tracking.models import Click
from otodoke.tracking.services import create_tracked_link, record_click
from otodoke.workspaces.models import Workspace


def test_merge_moves_audience_memberships_and_clicks_without_duplicates(
    workspace: Workspace, make_contact: MakeContact
) -> None:
    customer = make_contact(external_id="C-1", name="山田花子")
    follower = make_contact(external_id=None, line_user_id=line_id(1), line_status="following")
    both = create_audience_from_contacts(
        workspace, name="both", contact_ids=[customer.pk, follower.pk], actor=None
    )
    follower_only = create_audience_from_contacts(
        workspace, name="follower only", contact_ids=[follower.pk], actor=None
    )
    link = create_tracked_link(workspace, "https://example.com/sale")
    record_click(link, contact=follower)

    merged = merge_contacts(customer, follower)

    assert merged.pk == customer.pk
    assert merged.line_user_id == line_id(1)
    memberships = AudienceMember.objects.filter(contact_id=customer.pk)
    assert sorted(m.audience_id for m in memberships) == sorted([both.pk, follower_only.pk])
    assert not AudienceMember.objects.filter(contact_id=follower.pk).exists()
    assert Click.objects.get().contact_id == customer.pk
