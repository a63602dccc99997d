"""The one worker process: APScheduler 3 runs a single interval job that renews the lease,
publishes what is due, queues the next chunk of large fan-outs (alerts/warnings/outbox.py),
expires what is over, tells the staff of their work (alerts/warnings/staff_notices.py) and applies
what the channels sent back (alerts/delivery/inbox.py),
while the delivery engine, started once, sends the outbox on its own threads
(alerts/delivery/engine.py). The job takes well under its interval whatever the engine is
doing (a chunk of 50,000 rows: a few tenths of a second), so it never overlaps itself.

Only one worker may be active per database: it holds a lease row it renews every tick
(the heartbeat ``/healthz`` shows). A second worker waits while the lease is fresh and
takes over only once it has expired, so a crashed worker is replaced without two ever
sending at once. The web app never runs a scheduler.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import sqlite3
import threading
import time
import uuid
from collections.abc import Mapping
from datetime import datetime
from datetime import timedelta

import sqlite_utils
from apscheduler.schedulers.blocking import BlockingScheduler

from alerts.clock import from_text
from alerts.clock import to_text
from alerts.clock import utcnow
from alerts.db import write
from alerts.delivery import inbox
from alerts.delivery.cache_purge import Purger
from alerts.delivery.drain import Summary
from alerts.delivery.engine import Dispatcher
from alerts.reports import filing as report_filing
from alerts.reports import inbox as report_inbox
from alerts.store import backup
from alerts.store import deliveries as store
from alerts.store import lease as lease_store
from alerts.warnings import outbox
from alerts.warnings import staff_notices
from alerts.warnings import workflow

INTERVAL = 2.0
FORGET_EVERY = 3600.0  # seconds between purges of residents' data (applied events, old reports)
# ``flask dispatch-once`` keeps sending while work is due for up to this long.
DRAIN_SECONDS = 20.0
log = logging.getLogger("alerts.worker")


class LeaseHeld(Exception):
    """Another worker holds the lease; the message says who and since when."""


def holder_name() -> str:
    """Return a name that identifies this process (host, pid and a random suffix)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


def acquire(
    db: sqlite_utils.Database, holder: str, seconds: float = 60.0, now: datetime | None = None
) -> None:
    """Take or renew the lease for ``seconds``; raise LeaseHeld while another holder's
    lease is fresh."""
    now = now or utcnow()
    expires = to_text(now + timedelta(seconds=seconds))
    with write(db):
        held = lease_store.get_lease(db)
        if held and held["holder"] != holder and from_text(held["expires_at"]) > now:
            raise LeaseHeld(
                f"Another worker ({held['holder']}) is active: last heartbeat"
                f" {held['heartbeat_at']} UTC. This one waits; the lease expires at"
                f" {held['expires_at']} UTC."
            )
        lease_store.take(db, holder, to_text(now), expires)


def release(db: sqlite_utils.Database, holder: str) -> None:
    """Give the lease up (a clean stop lets the next worker start at once)."""
    with write(db):
        lease_store.give_up(db, holder)


def tick(
    db: sqlite_utils.Database, config: Mapping, dispatcher: Dispatcher, heartbeat=None
) -> Summary:
    """One pass by hand (``flask dispatch-once``): publish what is due, expire what is
    over, dispatch the outbox until nothing more is due; ``heartbeat`` renews the lease
    while a long fan-out is recorded."""
    purger = Purger(db, config)
    workflow.publish_due(db, config)
    outbox.top_up(db, to_the_end=True)
    report_inbox.tell_published(db, config)
    workflow.expire_due(db)
    purger.purge_changes(db)
    staff_notices.notify_due(db, config)
    inbox.apply_waiting(db, config)
    budget = min(DRAIN_SECONDS, config["WORKER_LEASE_SECONDS"] / 3)  # renew the lease in time
    return dispatcher.dispatch_due(db, budget=budget, heartbeat=heartbeat)


