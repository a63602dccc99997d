"""One ``Dispatcher.dispatch_due`` call: the coroutine that keeps the event loop busy.

It claims a batch (one trip to the store thread: housekeeping, claim, accounts, renderings),
queues the attempts to each channel's senders (one coroutine per slot), records what
finished in one transaction per flush (refreshing first a token a provider refused), and
claims again once little is left in flight, until nothing more is due or the budget is
spent. It keeps count of what it holds in memory, so that no claim takes it back as a dead
worker's; if it stops on an error, it records what finished and puts back in the queue what
never started.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from collections.abc import Awaitable
from collections.abc import Callable
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field
from dataclasses import replace
from datetime import datetime

from alerts.channels import CHANNELS
from alerts.channels import Account
from alerts.channels import Item
from alerts.channels import Outcome
from alerts.channels import Reaction
from alerts.clock import utcnow
from alerts.delivery.claims import Claims
from alerts.delivery.claims import Holding
from alerts.delivery.recording import Recorder
from alerts.delivery.recording import Result
from alerts.delivery.sending import Sender
from alerts.residents import subscriptions
from alerts.security import vault
from alerts.store.deliveries import Delivery
from alerts.store.notices import Notice
from alerts.warnings.outbox import PRIORITY

log = logging.getLogger(__name__)

# Claim the next batch once no more than this many attempts are still in flight.
LOW_WATER = 500
# Record finished attempts when this many are waiting, or after FLUSH_SECONDS.
RECORD_EVERY = 500
FLUSH_SECONDS = 0.25
# Renew the worker's lease (the caller's heartbeat) this often during a long drain.
HEARTBEAT_SECONDS = 5.0


@dataclass
class Summary:
    """What one call did (for logs, tests and /healthz)."""

    recovered: int = 0
    expired: int = 0
    claimed: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)
    notices: int = 0


class Drain:
    """One ``dispatch_due`` call: claim, send and record until nothing more is due or the
    budget is spent, then wait for what is in flight and record it.

    Its collaborators: ``claims`` (claim, prepare, give back: store-thread work),
    ``sender`` (send and refresh on the loop), ``recorder`` (record outcomes: store-thread
    work), and ``on_store_thread``, which runs a function on the one store thread."""

    def __init__(
        self,
        claims: Claims,
        sender: Sender,
        recorder: Recorder,
        on_store_thread: Callable[..., Awaitable],
        config: Mapping,
        db,
        now: datetime | None,
        budget: float,
        heartbeat,
    ):
        self.claims = claims
        self.sender = sender
        self.recorder = recorder
        self.on_store_thread = on_store_thread
        self.config = config  # seals a refreshed token pair
        self.db = db
        self.now = now
        self.budget = budget
        self.heartbeat = heartbeat
        self.started = time.monotonic()
        self.summary = Summary()
        self.held: set[tuple[str, int]] = set()  # (kind, id) claimed, not yet recorded
        # Claimed attempts waiting for a slot, a cancellation first, then in claim order.
        self.queues: dict[str, asyncio.PriorityQueue] = {}
        self.order = itertools.count()
        self.senders: list[asyncio.Task] = []  # a channel's slots: one sender each
        self.in_flight: dict[int, int] = {}  # attempts in flight per account
        self.queued: dict[str, int] = {}  # and per channel
        self.active = 0  # and in all
        self.finished: list[Result] = []
        # Set by a sender when the run loop has something to do: not on every attempt.
        self.progress = asyncio.Event()
        self.claiming = True
        self.flushed_at = self.beat_at = time.monotonic()
        self.task: asyncio.Task | None = None  # the task running ``run``

    async def run(self) -> Summary:
        self.task = asyncio.current_task()
        try:
            await self.on_store_thread(subscriptions.expire_pending, self.db, self.now or utcnow())
            await self._claim()
            while self.active or self.finished or self.claiming:
                if self.active:
                    await self._wait_for_progress()
                if self.finished and self._time_to_flush():
                    await self._flush()
                if self.claiming and time.monotonic() - self.started >= self.budget:
                    self.claiming = False
                if self.claiming and self.active <= LOW_WATER:
                    await self._claim()
        except BaseException:
            await self._give_back()
            raise
        finally:
            await self._stop_senders()
        return self.summary

    def _holding(self) -> Holding:
        kinds = {"Delivery": [], "Notice": []}
        for kind, work_id in self.held:
            kinds[kind].append(work_id)
        return Holding(dict(self.in_flight), dict(self.queued), kinds["Delivery"], kinds["Notice"])

    async def _claim(self) -> None:
        """Claim, open the accounts (refreshing a token about to expire), prepare, and start
        sending; stop claiming when nothing was due or the budget is spent."""
        claims, db = self.claims, self.db
        took = await self.on_store_thread(claims.claim, db, self.now or utcnow(), self._holding())
        self.summary.recovered += took.recovered
        self.summary.expired += took.expired
        self.summary.claimed += len(took.batch)
        self.summary.notices += len(took.notices)
        self.held.update(_key(w) for w in [*took.batch, *took.notices])
        spent = time.monotonic() - self.started >= self.budget
        self.claiming = bool(took.batch or took.notices) and not spent
        jobs = took.jobs
        if jobs is None:
            accounts = await self._refresh_expiring(took.accounts, took.expiring)
            jobs = await self.on_store_thread(
                claims.prepare, db, took.batch, took.notices, accounts
            )
        for work, job in jobs:
            if isinstance(job, Outcome):
                self.finished.append((work, job, 0.0))
            else:
                self._start(work, *job)

    async def _refresh_expiring(self, accounts: dict, expiring: list[Account]) -> dict:
        """Refresh each token about to expire (Zalo: 25 h) before it is used, storing the
        new pair first; if a refresh fails the current token may still work: try it.
        Returns the accounts with their fresh secrets."""
        accounts = dict(accounts)
        for account in expiring:
            secrets, failure = await self.sender.refresh(account)
            if secrets is None:
                await self.on_store_thread(self.claims.refresh_failed, self.db, account.id, failure)
                continue
            sealed, detail = vault.seal(self.config, secrets), {"before_expiry": True}
            await self.on_store_thread(
                self.recorder.store_secrets, self.db, account.id, sealed, detail
            )
            accounts[account.id] = replace(account, secrets=secrets)
        return accounts

    def _start(self, work: Delivery | Notice, account: Account, item: Item) -> None:
        """Queue an attempt for its channel's senders (started with the first one)."""
        self.in_flight[work.account_id] = self.in_flight.get(work.account_id, 0) + 1
        self.queued[work.channel] = self.queued.get(work.channel, 0) + 1
        self.active += 1
        if work.channel not in self.queues:
            self.queues[work.channel] = asyncio.PriorityQueue()
            for _ in range(self.sender.rules[work.channel].concurrency):
                sender = asyncio.create_task(self._sender(self.queues[work.channel]))
                self.senders.append(sender)
        queue = self.queues[work.channel]
        queue.put_nowait((-_priority(work), next(self.order), work, account, item))

    async def _sender(self, queue: asyncio.PriorityQueue) -> None:
        """One of a channel's slots: send its queued attempts one after another, and wake
        the run loop only when it has something to do: the first result to record since
        the last flush (it times the next flush), a full batch of results, the next batch
        to claim, or nothing left in flight. (Waking it on every attempt cost more than
        the pacing.)"""
        while True:
            _, _, *attempt = await queue.get()
            work, outcome, seconds = await self.sender.send_one(*attempt)
            self.in_flight[work.account_id] -= 1
            self.queued[work.channel] -= 1
            self.active -= 1
            self.finished.append((work, outcome, seconds))
            done = len(self.finished)
            if done == 1 or done >= RECORD_EVERY or self.active in (0, LOW_WATER):
                self.progress.set()

    async def _wait_for_progress(self) -> None:
        """Wait for a sender's wake-up call, at most until the results waiting are due to
        be recorded (FLUSH_SECONDS when none wait: the budget is checked that often)."""
        wait = FLUSH_SECONDS
        if self.finished:
            wait = self.flushed_at + FLUSH_SECONDS - time.monotonic()
            if wait <= 0:
                return
        try:
            async with asyncio.timeout(wait or None):
                await self.progress.wait()
        except TimeoutError:
            pass
        self.progress.clear()

    def _time_to_flush(self) -> bool:
        return (
            not self.active
            or len(self.finished) >= RECORD_EVERY
            or time.monotonic() >= self.flushed_at + FLUSH_SECONDS  # as _wait_for_progress
        )

    async def _flush(self) -> None:
        """Record what finished: refresh first the accounts told their token is stale."""
        results, self.finished = self.finished, []
        self.flushed_at = time.monotonic()
        refreshed: dict[int, str | None] = {}
        if any(o.reaction == Reaction.REFRESH_TOKEN for _, o, _ in results):
            refreshed = await self._refresh_stale(results)
        outcomes = self.summary.outcomes
        await self.on_store_thread(self.recorder.record, self.db, results, refreshed, outcomes)
        self.held.difference_update(_key(work) for work, _, _ in results)
        if self.heartbeat is not None and time.monotonic() - self.beat_at >= HEARTBEAT_SECONDS:
            self.beat_at = time.monotonic()
            await self.on_store_thread(self.heartbeat)

    async def _refresh_stale(self, results: list[Result]) -> dict[int, str | None]:
        """Refresh each account once whose token a provider refused; store the new pair.
        Returns account -> None (refreshed) or why not (the channel is then stopped)."""
        db = self.db
        refreshed: dict[int, str | None] = {}
        wanting = await self.on_store_thread(self.recorder.wanting_refresh, db, results)
        accounts = await self.on_store_thread(self.claims.open_accounts, db, wanting)
        for account_id, account in accounts.items():
            if isinstance(account, Outcome):
                refreshed[account_id] = account.detail
                continue
            if not CHANNELS[account.channel].refreshes:
                continue  # nothing to refresh: the refusal stops the channel
            secrets, failure = await self.sender.refresh(account)
            if secrets is not None:
                sealed = vault.seal(self.config, secrets)
                detail = {"channel": account.channel}
                await self.on_store_thread(
                    self.recorder.store_secrets, db, account_id, sealed, detail
                )
            refreshed[account_id] = failure or None
        return refreshed

    async def _give_back(self) -> None:
        """After an error (or a cancel): record what finished and put back in the queue
        what never started, as far as the database lets us. What was being sent stays
        "sending" until its lease ends and comes back as a possible duplicate."""
        waiting = [q.get_nowait()[2] for q in self.queues.values() for _ in range(q.qsize())]
        self.heartbeat = None  # the drain is over: no more lease renewals from it
        try:
            if self.finished:
                await self._flush()
            await self.on_store_thread(self.claims.unclaim, self.db, waiting)
        except Exception:  # the error that stopped the drain is the one to report
            log.exception("could not give back what the stopped drain held")

    async def _stop_senders(self) -> None:
        """Stop the channels' senders (idle after a normal run) and the deadlines' sweeper."""
        for sender in self.senders:
            sender.cancel()
        await asyncio.gather(*self.senders, return_exceptions=True)
        await self.sender.deadlines.stop()


def _priority(work: Delivery | Notice) -> int:
    """Return how soon an attempt goes out among those claimed: a cancellation claimed
    while a fan-out is still queued overtakes it (a resident's code: a warning's rank)."""
    return PRIORITY[work.msg_type] if isinstance(work, Delivery) else PRIORITY["Alert"]


def _key(work: Delivery | Notice) -> tuple[str, int]:
    """Return what tells a delivery from a notice with the same id."""
    return (type(work).__name__, work.id)
