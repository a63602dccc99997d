"""The dispatcher: drain the outbox over every channel's API (docs/reliability.md#outbox).

The worker runs it ``start``-ed: one engine that never stops between ticks
(alerts/delivery/drain.py: a lane per account, claims at least every half second, each
start and result made durable by one writer), so a long fan-out never holds up a new
warning, a cancellation or a retry that falls due. ``dispatch_due`` runs the same engine
once until nothing more is due (tests, ``flask dispatch-once``, the benchmark).

Each claim, in order:

1. Takes back what this worker does not hold (a stopped worker's claims, or its own a
   failed write made it forget): one that had started comes back a possible duplicate.
2. Dead-letters what expired, and forgets claims cancelled since.
3. Claims for each lane in one short transaction, on the "store" thread
   (alerts/delivery/claims.py): the revision is checked again (approved content, signed, or
   nothing is sent), and each resident's copy gets its own one-click unsubscribe link
   (``alerts.residents.links.token_for``, its digest stored with the claim).
4. Sends from one asyncio event loop over a pooled ``httpx.AsyncClient``
   (alerts/delivery/sending.py): each lane bounded by its own slots and circuit breaker,
   paced under its provider's limit, each attempt bounded by a total deadline.
5. Records the outcomes as they come (alerts/delivery/recording.py).

Due ``notices`` (residents' confirmation codes and links) go the same way, and unconfirmed
subscription requests are dropped. A cancel or a disabled account takes effect before the
next attempt starts.

This module owns the lifetimes (loop thread, store thread, pool) and wires those parts.
"""

from __future__ import annotations

import asyncio
import logging
import random
import sys
import threading
from collections.abc import Callable
from collections.abc import Mapping
from concurrent.futures import Future
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import datetime

import httpx
import sqlite_utils

from alerts.db import file_of
from alerts.db import open_db
from alerts.delivery import policy as policies
from alerts.delivery.claims import Claims
from alerts.delivery.drain import Drain
from alerts.delivery.drain import Summary
from alerts.delivery.recording import Recorder
from alerts.delivery.sending import Sender
from alerts.delivery.transport import AiohttpTransport
from alerts.delivery.transport import CookielessClient

log = logging.getLogger(__name__)

# How long ``close`` lets a cancelled drain record and give back what it held.
CLOSE_SECONDS = 10.0
SWITCH_SECONDS = 0.001


def http_client(timeout: httpx.Timeout | None = None) -> httpx.AsyncClient:
    """One pooled client for every channel: explicit timeouts, redirects never followed,
    no cookies kept, aiohttp's pool beneath (see alerts/delivery/transport.py for why)."""
    timeout = timeout or httpx.Timeout(connect=3.0, read=10.0, write=10.0, pool=5.0)
    return CookielessClient(timeout=timeout, transport=AiohttpTransport(), follow_redirects=False)


