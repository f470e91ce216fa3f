"""Merging contacts: a LINE-only follower into the customer record it turns out to be."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from django.db import models, transaction
from django.db.models import Case, Value, When
from django.utils import timezone
from django.utils.translation import gettext as _

from otodoke.contacts.inputs import CONTACT_FIELDS
from otodoke.contacts.models import Contact, ContactTag, Event, LinkedVia, TagSource
from otodoke.contacts.rollups import recompute_rollups
from otodoke.contacts.tagging import LINE_TAG, add_tag_pairs

# Apps whose rows point at contacts under a unique constraint (e.g. one enrolment per contact)
# register a function here to move or drop `other`'s rows before the generic re-pointing.
# Signature: handler(pairs as (into_id, other_id)).
MergeHandler = Callable[[Sequence[tuple[int, int]]], None]
MERGE_HANDLERS: list[MergeHandler] = []

LINE_FIELDS = (
    "line_user_id",
    "line_status",
    "line_first_followed_at",
    "line_followed_at",
    "line_unfollowed_at",
    "line_display_name",
    "line_picture_url",
    "line_language",
)
_FILL_FIELDS = ("external_id", *(f for f in CONTACT_FIELDS if f != "marketing_consent"))


def _rows_that_follow_the_contact() -> list[tuple[type[models.Model], str]]:
    """Other apps' rows that belong to a contact and move with it on a merge.

    Hidden reverse relations (`related_name="+"`, e.g. audience members) count too: skipping
    them let the delete below cascade their rows away. Relations declared DO_NOTHING are
    historical records (a delivery's frozen recipients) that keep the id they were written
    with, so they are left alone."""
    found: list[tuple[type[models.Model], str]] = []
    for rel in Contact._meta.get_fields(include_hidden=True):
        if not isinstance(rel, models.ForeignObjectRel) or rel.many_to_many:
            continue
        related = rel.related_model
        assert isinstance(related, type)
        if related in (ContactTag, Event) or rel.on_delete is models.DO_NOTHING:
            continue
        found.append((related, rel.field.attname))
    return found


def _drop_colliding_rows(related: type[models.Model], fk: str, mapping: dict[int, int]) -> None:
    """Where a unique constraint includes the contact (one membership per audience, …) and
    both contacts have a row, keep `into`'s and drop `other`'s, so re-pointing cannot fail."""
    field_name = fk.removesuffix("_id")
    for constraint in related._meta.constraints:
        fields = getattr(constraint, "fields", ())
        if not isinstance(constraint, models.UniqueConstraint) or field_name not in fields:
            continue
        rest = [f for f in fields if f != field_name]
        for other_id, into_id in mapping.items():
            twin = related._base_manager.filter(
                **{fk: into_id}, **{f: models.OuterRef(f) for f in rest}
            )
            related._base_manager.filter(**{fk: other_id}).filter(models.Exists(twin)).delete()


class MergeConflict(Exception):  # noqa: N818 - a domain outcome callers catch
    """The two contacts cannot become one (e.g. each has a different LINE user ID)."""


def _repoint(model: type[models.Model], fk: str, mapping: dict[int, int]) -> None:
    others = list(mapping)
    target = Case(
        *(When(**{fk: o}, then=Value(i)) for o, i in mapping.items()),
        output_field=models.BigIntegerField(),
    )
    model._base_manager.filter(**{f"{fk}__in": others}).update(**{fk: target})


def _move_tags(mapping: dict[int, int]) -> None:
    """Each tag of `other` lands on `into` once, with the earliest added_at of the two."""
    rows = ContactTag.objects.filter(contact_id__in=list(mapping)).values_list(
        "contact_id", "tag_id", "added_at", "source"
    )
    incoming: dict[tuple[int, int], tuple[datetime, str]] = {}
    for other_id, tag_id, added_at, source in rows:
        key = (mapping[other_id], tag_id)
        if key not in incoming or added_at < incoming[key][0]:
            incoming[key] = (added_at, source)
    if not incoming:
        return
    existing = {
        (c, t): added
        for c, t, added in ContactTag.objects.filter(
            contact_id__in={c for c, _ in incoming}, tag_id__in={t for _, t in incoming}
        ).values_list("contact_id", "tag_id", "added_at")
    }
    write = [
        ContactTag(contact_id=c, tag_id=t, added_at=added, source=source)
        for (c, t), (added, source) in incoming.items()
        if (c, t) not in existing or added < existing[(c, t)]
    ]
    ContactTag.objects.filter(contact_id__in=list(mapping)).delete()
    if write:
        ContactTag.objects.bulk_create(
            write,
            update_conflicts=True,
            unique_fields=["contact", "tag"],
            update_fields=["added_at", "source"],
        )


def _absorb(into: Contact, other: Contact, *, via: str, at: datetime) -> bool:
    """Copy `other`'s data onto `into` in memory; True when `into` gained a LINE identity."""
    if into.line_user_id and other.line_user_id and into.line_user_id != other.line_user_id:
        raise MergeConflict(
            _("Both contacts have a LINE user ID (%(a)s, %(b)s)")
            % {"a": into.line_user_id, "b": other.line_user_id}
        )
    if into.external_id and other.external_id:
        raise MergeConflict(
            _("Both contacts have a customer number (%(a)s, %(b)s)")
            % {"a": into.external_id, "b": other.external_id}
        )
    gained_line = not into.line_user_id and bool(other.line_user_id)
    if gained_line:
        for name in LINE_FIELDS:
            setattr(into, name, getattr(other, name))
        into.line_linked_at = at
        into.line_linked_via = via
    for name in _FILL_FIELDS:
        if getattr(into, name) in (None, "", "unknown") and getattr(other, name) not in (None, ""):
            setattr(into, name, getattr(other, name))
    if into.baseline_at is None:
        into.baseline_at = other.baseline_at
    into.attributes = {**other.attributes, **into.attributes}
    # An opt-out on either record survives the merge.
    if into.marketing_consent and not other.marketing_consent:
        into.marketing_consent = False
        into.consent_updated_at = other.consent_updated_at or at
    into.updated_at = at
    return gained_line


@transaction.atomic
def merge_contact_pairs(
    pairs: Sequence[tuple[Contact, Contact]],
    *,
    via: LinkedVia | str = LinkedVia.MANUAL,
    at: datetime | None = None,
) -> list[Contact]:
    """Merge each `other` into its `into` (set-based for a batch): tags (earliest added_at),
    events, rows of other apps and the LINE identity move; `other` is deleted. Rollups of the
    merged contacts are recomputed. Returns the updated `into` contacts."""
    when = at or timezone.now()
    mapping: dict[int, int] = {}
    for into, other in pairs:
        if into.pk == other.pk or other.pk in mapping or into.pk in mapping:
            raise MergeConflict(_("A contact cannot be merged twice or into itself"))
        if into.workspace_id != other.workspace_id:
            raise MergeConflict(_("Contacts of different workspaces cannot be merged"))
        mapping[other.pk] = into.pk
    if not mapping:
        return []
    id_pairs = [(i, o) for o, i in mapping.items()]
    for handler in MERGE_HANDLERS:
        handler(id_pairs)
    gained = [into.pk for into, other in pairs if _absorb(into, other, via=via, at=when)]
    _move_tags(mapping)
    _repoint(Event, "contact_id", mapping)
    for related, fk in _rows_that_follow_the_contact():
        _drop_colliding_rows(related, fk, mapping)
        _repoint(related, fk, mapping)
    # Delete first: `into` takes over `other`'s unique LINE user ID / customer number.
    Contact.objects.filter(pk__in=list(mapping)).delete()
    intos = [into for into, _ in pairs]
    fields = [
        *LINE_FIELDS,
        "line_linked_at",
        "line_linked_via",
        *_FILL_FIELDS,
        "baseline_at",
        "attributes",
        "marketing_consent",
        "consent_updated_at",
        "updated_at",
    ]
    Contact.objects.bulk_update(intos, fields, batch_size=500)
    linked = [c.pk for c in intos if c.pk in set(gained) and c.external_id]
    if linked:
        add_tag_pairs(
            intos[0].workspace, ((cid, LINE_TAG) for cid in linked), source=TagSource.AUTO, at=when
        )
    recompute_rollups(c.pk for c in intos)
    return intos


def merge_contacts(
    into: Contact,
    other: Contact,
    *,
    via: LinkedVia | str = LinkedVia.MANUAL,
    at: datetime | None = None,
) -> Contact:
    """Merge `other` into `into` and delete `other`; nothing is duplicated."""
    return merge_contact_pairs([(into, other)], via=via, at=at)[0]