def run(db: sqlite_utils.Database, config: Mapping, *, wait: bool = True) -> None:
    """Run the worker until stopped: hold the lease, then tick every INTERVAL seconds."""
    holder, lease = holder_name(), config["WORKER_LEASE_SECONDS"]
    if threading.current_thread() is threading.main_thread():
        # Stop on SIGTERM (systemd, docker, scripts/run) as on Ctrl+C: close, give the lease
        # up. Installed before the lease is taken, so a SIGTERM while starting up cannot
        # kill the process with the lease still held (the next worker would wait it out).
        signal.signal(signal.SIGTERM, signal.default_int_handler)
    dispatcher = scheduler = None
    try:  # from the first acquire on: a SIGTERM just after it must still give the lease up
        _wait_for_lease(db, holder, lease, wait)
        with write(db):
            orphans = store.recover_expired_leases(db, to_text(utcnow()), all_in_flight=True)
        if orphans:
            log.warning("Recovered %s deliveries left in flight by a stopped worker.", orphans)
        dispatcher = Dispatcher(config)
        dispatcher.start(db)
        scheduler = _schedule(db, config, dispatcher, holder, lease)
        scheduler.start()
    finally:
        if scheduler is not None and scheduler.running:
            scheduler.shutdown(wait=True)  # a tick still running would take the lease again
        if dispatcher is not None:
            dispatcher.close()
        release(db, holder)


def _wait_for_lease(db, holder: str, lease: int, wait: bool) -> None:
    while True:
        try:
            acquire(db, holder, lease)
            return
        except LeaseHeld as held:
            if not wait:
                raise
            log.warning("%s", held)
            time.sleep(INTERVAL * 5)


def _purge(purger: Purger, db) -> None:
    """Purge the caches of what changed; a failure there never stops the tick."""
    try:
        purger.purge_changes(db)
    except (sqlite3.Error, OSError, ValueError):
        log.exception("Could not purge the caches; they expire on their own.")


def _schedule(db, config: Mapping, dispatcher: Dispatcher, holder: str, lease: int):
    """Return the scheduler that ticks every INTERVAL seconds: renew the lease, publish and
    expire, and log what the engine did. A failing write (a full disk) is logged and the
    next tick tries again; only a lease taken by another worker stops it."""
    scheduler = BlockingScheduler(timezone="UTC")
    failing = {"since": None}
    forgotten = {"at": 0.0}
    purger = Purger(db, config)  # what changes from now on (an approval, a cancel, ...)

    def job() -> None:
        try:
            acquire(db, holder, lease)
            workflow.publish_due(db, config)
            outbox.top_up(db)
            report_inbox.tell_published(db, config)
            workflow.expire_due(db)
            _purge(purger, db)
            staff_notices.notify_due(db, config)
            inbox.apply_waiting(db, config)
            if time.monotonic() - forgotten["at"] > FORGET_EVERY:
                inbox.forget_old(db)
                report_filing.purge_expired(db)
                forgotten["at"] = time.monotonic()
        except LeaseHeld:
            log.error("Lost the worker lease to another process; stopping.")
            scheduler.shutdown(wait=False)
            return
        except sqlite3.Error as error:  # the engine waits it out as well
            if failing["since"] is None:
                failing["since"] = time.monotonic()
                log.error("Writes are failing (%s); retrying every tick.", error)
            return
        if failing["since"] is not None:
            log.warning("Writes succeed again after %.0f s.", time.monotonic() - failing["since"])
            failing["since"] = None
        summary = dispatcher.progress()
        if summary.claimed or summary.recovered or summary.expired:
            log.info("tick: %s", summary)
        try:  # on its own thread: a failing backup is logged there, the worker goes on
            backup.start_due_backup(config, utcnow())
        except Exception:
            log.exception("Could not start the scheduled backup.")

    scheduler.add_job(
        job,
        "interval",
        seconds=INTERVAL,
        coalesce=True,
        max_instances=1,
        misfire_grace_time=int(INTERVAL * 2),
        next_run_time=utcnow(),
    )
    log.info("Worker %s started (tick every %.0f s).", holder, INTERVAL)
    return scheduler
