"""What the LINE side tells other apps, without importing them."""

from __future__ import annotations

from django.dispatch import Signal

# Sent inside the transaction that records an unfollow (block): contact=Contact, at=datetime.
friend_unfollowed = Signal()
