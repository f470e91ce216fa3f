"""A person's rights over their data: unlinking their LINE account, and deletion on request.

Unlink (LINE: "users must always be able to unlink … you unlink on your side"): the customer
record keeps its business data and loses its LINE identity; the LINE friend stays a friend, as
a friend-only contact, so nothing about following changes. Linking them again later is the
normal link flow.

Delete (a deletion request under Japan's personal-information law, 個人情報保護法): the contact
row goes with everything that only describes them (tags, events with their properties,
audience memberships, link nonces). Other apps remove or anonymise their own rows through the
`contact_erasing` signal (a delivery's frozen recipients keep their outcome but lose the LINE
user ID, clicks keep counting but no longer name anyone, stored webhooks from their LINE
account go). Aggregates therefore stay as they were: a campaign's sent/failed/blocked counts
and its outcome rows, a link's click total. Segments and audiences no longer count the person.
The audit log names the contact by internal ID and a keyed hash of the customer number, never
by personal data.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import Field
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext as _

from otodoke.contacts.merging import LINE_FIELDS
from otodoke.contacts.models import Contact, ContactTag, Event, LineStatus
from otodoke.contacts.signals import contact_erasing
from otodoke.contacts.tagging import LINE_TAG
from otodoke.workspaces.models import AuditAction, Workspace
from otodoke.workspaces.roles import Permission
from otodoke.workspaces.services import AnyUser, record_audit, require

HASH_SALT = "otodoke.contacts.deleted-customer-number"


class PrivacyRefused(Exception):  # noqa: N818 - reads as what happened
    """The request cannot be done; the message says why, in the user's language."""


def customer_number_hash(workspace: Workspace, external_id: str | None) -> str:
    """A keyed hash of the customer number (keyed with the install's secret: a shop's short
    numeric IDs would fall to a plain SHA-256 in seconds), so the log can later confirm "was
    customer 1234 deleted?" by hashing again, without storing the number."""
    if not external_id:
        return ""
    return salted_hmac(HASH_SALT, f"{workspace.pk}:{external_id}", algorithm="sha256").hexdigest()


def is_linked(contact: Contact) -> bool:
    """A customer record (not a friend-only contact) that carries a LINE identity."""
    return bool(contact.line_user_id) and not contact.is_line_only


# --- unlink --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Unlinked:
    contact_id: int
    friend_contact_id: int
    line_user_id: str

    def as_dict(self) -> dict[str, Any]:
        return {"contact": self.contact_id, "friend_contact": self.friend_contact_id}


def unlink_problem(contact: Contact) -> str | None:
    if not contact.line_user_id:
        return _("This contact has no LINE account linked.")
    if contact.is_line_only:
        return _("This is a LINE friend without a customer record; there is nothing to unlink.")
    return None


def unlink_contact(
    workspace: Workspace,
    contact: Contact,
    *,
    actor: AnyUser | None = None,
    label: str | None = None,
    by_customer: bool = False,
) -> Unlinked:
    """Split the LINE identity off the customer record into a friend-only contact.

    `actor` is checked for the edit permission (the CLI, the API and the customer's own page
    pass none and a `label`). Raises PrivacyRefused when the contact is not linked."""
    if actor is not None:
        require(actor, workspace, Permission.EDIT)
    with transaction.atomic():
        contact = Contact.objects.select_for_update().get(pk=contact.pk, workspace=workspace)
        problem = unlink_problem(contact)
        if problem is not None:
            raise PrivacyRefused(problem)
        user_id = str(contact.line_user_id)
        line_values = {f: getattr(contact, f) for f in LINE_FIELDS}
        for field in LINE_FIELDS:
            model_field = Contact._meta.get_field(field)
            assert isinstance(model_field, Field)
            setattr(contact, field, model_field.get_default())
        contact.line_user_id = None
        contact.line_status = LineStatus.NONE
        contact.line_linked_at = None
        contact.line_linked_via = ""
        contact.save(
            update_fields=[*LINE_FIELDS, "line_linked_at", "line_linked_via", "updated_at"]
        )
        # The "line" tag says "linked to LINE": it goes with the link.
        ContactTag.objects.filter(contact=contact, tag__name=LINE_TAG).delete()
        # The friend keeps the customer's consent: unlinking must not re-open marketing to
        # someone who had opted out.
        friend = Contact.objects.create(
            workspace=workspace, marketing_consent=contact.marketing_consent, **line_values
        )
        record_audit(
            workspace,
            AuditAction.CONTACT_UNLINKED,
            actor=actor,
            label=label,
            target=f"contact {contact.pk}",
            details={
                "contact": contact.pk,
                "friend_contact": friend.pk,
                "by_customer": by_customer,
            },
        )
    return Unlinked(contact.pk, friend.pk, user_id)


# --- delete --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Deleted:
    contact_id: int
    removed: dict[str, int]

    def as_dict(self) -> dict[str, Any]:
        return {"contact": self.contact_id, "deleted": True, "removed": self.removed}


def deletion_summary(contact: Contact) -> dict[str, int]:
    """What a deletion removes, for the confirmation (counts of the person's own rows)."""
    return {
        "events": Event.objects.filter(contact=contact).count(),
        "tags": ContactTag.objects.filter(contact=contact).count(),
        "line_account": 1 if contact.line_user_id else 0,
    }


def delete_contact(
    workspace: Workspace,
    contact: Contact,
    *,
    actor: AnyUser | None = None,
    label: str | None = None,
) -> Deleted:
    """Delete the person's data for good (see the module docstring). All or nothing.

    `actor` is checked for the delete-contacts permission (owners and managers)."""
    if actor is not None:
        require(actor, workspace, Permission.DELETE_CONTACTS)
    with transaction.atomic():
        contact = Contact.objects.select_for_update().get(pk=contact.pk, workspace=workspace)
        removed = deletion_summary(contact)
        for _receiver, answer in contact_erasing.send(sender=Contact, contact=contact):
            counts: dict[str, int] = answer if isinstance(answer, dict) else {}
            for key, count in counts.items():
                removed[key] = removed.get(key, 0) + int(count)
        pk, number_hash = contact.pk, customer_number_hash(workspace, contact.external_id)
        contact.delete()
        record_audit(
            workspace,
            AuditAction.CONTACT_DELETED,
            actor=actor,
            label=label,
            target=f"contact {pk}",
            details={
                "contact": pk,
                "customer_number_hmac": number_hash,
                "removed": removed,
                "at": timezone.now().isoformat(),
            },
        )
    return Deleted(pk, removed)
