"""Signals the contacts app sends; other apps connect to them (contacts imports no other app)."""

from django.dispatch import Signal

# Sent after a (non-dry-run) import that may have linked LINE user IDs, with `workspace`.
# The LINE app checks the linked IDs' friend status against LINE (otodoke.line.verify).
line_ids_imported = Signal()
