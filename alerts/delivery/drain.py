"""The engine at work: one lane per account, the claims that fill them, and the writer that
makes every start and every result durable (docs/reliability.md#lanes).

- **Lanes.** Each account has its own queue of claimed attempts (a cancellation first,
  then in claim order) and its own slots (the channel's concurrency) and pacing windows.
  A provider that hangs holds only its own lane's slots; every other lane goes on.
- **Claims.** At least every CLAIM_SECONDS, and at once when a lane runs low, one trip to
  the store thread claims for each lane what it has room for (alerts/delivery/claims.py),
  and a cancellation whatever its room: new work, above all a cancellation, is claimed
  within a tick whatever the other lanes are doing.
- **Starts.** A slot writes that its attempt starts and waits for the commit before the
  request goes: an attempt cancelled since its claim is never made, and after a crash
  only attempts that had started are marked possible duplicates.
- **The writer.** One transaction at a time records what came back and marks the next
  starts (group commit: whatever gathered while the last commit ran). What came back is
  durable within one commit of its answer, before its lane's next attempt can start.
- An account whose breaker opens, or that is disabled, gives back what waits in its lane.

Used two ways: ``forever`` (the worker: until cancelled; a failing write or claim is
retried, so the engine resumes by itself once the disk has room again), or once until
nothing more is due (``Dispatcher.dispatch_due``: tests, the CLI, the benchmark).
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import sqlite3
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
from alerts.delivery.claims import lane_size
from alerts.delivery.recording import Recorder
from alerts.delivery.recording import Result
from alerts.delivery.sending import Sender
from alerts.residents import subscriptions
from alerts.security import vault
from alerts.store.deliveries import Delivery
from alerts.store.notices import Notice
from alerts.warnings.outbox import PRIORITY

log = logging.getLogger(__name__)

# Claim at least this often (and at once when a lane is down to half its size).
CLAIM_SECONDS = 0.5
# Take back what nobody holds, drop claims cancelled meanwhile and unconfirmed
# subscription requests past their time, this often.
HOUSEKEEPING_SECONDS = 5.0
# Renew the worker's lease (the caller's heartbeat) this often during a long drain.
HEARTBEAT_SECONDS = 5.0
# After a failed write (a full disk), try again this soon; log it at most this often.
RETRY_SECONDS = 0.5
COMPLAIN_SECONDS = 60.0
LAG_SAMPLE = 100_000
# The failures of the machine a running engine waits out instead of stopping.
TROUBLE = (sqlite3.Error, OSError)


@dataclass
class Summary:
    """What one call did (for logs, tests and /healthz)."""

    recovered: int = 0
    expired: int = 0
    claimed: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)
    notices: int = 0
    # Seconds from each answer to the commit that recorded it (a sample, for the bench).
    lags: list[float] = field(default_factory=list, repr=False)


@dataclass
class Lane:
    """One account's claimed attempts waiting for a slot, and its slots."""

    size: int
    queue: asyncio.PriorityQueue = field(default_factory=asyncio.PriorityQueue)
    waiting: dict[tuple[str, int], Delivery | Notice] = field(default_factory=dict)
    slots: list[asyncio.Task] = field(default_factory=list)
    stopped: bool = False  # its breaker opened: nothing more starts until a new claim

    def put(self, priority: int, order: int, work, account: Account, item: Item) -> None:
        self.waiting[_key(work)] = work
        self.queue.put_nowait((-priority, order, work, account, item))

    async def take(self) -> tuple:
        """Return the next attempt: a cancellation first, then in claim order."""
        _, _, work, account, item = await self.queue.get()
        del self.waiting[_key(work)]
        return work, account, item

    def take_out(self, leaving: Callable[[Delivery | Notice], bool]) -> list:
        """Take out of the queue the attempts ``leaving`` picks; return them."""
        kept, left = [], []
        while not self.queue.empty():
            entry = self.queue.get_nowait()
            (left if leaving(entry[2]) else kept).append(entry)
        for entry in kept:
            self.queue.put_nowait(entry)
        for entry in left:
            del self.waiting[_key(entry[2])]
        return [entry[2] for entry in left]


