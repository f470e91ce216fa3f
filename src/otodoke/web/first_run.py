"""The dashboard's guided first run: what a new workspace still has to do, in order.

Three steps, each done when the data says so (never a checkbox the user ticks):

1. Connect the LINE channel: done once LINE has posted any webhook event here (a follow, a
   message, the verify button's test) or a friend follows — proof that LINE reaches us.
2. Import customers: done once a contact has a customer number.
3. Link customers to LINE friends: done once one contact has both.

The dashboard shows the steps while any is open; the first open one is "next"."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Q
from django.urls import reverse
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from otodoke.contacts.counts import FriendCounts
from otodoke.contacts.models import Contact, ImportKind
from otodoke.line.models import WebhookEvent
from otodoke.workspaces.models import Workspace


@dataclass(frozen=True)
class Step:
    key: str  # "channel" | "import" | "link"
    title: Promise
    hint: Promise
    done: bool
    url: str
    action: Promise
    # Set on the first step not done yet.
    next: bool = False


def first_run_steps(workspace: Workspace, counts: FriendCounts) -> list[Step]:
    """The three steps, or [] once all are done (the dashboard then shows only its figures)."""
    slug = workspace.slug
    connected = (
        counts.following > 0
        or counts.blocked > 0
        or WebhookEvent.objects.filter(workspace=workspace).exists()
    )
    imported = counts.customers > 0
    linked = (
        Contact.objects.in_workspace(workspace)
        .filter(Q(external_id__isnull=False) & Q(line_user_id__isnull=False))
        .exists()
    )
    import_url = reverse("web:import", args=[slug])
    steps = [
        Step(
            "channel",
            _("Connect your LINE channel"),
            _(
                "In the LINE Developers console, paste this webhook URL into your Messaging API "
                "channel, turn “Use webhook” on, then press Verify. Friends who follow your "
                "account from then on appear here."
            ),
            connected,
            reverse("web:settings_channel", args=[slug]),
            _("Open the channel page"),
        ),
        Step(
            "import",
            _("Import your customers"),
            _(
                "Upload the customer CSV your POS or salon system exports (Shift_JIS or UTF-8); "
                "you choose what each column means."
            ),
            imported,
            f"{import_url}?kind={ImportKind.CONTACTS}",
            _("Import a customer CSV"),
        ),
        Step(
            "link",
            _("Link customers to their LINE friends"),
            _(
                "Upload a file of customer numbers and LINE user IDs, or invite a friend to link "
                "from their contact page. Linked customers can be reached by segment."
            ),
            linked,
            f"{import_url}?kind={ImportKind.LINKS}",
            _("Import LINE user ID links"),
        ),
    ]
    if all(step.done for step in steps):
        return []
    first_open = next(i for i, step in enumerate(steps) if not step.done)
    return [Step(**{**step.__dict__, "next": i == first_open}) for i, step in enumerate(steps)]
