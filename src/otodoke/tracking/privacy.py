"""A contact deleted on request: their clicks still count for the link, naming nobody."""

from __future__ import annotations

from typing import Any

from otodoke.contacts.models import Contact
from otodoke.tracking.models import Click


def on_contact_erasing(sender: Any, *, contact: Contact, **kwargs: Any) -> dict[str, int]:
    anonymised = Click.objects.filter(contact=contact).update(contact=None, user_agent="")
    return {"clicks_anonymised": anonymised}