class Drain:
    """One engine run: claim, send and record until cancelled (``forever``) or until
    nothing more is due or the budget is spent, then wait for what is in flight.

    Its collaborators: ``claims`` (claim, prepare, give back: store-thread work),
    ``sender`` (pacing, send and refresh on the loop), ``recorder`` (record outcomes and
    starts: on the writer's thread), and ``on_store_thread``, which runs a function on the
    one store thread."""

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
        forever: bool = False,
        writer: tuple[Callable[..., Awaitable], object] | None = None,
    ):
        self.claims = claims
        self.sender = sender
        self.recorder = recorder
        self.on_store_thread = on_store_thread
        # Where starts and results are written: a thread and connection of their own, so a
        # claim being prepared never holds up the next start (the store's, if none).
        self.on_writer_thread, self.writer_db = writer or (on_store_thread, db)
        self.config = config  # seals a refreshed token pair
        self.db = db
        self.now = now
        self.budget = budget
        self.heartbeat = heartbeat
        self.forever = forever
        self.started = time.monotonic()
        self.summary = Summary()
        self.held: set[tuple[str, int]] = set()  # (kind, id) claimed, not yet recorded
        self.per_account: dict[int, int] = {}  # the same, counted per account
        self.lanes: dict[int, Lane] = {}
        self.order = itertools.count()
        self.in_slots: dict[asyncio.Task, Delivery | Notice] = {}  # taken, not started
        self.starting: list[tuple[Delivery, asyncio.Future]] = []
        self.finished: list[Result] = []
        self.stale: list[Result] = []  # refused tokens: recorded after the refresh
        self.refreshed: dict[int, str | None] = {}
        self.answered: dict[tuple[str, int], float] = {}  # when each result came back
        self.claiming = True
        self.housekept_at = float("-inf")
        self.beat_at = time.monotonic()
        self.complained: dict[str, float] = {}
        self.wake_writer = asyncio.Event()
        self.wake_claims = asyncio.Event()
        self.changed = asyncio.Event()
        self.failure: BaseException | None = None
        self.tasks: list[asyncio.Task] = []
        self.refresher: asyncio.Task | None = None
        self.task: asyncio.Task | None = None  # the task running ``run``

    def _now(self) -> datetime:
        return self.now or utcnow()

    async def run(self) -> Summary:
        self.task = asyncio.current_task()
        try:
            self.tasks = [self._guarded(self._writer()), self._guarded(self._claimer())]
            while self.forever or not self._done():
                await self.changed.wait()
                self.changed.clear()
                if self.failure is not None:
                    raise self.failure
        except BaseException:
            await self._give_back()
            raise
        finally:
            await self._stop()
        return self.summary

    def _guarded(self, coroutine) -> asyncio.Task:
        """Run a background part; its failure stops the run (``run`` raises it)."""

        async def guarded():
            try:
                await coroutine
            except asyncio.CancelledError:
                raise
            except BaseException as error:
                self.failure = error
                self.changed.set()

        return asyncio.create_task(guarded())

    def _done(self) -> bool:
        busy = self.held or self.stale or self.finished or self.starting
        return not self.claiming and not busy

    # --- claims ------------------------------------------------------------------------

    async def _claimer(self) -> None:
        while self.forever or self.claiming:
            try:
                await self._claim()
            except TROUBLE as error:
                if not self.forever:
                    raise
                self._complain("claim", error)
            if not (self.forever or self.claiming):
                break
            try:
                async with asyncio.timeout(CLAIM_SECONDS):
                    await self.wake_claims.wait()
            except TimeoutError:
                pass
            self.wake_claims.clear()
        self.changed.set()

    def _holding(self, housekeeping: bool) -> Holding:
        kinds = {"Delivery": [], "Notice": []}
        for kind, work_id in self.held:
            kinds[kind].append(work_id)
        waiting = []
        if housekeeping:
            waiting = [w.id for w in self._waiting() if isinstance(w, Delivery)]
        return Holding(
            dict(self.per_account), kinds["Delivery"], kinds["Notice"], waiting, housekeeping
        )

    async def _claim(self) -> None:
        """Claim, open the accounts (refreshing a token about to expire), prepare, and queue
        each attempt in its lane; a run that is not ``forever`` stops claiming when
        nothing more is due or the budget is spent."""
        claims, db = self.claims, self.db
        housekeeping = time.monotonic() - self.housekept_at >= HOUSEKEEPING_SECONDS
        if housekeeping:  # unconfirmed subscription requests end after their 24 h
            await self.on_store_thread(subscriptions.expire_pending, db, self._now())
        took = await self.on_store_thread(
            claims.claim, db, self._now(), self._holding(housekeeping)
        )
        if housekeeping:
            self.housekept_at = time.monotonic()
        self.summary.recovered += took.recovered
        self.summary.expired += took.expired
        self.summary.claimed += len(took.batch)
        self.summary.notices += len(took.notices)
        for work in [*took.batch, *took.notices]:
            self.held.add(_key(work))
            self.per_account[work.account_id] = self.per_account.get(work.account_id, 0) + 1
        self._drop(set(took.gone))
        spent = time.monotonic() - self.started >= self.budget
        self.claiming = self.forever or (
            bool(took.batch or took.notices or took.more) and not spent
        )
        jobs = took.jobs
        if jobs is None:
            accounts = await self._refresh_expiring(took.accounts, took.expiring)
            jobs = await self.on_store_thread(
                claims.prepare, db, took.batch, took.notices, accounts
            )
        for work, job in jobs:
            if isinstance(job, Outcome):
                self._finished((work, job, 0.0))
            else:
                self._queue(work, *job)

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

    # --- lanes -------------------------------------------------------------------------

    def _queue(self, work: Delivery | Notice, account: Account, item: Item) -> None:
        """Queue an attempt in its account's lane (its slots start with the first one)."""
        size = lane_size(self.sender.rule(work.channel, account.settings))
        lane = self.lanes.get(work.account_id)
        if lane is None:
            lane = self.lanes[work.account_id] = Lane(size)
            for _ in range(self.sender.rules[work.channel].concurrency):
                lane.slots.append(asyncio.create_task(self._slot(lane)))
        lane.size = size
        lane.stopped = False  # claimed again: the breaker let it through
        lane.put(_priority(work), next(self.order), work, account, item)

    async def _slot(self, lane: Lane) -> None:
        """One of a lane's slots: take the next attempt, wait for its pacing turn, have its
        start made durable (none if it was cancelled meanwhile), send, and hand the
        result to the writer. The turn counts until a period after the answer
        (alerts/delivery/pacing.py); a 429 holds the whole account for the time it says."""
        me = asyncio.current_task()
        while True:
            work, account, item = await lane.take()
            self.in_slots[me] = work
            turn = await self.sender.pacer.turn(self.sender.windows(work, account))
            if lane.stopped:  # its breaker opened while this one waited for its turn
                turn.give_back()
                del self.in_slots[me]
                await self._give_back_one(work)
                continue
            if isinstance(work, Delivery) and not await self._start(work):
                turn.give_back()
                del self.in_slots[me]
                self._forget([work])
                continue
            del self.in_slots[me]
            result = await self.sender.send(work, account, item)
            turn.answered()
            self.sender.hold(account, result[1])
            self._finished(result)

    async def _start(self, work: Delivery) -> bool:
        """Wait until the writer has recorded that this attempt starts; False if the
        delivery is no longer claimed (cancelled since): it must not be sent."""
        started = asyncio.get_running_loop().create_future()
        self.starting.append((work, started))
        self.wake_writer.set()
        return await started

    def _waiting(self) -> list[Delivery | Notice]:
        """Return every attempt claimed and not started: in a lane's queue or a slot's hand."""
        queued = [work for lane in self.lanes.values() for work in lane.waiting.values()]
        return queued + list(self.in_slots.values())

    def _drop(self, gone: set[int]) -> None:
        """Forget the waiting deliveries cancelled since their claim (a slot that already
        holds one learns it when its start is refused)."""
        if not gone:
            return
        for lane in self.lanes.values():
            self._forget(lane.take_out(lambda w: isinstance(w, Delivery) and w.id in gone))

    def _forget(self, works: list[Delivery | Notice]) -> None:
        """Stop holding works that will not be recorded (cancelled, or given back)."""
        for work in works:
            self.held.discard(_key(work))
            self.per_account[work.account_id] -= 1
        if works:
            self.wake_claims.set()
            self.changed.set()

    async def _stop_lane(self, account_id: int) -> None:
        """Give back what waits in an account's lane: its breaker opened, or it was
        disabled. None of it started, so none of it is a possible duplicate."""
        lane = self.lanes.get(account_id)
        if lane is None:
            return
        lane.stopped = True
        waiting = lane.take_out(lambda _: True)
        if waiting:
            try:
                await self.on_store_thread(self.claims.unclaim, self.db, waiting)
            except TROUBLE as error:  # housekeeping takes them back once nobody holds them
                self._complain("give back", error)
        self._forget(waiting)

    async def _give_back_one(self, work: Delivery | Notice) -> None:
        """Put one attempt of a stopped lane back in the queue (it never started)."""
        try:
            await self.on_store_thread(self.claims.unclaim, self.db, [work])
        except TROUBLE as error:  # housekeeping takes it back once nobody holds it
            self._complain("give back", error)
        self._forget([work])

    # --- the writer --------------------------------------------------------------------

    def _finished(self, result: Result) -> None:
        """Hand a result to the writer (a refused token: to the refresher first)."""
        if result[1].reaction == Reaction.REFRESH_TOKEN:
            self.stale.append(result)
            if self.refresher is None or self.refresher.done():
                self.refresher = self._guarded(self._refresh_then_record())
            return
        self.answered[_key(result[0])] = time.monotonic()
        self.finished.append(result)
        self.wake_writer.set()

    async def _writer(self) -> None:
        """Record what came back and mark what starts, one transaction at a time, each
        holding whatever gathered while the one before it ran."""
        while True:
            await self.wake_writer.wait()
            self.wake_writer.clear()
            while self.starting or self.finished:
                await self._write()
            self.changed.set()

    async def _write(self) -> None:
        """One transaction: the results gathered, then the starts (each waits for the
        answers recorded with it)."""
        starting, self.starting = self.starting, []
        results, self.finished = self.finished, []
        await self._commit(starting, results)

    async def _commit(self, starting: list, results: list[Result]) -> None:
        outcomes: dict[str, int] = {}
        try:
            flushed = await self.on_writer_thread(
                self.recorder.record,
                self.writer_db,
                results,
                dict(self.refreshed),
                outcomes,
                [work for work, _ in starting],
                [account_id for account_id, lane in self.lanes.items() if lane.stopped],
            )
        except TROUBLE as error:
            self.starting[:0], self.finished[:0] = starting, results  # nothing is lost
            if not self.forever:
                raise
            self._complain("record", error)
            await asyncio.sleep(RETRY_SECONDS)
            return
        for reaction, count in outcomes.items():
            self.summary.outcomes[reaction] = self.summary.outcomes.get(reaction, 0) + count
        for work, started in starting:
            if not started.done():
                started.set_result(work.id in flushed.started)
        self._recorded(results)
        for account_id in flushed.stopped:
            await self._stop_lane(account_id)
        if results and self.heartbeat is not None:
            if time.monotonic() - self.beat_at >= HEARTBEAT_SECONDS:
                self.beat_at = time.monotonic()
                await self.on_store_thread(self.heartbeat)

    def _recorded(self, results: list[Result]) -> None:
        now, lags = time.monotonic(), self.summary.lags
        for work, _, _ in results:
            answered = self.answered.pop(_key(work), None)
            if answered is not None and len(lags) < LAG_SAMPLE:
                lags.append(now - answered)
            self.held.discard(_key(work))
            self.per_account[work.account_id] -= 1
            lane = self.lanes.get(work.account_id)
            if lane is not None and self.per_account[work.account_id] <= lane.size // 2:
                self.wake_claims.set()
        if results:
            self.changed.set()

    async def _refresh_then_record(self) -> None:
        """Refresh the accounts whose token a provider refused, then record those results."""
        while self.stale:
            results, self.stale = self.stale, []
            self.refreshed.update(await self._refresh_stale(results))
            self.finished.extend(results)
            self.wake_writer.set()

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

    def _complain(self, what: str, error: BaseException) -> None:
        """Log a failure the engine waits out, at most once a minute for each part."""
        now = time.monotonic()
        if now - self.complained.get(what, float("-inf")) >= COMPLAIN_SECONDS:
            self.complained[what] = now
            log.error("delivery engine: could not %s (retrying): %s", what, error)

    # --- stopping ----------------------------------------------------------------------

    async def _give_back(self) -> None:
        """After an error (or a cancel): stop the slots, record what finished and put back
        in the queue what never started, as far as the database lets us. What was being
        sent stays "sending", started, and comes back as a possible duplicate."""
        self.heartbeat = None  # the run is over: no more lease renewals from it
        await self._cancel_tasks()
        waiting = self._waiting()
        results = self.finished + self.stale
        self.finished, self.stale = [], []
        try:
            if results:
                refreshed = dict(self.refreshed)
                await self.on_writer_thread(
                    self.recorder.record, self.writer_db, results, refreshed, {}
                )
            await self.on_store_thread(self.claims.unclaim, self.db, waiting)
        except Exception:  # the error that stopped the run is the one to report
            log.exception("could not give back what the stopped engine held")

    async def _cancel_tasks(self) -> None:
        tasks = [*self.tasks, *(s for lane in self.lanes.values() for s in lane.slots)]
        if self.refresher is not None:
            tasks.append(self.refresher)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for _, started in self.starting:
            started.cancel()

    async def _stop(self) -> None:
        """Stop the slots, the writer, the claims and the deadlines' sweeper."""
        await self._cancel_tasks()
        await self.sender.deadlines.stop()


def _priority(work: Delivery | Notice) -> int:
    """Return how soon an attempt goes out among those claimed: a cancellation claimed
    while a fan-out is still queued overtakes it (a resident's code: a warning's rank)."""
    return PRIORITY[work.msg_type] if isinstance(work, Delivery) else PRIORITY["Alert"]


def _key(work: Delivery | Notice) -> tuple[str, int]:
    """Return what tells a delivery from a notice with the same id."""
    return (type(work).__name__, work.id)
