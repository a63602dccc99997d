"""The dispatcher: drain the outbox over every channel's API.

Each call (RELIABILITY.md C2) returns to the queue what a dead worker left in flight
(possible duplicates), dead-letters what expired, claims a batch in one short transaction
and sends it from one asyncio event loop with a pooled ``httpx.AsyncClient``: hundreds of
requests wait on providers at once, each channel bounded by its own slots, paced under each
provider's limit, each attempt bounded by a total deadline. Outcomes are recorded in one
transaction per flush.

The database work runs on one "store" thread while the loop keeps sending: the next batch
is claimed and the finished attempts recorded while the current batch is in flight, so a
big fan-out never stops at a batch boundary (one call's course: alerts/delivery/drain.py;
what each outcome does: alerts/delivery/recording.py). At most ``per_second x deadline`` deliveries
of one account are in flight (its pacing never waits longer than a deadline), a lease is
sized to the attempts queued ahead on the channel, and the recovery of expired leases
never touches what this worker still holds in memory: only a dead worker's come back.
A cancel or a disabled account takes effect at the next claim (at most two batches on),
and a cancellation claimed then overtakes whatever of the fan-out is still queued.

A channel whose account keeps failing is skipped by its circuit breaker, and a hung
provider only holds its own channel's slots: the others keep going. Before anything goes
out the revision is checked again: the content must be the approved content and the
message must be signed, or nothing is sent.

The same path sends the due ``notices`` (residents' confirmation codes and links: messages
that are not warnings), with the same reactions, and drops the subscription requests nobody
confirmed. A resident's copy carries their own one-click unsubscribe link
(``alerts.residents.subscriptions.token_for``: derived from the id and SECRET_KEY, its digest stored
as the batch is claimed, so the link finds the subscription).
"""

from __future__ import annotations

import asyncio
import logging
import random
import threading
import time
from collections.abc import Callable
from collections.abc import Mapping
from concurrent.futures import Future
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import datetime
from datetime import timedelta

import httpx
import sqlite_utils

from alerts import audit
from alerts.channels import Account
from alerts.channels import Item
from alerts.channels import Outcome
from alerts.channels import Reaction
from alerts.channels import client_for
from alerts.channels.http import describe
from alerts.clock import to_text
from alerts.clock import utcnow
from alerts.db import write
from alerts.delivery import policy as policies
from alerts.delivery.deadlines import Deadlines
from alerts.delivery.drain import Claimed
from alerts.delivery.drain import Drain
from alerts.delivery.drain import Holding
from alerts.delivery.drain import Summary
from alerts.delivery.pacing import Pacer
from alerts.delivery.recording import Recorder
from alerts.delivery.recording import Result
from alerts.delivery.recording import audit_event
from alerts.delivery.transport import AiohttpTransport
from alerts.delivery.transport import CookielessClient
from alerts.render import Rendering
from alerts.render import RenderSettings
from alerts.render import registry
from alerts.residents import subscriptions
from alerts.security import vault
from alerts.store import accounts as account_store
from alerts.store import deliveries as store
from alerts.store import notices as notice_store
from alerts.store import outbox_rows
from alerts.store import signatures as signature_store
from alerts.store import warnings as warning_store
from alerts.store.deliveries import Delivery
from alerts.store.notices import Notice
from alerts.warnings import integrity
from alerts.warnings import publication

log = logging.getLogger(__name__)

BATCH = 500
NOTICE_BATCH = 100
LEASE_MARGIN = 30.0
# How long ``close`` lets a cancelled drain record and give back what it held.
CLOSE_SECONDS = 10.0
# Ask a provider for a new token at most this often per account (seconds).
REFRESH_SPACING = 60.0

