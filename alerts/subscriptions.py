"""Residents' subscriptions: double opt-in, one-click unsubscribe, the SMS stop keyword, rate
limits and a small challenge against abuse, and as little personal data as possible.

A request for 1 to 10 communes or provinces creates pending rows and queues ONE notice on
the chosen channel (``notices``, sent by the delivery engine): a 6-digit code by SMS, Zalo or
Telegram, a link by email. Nothing is sent to a pending row (the outbox takes only active
ones); unconfirmed requests expire after 24 hours and are deleted.

Secrets are stored only as digests:

- the confirmation code as an HMAC keyed by the app's SECRET_KEY over channel, address and
  code (six digits alone would identify nothing and are cheap to reverse); the email link's
  256-bit token as its SHA-256;
- the unsubscribe/manage token of a subscription is *derived*, not drawn: an HMAC-SHA256 of
  its id under a key derived from SECRET_KEY. The engine recomputes it for every message
  without keeping a copy, and only its SHA-256 is stored, to find the subscription. Rotating
  SECRET_KEY changes the tokens of later messages (the engine stores their new digest as it
  sends), and the links in earlier messages stop working.

Abuse: requests are counted per client address and per destination (an HMAC of channel and
address, so the counters hold no phone number) in the shared ``signin_throttle`` table; past
a lower threshold a simple sum must be solved (a stateless signed challenge, single use).
Every request, confirmation and refusal is audited with the address masked.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from collections.abc import Iterable
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from datetime import timedelta

import phonenumbers
import sqlite_utils
from itsdangerous import BadData
from itsdangerous import URLSafeTimedSerializer
from jinja2 import Environment
from jinja2 import FileSystemLoader
from jinja2 import StrictUndefined

from alerts import audit
from alerts.clock import from_text
from alerts.clock import to_text
from alerts.clock import utcnow
from alerts.config import PROJECT_ROOT
from alerts.db import write
from alerts.errors import N_
from alerts.errors import NotFound
from alerts.errors import Refused
from alerts.indicators import parse_phone
from alerts.jurisdiction import unit_code
from alerts.models import Level
from alerts.models import Region
from alerts.render import gsm
from alerts.security import vault
from alerts.store import accounts as account_store
from alerts.store import audit as audit_store
from alerts.store import notices as notice_store
from alerts.store import regions as region_store
from alerts.store import subscriptions as store
from alerts.store import throttle as throttle_store
from alerts.store import units as unit_store

CHANNELS = ("sms", "email", "telegram", "zalo")
MAX_REGIONS = 10
CONFIRM_TTL = timedelta(hours=24)
WINDOW = timedelta(hours=1)
DEST_LIMIT, IP_LIMIT = 5, 20  # requests per WINDOW
DEST_CHALLENGE, IP_CHALLENGE = 2, 3  # requests per WINDOW after which the sum is asked
CODE_TRIES = 5  # wrong codes per address before its codes stop working
CHALLENGE_SECONDS = 15 * 60
MANAGE_TTL = timedelta(hours=24)  # how long a "manage" notice may wait to go out
STOP_WORDS = frozenset({"STOP", "HUY", "TU CHOI", "TUCHOI"})
INBOUND_SECRET = "inbound_secret"  # the SMS account's secret the gateway's hook presents
_EMAIL = re.compile(
    r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}"
)
_PHONE_CHARS = re.compile(r"[+0-9 ().-]{8,24}")
_REGION_CODE = re.compile(r"[0-9]{2}|[0-9]{5}")
_LINK_TOKEN = re.compile(r"[A-Za-z0-9_-]{20,64}")
_MOBILE = (phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE)
_TEMPLATES = Environment(
    loader=FileSystemLoader(PROJECT_ROOT / "templates" / "subscribe"),
    autoescape=True,
    undefined=StrictUndefined,
)


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


@dataclass(frozen=True)
class Pending:
    """A request waiting for confirmation, as the resident may see it."""

    channel: str
    masked: str
    regions: tuple[str, ...]
    by_link: bool
    expires_at: str


@dataclass(frozen=True)
class Entry:
    """One subscription in a listing."""

    id: int
    region_code: str
    region_name: str
    status: str


@dataclass(frozen=True)
class Listing:
    """An address's subscriptions on one channel, the address masked."""

    channel: str
    masked: str
    entries: tuple[Entry, ...]


# --- validation ------------------------------------------------------------------------


