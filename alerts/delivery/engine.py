"""The dispatcher: drain the outbox over every channel's API, one bounded batch per tick.

Each tick (RELIABILITY.md C2): return to the queue what a dead worker left in flight
(possible duplicates), dead-letter what expired, claim a batch in one short transaction,
send outside any transaction with pooled httpx clients, paced under each provider's limit,
each attempt bounded by a total deadline, then record every outcome in one transaction.
A channel whose account keeps failing is skipped by its circuit breaker, and a hung
provider only holds its own channel's slots: the others keep going.

Before anything goes out the revision is checked again: the content must be the approved
content and the message must be signed, or nothing is sent.

Each tick also sends the due ``notices`` (residents' confirmation codes and links, "manage
your subscriptions" links: messages that are not warnings) through the same clients, slots
and pacing, with the same reactions, and drops the subscription requests nobody confirmed.
A resident's email carries a one-click unsubscribe link with the subscription's own token
(``alerts.subscriptions.token_for``: derived from the id and SECRET_KEY, its digest stored as
the batch is claimed, so the link finds the subscription).
"""

from __future__ import annotations

import importlib
import json
import random
import threading
import time
from collections.abc import Mapping
from concurrent.futures import Future
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import wait
from dataclasses import dataclass
from dataclasses import field
from dataclasses import replace
from datetime import datetime
from datetime import timedelta

import httpx
import sqlite_utils

from alerts import audit
from alerts import publication
from alerts import subscriptions
from alerts.channels import Account
from alerts.channels import Item
from alerts.channels import Outcome
from alerts.channels import Reaction
from alerts.clock import from_text
from alerts.clock import to_text
from alerts.clock import utcnow
from alerts.db import write
from alerts.delivery import policy as policies
from alerts.delivery.pacing import Pacer
from alerts.delivery.transport import Urllib3Transport
from alerts.render import Rendering
from alerts.render import RenderSettings
from alerts.render import registry
from alerts.security import vault
from alerts.store import accounts as account_store
from alerts.store import audit as audit_store
from alerts.store import deliveries as store
from alerts.store import notices as notice_store
from alerts.store import signatures as signature_store
from alerts.store import subscriptions as subscription_store
from alerts.store import warnings as warning_store
from alerts.store.deliveries import Delivery
from alerts.store.notices import Notice

BATCH = 500
NOTICE_BATCH = 100
LEASE_MARGIN = 30.0
POLL = 0.05


@dataclass
class Summary:
    """What one tick did (for logs, tests and /healthz)."""

    recovered: int = 0
    expired: int = 0
    claimed: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)
    notices: int = 0


def http_client() -> httpx.Client:
    """One pooled client for every channel: explicit timeouts, redirects never followed,
    urllib3's pool beneath (see alerts/delivery/transport.py for why)."""
    timeout = httpx.Timeout(connect=3.0, read=10.0, write=10.0, pool=5.0)
    return httpx.Client(timeout=timeout, transport=Urllib3Transport(), follow_redirects=False)


