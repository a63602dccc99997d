"""Sending, on the event loop: the pacing windows of an attempt, one attempt within its
deadline, and a token refresh at most once a minute per account. ``Drain`` calls it;
``claims`` asks it which accounts were refreshed lately and at what rate an account may
go."""

from __future__ import annotations

import math
import time
from collections.abc import Hashable
from collections.abc import Mapping

import httpx

from alerts.channels import Account
from alerts.channels import Item
from alerts.channels import Outcome
from alerts.channels import Reaction
from alerts.channels.clients import client_for
from alerts.channels.http import describe
from alerts.delivery import policy as policies
from alerts.delivery.deadlines import Deadlines
from alerts.delivery.pacing import Limit
from alerts.delivery.pacing import Pacer
from alerts.delivery.recording import Result
from alerts.store.deliveries import Delivery
from alerts.store.notices import Notice

# Ask a provider for a new token at most this often per account (seconds).
REFRESH_SPACING = 60.0


def pace_key(account: Account) -> Hashable:
    """Return whose limits an attempt counts against, as the provider counts them: on
    Telegram the bot, whichever unit's account holds its token (a token begins with the
    bot's id, which is not secret: https://core.telegram.org/bots/api#authorizing-your-bot),
    elsewhere the account."""
    if account.channel == "telegram":
        bot = str(account.secrets.get("bot_token") or "").split(":", 1)[0]
        if bot:
            return ("telegram", bot)
    return account.id


class Sender:
    """Sends attempts through one pooled client; keeps the pacing, the deadlines and the
    last refresh of each account for as long as the worker lives."""

    def __init__(self, http: httpx.AsyncClient, rules: Mapping[str, policies.Policy]):
        self.http = http
        self.rules = rules
        self._rules_by_rate: dict[tuple, policies.Policy] = {}
        self.pacer = Pacer()
        self.deadlines = Deadlines()
        self.refreshed: dict[int, tuple[float, str]] = {}  # account: (when, failure or "")

    def rule(self, channel: str, settings: Mapping) -> policies.Policy:
        """Return a channel's policy with the account's own (lower) rate, if it set one."""
        key = (channel, settings.get("per_second"))
        if key not in self._rules_by_rate:
            self._rules_by_rate[key] = policies.with_rate(self.rules[channel], settings)
        return self._rules_by_rate[key]

    def windows(self, work: Delivery | Notice, account: Account) -> list[Limit]:
        """Return the pacing windows an attempt takes its turn in: its account's (its bot's,
        on Telegram) and, where the provider limits them, its chat's and its group's (a
        Telegram channel, a group, or the unit's own broadcast channel, which is a chat as
        well: one message a second there too, and 20 a minute)."""
        rule = self.rule(work.channel, account.settings)
        key = pace_key(account)
        found = self.pacer.rate(key, rule.per_second)
        target = work.target
        if target == "broadcast":
            target = str(account.settings.get("chat_id") or target)
        if rule.per_target_per_second:
            chat = max(1, math.floor(rule.per_target_per_second))
            period = chat / rule.per_target_per_second
            found.append(self.pacer.window((key, target), chat, period))
        if rule.per_group and target.startswith(("-", "@", "broadcast")):
            found.append(self.pacer.window((key, "group", target), *rule.per_group))
        return found

    def hold(self, account: Account, outcome: Outcome) -> None:
        """A provider's rate limit holds the whole account (a bot, not one message) for the
        time it says (docs/reliability.md#rates)."""
        if outcome.reaction == Reaction.RETRY_AFTER and outcome.retry_after:
            self.pacer.hold(pace_key(account), outcome.retry_after)

    async def send(self, work: Delivery | Notice, account: Account, item: Item) -> Result:
        """Send within the channel's deadline (the caller took the pacing turn and holds a
        slot); an attempt past its deadline counts as UNKNOWN (it may have arrived)."""
        rule = self.rules[work.channel]
        began = time.monotonic()
        try:
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