def check_channel(channel: str | None) -> str:
    """Return the channel, or refuse anything but SMS, email, Telegram and Zalo."""
    if channel not in CHANNELS:
        raise Refused(N_("Choose SMS, email, Telegram or Zalo."), "channel")
    return channel


def normalise_address(channel: str, address: str | None) -> str:
    """Return the address as stored (E.164 phone, lower-case email, digits), or refuse."""
    text = (address or "").strip()
    if channel == "sms":
        return _mobile(text)
    if channel == "email":
        lowered = text.lower()
        local = lowered.partition("@")[0]
        if len(lowered) > 254 or len(local) > 64 or not _EMAIL.fullmatch(lowered):
            raise Refused(N_("Enter a valid email address, such as ten@example.vn."), "address")
        return lowered
    if channel == "telegram":
        if not re.fullmatch(r"[0-9]{1,15}", text) or int(text) == 0:
            raise Refused(
                N_("Enter your Telegram chat id: the number our bot sends you."), "address"
            )
        return str(int(text))
    if not re.fullmatch(r"[0-9]{1,32}", text):
        raise Refused(
            N_("Enter your Zalo user id: the number our Official Account sends you."), "address"
        )
    return text


def _mobile(text: str) -> str:
    refusal = Refused(N_("Enter a Vietnamese mobile number, such as 0912 345 678."), "address")
    if not _PHONE_CHARS.fullmatch(text):
        raise refusal
    try:
        e164 = parse_phone(text, "address").value
    except Refused:
        raise refusal from None
    number = phonenumbers.parse(e164)
    if phonenumbers.region_code_for_number(number) != "VN":
        raise refusal
    if phonenumbers.number_type(number) not in _MOBILE:
        raise refusal
    return e164


def _regions(db: sqlite_utils.Database, codes: Iterable[str]) -> list[Region]:
    """Return the chosen communes and provinces (1 to 10, existing, not the nation)."""
    chosen = list(dict.fromkeys(c.strip() for c in codes if c and c.strip()))
    if not chosen:
        raise Refused(N_("Choose at least one commune or province."), "regions")
    if len(chosen) > MAX_REGIONS:
        raise Refused(
            N_("Choose at most %(max)d communes or provinces."), "regions", max=MAX_REGIONS
        )
    found = []
    for code in chosen:
        if code == "vn":
            raise Refused(
                N_("Choose a province or communes: national warnings reach every subscriber."),
                "regions",
            )
        region = region_store.get_region(db, code) if _REGION_CODE.fullmatch(code) else None
        if region is None or region.level == Level.NATION:
            raise Refused(N_("Choose communes or provinces from the list."), "regions")
        found.append(region)
    return found


def mask(channel: str, address: str) -> str:
    """Return an address as shown and logged: "+84******678", "d***@example.vn", "10***01"."""
    if channel == "email":
        local, _, domain = address.partition("@")
        return f"{local[:1]}***@{domain}"
    if channel == "sms":
        return f"{address[:3]}******{address[-3:]}"
    return f"{address[:2]}***{address[-2:]}" if len(address) > 5 else "***"


# --- tokens and digests ------------------------------------------------------------------


def _key(config: Mapping, purpose: str) -> bytes:
    secret = str(config["SECRET_KEY"]).encode("utf-8")
    return hmac.new(secret, f"alerts.subscriptions.{purpose}".encode(), hashlib.sha256).digest()


def _mac(config: Mapping, purpose: str, message: str) -> str:
    return hmac.new(_key(config, purpose), message.encode("utf-8"), hashlib.sha256).hexdigest()


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def token_for(config: Mapping, subscription_id: int) -> str:
    """Return the unsubscribe/manage token of a subscription (derived, never stored)."""
    raw = hmac.new(_key(config, "token"), str(subscription_id).encode(), hashlib.sha256)
    return base64.urlsafe_b64encode(raw.digest()).decode("ascii").rstrip("=")


def unsubscribe_url(config: Mapping, subscription_id: int) -> str:
    """Return the one-click unsubscribe address of a subscription."""
    return f"{config['PUBLIC_URL']}/unsubscribe/{token_for(config, subscription_id)}"


def manage_url(config: Mapping, subscription_id: int) -> str:
    """Return the page where the resident sees and deletes their subscriptions."""
    return f"{config['PUBLIC_URL']}/subscriptions/{token_for(config, subscription_id)}"


