"""What happened to contacts, for apps above this one (scenarios) to act on without this app
importing them. Sent inside the writing transaction, after the rows are written."""

from django.dispatch import Signal

# workspace, pairs: [(contact ID, tag name)] newly added, source, at
tags_added = Signal()
# workspace, events: [(contact ID, kind, amount, source, properties)] newly stored
events_recorded = Signal()
