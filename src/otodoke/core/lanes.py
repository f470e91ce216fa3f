"""Worker lanes: one task queue per kind of work, so a long send never holds up webhooks.

Every task names its queue (`@task(queue_name=lanes.WEBHOOKS)`). `otodoke worker` runs one
lane per queue, each a thread with its own database connection claiming tasks of that queue
only: a send that takes minutes occupies the `sends` lane while follows, blocks and replies
keep flowing through `webhooks`. Several workers per lane (threads, processes or machines)
are safe: each task is claimed by exactly one of them (`SELECT … FOR UPDATE SKIP LOCKED` on
PostgreSQL, an exclusive transaction on SQLite).
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from dataclasses import dataclass
from types import FrameType

from django.conf import settings
from django.db import OperationalError, connections
from django.utils.crypto import get_random_string

logger = logging.getLogger(__name__)

DEFAULT = "default"  # imports, friends sync, link verification: long but not urgent
SENDS = "sends"  # campaign deliveries (minutes for a large send)
WEBHOOKS = "webhooks"  # LINE's events and the replies they call for (seconds matter)
AUTOMATION = "automation"  # scenario steps


def queues() -> list[str]:
    """The queues the task backend accepts (settings.TASKS["default"]["QUEUES"])."""
    configured = settings.TASKS["default"].get("QUEUES") or [DEFAULT]
    return [str(name) for name in configured]


@dataclass(frozen=True)
class LaneSpec:
    """One worker thread: the queues it claims from (`*` for all)."""

    queues: tuple[str, ...]

    @property
    def name(self) -> str:
        return ",".join(self.queues)


def parse_lanes(value: str, *, threads: int = 1) -> list[LaneSpec]:
    """`--queues` → the lanes to run.

    "" (the default): one lane per configured queue. "webhooks,sends": those lanes. "*": one
    lane over every queue, one task at a time (the behaviour of a plain `db_worker`).
    `threads` runs that many copies of each lane. Raises ValueError naming an unknown queue.
    """
    known = queues()
    names = [part.strip() for part in value.split(",") if part.strip()] if value else known
    if names == ["*"]:
        return [LaneSpec(("*",))] * threads
    unknown = [name for name in names if name not in known]
    if unknown:
        raise ValueError(", ".join(unknown))
    return [LaneSpec((name,)) for name in dict.fromkeys(names) for _ in range(threads)]


def is_lock_timeout(exc: BaseException) -> bool:
    """SQLite's "database is locked" (or "… table is locked"): another writer held the lock for
    longer than the busy timeout. Anything else (the database went away) is not waited out."""
    return "is locked" in str(exc)


class Lane(threading.Thread):
    """A django-tasks-db `Worker` loop on its own thread and database connection."""

    def __init__(
        self,
        spec: LaneSpec,
        *,
        interval: float,
        batch: bool,
        max_tasks: int | None,
        worker_id: str,
    ) -> None:
        super().__init__(name=f"lane-{spec.name}", daemon=True)
        self.spec = spec
        self.failed = False
        # Imported here: task modules import this one for the queue names, before apps load.
        from django_tasks_db.management.commands.db_worker import Worker

        self.worker = Worker(
            queue_names=list(spec.queues),
            interval=interval,
            batch=batch,
            backend_name="default",
            startup_delay=False,
            max_tasks=max_tasks,
            worker_id=worker_id,
            excluded_queue_names=[],
        )

    def run(self) -> None:
        delay = 1.0
        try:
            while True:
                try:
                    self.worker.run()
                    return
                except OperationalError as exc:
                    # SQLite's single writer: a long write elsewhere (a big import, a webhook
                    # burst) can outlast the busy timeout. That passes; the lane waits and
                    # carries on instead of stopping the worker.
                    if not self.worker.running or not is_lock_timeout(exc):
                        raise
                    logger.warning(
                        "Worker lane %s: %s; retrying in %.0f s", self.spec.name, exc, delay
                    )
                    connections.close_all()
                    time.sleep(delay)
                    delay = min(delay * 2, 30.0)
        except Exception:
            self.failed = True
            logger.exception("Worker lane %s stopped", self.spec.name)
        finally:
            connections.close_all()  # this thread's connections

    def stop(self) -> None:
        """Finish the task in hand, then leave the loop (a sleeping lane wakes and leaves)."""
        self.worker.running = False


def run_lanes(
    specs: list[LaneSpec],
    *,
    interval: float,
    batch: bool = False,
    max_tasks: int | None = None,
    handle_signals: bool = True,
) -> int:
    """Run the lanes until each ends (batch mode, max tasks) or a signal stops them.

    The first SIGINT/SIGTERM lets every lane finish the task it is running; a second one ends
    the process at once. When a lane dies of an error (the database went away) the others are
    stopped too and 1 is returned, so a supervisor restarts the whole worker; else 0.
    """
    prefix = get_random_string(20)
    lanes = [
        Lane(
            spec,
            interval=interval,
            batch=batch,
            max_tasks=max_tasks,
            worker_id=f"{prefix}-{index}-{spec.name}"[:64],
        )
        for index, spec in enumerate(specs)
    ]
    stopping = threading.Event()

    def shutdown(signum: int, frame: FrameType | None) -> None:
        if stopping.is_set():
            logger.warning("Received %s again: stopping now.", signal.strsignal(signum))
            os._exit(1)
        logger.warning(
            "Received %s: finishing the running tasks (press Ctrl+C again to force)",
            signal.strsignal(signum),
        )
        stopping.set()
        for lane in lanes:
            lane.stop()

    if handle_signals:
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGQUIT):
            signal.signal(sig, shutdown)
    logger.info("Worker lanes: %s", "; ".join(lane.spec.name for lane in lanes))
    for lane in lanes:
        lane.start()
    while any(lane.is_alive() for lane in lanes):
        if any(lane.failed for lane in lanes) and not stopping.is_set():
            stopping.set()
            for lane in lanes:
                lane.stop()
        for lane in lanes:
            lane.join(timeout=0.2)
    return 1 if any(lane.failed for lane in lanes) else 0