def remember_tokens(db: sqlite_utils.Database, config: Mapping, ids: Iterable[int]) -> None:
    """Store the digest of each subscription's current token (the caller holds the write)."""
    store.set_token_hashes(db, [(i, _digest(token_for(config, i))) for i in set(ids)])


def _code_hash(config: Mapping, channel: str, address: str, code: str) -> str:
    return _mac(config, "code", f"{channel}\n{address}\n{code}")


def _dest_key(config: Mapping, kind: str, channel: str, address: str) -> str:
    return f"sub:{kind}:" + _mac(config, "destination", f"{channel}\n{address}")[:32]


def _ip_key(ip: str | None) -> str:
    return f"sub:ip:{(ip or '-')[:64]}"


# --- counters and the challenge ------------------------------------------------------------


def _count(db: sqlite_utils.Database, key: str, now: datetime, window: timedelta) -> int:
    row = throttle_store.get_counter(db, key)
    if row is None or from_text(row[1]) <= now - window:
        return 0
    return row[0]


def _bump(db: sqlite_utils.Database, key: str, now: datetime, window: timedelta) -> None:
    row = throttle_store.get_counter(db, key)
    if row is None or from_text(row[1]) <= now - window:
        throttle_store.put_counter(db, key, 1, to_text(now), None)
    else:
        throttle_store.put_counter(db, key, row[0] + 1, row[1], None)


def _serializer(config: Mapping) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(str(config["SECRET_KEY"]), salt="alerts.subscribe.challenge")


def new_challenge(config: Mapping) -> Challenge:
    """Return a fresh sum; its token holds a keyed digest of the answer, not the answer."""
    a, b = secrets.randbelow(9) + 1, secrets.randbelow(9) + 1
    nonce = secrets.token_urlsafe(12)
    token = _serializer(config).dumps({"n": nonce, "h": _mac(config, "sum", f"{nonce}:{a + b}")})
    return Challenge(f"{a} + {b}", token)


def needs_challenge(db: sqlite_utils.Database, ip: str | None) -> bool:
    """Return whether requests from this address must solve the sum already."""
    return _count(db, _ip_key(ip), utcnow(), WINDOW) >= IP_CHALLENGE


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
    if not hmac.compare_digest(_mac(config, "sum", f"{nonce}:{int(given)}"), expected):
        raise WrongAnswer(nonce)
    throttle_store.put_counter(db, f"sub:nonce:{nonce}", 1, to_text(now), None)


def _guard(db, config, channel: str, address: str, ip, challenge, now: datetime) -> None:
    """Apply the rate limits and ask for the sum past the lower threshold."""
    dest = _dest_key(config, "dest", channel, address)
    dest_count = _count(db, dest, now, WINDOW)
    if dest_count >= DEST_LIMIT:
        raise TooMany(N_("Too many requests for this address. Try again in an hour."))
    if _count(db, _ip_key(ip), now, WINDOW) >= IP_CHALLENGE or dest_count >= DEST_CHALLENGE:
        _check_challenge(db, config, challenge, now)
    _bump(db, dest, now, WINDOW)
    _bump(db, _ip_key(ip), now, WINDOW)


def _over_ip_limit(db, ip, now: datetime) -> None:
    if _count(db, _ip_key(ip), now, WINDOW) >= IP_LIMIT:
        raise TooMany(N_("Too many requests from your network. Try again in an hour."))


def _refused(db, actor: audit.Actor, attempted: str, refusal: Refused, now: datetime) -> None:
    """Audit a refusal; a bad form or a wrong answer also counts against the network."""
    with write(db):
        if isinstance(refusal, WrongAnswer) and refusal.nonce:
            throttle_store.put_counter(db, f"sub:nonce:{refusal.nonce}", 1, to_text(now), None)
        if not isinstance(refusal, TooMany) and type(refusal) is not ChallengeRequired:
            _bump(db, _ip_key(actor.ip), now, WINDOW)
        detail = {"attempted": attempted, "reason": refusal.message, "field": refusal.field or ""}
        _log(db, actor, "subscription.refused", None, **detail)


def _log(db, actor: audit.Actor, action: str, obj: str | None, **detail) -> None:
    audit_store.append(db, audit.make_entry(actor, action, obj, detail))


# --- notices -------------------------------------------------------------------------------


