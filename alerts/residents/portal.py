"""The residents' portal without Flask: what the public pages and feeds show.

Residents need no account. The front door lists the warnings in force nationwide (those
of the remembered commune first); a region page lists the warnings that cover it (its
own, its province's, the nation's), those of the regions inside it, and the recent past;
the warning page shows one published revision and where it stands (active, updated,
cancelled, expired); the region feeds carry the same warnings for feed readers and CAP
aggregators.

Exercise and Test warnings are never listed nor put in a feed (they never reach the live
audience), but their own page at /a/<code> answers, under the drill banner, so the units
running a drill can follow their links end to end.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC
from datetime import datetime
from datetime import timedelta

import sqlite_utils
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.hazmat.primitives.serialization import PublicFormat

from alerts import __version__
from alerts.clock import from_text
from alerts.clock import to_text
from alerts.models import Level
from alerts.models import Region
from alerts.regions import MAP_VERSION_KEY
from alerts.regions import NATION_CODE
from alerts.regions import is_region_code
from alerts.render import Message
from alerts.render import atom
from alerts.render.common import title_prefix
from alerts.store import portal as store
from alerts.store import regions as region_store
from alerts.store import units as unit_store
from alerts.store import warnings as warning_store
from alerts.warnings import codes as verification
from alerts.warnings import publication
from alerts.warnings import signatures as signing
from alerts.warnings.models import Alert
from alerts.warnings.models import Status

LIST_LIMIT = 50
PAST_DAYS = 30
PAST_LIMIT = 20
FEED_LIMIT = 200
SEARCH_LIMIT = 20
QUERY_MAX = 100
# The feed of a region that never had a warning: a fixed date (the 2025 map) keeps its
# Last-Modified stable, so pollers still get 304.
NEVER = datetime(2025, 7, 1, tzinfo=UTC)
ACTIVE, UPDATED, CANCELLED, EXPIRED = "active", "updated", "cancelled", "expired"


@dataclass(frozen=True)
class Listed:
    """A warning as the lists show it: the revision, its issuing unit and its regions."""

    alert: Alert
    issuer: str
    regions: tuple[Region, ...]
    state: str

    @property
    def display_code(self) -> str:
        """The verification code as people read it ("K7M4-XQ2P")."""
        return verification.display(self.alert.code)


@dataclass(frozen=True)
class RegionPage:
    """A region's page: the warnings covering it, those inside it, and the recent past."""

    region: Region
    lineage: tuple[Region, ...]
    covering: list[Listed]
    below: list[Listed]
    past: list[Listed]
    children: list[Region]


@dataclass(frozen=True)
class Home:
    """The front door: the remembered region's page (if any) and the rest of the country."""

    mine: RegionPage | None
    nationwide: list[Listed]
    provinces: list[Region]


@dataclass(frozen=True)
class FeedState:
    """What a region's feed holds, and its validators, known before anything is rendered."""

    alerts: list[Alert]
    etag: str
    last_modified: datetime


# --- regions ---------------------------------------------------------------------------------


def find_region(db: sqlite_utils.Database, code: str) -> Region | None:
    """Return the region with this code ("vn", "01", "00070"), or None for an unknown or
    malformed one (anything at all may arrive from a URL)."""
    code = code.strip().lower()
    if len(code) > 5 or not code.isascii() or not is_region_code(code):
        return None
    return region_store.get_region(db, code)


def lineage(db: sqlite_utils.Database, region: Region) -> tuple[Region, ...]:
    """Return the region and the regions above it, from the nation down."""
    chain = [region]
    while chain[-1].parent_code and len(chain) < 3:
        parent = region_store.get_region(db, chain[-1].parent_code)
        if parent is None:
            break
        chain.append(parent)
    return tuple(reversed(chain))


def search(db: sqlite_utils.Database, query: str, within: str | None = None) -> list[Region]:
    """Return up to SEARCH_LIMIT regions whose name matches, ignoring diacritics and case."""
    query = query[:QUERY_MAX]
    if within is not None and find_region(db, within) is None:
        return []
    return region_store.search_regions(db, query, within=within, limit=SEARCH_LIMIT)


def provinces(db: sqlite_utils.Database) -> list[Region]:
    """Return the 34 provinces by name, for the picker."""
    return region_store.child_regions(db, NATION_CODE)


def rememberable(db: sqlite_utils.Database, code: str | None) -> Region | None:
    """Return the region a resident may keep as theirs (a province or a commune), or None."""
    region = find_region(db, code or "")
    return region if region and region.level != Level.NATION else None


# --- lists -----------------------------------------------------------------------------------


def state(alert: Alert, now: datetime) -> str:
    """Return where a published revision stands: active, updated, cancelled or expired."""
    if alert.status == Status.CANCELLED:
        return CANCELLED
    if alert.superseded_by is not None:
        return UPDATED
    if alert.status == Status.EXPIRED or from_text(alert.content.expires_at) <= now:
        return EXPIRED
    return ACTIVE


