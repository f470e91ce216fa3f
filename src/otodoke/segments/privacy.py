"""A contact deleted on request leaves the audiences they were in (the row cascades); each
audience's stored size follows."""

from __future__ import annotations

from typing import Any

from django.db.models import F

from otodoke.contacts.models import Contact
from otodoke.segments.models import Audience, AudienceMember


def on_contact_erasing(sender: Any, *, contact: Contact, **kwargs: Any) -> dict[str, int]:
    ids = list(AudienceMember.objects.filter(contact=contact).values_list("audience_id", flat=True))
    Audience.objects.filter(pk__in=ids, size__gt=0).update(size=F("size") - 1)
    return {"audience_memberships": len(ids)}