def _notice_account(db: sqlite_utils.Database, channel: str, region_code: str) -> int | None:
    """Return the live account that speaks for the region's unit (nearest up), or None."""
    chain, unit = [], unit_store.get_unit_by_code(db, unit_code(region_code))
    while unit is not None:
        chain.append(unit.id)
        unit = unit_store.get_unit(db, unit.parent_id) if unit.parent_id else None
    order = {unit_id: i for i, unit_id in enumerate(chain)}
    for account in sorted(
        account_store.accounts_of_units(db, chain), key=lambda a: order[a.unit_id]
    ):
        if account.channel == channel and account.active and not account.test_audience:
            return account.id
    return None


def _texts(kind: str, channel: str, secret: str, url: str, places: str) -> tuple[str, str, str]:
    """Return (subject, text, html) of a notice in the channel's form (SMS: GSM-7)."""
    if channel == "email":
        words = _email_words(kind, places)
        plain = f"{words['lead']}\n\n{words['action']}\n{url}\n\n{words['ignore']}"
        html = _TEMPLATES.get_template("notice_email.html").render(url=url, **words).strip()
        return words["subject"], plain, html
    if kind == "confirm":
        text = (
            f"Mã xác nhận đăng ký nhận cảnh báo của Công an: {secret}. Mã có hiệu lực 24 giờ."
            " Không đưa mã này cho ai. Không yêu cầu? Hãy bỏ qua tin này."
        )
    else:
        text = f"Xem, hủy đăng ký cảnh báo của Công an: {url} Bỏ qua nếu không yêu cầu."
    if channel == "sms":
        return "", gsm.to_gsm7(text, extension=False), ""
    if channel == "telegram":
        return "", text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;"), ""
    return "", text, ""


def _email_words(kind: str, places: str) -> dict[str, str]:
    """Return the subject and sentences of an email notice."""
    if kind == "confirm":
        words = {
            "subject": "Xác nhận đăng ký nhận cảnh báo của Công an",
            "lead": f"Địa chỉ này vừa được đăng ký nhận cảnh báo tội phạm, lừa đảo tại: {places}.",
            "action": "Để xác nhận, mở liên kết sau trong vòng 24 giờ:",
            "button": "Xác nhận đăng ký",
        }
    else:
        words = {
            "subject": "Quản lý đăng ký nhận cảnh báo của Công an",
            "lead": "Bạn vừa yêu cầu xem các đăng ký nhận cảnh báo của địa chỉ này.",
            "action": "Xem và hủy từng đăng ký tại:",
            "button": "Quản lý đăng ký",
        }
    return {**words, "ignore": "Nếu bạn không yêu cầu, hãy bỏ qua thư này: không có gì thay đổi."}


def _queue(db, kind: str, channel: str, account_id: int, address: str, texts, now, expires) -> int:
    subject, text, html = texts
    return notice_store.insert(
        db,
        kind=kind,
        channel=channel,
        account_id=account_id,
        target=address,
        subject=subject,
        text=text,
        html=html,
        idempotency_key=f"n-{kind}-{secrets.token_hex(10)}",
        now=to_text(now),
        expires_at=to_text(expires),
    )


# --- the resident's flows ------------------------------------------------------------------


def request(
    db: sqlite_utils.Database,
    config: Mapping,
    *,
    channel: str,
    address: str,
    regions: Iterable[str],
    ip: str | None,
    challenge: tuple[str, str] | None = None,
) -> Pending:
    """Take a subscription request: pending rows and one confirmation notice, or Refused
    (TooMany past the limits, ChallengeRequired when the sum must be solved)."""
    now, actor = utcnow(), audit.Actor("anonymous", None, ip)
    try:
        _over_ip_limit(db, ip, now)
        channel = check_channel(channel)
        address = normalise_address(channel, address)
        found = _regions(db, regions)
        account_id = _notice_account(db, channel, found[0].code)
        if account_id is None:
            raise Refused(
                N_("This channel does not reach your area yet: choose another."), "channel"
            )
        with write(db):
            _guard(db, config, channel, address, ip, challenge, now)
            return _open(db, config, actor, channel, address, found, account_id, now)
    except Refused as refusal:
        _refused(db, actor, "request", refusal, now)
        raise


