"""What a warning says and to whom: the fields that reach residents, checked and normalised.

Field names and values follow CAP 1.2 (category, severity, urgency, certainty, status as
``mode``) so a CAP document can be produced without guessing. ``parse_content`` checks every
field at once and raises ``Invalid`` listing each problem; ``content_hash`` covers every field
that reaches residents, so an approval can be bound to exactly what was approved.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from collections.abc import Mapping
from dataclasses import asdict
from dataclasses import dataclass
from dataclasses import field
from datetime import datetime
from datetime import timedelta
from zoneinfo import ZoneInfo

from alerts import channels
from alerts.clock import to_text
from alerts.errors import Invalid
from alerts.errors import Refused
from alerts.models import Level
from alerts.models import Region
from alerts.models import Unit
from alerts.regions import NATION_CODE
from alerts.regions.jurisdiction import unit_covers_region
from alerts.text import clean_line
from alerts.text import clean_text
from alerts.warnings import indicators as ind

CATEGORIES = ("Security", "Safety")
WARNING_TYPES = (
    "scam_phone",
    "scam_online",
    "fake_link",
    "theft",
    "drugs",
    "missing_person",
    "wanted_person",
    "traffic",
    "fake_news",
    "other",
)
# A refutation ("tin giả / thông tin sai sự thật") quotes the claim it corrects.
REFUTATION_TYPE = "fake_news"
# CAP 1.2 values without "Unknown", which Google Public Alerts refuses.
SEVERITIES = ("Extreme", "Severe", "Moderate", "Minor")
URGENCIES = ("Immediate", "Expected", "Future", "Past")
CERTAINTIES = ("Observed", "Likely", "Possible", "Unlikely")
MODES = ("Actual", "Exercise", "Test")
CHANNELS = channels.NAMES
LIMITS = {
    "headline": 160,
    "description": 4000,
    "instruction": 1000,
    "link": 500,
    "claim": 2000,
}
MAX_LIFETIME = timedelta(days=365)
# A publish time this far in the past is taken as a mistake, not as "now".
PAST_TOLERANCE = timedelta(minutes=5)
_SHA256 = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class Indicators:
    """Scam indicators, normalised: E.164 phones, "<bank> <digits>" accounts, links."""

    phones: tuple[str, ...] = ()
    accounts: tuple[str, ...] = ()
    links: tuple[str, ...] = ()


@dataclass(frozen=True)
class Refutation:
    """The false claim a refutation corrects, as it goes around: its text and the links it
    spreads (normalised like scam links). The facts are the warning's description and a
    screenshot of the claim its image, so every channel carries them as it already does."""

    claim: str
    links: tuple[str, ...] = ()


@dataclass(frozen=True)
class Content:
    """Every field of a warning that reaches residents (times are stored UTC text)."""

    headline: str
    description: str
    instruction: str
    category: str
    warning_type: str
    severity: str
    urgency: str
    certainty: str
    mode: str
    regions: tuple[str, ...]
    channels: tuple[str, ...]
    publish_at: str | None
    expires_at: str
    headline_en: str = ""
    description_en: str = ""
    instruction_en: str = ""
    link: str = ""
    image: str | None = None
    indicators: Indicators = field(default_factory=Indicators)
    refutation: Refutation | None = None

    @property
    def is_refutation(self) -> bool:
        """Whether this warning corrects a false claim (its channels say "ĐÍNH CHÍNH")."""
        return self.refutation is not None

    @property
    def is_live(self) -> bool:
        """Whether the warning may reach the live audience (Exercise and Test never do)."""
        return self.mode == "Actual"

    def as_dict(self) -> dict:
        """Return the content as plain JSON-able data (lists, not tuples).

        ``refutation`` appears only on a refutation, so the hashes and signatures of every
        warning stored before it existed stay what they were."""
        data = json.loads(json.dumps(asdict(self)))
        if data["refutation"] is None:
            del data["refutation"]
        return data


def content_hash(content: Content, msg_type: str, references: int | None) -> str:
    """Return the SHA-256 of the canonical JSON of everything residents would receive."""
    data = {"content": content.as_dict(), "msg_type": msg_type, "references": references}
    canonical = json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def content_from_dict(data: Mapping) -> Content:
    """Rebuild a Content from ``as_dict`` output (stored snapshots)."""
    values = dict(data)
    values["regions"] = tuple(values["regions"])
    values["channels"] = tuple(values["channels"])
    values["indicators"] = Indicators(**{k: tuple(v) for k, v in values["indicators"].items()})
    refutation = values.get("refutation")
    if refutation is not None:
        values["refutation"] = Refutation(refutation["claim"], tuple(refutation["links"]))
    return Content(**values)


@dataclass
class _Checker:
    """Collects every problem of one submission instead of stopping at the first."""

    raw: Mapping
    problems: list[Refused] = field(default_factory=list)

    def refuse(self, message: str, name: str, /, **params: object) -> None:
        self.problems.append(Refused(message, name, **params))

    def problems_for(self, name: str) -> bool:
        return any(p.field == name for p in self.problems)

    def text(self, name: str, *, required: bool, multiline: bool = True) -> str:
        value = self.raw.get(name)
        if value is None:
            value = ""
        if not isinstance(value, str):
            self.refuse("Must be text.", name)
            return ""
        value = clean_text(value) if multiline else clean_line(value)
        limit = LIMITS.get(name.removesuffix("_en"), 1000)
        if required and not value:
            self.refuse("This field is required.", name)
        elif len(value) > limit:
            self.refuse(
                "At most %(max)s characters (now %(count)s).", name, max=limit, count=len(value)
            )
        return value

    def choice(self, name: str, allowed: tuple[str, ...], default: str | None = None) -> str:
        value = self.raw.get(name) or default
        if value not in allowed:
            self.refuse("Choose one of: %(allowed)s.", name, allowed=", ".join(allowed))
            return allowed[0]
        return value

    def strings(self, name: str) -> list[str]:
        """Return a list field given as a JSON list or as text (one per line, or separated)."""
        value = self.raw.get(name)
        if value is None or value == "":
            return []
        if isinstance(value, str):
            separators = r"\n" if name in ind.PARSERS or name == "claim_links" else r"[\s,;]+"
            return [v for v in re.split(separators, value) if v.strip()]
        if isinstance(value, list | tuple) and all(isinstance(v, str) for v in value):
            return list(value)
        self.refuse("Must be a list of text values.", name)
        return []

    def moment(self, name: str, naive_zone: ZoneInfo | None) -> datetime | None:
        value = self.raw.get(name)
        if value in (None, ""):
            return None
        try:
            moment = datetime.fromisoformat(value) if isinstance(value, str) else None
        except ValueError:
            moment = None
        if moment is None:
            self.refuse("Not a date and time (ISO 8601).", name)
            return None
        if moment.tzinfo is None:
            if naive_zone is None:
                self.refuse("Give the UTC offset, e.g. 2026-12-01T08:00:00+07:00.", name)
                return None
            moment = moment.replace(tzinfo=naive_zone)
        return moment


def _regions(
    check: _Checker, unit: Unit, find_region: Callable[[str], Region | None]
) -> tuple[str, ...]:
    """Return the target codes, inside the unit's jurisdiction, with redundant ones folded."""
    found: dict[str, Region] = {}
    for code in dict.fromkeys(c.strip().lower() for c in check.strings("regions")):
        region = find_region(code) if len(code) <= 10 else None
        if region is None:
            check.refuse("Unknown region code: %(code)s", "regions", code=code[:20])
        elif not unit_covers_region(unit, region):
            check.refuse("Region %(code)s is outside your jurisdiction.", "regions", code=code)
        else:
            found[code] = region
    if not found and not check.problems_for("regions"):
        check.refuse("Choose at least one region.", "regions")
    if NATION_CODE in found:
        return (NATION_CODE,)
    kept = [r for r in found.values() if r.parent_code not in found]
    order = {Level.PROVINCE: 0, Level.COMMUNE: 1}
    return tuple(r.code for r in sorted(kept, key=lambda r: (order[r.level], r.code)))