Job = tuple[Account, Item] | Outcome


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
        self.config = config
        self.http = http or http_client()
        self.rules = dict(rules or policies.POLICIES)
        self._rules_by_rate: dict[tuple, policies.Policy] = {}
        self.recorder = Recorder(self.rules, rng or random.Random())
        self.pacer = Pacer()
        self.deadlines = Deadlines()
        self.refreshed: dict[int, tuple[float, str]] = {}  # account: (when, failure or "")
        self.drain: Drain | None = None  # the one running, if any
        self.draining: Future | None = None
        self.loop = asyncio.new_event_loop()
        self.loop_thread = threading.Thread(
            target=self.loop.run_forever, name="engine-loop", daemon=True
        )
        self.loop_thread.start()
        self.store_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="store")

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

    def _run(self, coroutine):
        """Run a coroutine on the engine's loop and wait for its result."""
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result()

    def dispatch_due(
        self,
        db: sqlite_utils.Database,
        now: datetime | None = None,
        budget: float = 0.0,
        heartbeat: Callable[[], None] | None = None,
    ) -> Summary:
        """Claim a batch and send it; claim more while work is due and ``budget`` seconds
        have not passed (the worker drains a big fan-out without waiting for ticks).
        ``heartbeat`` runs (on the store thread) after each recording: the worker renews
        its lease there, and an exception from it stops the drain."""
        self.drain = Drain(self, db, now, budget, heartbeat)
        self.draining = asyncio.run_coroutine_threadsafe(self.drain.run(), self.loop)
        try:
            return self.draining.result()
        finally:
            self.drain = None

    def _rule(self, channel: str, settings: Mapping) -> policies.Policy:
        """Return a channel's policy with the account's own (lower) rate, if it set one."""
        key = (channel, settings.get("per_second"))
        if key not in self._rules_by_rate:
            self._rules_by_rate[key] = policies.with_rate(self.rules[channel], settings)
        return self._rules_by_rate[key]

    # --- sending (on the event loop) -------------------------------------------------------

    async def send_one(self, work: Delivery | Notice, account: Account, item: Item) -> Result:
        """Wait for the pace, then send within the channel's deadline; an attempt past its
        deadline counts as UNKNOWN (it may have arrived). The caller holds a slot."""
        rule = self.rules[work.channel]
        began = time.monotonic()
        try:
            rule = self._rule(work.channel, account.settings)
            chat = None
            if rule.per_target_per_second and work.target != "broadcast":
                chat = (account.id, work.target)
            await self.pacer.wait(account.id, rule.per_second, chat, rule.per_target_per_second)
            began = time.monotonic()
            client = client_for(work.channel)
            outcome = await self.deadlines.within(
                rule.deadline, client.send(self.http, account, item)
            )
        except TimeoutError:
            outcome = Outcome(Reaction.UNKNOWN, f"no answer within {rule.deadline:.0f} s")
        except Exception as error:  # a bug here must not lose the delivery or the slot
            outcome = Outcome(Reaction.RETRY_BACKOFF, f"client error: {type(error).__name__}")
        return work, outcome, time.monotonic() - began

    async def refresh(self, account: Account) -> tuple[dict | None, str]:
        """Ask the channel for a new token pair, within the channel's deadline; return
        (secrets, "") or (None, why not). An account is asked at most once a minute
        (``REFRESH_SPACING``): attempts sent with the old token keep coming back refused
        for a moment after a refresh, and Zalo's refresh token works only once, so a
        second refresh would throw away the pair just stored; within the minute the last
        answer stands (None, "" after a success: retry with the stored pair)."""
        recent = self.recent_refresh(account.id)
        if recent is not None:
            return None, recent
        client = client_for(account.channel)
        try:
            deadline = self.rules[account.channel].deadline
            fresh = await self.deadlines.within(deadline, client.refresh(self.http, account))
        except Exception as error:
            failure = f"token refresh failed: {describe(error)}"[:300]
            self.refreshed[account.id] = (time.monotonic(), failure)
            return None, failure
        self.refreshed[account.id] = (time.monotonic(), "")
        return {**account.secrets, **fresh}, ""

    def recent_refresh(self, account_id: int) -> str | None:
        """Return how the account's refresh within the last minute went ("" for a success,
        else why it failed), or None if there was none."""
        last = self.refreshed.get(account_id)
        if last is None or time.monotonic() - last[0] >= REFRESH_SPACING:
            return None
        return last[1]

    # --- the store thread's side ---------------------------------------------------------

    def claim(self, db, now: datetime, drain: Holding) -> Claimed:
        """Housekeeping, then claim due deliveries (no more per account than its rate lets
        out within one deadline, counting those still in flight) and due notices, then
        open their accounts and, unless a token is about to expire, prepare them.
        ``drain`` says what this worker holds in memory: never recovered as a dead
        worker's, and counted for the quota and the lease.

        One trip to the store thread for the whole claim keeps the next batch coming
        while the loop sends."""
        moment = to_text(now)
        in_flight, queued = drain.in_flight, drain.queued
        with write(db):
            recovered = store.recover_expired_leases(db, moment, held=drain.deliveries)
            expired = store.expire_queued(db, moment)
            notice_store.recover_expired_leases(db, moment, held=drain.notices)
            notice_store.expire_queued(db, moment)
            batch = self._take(db, moment, in_flight)
            notices = notice_store.due(db, moment, NOTICE_BATCH)
            lease = self._lease([*batch, *notices], now, queued)
            outbox_rows.claim(db, "deliveries", [d.id for d in batch], lease)
            outbox_rows.claim(db, "notices", [n.id for n in notices], lease)
            if self.config.get("SECRET_KEY"):
                emailed = [d.subscription_id for d in batch if d.channel == "email"]
                subscriptions.remember_tokens(db, self.config, [i for i in emailed if i])
        accounts = self.open_accounts(db, {w.account_id for w in [*batch, *notices]})
        expiring = self._expiring(accounts)
        jobs = None if expiring else self.prepare(db, batch, notices, accounts)
        return Claimed(batch, notices, accounts, expiring, jobs, recovered, expired)

    def _take(self, db, moment: str, in_flight: Mapping[int, int]) -> list[Delivery]:
        """Return up to a batch of due deliveries, top priority first, no account past its
        quota. An account that reaches its quota is left out and the rest of the batch is
        filled from the others, so a slow channel's long queue (Telegram: 28/s) never holds
        a fast one's back (SMS to the same commune)."""
        quotas: dict[int, int] = {}
        full = {a for a, n in in_flight.items() if n >= self._quota(db, a, quotas)}
        taken, batch = dict(in_flight), []
        while len(batch) < BATCH:
            picked = [d.id for d in batch]
            candidates = store.due(db, moment, BATCH - len(batch), full, picked)
            filled = set()
            for delivery in candidates:
                account = delivery.account_id
                if taken.get(account, 0) < self._quota(db, account, quotas):
                    taken[account] = taken.get(account, 0) + 1
                    batch.append(delivery)
                else:
                    filled.add(account)
            if not candidates or not filled:
                return batch
            full |= filled
        return batch

    def _quota(self, db, account_id: int, known: dict[int, int]) -> int:
        """Return how many attempts of an account may be in flight: what its rate lets out
        within one deadline (at least one). An account at its quota is left out of the
        claim, so a slow channel's long queue never holds a fast one's back."""
        if account_id not in known:
            stored = account_store.get_account(db, account_id)
            rule = self._rule(stored.channel, stored.settings)
            known[account_id] = max(1, int(rule.per_second * rule.deadline))
        return known[account_id]

    def _lease(self, works, now: datetime, queued: Mapping[str, int]) -> str:
        """Return how long this worker holds what it claims: until the last attempt of
        each channel would end if every attempt ahead of it, in flight or just claimed,
        ran to its deadline on the channel's slots. (What this worker holds is never
        recovered while it runs in any case; the lease tells a later worker when the
        attempts of a dead one can be taken back.)"""
        longest = 0.0
        for channel in {w.channel for w in works}:
            ahead = queued.get(channel, 0) + sum(w.channel == channel for w in works)
            longest = max(longest, policies.worst_case_seconds(self.rules[channel], ahead))
        return to_text(now + timedelta(seconds=longest + LEASE_MARGIN))

    def _expiring(self, accounts: Mapping[int, Account | Outcome]) -> list[Account]:
        """Return the opened accounts whose token is about to expire (Zalo: 25 h) and
        that were not asked for a new one within the last minute."""
        found = []
        for account in accounts.values():
            if isinstance(account, Outcome) or self.recent_refresh(account.id) is not None:
                continue
            client = client_for(account.channel)
            needs = getattr(client, "needs_refresh", None)
            if needs is not None and needs(account, utcnow()):
                found.append(account)
        return found

    def open_accounts(self, db, ids) -> dict[int, Account | Outcome]:
        """Open each account (secrets unsealed), or the outcome that stops its deliveries."""
        return {i: self._account(db, i) for i in ids}

    def _account(self, db, account_id: int) -> Account | Outcome:
        stored = account_store.get_account(db, account_id)
        try:
            secrets = vault.unseal(self.config, stored.secrets)
        except vault.VaultError as error:
            return Outcome(Reaction.DISABLE_CHANNEL, str(error))
        return Account(stored.id, stored.channel, stored.base_url, stored.settings, secrets)

    def unclaim(self, db, works: list[Delivery | Notice]) -> None:
        """Put back in the queue what was claimed but never started."""
        with write(db):
            outbox_rows.unclaim(db, "deliveries", [w.id for w in works if isinstance(w, Delivery)])
            outbox_rows.unclaim(db, "notices", [w.id for w in works if isinstance(w, Notice)])

    def refresh_failed(self, db, account_id: int, error: str) -> None:
        with write(db):
            audit_event(db, "channel.refresh_failed", account_id, {"error": error[:200]})

    def prepare(self, db, batch, notices, accounts) -> list[tuple[Delivery | Notice, Job]]:
        """Render each message once (as signed: refused if the content is not the approved
        one) and pair every delivery and notice with its account and item, or with the
        outcome that stops it. A resident's copy carries their own stop link: it is
        rendered with the first recipient's link, and the others get theirs swapped in.
        Every link has the length of the preview's (``publication.PREVIEW_TOKEN``), so each
        copy is the text the approver saw but for the token, and every count and the SMS
        budget hold; a link of another length is rendered afresh, never swapped."""
        renderings: dict[tuple, tuple[Rendering | Outcome, str]] = {}
        jobs: list[tuple[Delivery | Notice, Job]] = []
        for delivery in batch:
            account = accounts[delivery.account_id]
            settings = publication.render_settings(self.config, delivery.subscription_id)
            own_link = settings.unsubscribe_url
            key = (delivery.warning_id, delivery.msg_type, delivery.channel, len(own_link))
            if key not in renderings:
                renderings[key] = (self._render(db, delivery, settings), own_link)
            rendering, rendered_link = renderings[key]
            if not isinstance(rendering, Outcome) and own_link != rendered_link:
                rendering = _with_link(rendering, rendered_link, own_link)
            if isinstance(account, Outcome) or isinstance(rendering, Outcome):
                jobs.append((delivery, account if isinstance(account, Outcome) else rendering))
                continue
            item = Item(delivery.idempotency_key, delivery.target, rendering, delivery.msg_type)
            jobs.append((delivery, (account, item)))
        for notice in notices:
            account = accounts[notice.account_id]
            if isinstance(account, Outcome):
                jobs.append((notice, account))
                continue
            item = Item(notice.idempotency_key, notice.target, _notice_rendering(notice))
            jobs.append((notice, (account, item)))
        return jobs

    def _render(self, db, delivery: Delivery, settings: RenderSettings) -> Rendering | Outcome:
        """Render the message as signed; refuse content that is not the approved one."""
        alert = warning_store.get_alert(db, delivery.warning_id)
        reason = integrity.problem(db, alert)
        if reason:
            with write(db):
                integrity.mark_failure(db, alert, "sending", reason, audit.SYSTEM)
            return Outcome(Reaction.GIVE_UP, f"integrity failure: {reason}")
        if signature_store.get_signature(db, alert.id, delivery.msg_type) is None:
            return Outcome(Reaction.GIVE_UP, "the message is not signed")
        message = publication.message_for(
            db, alert, public_url=self.config["PUBLIC_URL"], msg_type=delivery.msg_type
        )
        try:
            if delivery.channel == "webhook":  # carries the CAP document: signed, as served
                settings = publication.with_cap_signature(settings, self.config)
            return registry.RENDERERS[delivery.channel](message, settings)
        except Exception as error:  # TooLong, no CAP key or a renderer bug: nothing goes out
            return Outcome(Reaction.GIVE_UP, f"cannot render: {error}")


async def _cancel(task: asyncio.Task, seconds: float) -> None:
    """Cancel ``task`` and wait at most ``seconds`` for it to end."""
    task.cancel()
    await asyncio.wait([task], timeout=seconds)


def _notice_rendering(notice: Notice) -> Rendering:
    """Return a notice's text as its channel's rendering (email: subject, text and HTML)."""
    if notice.channel == "email":
        parts = {"subject": notice.subject, "text": notice.text, "html": notice.html}
        headers = {"Auto-Submitted": "auto-generated"}
        return Rendering(notice.channel, "multipart/alternative", parts, headers)
    media_type = "text/html" if notice.channel == "telegram" else "text/plain"
    return Rendering(notice.channel, media_type, {"text": notice.text})


def _with_link(rendering: Rendering, old: str, new: str) -> Rendering:
    """Return a rendering with one resident's stop link in place of another's."""
    parts = {name: text.replace(old, new) for name, text in rendering.parts.items()}
    headers = {name: value.replace(old, new) for name, value in rendering.headers.items()}
    return replace(rendering, parts=parts, headers=headers)
