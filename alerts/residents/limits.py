"""Anti-abuse for the subscribe forms: caps per destination and per network, no puzzle.

Kept apart from the flows (``alerts.residents.subscriptions``) so the limits can be read and
tuned in one place. Requests are counted in the shared ``signin_throttle`` table, per
destination (an HMAC of channel and address, see ``alerts.residents.links``) and per client
address.

The harm a stranger can do with these forms is to make someone else's phone or mailbox
receive messages (and us pay for the SMS). That is capped where it lands: a destination gets
at most ``CONFIRMATIONS_PER_DESTINATION`` confirmation or manage messages per 24 hours,
whatever addresses the requests come from, and one network can ask for at most
``IP_LIMIT`` per hour. There used to be a sum ("how much is 3 + 4?") past a lower
threshold; it was printed in the page, so any script read and solved it while residents
(and screen readers) paid the friction. A challenge a script cannot read needs a third-party
CAPTCHA (a foreign service seeing residents of a police site) or a JavaScript proof-of-work
(shuts out old phones, slows a botnet little): neither beats caps that hold whatever the
client does, so the caps are the defence and the puzzle is gone. The 24-hour window starts
at the destination's first message, so over any 24 hours at most twice the cap can land
around a window's end.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from datetime import timedelta

import sqlite_utils

from alerts.clock import from_text
from alerts.clock import to_text
from alerts.errors import N_
from alerts.errors import Refused
from alerts.residents.links import destination_key
from alerts.store import throttle as throttle_store

WINDOW = timedelta(hours=1)  # for the per-network limit
IP_LIMIT = 20  # requests per WINDOW from one network
DEST_WINDOW = timedelta(hours=24)  # for the per-destination cap (a setting)


class TooMany(Refused):
    """Too many requests from this network or for this address (429)."""

    status = 429


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


# --- the limits ----------------------------------------------------------------------------


def guard(db, config: Mapping, channel: str, address: str, ip, now: datetime) -> None:
    """Refuse once the destination had its messages for the day; else count the request
    (inside the caller's write, so concurrent requests cannot both take the last one)."""
    dest = destination_key(config, "dest", channel, address)
    if count(db, dest, now, DEST_WINDOW) >= config["CONFIRMATIONS_PER_DESTINATION"]:
        raise TooMany(
            N_(
                "This address has already received as many messages from us as we send"
                " in a day. Please try again tomorrow; your other addresses are not affected."
            )
        )
    bump(db, dest, now, DEST_WINDOW)
    bump(db, _ip_key(ip), now, WINDOW)


def check_ip_limit(db, ip, now: datetime) -> None:
    """Refuse (TooMany) once the client's network has sent IP_LIMIT requests this WINDOW."""
    if count(db, _ip_key(ip), now, WINDOW) >= IP_LIMIT:
        raise TooMany(N_("Too many requests from your network. Try again in an hour."))


def count_request(db, ip: str | None, now: datetime) -> None:
    """Count a request that sends nothing anywhere (a deep link made) against the network
    (the caller holds the write)."""
    bump(db, _ip_key(ip), now, WINDOW)


def count_refusal(db, ip: str | None, refusal: Refused, now: datetime) -> None:
    """Count a bad form against the network (the caller holds the write)."""
    if not isinstance(refusal, TooMany):
        bump(db, _ip_key(ip), now, WINDOW)