def _open(db, config, actor, channel, address, found: list[Region], account_id, now) -> Pending:
    """Write the pending rows and queue the confirmation (inside the caller's write)."""
    expires = now + CONFIRM_TTL
    if channel == "email":
        secret = secrets.token_urlsafe(32)
        confirm_hash, url = _digest(secret), f"{config['PUBLIC_URL']}/subscribe/confirm/{secret}"
    else:
        secret = f"{secrets.randbelow(10**6):06d}"
        confirm_hash, url = _code_hash(config, channel, address, secret), ""
    ids = [
        store.request_pending(
            db,
            channel=channel,
            address=address,
            region_code=region.code,
            confirm_hash=confirm_hash,
            expires_at=to_text(expires),
            now=to_text(now),
        )
        for region in found
    ]
    remember_tokens(db, config, ids)
    throttle_store.clear_counter(db, _dest_key(config, "code", channel, address))  # a new code
    places = ", ".join(r.name for r in found)
    texts = _texts("confirm", channel, secret, url, places)
    notice_id = _queue(db, "confirm", channel, account_id, address, texts, now, expires)
    codes = tuple(r.code for r in found)
    masked = mask(channel, address)
    detail = {"channel": channel, "address": masked, "regions": ",".join(codes)}
    _log(db, actor, "subscription.request", f"notice:{notice_id}", **detail)
    return Pending(channel, masked, codes, channel == "email", to_text(expires))


def confirm(
    db: sqlite_utils.Database,
    config: Mapping,
    token_or_code: str,
    *,
    channel: str | None = None,
    address: str | None = None,
    ip: str | None = None,
) -> Listing:
    """Activate what a confirmation link (alone) or a code (with channel and address)
    confirms; Refused when it is wrong, expired or tried too often."""
    now, actor = utcnow(), audit.Actor("anonymous", None, ip)
    try:
        if channel is None:
            token = (token_or_code or "").strip()
            valid = _LINK_TOKEN.fullmatch(token) is not None
            rows = store.awaiting(db, _digest(token), to_text(now)) if valid else []
            if not rows:
                raise Refused(N_("This link is not valid or has expired. Subscribe again."))
        else:
            rows = _by_code(db, config, token_or_code, channel, address, now)
    except Refused as refusal:
        _refused(db, actor, "confirm", refusal, now)
        raise
    channel, address = rows[0].channel, rows[0].address
    with write(db):
        store.activate(db, [r.id for r in rows], to_text(now))
        throttle_store.clear_counter(db, _dest_key(config, "code", channel, address))
        codes = ",".join(r.region_code for r in rows)
        detail = {"channel": channel, "address": mask(channel, address), "regions": codes}
        _log(db, actor, "subscription.confirm", None, **detail)
    return _listing(db, channel, address)


def _by_code(db, config, code: str, channel: str, address: str | None, now) -> list:
    """Return the rows a code confirms; count wrong codes and stop them past the limit."""
    channel = check_channel(channel)
    address = normalise_address(channel, address)
    code = re.sub(r"\s", "", code or "")
    if not re.fullmatch(r"[0-9]{6}", code):
        raise Refused(N_("Enter the 6-digit code you received."), "code")
    key = _dest_key(config, "code", channel, address)
    if _count(db, key, now, CONFIRM_TTL) >= CODE_TRIES:
        raise Refused(N_("Too many wrong codes. Subscribe again to get a new code."), "code")
    digest = _code_hash(config, channel, address, code)
    rows = store.awaiting(db, digest, to_text(now), channel=channel, address=address)
    if rows:
        return rows
    with write(db):
        _bump(db, key, now, CONFIRM_TTL)
        if _count(db, key, now, CONFIRM_TTL) >= CODE_TRIES:
            store.forget_confirmations(db, channel, address)
    raise Refused(N_("This code is wrong or has expired. Check it, or subscribe again."), "code")


def _listing(db, channel: str, address: str) -> Listing:
    entries = tuple(
        Entry(s.id, s.region_code, s.region_name, s.status)
        for s in store.of_address(db, channel, address)
    )
    return Listing(channel, mask(channel, address), entries)


def _holder(db: sqlite_utils.Database, token: str) -> store.Subscription:
    found = store.by_token(db, _digest(token)) if _LINK_TOKEN.fullmatch(token or "") else None
    if found is None:
        raise NotFound("subscription")
    return found


def manage(db: sqlite_utils.Database, token: str) -> Listing:
    """Return the subscriptions of the token's address (masked); NotFound for a bad token.
    Reading changes nothing (the unsubscribe page shows this before its button)."""
    holder = _holder(db, token)
    return _listing(db, holder.channel, holder.address)


