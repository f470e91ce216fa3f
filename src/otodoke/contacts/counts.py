"""The one definition of the contact and friend counts every screen shows (the dashboard, the
demo's start banner): a *friend* is a contact following the account now; blocked friends are
counted apart; *customers* are contacts with the shop's own customer number, and LINE-only
followers (no customer record linked yet) are the rest of the contacts."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, Q

from otodoke.contacts.models import Contact, LineStatus
from otodoke.workspaces.models import Workspace


@dataclass(frozen=True)
class FriendCounts:
    following: int
    blocked: int
    contacts: int
    reachable: int
    customers: int = 0

    @property
    def line_only(self) -> int:
        """Contacts without a customer record: LINE followers nobody has linked yet."""
        return self.contacts - self.customers


def friend_counts(workspace: Workspace) -> FriendCounts:
    """All five in one query."""
    row = Contact.objects.in_workspace(workspace).aggregate(
        contacts=Count("pk"),
        following=Count("pk", filter=Q(line_status=LineStatus.FOLLOWING)),
        blocked=Count("pk", filter=Q(line_status=LineStatus.BLOCKED)),
        reachable=Count(
            "pk",
            filter=Q(
                line_status=LineStatus.FOLLOWING,
                marketing_consent=True,
                line_user_id__isnull=False,
            ),
        ),
        customers=Count("pk", filter=Q(external_id__isnull=False)),
    )
    return FriendCounts(
        following=row["following"] or 0,
        blocked=row["blocked"] or 0,
        contacts=row["contacts"] or 0,
        reachable=row["reachable"] or 0,
        customers=row["customers"] or 0,
    )
