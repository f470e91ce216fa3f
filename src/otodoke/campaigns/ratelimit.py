"""One token bucket per channel and endpoint, in the database, shared by every worker.

A worker takes tokens in small grants (as many requests as it can start right now), so N
workers together never start more requests per second than the bucket allows. The row is read
and written under a lock: `select_for_update` on PostgreSQL; on SQLite the transaction is
IMMEDIATE (settings), which takes the database write lock before the read.
"""

from __future__ import annotations

import time

from django.db import IntegrityError, transaction

from otodoke.campaigns.models import RateBucket


def bucket_key(channel_id: str, endpoint: str) -> str:
    return f"{channel_id}:{endpoint}"


def take_tokens(key: str, *, rate: float, capacity: float, wanted: int) -> tuple[int, float]:
    """Take up to `wanted` tokens. Returns (granted, seconds until the next token if none)."""
    now = time.time()
    for _ in range(2):
        try:
            with transaction.atomic():
                bucket = RateBucket.objects.select_for_update().filter(key=key).first()
                if bucket is None:
                    bucket = RateBucket.objects.create(key=key, tokens=capacity, updated=now)
                tokens = min(capacity, bucket.tokens + max(0.0, now - bucket.updated) * rate)
                granted = max(0, min(wanted, int(tokens)))
                bucket.tokens = tokens - granted
                bucket.updated = max(now, bucket.updated)
                bucket.save(update_fields=["tokens", "updated"])
            wait = 0.0 if granted else (1.0 - bucket.tokens) / rate
            return granted, wait
        except IntegrityError:
            continue  # another worker created the row first; read it again
    return 0, 1.0 / rate


def drain(key: str, seconds: float, rate: float) -> None:
    """After LINE answered 429: push the bucket into debt so every worker backs off."""
    with transaction.atomic():
        RateBucket.objects.select_for_update().filter(key=key).update(
            tokens=-seconds * rate, updated=time.time()
        )