def unsubscribe(
    db: sqlite_utils.Database, token: str, *, ip: str | None = None, via: str = "link"
) -> Listing:
    """End every subscription of the token's address on its channel (one click)."""
    holder = _holder(db, token)
    masked = mask(holder.channel, holder.address)
    with write(db):
        ended = store.end(db, holder.channel, holder.address, to_text(utcnow()))
        detail = {"channel": holder.channel, "address": masked, "via": via, "ended": ended}
        _log(db, audit.Actor("anonymous", None, ip), "subscription.unsubscribe", None, **detail)
    return _listing(db, holder.channel, holder.address)


def delete(
    db: sqlite_utils.Database, token: str, subscription_id: int, *, ip: str | None = None
) -> Listing:
    """End one subscription of the token's address (another address's is left alone)."""
    holder = _holder(db, token)
    with write(db):
        ended = store.end(db, holder.channel, holder.address, to_text(utcnow()), [subscription_id])
        if ended:
            detail = {"channel": holder.channel, "address": mask(holder.channel, holder.address)}
            _log(
                db,
                audit.Actor("anonymous", None, ip),
                "subscription.delete",
                f"subscription:{subscription_id}",
                **detail,
            )
    return _listing(db, holder.channel, holder.address)


def send_manage_link(
    db: sqlite_utils.Database,
    config: Mapping,
    channel: str,
    address: str,
    *,
    ip: str | None = None,
    challenge: tuple[str, str] | None = None,
) -> None:
    """Queue a "manage your subscriptions" link to an address that has subscriptions.

    Answers the same whether or not it has any (only a malformed address or the limits are
    refused), so the form tells nobody who is subscribed.
    """
    now, actor = utcnow(), audit.Actor("anonymous", None, ip)
    try:
        _over_ip_limit(db, ip, now)
        channel = check_channel(channel)
        address = normalise_address(channel, address)
        with write(db):
            _guard(db, config, channel, address, ip, challenge, now)
            known = [s for s in store.of_address(db, channel, address) if s.status != "pending"]
            account_id = _notice_account(db, channel, known[0].region_code) if known else None
            notice_id = None
            if account_id is not None:
                remember_tokens(db, config, [known[0].id])
                texts = _texts("manage", channel, "", manage_url(config, known[0].id), "")
                notice_id = _queue(
                    db, "manage", channel, account_id, address, texts, now, now + MANAGE_TTL
                )
            detail = {"channel": channel, "address": mask(channel, address)}
            _log(
                db,
                actor,
                "subscription.manage_link",
                notice_id and f"notice:{notice_id}",
                **detail,
                sent=notice_id is not None,
            )
    except Refused as refusal:
        _refused(db, actor, "manage_link", refusal, now)
        raise


def is_stop_keyword(text: str) -> bool:
    """Return whether an inbound SMS asks to stop ("STOP", "HUY", "HỦY", "TU CHOI"...)."""
    words = re.sub(r"[^A-Z ]", " ", gsm.strip_diacritics(text or "").upper()).split()
    return " ".join(words) in STOP_WORDS


def stop_keyword(db: sqlite_utils.Database, phone: str, *, ip: str | None = None) -> int:
    """End every SMS subscription of a phone that sent the stop keyword; return how many."""
    address = normalise_address("sms", phone)
    with write(db):
        ended = store.end(db, "sms", address, to_text(utcnow()))
        detail = {"channel": "sms", "address": mask("sms", address), "ended": ended}
        _log(db, audit.Actor("sms-gateway", None, ip), "subscription.stop", None, **detail)
    return ended


def inbound_secret_ok(db: sqlite_utils.Database, config: Mapping, presented: str) -> bool:
    """Return whether the secret matches an active SMS account's ``inbound_secret``."""
    if not presented:
        return False
    matched = False
    for account_id in store.account_ids(db, "sms"):
        stored = account_store.get_account(db, account_id)
        try:
            secret = vault.unseal(config, stored.secrets).get(INBOUND_SECRET, "")
        except vault.VaultError:
            continue
        if secret and hmac.compare_digest(secret.encode(), presented.encode()):
            matched = True
    return matched


def expire_pending(db: sqlite_utils.Database, now: datetime | None = None) -> int:
    """Delete the requests nobody confirmed in time and old counters; return how many."""
    now = now or utcnow()
    with write(db):
        expired = store.expire_pending(db, to_text(now))
        for prefix, age in (
            ("sub:ip:", WINDOW),
            ("sub:dest:", WINDOW),
            ("sub:code:", CONFIRM_TTL),
            ("sub:nonce:", timedelta(seconds=CHALLENGE_SECONDS)),
        ):
            store.drop_counters(db, prefix, to_text(now - age))
    return expired
