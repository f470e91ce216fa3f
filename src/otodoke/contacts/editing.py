"""Staff editing one contact by hand: its fields, custom attributes, tags and consent.

Values arrive already cleaned by the importer's rules (`contacts.cleaning`, applied by the
form), so a phone typed on the contact page is stored exactly like one read from a CSV file.
Rollups (visits, total spent …) are derived from events and never edited here."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AnonymousUser, User
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from otodoke.contacts import tagging
from otodoke.contacts.models import ConsentChange, Contact, TagSource
from otodoke.contacts.signals import contacts_changed
from otodoke.workspaces.services import actor_label

# What the contact page may change; phone and e-mail only for members who may see them.
EDITABLE_FIELDS = (
    "external_id",
    "name",
    "name_kana",
    "gender",
    "birth_date",
    "prefecture",
    "phone",
    "email",
)
PII_FIELDS = frozenset({"phone", "email"})


class EditRefused(Exception):  # noqa: N818 - a domain outcome callers catch
    """The change cannot be made; `field` names the form field it is about."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def customer_number_taken(contact: Contact, external_id: str | None) -> bool:
    if not external_id:
        return False
    others = Contact.objects.filter(workspace_id=contact.workspace_id, external_id=external_id)
    return others.exclude(pk=contact.pk).exists()


@transaction.atomic
def update_contact(
    contact: Contact,
    values: dict[str, Any],
    *,
    attributes: dict[str, Any] | None = None,
) -> list[str]:
    """Set the given fields (and, when given, replace the custom attributes); return the names
    of what changed. Nothing is saved if the customer number belongs to another contact."""
    unknown = set(values) - set(EDITABLE_FIELDS)
    if unknown:
        raise ValueError(f"not editable: {sorted(unknown)}")
    if "external_id" in values:
        values = {**values, "external_id": values["external_id"] or None}
        if customer_number_taken(contact, values["external_id"]):
            raise EditRefused(
                "external_id",
                _("Customer number %(number)s already belongs to another contact.")
                % {"number": values["external_id"]},
            )
    changed = [name for name, value in values.items() if getattr(contact, name) != value]
    for name in changed:
        setattr(contact, name, values[name])
    if attributes is not None and attributes != (contact.attributes or {}):
        contact.attributes = attributes
        changed.append("attributes")
    if changed:
        with transaction.atomic():
            contact.save(update_fields=[*changed, "updated_at"])
            contacts_changed.send(
                sender=Contact,
                workspace=contact.workspace,
                contact_ids=[contact.pk],
                at=timezone.now(),
            )
    return changed


def add_tag(contact: Contact, name: str) -> bool:
    """Tag the contact by hand; False when it already had the tag."""
    before = contact.contact_tags.filter(tag__name=name).exists()
    tagging.add_tags(contact.workspace, [contact.pk], [name], source=TagSource.MANUAL)
    return not before


def remove_tag(contact: Contact, name: str) -> bool:
    return tagging.remove_tags(contact.workspace, [contact.pk], [name]) > 0


@transaction.atomic
def set_consent(contact: Contact, consent: bool, *, actor: User | AnonymousUser | None) -> bool:
    """Change the marketing consent and record who did it; False when it was already so."""
    if contact.marketing_consent == consent:
        return False
    now = timezone.now()
    contact.marketing_consent = consent
    contact.consent_updated_at = now
    contact.save(update_fields=["marketing_consent", "consent_updated_at", "updated_at"])
    user = actor if isinstance(actor, User) else None
    ConsentChange.objects.create(
        contact=contact,
        consent=consent,
        changed_by=user,
        changed_by_label=actor_label(actor),
        changed_at=now,
    )
    return True
