"""Recording: what each attempt's outcome does to the outbox, in one transaction per flush.

Sent, retried (Retry-After wins; full jitter otherwise; never past the attempt cap or the
expiry), dead-lettered, the subscriber or the whole channel disabled, the breaker moved.
A stale token is refreshed once by the engine before this runs (``refreshed`` says how
that went per account); the delivery is then retried once, or the channel stopped.

Runs on the engine's store thread: plain SQLite and policy, no network.
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from collections.abc import Mapping
from datetime import datetime
from datetime import timedelta
from typing import NamedTuple

import sqlite_utils

from alerts import audit
from alerts.channels import Outcome
from alerts.channels import Reaction
from alerts.clock import from_text
from alerts.clock import to_text
from alerts.clock import utcnow
from alerts.db import write
from alerts.delivery import policy as policies
from alerts.store import accounts as account_store
from alerts.store import audit as audit_store
from alerts.store import deliveries as store
from alerts.store import notices as notice_store
from alerts.store import outbox_rows
from alerts.store import subscriptions as subscription_store
from alerts.store.deliveries import Delivery
from alerts.store.notices import Notice

Result = tuple[Delivery | Notice, Outcome, float]


class Flushed(NamedTuple):
    """What one recording did beyond the rows: which deliveries may start now, and which
    accounts stopped (breaker opened, or disabled): their lanes give back what waits."""

    started: set[int]
    stopped: set[int]


class Recorder:
    """Applies outcomes under the channels' policies (``rng`` draws the jitter)."""

    def __init__(self, rules: Mapping[str, policies.Policy], rng: random.Random):
        self.rules = rules
        self.rng = rng
        # Accounts whose breaker is known closed with no failure counted: only this worker
        # counts failures, so a flush of successes for one of them has nothing to write
        # (and reads nothing: every read on the writer's thread waits for the GIL).
        self.closed: set[int] = set()

    def wanting_refresh(self, db: sqlite_utils.Database, results: Iterable[Result]) -> set[int]:
        """Return the accounts to refresh: told their token is stale by an attempt that was
        not itself a retry after a refresh (a second refusal stops the channel instead)."""
        accounts = set()
        for work, outcome, _ in results:
            if outcome.reaction == Reaction.REFRESH_TOKEN and not _refreshed_before(db, work):
                accounts.add(work.account_id)
        return accounts

    def record(
        self,
        db: sqlite_utils.Database,
        results: list[Result],
        refreshed: Mapping[int, str | None],
        outcomes: dict[str, int],
        starting: list[Delivery] = (),
        halted: Iterable[int] = (),
    ) -> Flushed:
        """Apply every outcome in one transaction, then the breakers, and mark the
        ``starting`` deliveries' attempts as started (those of an account this very
        transaction stops, or ``halted`` already, go back to the queue instead); count the
        reactions into ``outcomes``. ``refreshed`` maps an account to None (new token
        stored) or why its refresh failed. One commit for both: what came back is durable
        by the time the next attempts may go (docs/reliability.md#durability)."""
        by_account: dict[int, list[Outcome]] = {}
        sent: list[tuple[int, str | None, dict]] = []
        stopped: set[int] = set()
        with write(db):
            now = utcnow()
            at = to_text(now)
            for work, outcome, seconds in results:
                outcomes[outcome.reaction] = outcomes.get(outcome.reaction, 0) + 1
                if isinstance(work, Notice):
                    self._apply_notice(db, work, outcome, now, refreshed, stopped)
                elif outcome.reaction == Reaction.OK:
                    sent.append((work.id, outcome.provider_id, _entry(work, outcome, seconds, at)))
                else:
                    self._apply(db, work, outcome, seconds, now, refreshed, stopped)
                by_account.setdefault(work.account_id, []).append(outcome)
            if sent:
                store.mark_sent_many(db, at, sent)
            for account_id, seen in by_account.items():
                if self._breaker(db, account_id, seen, now):
                    stopped.add(account_id)
            stopped.update(halted)
            starts = [d.id for d in starting if d.account_id not in stopped]
            started = store.mark_started(db, starts, at) if starts else []
            held_back = [d.id for d in starting if d.account_id in stopped]
            if held_back:
                outbox_rows.unclaim(db, "deliveries", held_back)
        return Flushed(set(started), stopped - set(halted))

    def store_secrets(self, db, account_id: int, sealed: str, detail: dict) -> None:
        """Store a refreshed token pair (sealed) and audit it, in one transaction."""
        with write(db):
            account_store.set_secrets(db, account_id, sealed)
            audit_event(db, "channel.token_refreshed", account_id, detail)

    # --- deliveries --------------------------------------------------------------------

    def _apply(self, db, delivery: Delivery, outcome: Outcome, seconds, now, refreshed, stopped):
        """Apply an attempt that did not succeed (those that did are marked in one go)."""
        entry = _entry(delivery, outcome, seconds, to_text(now))
        reaction = outcome.reaction
        if reaction == Reaction.REFRESH_TOKEN:
            failure = _refresh_failure(db, delivery, outcome, refreshed)
            if failure:
                store.mark_dead(db, delivery.id, outcome.detail, entry)
                self._disable(db, delivery.account_id, failure, stopped)
            else:
                store.mark_retry(db, delivery.id, to_text(now), outcome.detail, entry, False)
        elif reaction == Reaction.DISABLE_SUBSCRIBER:
            store.mark_dead(db, delivery.id, outcome.detail, entry)
            if delivery.subscription_id:
                subscription_store.disable_subscription(
                    db, delivery.subscription_id, outcome.detail
                )
        elif reaction == Reaction.DISABLE_CHANNEL:
            store.mark_dead(db, delivery.id, outcome.detail, entry)
            self._disable(db, delivery.account_id, outcome.detail, stopped)
        elif reaction == Reaction.GIVE_UP:
            store.mark_dead(db, delivery.id, outcome.detail, entry)
        else:
            self._retry(db, delivery, outcome, entry, now)

    def _retry(self, db, delivery: Delivery, outcome: Outcome, entry: dict, now) -> None:
        """Schedule the next attempt, unless the attempts are spent or the next one would
        come after the warning's expiry."""
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

    # --- notices -----------------------------------------------------------------------

    def _apply_notice(self, db, notice: Notice, outcome: Outcome, now, refreshed, stopped):
        """Record a notice's attempt with the deliveries' reactions (its history is its
        status, attempts and last error: a notice is no evidence to keep)."""
        reaction, detail = outcome.reaction, outcome.detail[:300]
        if reaction == Reaction.OK:
            notice_store.mark_sent(db, notice.id, to_text(now))
        elif reaction == Reaction.REFRESH_TOKEN:
            failure = _refresh_failure(db, notice, outcome, refreshed)
            if failure:
                notice_store.mark_dead(db, notice.id, detail)
                self._disable(db, notice.account_id, failure, stopped)
            else:
                notice_store.mark_retry(db, notice.id, to_text(now), detail)
        elif reaction == Reaction.DISABLE_CHANNEL:
            notice_store.mark_dead(db, notice.id, detail)
            self._disable(db, notice.account_id, detail, stopped)
        elif reaction in (Reaction.DISABLE_SUBSCRIBER, Reaction.GIVE_UP):
            notice_store.mark_dead(db, notice.id, detail)
        else:
            next_at, stop = self._next_attempt(
                notice.channel, notice.attempts + 1, outcome, now, notice.expires_at, "notice"
            )
            if stop:
                notice_store.mark_dead(db, notice.id, stop)
            else:
                notice_store.mark_retry(db, notice.id, to_text(next_at), outcome.detail)

    # --- accounts ----------------------------------------------------------------------

    def _disable(self, db, account_id: int, reason: str, stopped: set[int]) -> None:
        stopped.add(account_id)
        account_store.set_active(db, account_id, False, reason[:300])
        audit_event(db, "channel.disabled", account_id, {"reason": reason[:300]})

    def _breaker(self, db, account_id: int, outcomes: list[Outcome], now: datetime) -> bool:
        """Open an account's breaker after repeated transient failures (in a row, across
        ticks); any success closes it. Return whether it opened (again) now."""
        if account_id in self.closed and all(o.reaction == Reaction.OK for o in outcomes):
            return False
        stored = account_store.get_account(db, account_id)
        failures = stored.breaker_failures
        for outcome in outcomes:
            if outcome.reaction == Reaction.OK:
                failures = 0
            elif outcome.reaction in (Reaction.RETRY_BACKOFF, Reaction.UNKNOWN):
                failures += 1
        if failures == 0:
            self.closed.add(account_id)
        else:
            self.closed.discard(account_id)
        if failures == stored.breaker_failures:
            return False
        opened = None
        if failures >= policies.BREAKER_THRESHOLD:
            opened = to_text(now + timedelta(seconds=policies.BREAKER_OPEN_SECONDS))
        account_store.set_breaker(db, account_id, failures, opened)
        return opened is not None


