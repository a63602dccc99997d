"""Anti-abuse for the subscribe forms: rate limits and a small challenge.

Kept apart from the flows (``alerts.subscriptions``) so the limits can be read and tuned in
one place. Requests are counted per client address and per destination (an HMAC of channel
and address, see ``alerts.subscription_tokens``) in the shared ``signin_throttle`` table;
past a lower threshold a simple sum must be solved (a stateless signed challenge, single
use), past a higher one the request is refused.
"""

from __future__ import annotations

import hmac
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from datetime import timedelta

import sqlite_utils
from itsdangerous import BadData
from itsdangerous import URLSafeTimedSerializer

from alerts.clock import from_text
from alerts.clock import to_text
from alerts.clock import utcnow
from alerts.errors import N_
from alerts.errors import Refused
from alerts.store import throttle as throttle_store
from alerts.subscription_tokens import destination_key
from alerts.subscription_tokens import mac

WINDOW = timedelta(hours=1)
DEST_LIMIT, IP_LIMIT = 5, 20  # requests per WINDOW
DEST_CHALLENGE, IP_CHALLENGE = 2, 3  # requests per WINDOW after which the sum is asked
CHALLENGE_SECONDS = 15 * 60


class TooMany(Refused):
    """Too many requests from this network or for this address (429)."""

    status = 429


class ChallengeRequired(Refused):
    """The sum must be solved before this request is taken."""


class WrongAnswer(ChallengeRequired):
    """The sum was answered wrongly (the question is used up: ask a new one)."""

    def __init__(self, nonce: str):
        super().__init__(N_("Wrong answer. Try the new question."), "answer")
        self.nonce = nonce


@dataclass(frozen=True)
class Challenge:
    """A sum to show ("3 + 4") and the signed token the form sends back with the answer."""

    question: str
    token: str


# --- counters --------------------------------------------------------------------------------


def count(db: sqlite_utils.Database, key: str, now: datetime, window: timedelta) -> int:
    """Return the counter's value, or 0 once its window has passed."""
    row = throttle_store.get_counter(db, key)
    if row is None or from_text(row[1]) <= now - window:
        return 0
    return row[0]


def bump(db: sqlite_utils.Database, key: str, now: datetime, window: timedelta) -> None:
    """Add one to the counter (starting a new window once the last one has passed)."""
    row = throttle_store.get_counter(db, key)
    if row is None or from_text(row[1]) <= now - window:
        throttle_store.put_counter(db, key, 1, to_text(now), None)
    else:
        throttle_store.put_counter(db, key, row[0] + 1, row[1], None)


def _ip_key(ip: str | None) -> str:
    return f"sub:ip:{(ip or '-')[:64]}"


# --- the challenge -------------------------------------------------------------------------


def _serializer(config: Mapping) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(str(config["SECRET_KEY"]), salt="alerts.subscribe.challenge")


def new_challenge(config: Mapping) -> Challenge:
    """Return a fresh sum; its token holds a keyed digest of the answer, not the answer."""
    a, b = secrets.randbelow(9) + 1, secrets.randbelow(9) + 1
    nonce = secrets.token_urlsafe(12)
    token = _serializer(config).dumps({"n": nonce, "h": mac(config, "sum", f"{nonce}:{a + b}")})
    return Challenge(f"{a} + {b}", token)


def needs_challenge(db: sqlite_utils.Database, ip: str | None) -> bool:
    """Return whether requests from this address must solve the sum already."""
    return count(db, _ip_key(ip), utcnow(), WINDOW) >= IP_CHALLENGE


def _check_challenge(db, config, challenge: tuple[str, str] | None, now: datetime) -> None:
    """Refuse unless the sum was solved; each question can be answered only once."""
    token, answer = challenge or ("", "")
    if not token or not answer.strip():
        raise ChallengeRequired(N_("Answer the question below to continue."), "answer")
    try:
        data = _serializer(config).loads(token, max_age=CHALLENGE_SECONDS)
        nonce, expected = str(data["n"])[:32], str(data["h"])
    except (BadData, KeyError, TypeError):
        raise WrongAnswer("") from None
    given = answer.strip()
    used = throttle_store.get_counter(db, f"sub:nonce:{nonce}") is not None
    if used or not re.fullmatch(r"[0-9]{1,3}", given):
        raise WrongAnswer(nonce)
    if not hmac.compare_digest(mac(config, "sum", f"{nonce}:{int(given)}"), expected):
        raise WrongAnswer(nonce)
    throttle_store.put_counter(db, f"sub:nonce:{nonce}", 1, to_text(now), None)


# --- the limits ----------------------------------------------------------------------------


def guard(db, config, channel: str, address: str, ip, challenge, now: datetime) -> None:
    """Apply the rate limits and ask for the sum past the lower threshold."""
    dest = destination_key(config, "dest", channel, address)
    dest_count = count(db, dest, now, WINDOW)
    if dest_count >= DEST_LIMIT:
        raise TooMany(N_("Too many requests for this address. Try again in an hour."))
    if count(db, _ip_key(ip), now, WINDOW) >= IP_CHALLENGE or dest_count >= DEST_CHALLENGE:
        _check_challenge(db, config, challenge, now)
    bump(db, dest, now, WINDOW)
    bump(db, _ip_key(ip), now, WINDOW)


def check_ip_limit(db, ip, now: datetime) -> None:
    """Refuse (TooMany) once the client's network has sent IP_LIMIT requests this WINDOW."""
    if count(db, _ip_key(ip), now, WINDOW) >= IP_LIMIT:
        raise TooMany(N_("Too many requests from your network. Try again in an hour."))


def count_refusal(db, ip: str | None, refusal: Refused, now: datetime) -> None:
    """Use up a wrongly answered question; a bad form or a wrong answer also counts against
    the network (the caller holds the write)."""
    if isinstance(refusal, WrongAnswer) and refusal.nonce:
        throttle_store.put_counter(db, f"sub:nonce:{refusal.nonce}", 1, to_text(now), None)
    if not isinstance(refusal, TooMany) and type(refusal) is not ChallengeRequired:
        bump(db, _ip_key(ip), now, WINDOW)