class Dispatcher:
    """Sends due deliveries; lives as long as the worker (its pacing state, event loop,
    connection pool and store thread with it). The loop runs on its own thread, so
    ``dispatch_due`` may be called from any thread, even one running another event loop;
    one call at a time (the worker's scheduler runs one tick at a time)."""

    def __init__(
        self,
        config: Mapping,
        http: httpx.AsyncClient | None = None,
        rng: random.Random | None = None,
        rules: Mapping[str, policies.Policy] | None = None,
    ):
        """``rules`` replaces the channels' policies (tests use short deadlines)."""
        # The engine's threads hand Python's lock to each other within a millisecond, not
        # five: the writer's commits are what the next starts wait for, and with the loop
        # busy it waited up to 5 ms each time it came back from SQLite (scripts/bench:
        # record_lag p50 46 -> 34 ms, the fan-out no slower). Process-wide, and the worker
        # is a process of its own.
        sys.setswitchinterval(SWITCH_SECONDS)
        self.config = config
        self.http = http or http_client()
        self.rules = dict(rules or policies.POLICIES)
        self.recorder = Recorder(self.rules, rng or random.Random())
        self.sender = Sender(self.http, self.rules)
        self.claims = Claims(config, self.rules, self.sender.rule, self.sender.recent_refresh)
        self.drain: Drain | None = None  # the one running, if any
        self.draining: Future | None = None
        self.own_dbs: list[sqlite_utils.Database] = []  # the started engine's connections
        self.reported = Summary()
        self.loop = asyncio.new_event_loop()
        self.loop_thread = threading.Thread(
            target=self.loop.run_forever, name="engine-loop", daemon=True
        )
        self.loop_thread.start()
        self.store_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="store")
        self.writer_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="writer")

    def close(self) -> None:
        """Stop: cancel a drain still running (a signal stopped the worker mid-tick) and give
        it up to CLOSE_SECONDS to record what finished and put back in the queue what never
        started (what was being sent comes back as possible duplicates), then close the
        pool and end the threads."""
        if self.drain is not None and self.drain.task is not None:
            self._run(_cancel(self.drain.task, CLOSE_SECONDS))
        elif self.draining is not None:
            self.draining.cancel()
        try:
            self._run(self.http.aclose())
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.loop_thread.join()
            self.loop.close()
            self.store_thread.shutdown()
            self.writer_thread.shutdown()
            for db in self.own_dbs:
                db.close()

    def _run(self, coroutine):
        """Run a coroutine on the engine's loop and wait for its result."""
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result()

    async def _on_store_thread(self, function: Callable, *args):
        """Run ``function(*args)`` on the store thread (the loop keeps sending meanwhile)."""
        return await asyncio.get_running_loop().run_in_executor(self.store_thread, function, *args)

    async def _on_writer_thread(self, function: Callable, *args):
        """Run ``function(*args)`` on the writer's thread (starts and results)."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.writer_thread, function, *args)

    def dispatch_due(
        self,
        db: sqlite_utils.Database,
        now: datetime | None = None,
        budget: float = 0.0,
        heartbeat: Callable[[], None] | None = None,
    ) -> Summary:
        """Claim and send; claim more while work is due and ``budget`` seconds have not
        passed, then wait for what is in flight. ``heartbeat`` runs (on the store thread)
        after a recording, at most every few seconds: an exception from it stops the run."""
        writer_db = open_db(file_of(db))
        self.drain = self._drain(db, writer_db, now, budget, heartbeat, forever=False)
        self.draining = asyncio.run_coroutine_threadsafe(self.drain.run(), self.loop)
        try:
            return self.draining.result()
        finally:
            self.drain = None
            writer_db.close()

    def start(self, db: sqlite_utils.Database) -> None:
        """Run the engine until ``close``, on a connection of its own to ``db``'s file (the
        worker's scheduler thread keeps using ``db`` meanwhile)."""
        self.own_dbs = [open_db(file_of(db)), open_db(file_of(db))]
        self._start_forever()

    def _start_forever(self) -> None:
        claims_db, writer_db = self.own_dbs
        self.drain = self._drain(claims_db, writer_db, None, 0.0, None, forever=True)
        self.draining = asyncio.run_coroutine_threadsafe(self.drain.run(), self.loop)
        self.reported = Summary()

    def progress(self) -> Summary:
        """Return what the running engine did since the last call. An engine stopped by an
        error (a bug: the machine's failures it waits out) is logged and started again."""
        if self.draining is not None and self.draining.done():
            error = self.draining.exception()
            log.error("delivery engine stopped; starting it again", exc_info=error)
            self._start_forever()
        done, before = self.drain.summary, self.reported
        self.reported = replace(done, outcomes=dict(done.outcomes))
        outcomes = {k: v - before.outcomes.get(k, 0) for k, v in done.outcomes.items()}
        return Summary(
            done.recovered - before.recovered,
            done.expired - before.expired,
            done.claimed - before.claimed,
            {k: v for k, v in outcomes.items() if v},
            done.notices - before.notices,
        )

    def _drain(self, db, writer_db, now, budget, heartbeat, forever: bool) -> Drain:
        return Drain(
            self.claims,
            self.sender,
            self.recorder,
            self._on_store_thread,
            self.config,
            db,
            now,
            budget,
            heartbeat,
            forever,
            writer=(self._on_writer_thread, writer_db),
        )


async def _cancel(task: asyncio.Task, seconds: float) -> None:
    """Cancel ``task`` and wait at most ``seconds`` for it to end."""
    task.cancel()
    await asyncio.wait([task], timeout=seconds)