def _channels(check: _Checker) -> tuple[str, ...]:
    chosen = set(check.strings("channels"))
    unknown = sorted(chosen - set(CHANNELS))
    if unknown:
        check.refuse("Unknown channel: %(name)s", "channels", name=", ".join(unknown)[:60])
    return tuple(c for c in CHANNELS if c in chosen)


def _indicators(check: _Checker) -> Indicators:
    raw = check.raw.get("indicators")
    source = raw if isinstance(raw, Mapping) else check.raw
    sub = _Checker(source)
    values = {}
    for kind in ind.PARSERS:
        found, problems = ind.parse_many(kind, sub.strings(kind))
        values[kind] = tuple(i.value for i in found)
        check.problems.extend(sub.problems + problems)
        sub.problems = []
    return Indicators(**values)


def _refutation(check: _Checker, warning_type: str) -> Refutation | None:
    """Return the quoted claim of a refutation (required there), None for other types.

    The form sends ``claim`` and ``claim_links``; the API a ``refutation`` object with
    ``claim`` and ``links``, as ``Content.as_dict`` gives it back."""
    if warning_type != REFUTATION_TYPE:
        return None
    nested = check.raw.get("refutation")
    sub = _Checker(nested) if isinstance(nested, Mapping) else check
    claim = sub.text("claim", required=True)
    given = sub.strings("links" if sub is not check else "claim_links")
    found, problems = ind.parse_many("links", given)
    check.problems.extend(Refused(p.message, "claim_links", **p.params) for p in problems)
    if sub is not check:
        check.problems.extend(sub.problems)
    return Refutation(claim, tuple(i.value for i in found))


