"""A contact deleted on request: their frozen recipient rows keep the outcome (so a campaign's
results stay as they were) and lose the LINE user ID."""

from __future__ import annotations

from typing import Any

from otodoke.campaigns.models import Delivery, DeliveryRecipient
from otodoke.contacts.models import Contact


def on_contact_erasing(sender: Any, *, contact: Contact, **kwargs: Any) -> dict[str, int]:
    deliveries = Delivery.objects.filter(campaign__workspace_id=contact.workspace_id)
    # By (delivery, contact), the unique index: never a scan of every recipient row.
    scrubbed = DeliveryRecipient.objects.filter(
        delivery_id__in=deliveries.values("pk"), contact_id=contact.pk
    ).update(line_user_id="")
    return {"recipient_rows_anonymised": scrubbed}