class Dispatcher:
    """Sends due deliveries; lives as long as the worker (its pacing state with it)."""

    def __init__(
        self,
        config: Mapping,
        http: httpx.Client | None = None,
        rng: random.Random | None = None,
        rules: Mapping[str, policies.Policy] | None = None,
    ):
        """``rules`` replaces the channels' policies (tests use short deadlines)."""
        self.config = config
        self.http = http or http_client()
        self.rng = rng or random.Random()
        self.rules = dict(rules or policies.POLICIES)
        self.pacer = Pacer()
        self.executor = ThreadPoolExecutor(
            max_workers=sum(p.concurrency for p in self.rules.values()),
            thread_name_prefix="send",
        )
        self.slots = {c: threading.Semaphore(p.concurrency) for c, p in self.rules.items()}

    def _rule(self, channel: str, settings: Mapping) -> policies.Policy:
        """Return a channel's policy with the account's own (lower) rate, if it set one."""
        return policies.with_rate(self.rules[channel], settings)

    def close(self) -> None:
        self.executor.shutdown(wait=False, cancel_futures=True)
        self.http.close()

    # --- one tick -----------------------------------------------------------------------

    def dispatch_due(
        self, db: sqlite_utils.Database, now: datetime | None = None, budget: float = 0.0
    ) -> Summary:
        """Run one tick: one batch, then more while work is due and ``budget`` seconds
        have not passed (the worker drains a big fan-out without waiting for ticks)."""
        started = time.monotonic()
        summary = Summary()
        subscriptions.expire_pending(db, now or utcnow())
        while True:
            moment = now or utcnow()
            with write(db):
                summary.recovered += store.recover_expired_leases(db, to_text(moment))
                summary.expired += store.expire_queued(db, to_text(moment))
                notice_store.recover_expired_leases(db, to_text(moment))
                notice_store.expire_queued(db, to_text(moment))
            batch = self._claim(db, moment)
            notices = self._claim_notices(db, moment)
            summary.claimed += len(batch)
            summary.notices += len(notices)
            if batch or notices:
                results = self._send_all(db, batch, notices)
                self._record(db, results, summary)
            if not (batch or notices) or time.monotonic() - started >= budget:
                return summary

    def _claim(self, db: sqlite_utils.Database, now: datetime) -> list[Delivery]:
        """Claim a batch no larger than what each account may send within one lease."""
        with write(db):
            candidates = store.due(db, to_text(now), BATCH)
            accounts = {
                a: account_store.get_account(db, a) for a in {d.account_id for d in candidates}
            }
            quota: dict[int, int] = {}
            batch = []
            for delivery in candidates:
                rule = self._rule(delivery.channel, accounts[delivery.account_id].settings)
                allowed = max(1, int(rule.per_second * rule.deadline))
                if quota.get(delivery.account_id, 0) < allowed:
                    quota[delivery.account_id] = quota.get(delivery.account_id, 0) + 1
                    batch.append(delivery)
            longest = max((self.rules[d.channel].deadline for d in batch), default=0)
            lease = now + timedelta(seconds=2 * longest + LEASE_MARGIN)
            store.claim(db, [d.id for d in batch], to_text(lease))
            if self.config.get("SECRET_KEY"):
                emailed = [d.subscription_id for d in batch if d.channel == "email"]
                subscriptions.remember_tokens(db, self.config, [i for i in emailed if i])
        return batch

    def _claim_notices(self, db: sqlite_utils.Database, now: datetime) -> list[Notice]:
        """Claim the due notices (few: one per subscription request)."""
        with write(db):
            notices = notice_store.due(db, to_text(now), NOTICE_BATCH)
            longest = max((self.rules[n.channel].deadline for n in notices), default=0)
            lease = now + timedelta(seconds=2 * longest + LEASE_MARGIN)
            notice_store.claim(db, [n.id for n in notices], to_text(lease))
        return notices

    # --- sending --------------------------------------------------------------------------

    def _send_all(
        self, db, batch: list[Delivery], notices: list[Notice] | None = None
    ) -> list[tuple[Delivery | Notice, Outcome, float]]:
        """Send a batch (and due notices) concurrently; an attempt past its deadline counts
        as UNKNOWN."""
        prepared = self._prepare(db, batch)
        opened = self._prepare_notices(db, notices or [])
        jobs = [(d, prepared.get(d.id)) for d in batch] + [(n, opened[n.id]) for n in notices or []]
        started: dict[tuple[str, int], float] = {}
        futures: dict[Future, Delivery | Notice] = {}
        results = []
        for delivery, job in jobs:
            if isinstance(job, Outcome):
                results.append((delivery, job, 0.0))
                continue
            future = self.executor.submit(self._send_one, delivery, *job, started)
            futures[future] = delivery
        pending = set(futures)
        while pending:
            done, pending = wait(pending, timeout=POLL)
            for future in done:
                delivery = futures[future]
                outcome, seconds = future.result()
                results.append((delivery, outcome, seconds))
            now = time.monotonic()
            for future in list(pending):
                delivery = futures[future]
                deadline = self.rules[delivery.channel].deadline
                began = started.get(_slot(delivery))
                if began is not None and now - began > deadline:
                    pending.discard(future)
                    overdue = Outcome(Reaction.UNKNOWN, f"no answer within {deadline:.0f} s")
                    results.append((delivery, overdue, deadline))
        return results

    def _send_one(self, delivery: Delivery | Notice, account: Account, item: Item, started):
        """Wait for a slot and the pace, then send (runs in the executor)."""
        rule = self._rule(delivery.channel, account.settings)
        with self.slots[delivery.channel]:
            self.pacer.wait(f"account:{account.id}", rule.per_second)
            if rule.per_target_per_second and delivery.target != "broadcast":
                self.pacer.wait(
                    f"target:{account.id}:{delivery.target}", rule.per_target_per_second
                )
            began = started[_slot(delivery)] = time.monotonic()
            client = importlib.import_module(f"alerts.channels.{delivery.channel}")
            try:
                outcome = client.send(self.http, account, item)
            except Exception as error:  # a client bug must not lose the delivery
                outcome = Outcome(Reaction.RETRY_BACKOFF, f"client error: {type(error).__name__}")
            return outcome, time.monotonic() - began

    def _prepare(self, db, batch: list[Delivery]) -> dict[int, tuple[Account, Item] | Outcome]:
        """Open the accounts and render each message once. A resident's copy carries their
        own stop link: it is rendered with the first recipient's link, and the others get
        theirs swapped in (every link has the same length, so every count still holds)."""
        accounts: dict[int, Account | Outcome] = {}
        renderings: dict[tuple, tuple[Rendering | Outcome, str]] = {}
        prepared: dict[int, tuple[Account, Item] | Outcome] = {}
        for delivery in batch:
            if delivery.account_id not in accounts:
                accounts[delivery.account_id] = self._fresh_account(db, delivery.account_id)
            account = accounts[delivery.account_id]
            personal = delivery.subscription_id is not None
            key = (delivery.warning_id, delivery.msg_type, delivery.channel, personal)
            if key not in renderings:
                renderings[key] = (self._render(db, delivery), self._unsubscribe_url(delivery))
            rendering, rendered_link = renderings[key]
            own_link = self._unsubscribe_url(delivery)
            if not isinstance(rendering, Outcome) and own_link != rendered_link:
                rendering = _with_link(rendering, rendered_link, own_link)
            if isinstance(account, Outcome) or isinstance(rendering, Outcome):
                prepared[delivery.id] = account if isinstance(account, Outcome) else rendering
                continue
            item = Item(delivery.idempotency_key, delivery.target, rendering, delivery.msg_type)
            prepared[delivery.id] = (account, item)
        return prepared

    def _prepare_notices(
        self, db, notices: list[Notice]
    ) -> dict[int, tuple[Account, Item] | Outcome]:
        """Open the notices' accounts and wrap each text in its channel's rendering."""
        accounts: dict[int, Account | Outcome] = {}
        prepared: dict[int, tuple[Account, Item] | Outcome] = {}
        for notice in notices:
            if notice.account_id not in accounts:
                accounts[notice.account_id] = self._fresh_account(db, notice.account_id)
            account = accounts[notice.account_id]
            if isinstance(account, Outcome):
                prepared[notice.id] = account
                continue
            item = Item(notice.idempotency_key, notice.target, _notice_rendering(notice))
            prepared[notice.id] = (account, item)
        return prepared

    def _account(self, db, account_id: int) -> Account | Outcome:
        stored = account_store.get_account(db, account_id)
        try:
            secrets = vault.unseal(self.config, stored.secrets)
        except vault.VaultError as error:
            return Outcome(Reaction.DISABLE_CHANNEL, str(error))
        return Account(stored.id, stored.channel, stored.base_url, stored.settings, secrets)

    def _fresh_account(self, db, account_id: int) -> Account | Outcome:
        """Open an account, refreshing a token that is about to expire (Zalo: 25 h) first,
        and storing the new pair in one transaction before it is used."""
        account = self._account(db, account_id)
        if isinstance(account, Outcome):
            return account
        client = importlib.import_module(f"alerts.channels.{account.channel}")
        needs = getattr(client, "needs_refresh", None)
        if needs is None or not needs(account, utcnow()):
            return account
        try:
            fresh = client.refresh(self.http, account)
        except Exception as error:  # the current token may still work: try it
            with write(db):
                self._audit(db, "channel.refresh_failed", account_id, {"error": str(error)[:200]})
            return account
        secrets = {**account.secrets, **fresh}
        with write(db):
            account_store.set_secrets(db, account_id, vault.seal(self.config, secrets))
            self._audit(db, "channel.token_refreshed", account_id, {"before_expiry": True})
        return replace(account, secrets=secrets)

    def _render(self, db, delivery: Delivery) -> Rendering | Outcome:
        """Render the message as signed; refuse content that is not the approved one."""
        alert = warning_store.get_alert(db, delivery.warning_id)
        signed_type = delivery.msg_type
        if alert.approved_hash != alert.content_hash:
            return Outcome(Reaction.GIVE_UP, "content differs from the approved content")
        if signature_store.get_signature(db, alert.id, signed_type) is None:
            return Outcome(Reaction.GIVE_UP, "the message is not signed")
        message = publication.message_for(
            db, alert, public_url=self.config["PUBLIC_URL"], msg_type=delivery.msg_type
        )
        settings = RenderSettings(
            sms_max_segments=self.config["SMS_MAX_SEGMENTS"],
            unsubscribe_url=self._unsubscribe_url(delivery),
        )
        try:
            return registry.RENDERERS[delivery.channel](message, settings)
        except Exception as error:  # TooLong or a renderer bug: nothing can go out
            return Outcome(Reaction.GIVE_UP, f"cannot render: {error}")

    def _unsubscribe_url(self, delivery: Delivery) -> str:
        """Return the resident's one-click unsubscribe link ("" for a unit's own channels,
        and without a SECRET_KEY to derive the token from)."""
        if delivery.subscription_id is None or not self.config.get("SECRET_KEY"):
            return ""
        return subscriptions.unsubscribe_url(self.config, delivery.subscription_id)

    # --- recording -------------------------------------------------------------------------

    def _record(self, db, results, summary: Summary) -> None:
        """Apply every outcome in one transaction (and the breakers and refreshes)."""
        refreshed: set[int] = set()
        by_account: dict[int, list[Outcome]] = {}
        with write(db):
            now = utcnow()
            for delivery, outcome, seconds in results:
                summary.outcomes[outcome.reaction] = summary.outcomes.get(outcome.reaction, 0) + 1
                if isinstance(delivery, Notice):
                    self._apply_notice(db, delivery, outcome, now, refreshed)
                else:
                    self._apply(db, delivery, outcome, seconds, now, refreshed)
                by_account.setdefault(delivery.account_id, []).append(outcome)
            for account_id, outcomes in by_account.items():
                self._breaker(db, account_id, outcomes, now)

    def _apply(self, db, delivery: Delivery, outcome: Outcome, seconds, now, refreshed) -> None:
        entry = {
            "at": to_text(now),
            "attempt": delivery.attempts + 1,
            "reaction": str(outcome.reaction),
            "detail": outcome.detail[:300],
            "status": outcome.status_code,
            "seconds": round(seconds, 3),
        }
        reaction = outcome.reaction
        if reaction == Reaction.OK:
            store.mark_sent(db, delivery.id, to_text(now), outcome.provider_id, entry)
        elif reaction == Reaction.REFRESH_TOKEN:
            self._refresh(db, delivery, outcome, entry, now, refreshed)
        elif reaction == Reaction.DISABLE_SUBSCRIBER:
            store.mark_dead(db, delivery.id, outcome.detail, entry)
            if delivery.subscription_id:
                subscription_store.disable_subscription(
                    db, delivery.subscription_id, outcome.detail
                )
        elif reaction == Reaction.DISABLE_CHANNEL:
            store.mark_dead(db, delivery.id, outcome.detail, entry)
            self._disable(db, delivery.account_id, outcome.detail)
        elif reaction == Reaction.GIVE_UP:
            store.mark_dead(db, delivery.id, outcome.detail, entry)
        else:
            self._retry(db, delivery, outcome, entry, now)

    def _retry(self, db, delivery: Delivery, outcome: Outcome, entry: dict, now) -> None:
        """Schedule the next attempt (Retry-After wins; full jitter otherwise), unless the
        attempts are spent or the next one would come after the warning's expiry."""
        # A split message that failed after its first parts went out repeats them on resend.
        unknown = outcome.reaction == Reaction.UNKNOWN or outcome.detail.startswith("partial:")
        next_at, stop = self._next_attempt(
            delivery.channel, delivery.attempts + 1, outcome, now, delivery.expires_at, "warning"
        )
        if stop:
            store.mark_dead(db, delivery.id, stop, entry)
        else:
            store.mark_retry(db, delivery.id, to_text(next_at), outcome.detail, entry, unknown)

    def _next_attempt(self, channel, attempt, outcome: Outcome, now, expires_at, what: str):
        """Return (when to try again, None) or (None, why we stop): Retry-After wins, full
        jitter otherwise; never past the attempt cap or the expiry."""
        rule = self.rules[channel]
        if outcome.reaction == Reaction.RETRY_AFTER and outcome.retry_after is not None:
            delay = outcome.retry_after
        else:
            delay = policies.backoff(rule, attempt, self.rng)
        next_at = now + timedelta(seconds=delay)
        if attempt >= rule.max_attempts:
            return None, f"gave up after {attempt} attempts"
        if next_at >= from_text(expires_at):
            return None, f"the {what} expires before the next attempt"
        return next_at, None

    def _refresh(self, db, delivery: Delivery, outcome: Outcome, entry, now, refreshed) -> None:
        """Refresh the account's token once, then retry once; else stop the channel."""
        client = importlib.import_module(f"alerts.channels.{delivery.channel}")
        stored = account_store.get_account(db, delivery.account_id)
        already_refreshed = any(
            h.get("reaction") == "refresh_token" for h in _history(db, delivery.id)
        )
        if not hasattr(client, "refresh") or already_refreshed:
            store.mark_dead(db, delivery.id, outcome.detail, entry)
            self._disable(db, delivery.account_id, f"credentials refused: {outcome.detail}")
            return
        failure = self._refresh_account(db, client, stored, refreshed)
        if failure:
            store.mark_dead(db, delivery.id, outcome.detail, entry)
            self._disable(db, stored.id, failure)
            return
        store.mark_retry(db, delivery.id, to_text(now), outcome.detail, entry, False)

    def _refresh_account(self, db, client, stored, refreshed: set[int]) -> str | None:
        """Refresh an account's token once per batch; return why it failed, or None."""
        if stored.id in refreshed:
            return None
        account = self._account(db, stored.id)
        try:
            fresh = client.refresh(self.http, account)
        except Exception as error:
            return f"token refresh failed: {error}"[:300]
        secrets = {**account.secrets, **fresh}
        account_store.set_secrets(db, stored.id, vault.seal(self.config, secrets))
        self._audit(db, "channel.token_refreshed", stored.id, {"channel": stored.channel})
        refreshed.add(stored.id)
        return None

    def _apply_notice(self, db, notice: Notice, outcome: Outcome, now, refreshed) -> None:
        """Record a notice's attempt with the deliveries' reactions (its history is its
        status, attempts and last error: a notice is no evidence to keep)."""
        reaction, detail = outcome.reaction, outcome.detail[:300]
        if reaction == Reaction.OK:
            notice_store.mark_sent(db, notice.id, to_text(now))
        elif reaction == Reaction.REFRESH_TOKEN:
            self._refresh_notice(db, notice, detail, now, refreshed)
        elif reaction == Reaction.DISABLE_CHANNEL:
            notice_store.mark_dead(db, notice.id, detail)
            self._disable(db, notice.account_id, detail)
        elif reaction in (Reaction.DISABLE_SUBSCRIBER, Reaction.GIVE_UP):
            notice_store.mark_dead(db, notice.id, detail)
        else:
            self._retry_notice(db, notice, outcome, now)

    def _retry_notice(self, db, notice: Notice, outcome: Outcome, now) -> None:
        """Schedule a notice's next attempt as ``_retry`` does a delivery's."""
        next_at, stop = self._next_attempt(
            notice.channel, notice.attempts + 1, outcome, now, notice.expires_at, "notice"
        )
        if stop:
            notice_store.mark_dead(db, notice.id, stop)
        else:
            notice_store.mark_retry(db, notice.id, to_text(next_at), outcome.detail)

    def _refresh_notice(self, db, notice: Notice, detail: str, now, refreshed) -> None:
        """Refresh the account's token once, then retry the notice once; else stop the
        channel, as for a delivery."""
        client = importlib.import_module(f"alerts.channels.{notice.channel}")
        if not hasattr(client, "refresh") or notice.attempts > 0:
            notice_store.mark_dead(db, notice.id, detail)
            self._disable(db, notice.account_id, f"credentials refused: {detail}")
            return
        stored = account_store.get_account(db, notice.account_id)
        failure = self._refresh_account(db, client, stored, refreshed)
        if failure:
            notice_store.mark_dead(db, notice.id, detail)
            self._disable(db, stored.id, failure)
            return
        notice_store.mark_retry(db, notice.id, to_text(now), detail)

    def _disable(self, db, account_id: int, reason: str) -> None:
        account_store.set_active(db, account_id, False, reason[:300])
        self._audit(db, "channel.disabled", account_id, {"reason": reason[:300]})

    def _breaker(self, db, account_id: int, outcomes: list[Outcome], now: datetime) -> None:
        """Open an account's breaker after repeated transient failures (in a row, across
        ticks); any success closes it."""
        stored = account_store.get_account(db, account_id)
        failures = stored.breaker_failures
        for outcome in outcomes:
            if outcome.reaction == Reaction.OK:
                failures = 0
            elif outcome.reaction in (Reaction.RETRY_BACKOFF, Reaction.UNKNOWN):
                failures += 1
        if failures == stored.breaker_failures:
            return
        opened = None
        if failures >= policies.BREAKER_THRESHOLD:
            opened = to_text(now + timedelta(seconds=policies.BREAKER_OPEN_SECONDS))
        account_store.set_breaker(db, account_id, failures, opened)

    def _audit(self, db, action: str, account_id: int, detail: dict) -> None:
        audit_store.append(
            db, audit.make_entry(audit.SYSTEM, action, f"account:{account_id}", detail)
        )


def _slot(work: Delivery | Notice) -> tuple[str, int]:
    """Return what tells a delivery from a notice with the same id in one run."""
    return (type(work).__name__, work.id)


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


def _history(db, delivery_id: int) -> list[dict]:
    row = db.execute("SELECT history FROM deliveries WHERE id = ?", [delivery_id]).fetchone()
    return json.loads(row[0]) if row else []