def _entry(delivery: Delivery, outcome: Outcome, seconds: float, at: str) -> dict:
    """Return the history entry of one attempt: when, which, what came back, how long."""
    return {
        "at": at,
        "attempt": delivery.attempts + 1,
        "reaction": str(outcome.reaction),
        "detail": outcome.detail[:300],
        "status": outcome.status_code,
        "seconds": round(seconds, 3),
    }


def audit_event(db, action: str, account_id: int, detail: dict) -> None:
    """Append a system entry about an account to the audit log."""
    audit_store.append(db, audit.make_entry(audit.SYSTEM, action, f"account:{account_id}", detail))


def _refresh_failure(db, work, outcome: Outcome, refreshed: Mapping[int, str | None]) -> str:
    """Return why a stale-token attempt stops its channel, or "" when a retry may follow."""
    if _refreshed_before(db, work):
        return f"credentials refused: {outcome.detail}"
    if work.account_id not in refreshed:
        return f"credentials refused: {outcome.detail}"
    return refreshed[work.account_id] or ""


def _refreshed_before(db, work: Delivery | Notice) -> bool:
    """Return whether this attempt already followed a token refresh (then a second refusal
    means the credentials themselves are refused)."""
    if isinstance(work, Notice):
        return work.attempts > 0
    return any(h.get("reaction") == "refresh_token" for h in store.history(db, work.id))
