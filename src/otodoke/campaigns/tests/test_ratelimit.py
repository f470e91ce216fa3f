"""The rate limiter is one bucket in the database: separate processes share it, and a delivery
paced by it never provokes a 429 from LINE."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from typing import Any

import pytest

from otodoke.campaigns import ratelimit
from otodoke.campaigns.models import DeliveryStatus
from otodoke.campaigns.tests.conftest import Line, make_contacts, run, send_all
from otodoke.testing.processes import process_env
from otodoke.workspaces.models import Workspace

# Each process says when it is ready, is told a common start and end time, takes tokens from
# one bucket as fast as the bucket lets it, and prints when it got how many.
TAKER = """
import json, random, sys, time
import django
django.setup()
from otodoke.campaigns.ratelimit import take_tokens
key, rate, capacity = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
print("ready", flush=True)
start_at, until = map(float, sys.stdin.readline().split())
grants = []
while time.time() < start_at:
    time.sleep(0.005)
while time.time() < until:
    granted, wait = take_tokens(key, rate=rate, capacity=capacity, wanted=random.randint(1, 3))
    if granted:
        grants.append([time.time(), granted])
    else:
        time.sleep(min(wait, 0.02))
print(json.dumps(grants))
"""


@pytest.mark.django_db(transaction=True)
def test_processes_sharing_a_bucket_together_never_exceed_its_rate() -> None:
    rate, capacity, seconds, processes = 20.0, 5.0, 3.0, 3
    key = ratelimit.bucket_key("1000000001", "multicast")
    env = process_env(DJANGO_SETTINGS_MODULE="otodoke.settings")
    takers = [
        subprocess.Popen(
            [sys.executable, "-c", TAKER, key, str(rate), str(capacity)],
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(processes)
    ]
    for taker in takers:
        assert taker.stdout is not None and taker.stderr is not None
        assert taker.stdout.readline().strip() == "ready", taker.stderr.read()
    start_at = time.time() + 0.5
    until = start_at + seconds
    for taker in takers:  # all told before any is waited for
        assert taker.stdin is not None
        taker.stdin.write(f"{start_at} {until}\n")
        taker.stdin.close()
    outputs = [
        (taker.stdout.read(), taker.stderr.read())
        for taker in takers
        if taker.stdout and taker.stderr
    ]
    for taker in takers:
        taker.wait(60)
    assert [taker.returncode for taker in takers] == [0] * processes, outputs

    grants: list[list[list[float]]] = [json.loads(out) for out, _err in outputs]
    total = sum(n for per_process in grants for _t, n in per_process)
    last = max(t for per_process in grants for t, _n in per_process)
    # A full bucket at the first take, then `rate` per second: each grant is stamped after the
    # take it came from, so `last` bounds the refill time from above.
    assert total <= capacity + rate * (last - start_at)
    # One bucket per process would have let each take about this much on its own.
    assert total < 2 * (capacity + rate * seconds)
    assert all(per_process for per_process in grants), "every process got tokens"
    assert total >= capacity + rate  # the bucket refilled: the processes were not starved


@pytest.mark.django_db
def test_a_delivery_paced_below_lines_limit_gets_no_429(
    workspace: Workspace, line: Line, engine_settings: Any
) -> None:
    engine_settings.OTODOKE_LINE_RATES = {"multicast": 10}  # ours: 9.5/s after the 0.95 share
    line.rate_limits(multicast="20/s,burst=5")  # LINE's, as the emulator enforces it
    contacts = make_contacts(workspace, line, 300)  # 30 multicasts of 10
    _, delivery = send_all(workspace, target={"include": [{"contacts": [c.pk for c in contacts]}]})

    started = time.monotonic()
    assert run(delivery.pk) == DeliveryStatus.DONE
    elapsed = time.monotonic() - started

    counts = line.responses("/v2/bot/message/multicast")["counts"]
    assert counts == {"POST /v2/bot/message/multicast": {"200": 30}}
    copies = line.copies()
    assert len(copies) == 300 and set(copies.values()) == {1}
    # Our bucket holds 2.375 tokens and refills 9.5/s: 30 requests cannot go out faster.
    assert elapsed >= (30 - 2.375) / 9.5