def _listed(db: sqlite_utils.Database, alerts: list[Alert], now: datetime) -> list[Listed]:
    units: dict[int, str] = {}
    regions: dict[str, Region | None] = {}
    listed = []
    for alert in alerts:
        if alert.unit_id not in units:
            unit = unit_store.get_unit(db, alert.unit_id)
            units[alert.unit_id] = unit.name if unit else ""
        for code in alert.content.regions:
            if code not in regions:
                regions[code] = region_store.get_region(db, code)
        targets = tuple(regions[c] for c in alert.content.regions if regions[c])
        listed.append(Listed(alert, units[alert.unit_id], targets, state(alert, now)))
    return listed


def region_page(db: sqlite_utils.Database, region: Region, now: datetime) -> RegionPage:
    """Return what a region's page shows at ``now``."""
    chain = lineage(db, region)
    codes = [r.code for r in chain]
    moment, since = to_text(now), to_text(now - timedelta(days=PAST_DAYS))
    covering = store.active_covering(db, codes, moment, LIST_LIMIT)
    below = []
    if region.level != Level.COMMUNE:
        below = store.active_below(db, region.code, codes, moment, LIST_LIMIT)
    past = store.past_covering(db, codes, moment, since, PAST_LIMIT)
    return RegionPage(
        region=region,
        lineage=chain,
        covering=_listed(db, covering, now),
        below=_listed(db, below, now),
        past=_listed(db, past, now),
        children=region_store.child_regions(db, region.code)
        if region.level == Level.PROVINCE
        else [],
    )


def home(db: sqlite_utils.Database, remembered: str | None, now: datetime) -> Home:
    """Return the front door: the remembered region's warnings first, then the others."""
    region = rememberable(db, remembered)
    mine = region_page(db, region, now) if region else None
    shown = {item.alert.id for item in mine.covering} if mine else set()
    everywhere = store.active_anywhere(db, to_text(now), LIST_LIMIT)
    nationwide = _listed(db, [a for a in everywhere if a.id not in shown], now)
    return Home(mine=mine, nationwide=nationwide, provinces=provinces(db))


# --- one warning -----------------------------------------------------------------------------


def find_warning(db: sqlite_utils.Database, text: str) -> Alert | None:
    """Return the published revision whose code this is ("k7m4-xq2p" works), or None."""
    if len(text) > 40:
        return None
    code = verification.normalise(text)
    return store.by_code(db, code) if code else None


def newest(db: sqlite_utils.Database, alert: Alert) -> Alert:
    """Return the newest published revision of the warning this revision belongs to."""
    current = alert
    for _hop in range(100):  # an update chain is short; never loop on bad data
        if current.superseded_by is None:
            break
        following = warning_store.get_alert(db, current.superseded_by)
        if following is None or not following.code:
            break
        current = following
    return current


def message(db: sqlite_utils.Database, alert: Alert, config: Mapping) -> Message:
    """Return the message the portal shows and serves for a revision (its Cancel once
    cancelled)."""
    return publication.message_for(db, alert, public_url=config["PUBLIC_URL"])


def share_text(message: Message) -> str:
    """Return the text residents share: the marked headline, the code and the short link."""
    headline = title_prefix(message) + message.content.headline
    return f"{headline} — Mã xác thực {message.display_code}: {message.url}"


# --- feeds -----------------------------------------------------------------------------------


def feed_state(
    db: sqlite_utils.Database, region: Region, config: Mapping, now: datetime
) -> FeedState:
    """Return a region's feed entries (the warnings covering it and those inside it) and
    validators that change whenever the feed's bytes would."""
    codes = [r.code for r in lineage(db, region)]
    moment = to_text(now)
    alerts = store.in_feed(db, codes, region.code, moment, FEED_LIMIT)
    changed = store.last_change(db, codes, region.code, moment)
    fingerprint = json.dumps(
        [
            __version__,
            config["PUBLIC_URL"],
            region_store.get_meta(db, MAP_VERSION_KEY),
            region.code,
            changed,
            [(a.id, a.status.value) for a in alerts],
        ]
    )
    etag = hashlib.sha256(fingerprint.encode("utf-8")).hexdigest()[:32]
    modified = from_text(changed) if changed else NEVER
    return FeedState(alerts=alerts, etag=etag, last_modified=modified.replace(microsecond=0))


def feed_document(
    db: sqlite_utils.Database, region: Region, feed: FeedState, config: Mapping
) -> str:
    """Return the Atom feed: one entry per warning (its Cancel once cancelled), each
    linking its page and its CAP document, within Google's 900 KB."""
    settings = publication.render_settings(config)
    entries = [atom.render(message(db, a, config), settings).parts["xml"] for a in feed.alerts]
    url = f"{config['PUBLIC_URL']}/feeds/{region.code}.atom"
    return atom.feed(
        entries,
        feed_id=url,
        title=f"Cảnh báo tội phạm và lừa đảo — {region.name}",
        self_url=url,
        updated=feed.last_modified,
    )


# --- the signing key -------------------------------------------------------------------------


def signing_key(config: Mapping) -> dict:
    """Return the public key that verifies every published warning, as published."""
    signer = publication.signer(config)
    return {
        "algorithm": signing.ALGORITHM,
        "key_id": signer.key_id,
        "public_key": signer.public_key_b64,
    }


def public_key_pem(config: Mapping) -> str:
    """Return the public key as PEM (SubjectPublicKeyInfo), the form OpenSSL reads."""
    key = publication.signer(config).private_key.public_key()
    return key.public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo).decode("ascii")
