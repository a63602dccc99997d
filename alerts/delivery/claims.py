"""The store thread's side of a drain: housekeeping and the claim of a batch, the accounts
opened with their secrets, each message rendered once as signed, and giving back what was
claimed but never sent. Every function here runs on the dispatcher's one store thread
(``Drain.on_store_thread``), so the event loop keeps sending meanwhile."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import replace
from datetime import datetime
from datetime import timedelta

from alerts import audit
from alerts.channels import CHANNELS
from alerts.channels import Account
from alerts.channels import Item
from alerts.channels import Outcome
from alerts.channels import Reaction
from alerts.channels.clients import client_for
from alerts.clock import to_text
from alerts.clock import utcnow
from alerts.db import write
from alerts.delivery import policy as policies
from alerts.delivery.recording import audit_event
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
from alerts.warnings.outbox import PRIORITY

BATCH = 500
NOTICE_BATCH = 100
LEASE_MARGIN = 30.0
# A lane holds at most what its account sends in this long (and its slots twice over).
LOOKAHEAD_SECONDS = 1.0
# A cancellation is claimed for a lane however full it is.
TOP_PRIORITY = PRIORITY["Cancel"]

Job = tuple[Account, Item] | Outcome


@dataclass(frozen=True)
class Holding:
    """What a drain holds in memory, as handed to the store thread (copies)."""

    held: dict[int, int]  # per account: claimed and not yet recorded
    deliveries: list[int]  # every delivery id claimed and not yet recorded
    notices: list[int]  # every notice id claimed and not yet recorded
    waiting: list[int]  # the deliveries among them that have not started
    housekeeping: bool  # take back what nobody holds, and look for cancelled claims


@dataclass(frozen=True)
class Claimed:
    """What one claim took, and what its housekeeping did."""

    batch: list[Delivery]
    notices: list[Notice]
    accounts: dict[int, Account | Outcome]  # opened, or the outcome that stops them
    expiring: list[Account]  # tokens to refresh before the attempts are prepared
    jobs: list | None  # each attempt with its (account, item) or outcome; None if expiring
    recovered: int
    expired: int
    more: bool  # work is due that a full lane could not take
    gone: list[int]  # waiting deliveries cancelled since their claim: never to be sent


def lane_size(rule: policies.Policy) -> int:
    """Return how many attempts a lane (one account) holds at most: what its rate lets out
    in LOOKAHEAD_SECONDS, at least its slots twice over, never more than its rate lets
    out within one deadline (every attempt claimed ends within the lease)."""
    ahead = max(2 * rule.concurrency, math.ceil(rule.per_second * LOOKAHEAD_SECONDS))
    return max(1, min(ahead, int(rule.per_second * rule.deadline)))


class Claims:
    """Claims and prepares the work of one worker. ``rule`` gives an account's policy at its
    own rate and ``recent_refresh`` how its last refresh went (both kept by the sender)."""

    def __init__(
        self,
        config: Mapping,
        rules: Mapping[str, policies.Policy],
        rule: Callable[[str, Mapping], policies.Policy],
        recent_refresh: Callable[[int], str | None],
    ):
        self.config = config
        self.rules = rules
        self.rule = rule
        self.recent_refresh = recent_refresh
        self.rotation = 0  # which account's lane is served first: each claim the next

    def claim(self, db, now: datetime, drain: Holding) -> Claimed:
        """Housekeeping, then claim for each account's lane what it has room for (and a
        cancellation whatever its room) and the due notices, then open their accounts
        and, unless a token is about to expire, prepare them. ``drain`` says what this
        worker holds in memory: never taken back, and counted against each lane's room.

        Housekeeping takes back every claimed row this worker does not hold (only one
        worker runs per database: what it does not hold, nobody sends), at once and
        without waiting for a lease: rows a stopped worker left, or this one's own claims
        a failed write made it forget. One trip to the store thread for the whole claim
        keeps the next batch coming while the loop sends."""
        moment = to_text(now)
        recovered = 0
        gone: list[int] = []
        # Chosen outside the write (reads), so the write lock is held only to mark them:
        # the writer's next start waits for no claim being chosen.
        batch, more, lanes = self._take(db, moment, drain.held)
        notices = notice_store.due(db, moment, NOTICE_BATCH)
        lease = self._lease(batch, notices, now, drain.held, lanes)
        with write(db):
            if drain.housekeeping:
                recovered = store.recover_expired_leases(
                    db, moment, all_in_flight=True, held=drain.deliveries
                )
                notice_store.recover_expired_leases(
                    db, moment, all_in_flight=True, held=drain.notices
                )
                gone = store.not_claimed(db, drain.waiting)
            expired = store.expire_queued(db, moment)
            notice_store.expire_queued(db, moment)
            # What a cancel or the expiry took meanwhile is not claimed: left out.
            claimed = outbox_rows.claim(db, "deliveries", [d.id for d in batch], lease)
            batch = [d for d in batch if d.id in claimed]
            claimed = outbox_rows.claim(db, "notices", [n.id for n in notices], lease)
            notices = [n for n in notices if n.id in claimed]
            if self.config.get("SECRET_KEY"):
                emailed = [d.subscription_id for d in batch if d.channel == "email"]
                subscriptions.remember_tokens(db, self.config, [i for i in emailed if i])
        accounts = self.open_accounts(db, {w.account_id for w in [*batch, *notices]})
        expiring = self._expiring(accounts)
        jobs = None if expiring else self.prepare(db, batch, notices, accounts)
        return Claimed(batch, notices, accounts, expiring, jobs, recovered, expired, more, gone)

    def _take(self, db, moment: str, held: Mapping[int, int]):
        """Return (the batch, whether more is due, each usable account's policy): each
        account's lane filled up to its size, a cancellation taken whatever the lane
        holds. Each lane's claim walks that account's own queue: a slow channel's long
        queue (Telegram: 28/s) never holds a fast one's back (SMS to the same commune).
        Each lane gets an equal share of the batch before any gets more (the accounts
        taken in turn, one further on each claim): a lane filling up with a province's
        fan-out never keeps a new warning of another account out of a claim."""
        usable = account_store.usable(db, moment)
        rules = {a.id: self.rule(a.channel, a.settings) for a in usable}
        start = self.rotation % max(1, len(usable))
        self.rotation += 1
        share = max(1, BATCH // max(1, len(usable)))
        batch: list[Delivery] = []
        reserves: list[list[Delivery]] = []
        more = False
        for account in usable[start:] + usable[:start]:
            room = lane_size(rules[account.id]) - held.get(account.id, 0)
            if room > 0:
                due = store.due(db, account.id, moment, min(room, BATCH))
                more = more or len(due) == room
                batch.extend(due[:share])
                reserves.append(due[share:])
            else:  # a full lane: only what must overtake it
                batch.extend(store.due(db, account.id, moment, BATCH, TOP_PRIORITY))
                more = more or bool(store.due(db, account.id, moment, 1))
        for reserve in reserves:
            extra = reserve[: max(0, BATCH - len(batch))]
            batch.extend(extra)
            more = more or len(extra) < len(reserve)
        return batch, more, rules

    def _lease(self, batch, notices, now: datetime, held, rules) -> str:
        """Return how long this worker holds what it claims: until the last attempt of
        each lane would end if every attempt ahead of it, held or just claimed, ran to
        its deadline on the lane's slots. (What this worker holds is never taken back
        while it runs; the lease tells what a claim is expected to take.)"""
        longest = 0.0
        for account_id, claimed in Counter(w.account_id for w in [*batch, *notices]).items():
            rule = rules.get(account_id)
            if rule is not None:
                ahead = held.get(account_id, 0) + claimed
                longest = max(longest, policies.worst_case_seconds(rule, ahead))
        return to_text(now + timedelta(seconds=longest + LEASE_MARGIN))

    def _expiring(self, accounts: Mapping[int, Account | Outcome]) -> list[Account]:
        """Return the opened accounts whose token is about to expire (Zalo: 25 h) and
        that were not asked for a new one within the last minute."""
        found = []
        for account in accounts.values():
            if isinstance(account, Outcome) or self.recent_refresh(account.id) is not None:
                continue
            if not CHANNELS[account.channel].refreshes:
                continue
            if client_for(account.channel).needs_refresh(account, utcnow()):
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
