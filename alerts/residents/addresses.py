"""What a resident may subscribe with: a channel, an address on it and 1 to 10 places.

Kept apart from the flows (``alerts.residents.subscriptions``) because checking input is the
same for every flow: an address is stored in one canonical form (E.164 phone, lower-case
email, a Telegram chat id or Zalo user id) and shown or logged only masked."""

from __future__ import annotations

import re
from collections.abc import Iterable

import phonenumbers
import sqlite_utils

from alerts import channels
from alerts.errors import N_
from alerts.errors import Refused
from alerts.models import Level
from alerts.models import Region
from alerts.store import regions as region_store
from alerts.warnings.indicators import parse_phone

CHANNELS = channels.RESIDENT_NAMES
MAX_REGIONS = 10
_EMAIL = re.compile(
    r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}"
)
_PHONE_CHARS = re.compile(r"[+0-9 ().-]{8,24}")
_REGION_CODE = re.compile(r"[0-9]{2}|[0-9]{5}")
_MOBILE = (phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE)


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


def chosen_regions(db: sqlite_utils.Database, codes: Iterable[str]) -> list[Region]:
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
