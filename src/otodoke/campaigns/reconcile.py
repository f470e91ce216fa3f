"""Results that stay true after the send: friends who blocked while it went out.

LINE accepts a blocked friend's user ID in a multicast or push and silently delivers nothing,
so a recipient whose batch LINE took after they blocked the account was never reached. Such a
recipient is `blocked` (「配信中にブロック」), not `sent`. Two ways in, both set-based:

- when a delivery finishes, one UPDATE over its sent recipients whose contact's last unfollow
  falls between the freeze and the time LINE took their batch;
- when an unfollow is recorded later (webhooks may wait behind the send), the same test for
  that one contact in the deliveries that were under way at that moment.

Only the recipient's outcome and the counters change; nothing is sent, so exactly-once is
untouched.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db.models import Exists, F, OuterRef, Q

from otodoke.campaigns.models import (
    Delivery,
    DeliveryKind,
    DeliveryRecipient,
    ExclusionReason,
    RecipientStatus,
)
from otodoke.contacts.models import Contact

REASON = ExclusionReason.BLOCKED_DURING_SEND.value


def reconcile_delivery(delivery: Delivery) -> int:
    """Mark the delivery's sent recipients who had blocked by then; returns how many."""
    if delivery.frozen_at is None:
        return 0
    blocked_then = Contact.objects.filter(
        pk=OuterRef("contact_id"),
        line_unfollowed_at__gte=delivery.frozen_at,
        line_unfollowed_at__lte=OuterRef("sent_at"),
    )
    return (
        DeliveryRecipient.objects.filter(delivery=delivery, status=RecipientStatus.SENT)
        .filter(Exists(blocked_then))
        .update(status=RecipientStatus.BLOCKED, reason=REASON)
    )


def on_unfollow(sender: Any, *, contact: Contact, at: datetime, **kwargs: Any) -> None:
    """An unfollow at `at`: the deliveries frozen before it and not finished before it."""
    deliveries = Delivery.objects.filter(
        campaign__workspace_id=contact.workspace_id,
        kind=DeliveryKind.LIVE,
        frozen_at__lte=at,
    ).filter(Q(finished_at__isnull=True) | Q(finished_at__gte=at))
    for delivery_id in deliveries.values_list("pk", flat=True):
        # By (delivery, contact): the unique index, not a scan of every recipient.
        changed = DeliveryRecipient.objects.filter(
            delivery_id=delivery_id,
            contact_id=contact.pk,
            status=RecipientStatus.SENT,
            sent_at__gte=at,
        ).update(status=RecipientStatus.BLOCKED, reason=REASON)
        if changed:
            Delivery.objects.filter(pk=delivery_id).update(
                sent=F("sent") - changed, blocked=F("blocked") + changed
            )