def _image(check: _Checker) -> str | None:
    """Return the SHA-256 of an uploaded image, or None (the workflow checks it exists)."""
    value = check.raw.get("image") or None
    if value is not None and not (isinstance(value, str) and _SHA256.fullmatch(value)):
        check.refuse("Unknown image.", "image")
        return None
    return value


def _times(check: _Checker, now: datetime, zone: ZoneInfo | None) -> tuple[str | None, str]:
    publish = check.moment("publish_at", zone)
    expires = check.moment("expires_at", zone)
    if publish is not None and publish < now - PAST_TOLERANCE:
        check.refuse(
            "The publish time has passed; leave it empty to publish on approval.", "publish_at"
        )
    start = max(publish or now, now)
    if expires is None and not check.problems_for("expires_at"):
        check.refuse("Give an expiry time.", "expires_at")
    elif expires is not None and expires <= start:
        check.refuse("The expiry time must come after the publish time.", "expires_at")
    elif expires is not None and expires > start + MAX_LIFETIME:
        check.refuse("A warning may last at most 365 days.", "expires_at")
    return (to_text(publish) if publish else None, to_text(expires) if expires else "")


def parse_content(
    raw: Mapping,
    *,
    unit: Unit,
    find_region: Callable[[str], Region | None],
    official_domains: tuple[str, ...],
    now: datetime,
    naive_zone: ZoneInfo | None = None,
) -> Content:
    """Check and normalise a submission for the issuing ``unit``; raise Invalid on problems.

    ``naive_zone`` interprets times given without an offset (the web form's local time);
    the API passes None and so requires an explicit offset.
    """
    check = _Checker(raw)
    link = check.text("link", required=False, multiline=False)
    if link:
        try:
            link = ind.official_link(link, official_domains)
        except Refused as problem:
            check.problems.append(problem)
    publish_at, expires_at = _times(check, now, naive_zone)
    warning_type = check.choice("warning_type", WARNING_TYPES)
    content = Content(
        headline=check.text("headline", required=True, multiline=False),
        description=check.text("description", required=True),
        instruction=check.text("instruction", required=True),
        category=check.choice("category", CATEGORIES, "Security"),
        warning_type=warning_type,
        severity=check.choice("severity", SEVERITIES),
        urgency=check.choice("urgency", URGENCIES),
        certainty=check.choice("certainty", CERTAINTIES),
        mode=check.choice("mode", MODES, "Actual"),
        regions=_regions(check, unit, find_region),
        channels=_channels(check),
        publish_at=publish_at,
        expires_at=expires_at,
        headline_en=check.text("headline_en", required=False, multiline=False),
        description_en=check.text("description_en", required=False),
        instruction_en=check.text("instruction_en", required=False),
        link=link,
        image=_image(check),
        indicators=_indicators(check),
        refutation=_refutation(check, warning_type),
    )
    if content.headline_en and not (content.description_en and content.instruction_en):
        check.refuse("English text needs a description and an instruction too.", "description_en")
    if check.problems:
        raise Invalid(check.problems)
    return content
