"""What happened to contacts, for apps above this one (scenarios, campaigns, segments…) to act
on without this app importing them."""

from __future__ import annotations

from django.dispatch import Signal

# Sent inside the deletion's transaction, before the contact row goes: contact=Contact.
# Receivers remove or anonymise their own rows about the person and return
# {"what": how many} for the audit entry (counts only, never personal data).
contact_erasing = Signal()
# Sent inside the writing transaction, after the rows are written.
# workspace, pairs: [(contact ID, tag name)] newly added, source, at
tags_added = Signal()
# workspace, events: [(contact ID, kind, amount, source, properties)] newly stored
events_recorded = Signal()
# workspace, contact_ids: [contact ID] whose own fields or custom attributes changed (a staff
# edit, the API, an import, a scenario's "set attribute" step), at
contacts_changed = Signal()

# Sent after a (non-dry-run) import that may have linked LINE user IDs, with `workspace`.
# The LINE app checks the linked IDs' friend status against LINE (otodoke.line.verify).
line_ids_imported = Signal()
