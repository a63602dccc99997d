"""The unit's inbox: what officers do with residents' reports.

The rules:
- a unit sees its own reports and those of the units below it (a province its communes',
  the ministry all), plus those it forwarded up (read-only once they left); outside that a
  report does not exist (NotFound, a 404);
- a report moves new -> in review -> confirmed / duplicate of another report of the same
  unit / dismissed with a reason / forwarded to the unit above (which then reviews it);
  the first move out of "new" stamps ``first_reviewed_at``;
- a reply goes to the reporter on the channel they used; SMS carries only the reference
  and the outcome, in a fixed text, never an officer's free text;
- every action is audited with the report's code and status, never its text or contact.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from datetime import timedelta

import sqlite_utils
from markupsafe import escape

from alerts import audit
from alerts.clock import from_text
from alerts.clock import to_text
from alerts.clock import utcnow
from alerts.db import write
from alerts.errors import N_
from alerts.errors import Conflict
from alerts.errors import Forbidden
from alerts.errors import NotFound
from alerts.errors import Refused
from alerts.models import Acting
from alerts.models import Role
from alerts.models import Unit
from alerts.regions.jurisdiction import unit_covers
from alerts.render import gsm
from alerts.residents.notices import notice_account
from alerts.residents.notices import queue_notice
from alerts.security import vault
from alerts.store import audit as audit_store
from alerts.store import report_inbox as store
from alerts.store import units as unit_store
from alerts.store import users as user_store
from alerts.store import warnings as warning_store
from alerts.store.report_inbox import Group
from alerts.store.report_inbox import Report
from alerts.text import clean_text
from alerts.warnings import workflow
from alerts.warnings.content import CHANNELS

STATUSES = ("new", "in_review", "confirmed", "duplicate", "dismissed", "forwarded", "withdrawn")
KINDS = ("scam_call", "scam_message", "fake_site", "fake_news", "crime_tip", "other")
# For each action, the statuses it may start from and the status it leads to.
_WAITING = ("new", "forwarded", "in_review")
TRANSITIONS: dict[str, tuple[tuple[str, ...], str]] = {
    "review": (("new", "forwarded"), "in_review"),
    "confirm": (_WAITING, "confirmed"),
    "duplicate": (_WAITING, "duplicate"),
    "dismiss": (_WAITING, "dismissed"),
    "forward": (_WAITING, "forwarded"),
}
# The action that leads to each status, for callers that name the status (the API).
BY_STATUS = {to: action for action, (_from, to) in TRANSITIONS.items()}
NOT_NOW = N_("A report that is %(status)s cannot become %(to)s.")
REASON_MAX = 1000
REPLY_MAX = 1000
RECENT = timedelta(days=30)
# Zalo lets an OA answer a user only within 7 days of the user's last message to it.
ZALO_WINDOW = timedelta(days=7)
NOTICE_LIFETIME = timedelta(days=2)
# What a report's kind suggests as the type of a warning drafted from it.
WARNING_TYPE = {
    "scam_call": "scam_phone",
    "scam_message": "scam_online",
    "fake_site": "fake_link",
    "fake_news": "other",
    "crime_tip": "other",
    "other": "other",
}
# The fixed texts a reporter is told (Vietnamese; SMS gets them without diacritics).
OUTCOME_TEXTS = {
    "confirmed": "Công an đã xác minh tin báo {code} của bạn. Cảm ơn bạn đã báo tin.",
    "dismissed": "Công an đã xem xét tin báo {code} của bạn và không xử lý thêm."
    " Cảm ơn bạn đã báo tin.",
}
PUBLISHED_TEXT = "Từ tin báo {code} của bạn, Công an đã phát cảnh báo {warning}: {url}"
REPLY_SUBJECT = "Công an trả lời tin báo {code}"
# The texts of a warning drafted from reports in the admin, blanks to fill ("[...]").
DRAFT_TEXTS = {
    "headline": "Cảnh báo thủ đoạn [thủ đoạn] trên địa bàn [địa bàn]",
    "description": "Công an [tên đơn vị] đã tiếp nhận {count} tin báo của người dân về"
    " [thủ đoạn]. [Diễn biến, số vụ, thiệt hại].",
    "instruction": "Công an [tên đơn vị] khuyến cáo người dân: không nghe theo, không chuyển"
    " tiền, không cung cấp mã OTP và không bấm vào đường link lạ; khi nghi ngờ, gọi 113 hoặc"
    " báo Công an xã, phường nơi cư trú.",
}
DRAFT_LIFETIME = timedelta(days=30)


@dataclass(frozen=True)
class Counts:
    """The unit's figures: reports waiting, new ones, median hours to first review."""

    open: int
    new: int
    median_review_hours: float | None


def _log(db, who: audit.Actor, action: str, report: Report, **detail) -> None:
    entry = {"code": report.code, "status": report.status, **detail}
    audit_store.append(db, audit.make_entry(who, action, f"report:{report.id}", entry))


def _unit(db: sqlite_utils.Database, unit_id: int) -> Unit:
    unit = unit_store.get_unit(db, unit_id)
    assert unit is not None, f"unit {unit_id} vanished"
    return unit


# --- who sees what -------------------------------------------------------------------------


def visible(db: sqlite_utils.Database, acting: Acting, code: str) -> Report:
    """Return a report the actor's unit holds, oversees or forwarded up; NotFound otherwise."""
    report = store.get_by_code(db, code.strip().upper()) if len(code) <= 40 else None
    if report is None:
        raise NotFound(code)
    if unit_covers(acting.unit, _unit(db, report.unit_id)):
        return report
    if unit_covers(acting.unit, _unit(db, report.origin_unit_id)):
        return report
    raise NotFound(code)


def may_act(db: sqlite_utils.Database, acting: Acting, report: Report) -> bool:
    """Return whether the actor may move, assign or answer the report (it sits at their unit
    or below it, and they are an officer or approver)."""
    staff = acting.user.has(Role.OFFICER) or acting.user.has(Role.APPROVER)
    return staff and unit_covers(acting.unit, _unit(db, report.unit_id))


def _require_act(db: sqlite_utils.Database, acting: Acting, report: Report) -> None:
    if not (acting.user.has(Role.OFFICER) or acting.user.has(Role.APPROVER)):
        raise Forbidden("Only officers and approvers handle reports.")
    if not unit_covers(acting.unit, _unit(db, report.unit_id)):
        raise Forbidden("This report was forwarded to the unit above: it handles it now.")


def allowed_actions(db: sqlite_utils.Database, acting: Acting, report: Report) -> list[str]:
    """Return the transitions the actor may make now (for buttons)."""
    if not may_act(db, acting, report):
        return []
    actions = [a for a, (sources, _to) in TRANSITIONS.items() if report.status in sources]
    if _unit(db, report.unit_id).parent_id is None:
        actions = [a for a in actions if a != "forward"]
    return actions


def _scope(db: sqlite_utils.Database, unit: Unit) -> list[int] | None:
    return unit_store.unit_ids_in_scope(db, unit)


def list_reports(
    db: sqlite_utils.Database,
    acting: Acting,
    *,
    statuses: Iterable[str] | None = None,
    kinds: Iterable[str] | None = None,
    limit: int = 50,
    offset: int = 0,
) -> list[Report]:
    """Return the unit's reports, those waiting first, newest first."""
    statuses = _known(statuses, STATUSES, "status")
    kinds = _known(kinds, KINDS, "kind")
    return store.list_reports(
        db,
        _scope(db, acting.unit),
        statuses=statuses,
        kinds=kinds,
        limit=limit,
        offset=offset,
    )


def _known(values: Iterable[str] | None, allowed: tuple[str, ...], field: str):
    if values is None:
        return None
    chosen = list(values)
    if any(v not in allowed for v in chosen):
        raise Refused("Choose one of: %(allowed)s.", field, allowed=", ".join(allowed))
    return chosen or None


def indicators(db: sqlite_utils.Database, reports: Iterable[Report]) -> dict[int, list]:
    """Return the indicators of each report, by report id."""
    return store.indicators(db, [r.id for r in reports])


def groups(db: sqlite_utils.Database, acting: Acting, now: datetime | None = None) -> list[Group]:
    """Return the indicators several residents reported in the last 30 days, across the
    unit's jurisdiction, with the count of reports and of communes."""
    since = to_text((now or utcnow()) - RECENT)
    return store.groups(db, _scope(db, acting.unit), since)


def counts(db: sqlite_utils.Database, unit: Unit, now: datetime | None = None) -> Counts:
    """Return the unit's open and new reports and the median time to first review (of the
    reports first reviewed in the last 30 days)."""
    scope = _scope(db, unit)
    delays = store.review_delays(db, scope, to_text((now or utcnow()) - RECENT))
    median = round(statistics.median(delays) / 3600, 1) if delays else None
    return Counts(
        open=store.count_reports(db, scope, statuses=_WAITING, at_unit=True),
        new=count_new(db, unit),
        median_review_hours=median,
    )


def count_new(db: sqlite_utils.Database, unit: Unit) -> int:
    """Return how many reports wait at the unit or below it unread (new or forwarded up)."""
    return store.count_reports(db, _scope(db, unit), statuses=("new", "forwarded"), at_unit=True)


def assignable(db: sqlite_utils.Database, report: Report) -> list:
    """Return the active officers and approvers of the unit holding the report."""
    users = user_store.list_users(db, [report.unit_id])
    return [u for u in users if u.active and (u.has(Role.OFFICER) or u.has(Role.APPROVER))]


# --- decisions -------------------------------------------------------------------------------


def _bounded(text: str, limit: int, field: str) -> str:
    """Return an officer's text cleaned; refused (not cut) past ``limit``, so nothing they
    wrote is silently lost."""
    cleaned = clean_text(text or "")
    if len(cleaned) > limit:
        raise Refused(
            "At most %(max)s characters (now %(count)s).", field, max=limit, count=len(cleaned)
        )
    return cleaned


def _reason(text: str, required: bool) -> str | None:
    reason = _bounded(text, REASON_MAX, "reason")
    if not reason and required:
        raise Refused("Give a reason.", "reason")
    return reason or None


def _original(db: sqlite_utils.Database, report: Report, code: str) -> Report:
    """Return the report that ``report`` repeats: another one of the same unit."""
    if not (code or "").strip():
        raise Refused("Give the code of the report this one repeats.", "duplicate_of")
    original = store.get_by_code(db, code.strip().upper())
    if original is None or original.unit_id != report.unit_id:
        raise Refused("No report %(code)s at this unit.", "duplicate_of", code=code.strip()[:40])
    if original.id == report.id:
        raise Refused("A report cannot repeat itself.", "duplicate_of")
    if original.status == "duplicate":
        raise Refused(
            "%(code)s is itself a repeat: name the first report.",
            "duplicate_of",
            code=original.code,
        )
    return original


def move(
    db: sqlite_utils.Database,
    config: Mapping,
    acting: Acting,
    code: str,
    action: str,
    *,
    reason: str = "",
    duplicate_of: str = "",
    now: datetime | None = None,
) -> Report:
    """Make one transition (``TRANSITIONS``); a confirmed or dismissed report's reporter is
    told the outcome in a fixed message. Refusals are audited and change nothing else."""
    now = now or utcnow()
    try:
        with write(db):
            report = visible(db, acting, code)
            _require_act(db, acting, report)
            changed = _transition(db, acting, report, action, reason, duplicate_of, now)
            if changed.status in OUTCOME_TEXTS:
                _tell(db, config, acting.actor, changed, OUTCOME_TEXTS[changed.status], now)
        return changed
    except Refused as refusal:
        _refused(db, acting, code, action, refusal)
        raise


def _refused(db, acting: Acting, code: str, action: str, refusal: Refused) -> None:
    """Audit a refusal about a visible report (a NotFound is not: nothing may leak)."""
    report = store.get_by_code(db, code.strip().upper())
    if report is None:
        return
    with write(db):
        detail = {"attempted": action, **refusal.audit_detail()}
        _log(db, acting.actor, "report.refused", report, **detail)


def _transition(db, acting: Acting, report: Report, action: str, reason, duplicate_of, now):
    if action not in TRANSITIONS:
        raise Refused("Unknown action.", "status")
    sources, to = TRANSITIONS[action]
    if report.status not in sources:
        raise Conflict(NOT_NOW, status=report.status, to=to)
    stamp = to_text(now)
    fields: dict[str, object] = {"status": to, "updated_at": stamp}
    detail: dict[str, object] = {"was": report.status}
    if report.first_reviewed_at is None:
        fields["first_reviewed_at"] = stamp
    if action == "dismiss":
        fields["reason"] = detail["reason"] = _reason(reason, required=True)
    elif reason:
        fields["reason"] = detail["reason"] = _reason(reason, required=False)
    if action == "duplicate":
        original = _original(db, report, duplicate_of)
        fields["duplicate_of"] = original.id
        detail["duplicate_of"] = original.code
    if action == "forward":
        parent = _unit(db, report.unit_id).parent_id
        if parent is None:
            raise Conflict("The ministry has no unit above it to forward to.")
        fields.update(unit_id=parent, assigned_to=None)
        detail["to_unit"] = _unit(db, parent).code
    store.set_fields(db, report.id, **fields)
    changed = store.get_by_id(db, report.id)
    _log(db, acting.actor, f"report.{action}", changed, **detail)
    return changed


def assign(db: sqlite_utils.Database, acting: Acting, code: str, username: str | None) -> Report:
    """Give the report to an officer of the unit holding it (None or "": to nobody)."""
    try:
        with write(db):
            report = visible(db, acting, code)
            _require_act(db, acting, report)
            user = None
            if username:
                user = user_store.get_user_by_username(db, username.strip()[:64])
                if user is None or user.id not in {u.id for u in assignable(db, report)}:
                    raise Refused(
                        "%(name)s is not an officer of the unit holding this report.",
                        "assigned_to",
                        name=username.strip()[:64],
                    )
            store.set_fields(
                db, report.id, assigned_to=user.id if user else None, updated_at=to_text(utcnow())
            )
            changed = store.get_by_id(db, report.id)
            _log(db, acting.actor, "report.assign", changed, to=user.username if user else None)
        return changed
    except Refused as refusal:
        _refused(db, acting, code, "assign", refusal)
        raise


# --- answering the reporter ----------------------------------------------------------------


@dataclass(frozen=True)
class Destination:
    """Where a reporter is answered: the channel, the account speaking, their address."""

    channel: str
    account_id: int
    address: str


def destination(db: sqlite_utils.Database, config: Mapping, report: Report) -> Destination:
    """Return where the reporter can be answered; Conflict when they cannot be."""
    if report.contact_sealed is None:
        raise Conflict("The reporter left no way to contact them.")
    try:
        opened = vault.unseal(config, report.contact_sealed)
    except vault.VaultError:  # a key rotated away: the decision stands, nobody is told
        raise Conflict("The reporter's contact cannot be opened with this server's key.") from None
    address = str(opened.get("address") or opened.get("contact") or "").strip()
    if not address:
        raise Conflict("The reporter left no way to contact them.")
    channel = report.channel
    if channel == "portal":
        channel = "email" if "@" in address else "sms"
    account_id = report.account_id if report.channel != "portal" else None
    account_id = account_id or notice_account(db, channel, report.region_code)
    if account_id is None:
        raise Conflict("No channel account of this unit can reach the reporter.")
    return Destination(channel, account_id, address)


def _texts(channel: str, code: str, text: str) -> tuple[str, str, str]:
    """Return (subject, text, html) of a message to a reporter in the channel's form."""
    if channel == "sms":
        return "", gsm.to_gsm7(text, extension=False), ""
    if channel == "telegram":
        return "", str(escape(text)), ""
    if channel == "email":
        html = "<p>" + str(escape(text)).replace("\n", "<br>") + "</p>"
        return REPLY_SUBJECT.format(code=code), text, html
    return "", text, ""


def _queue(db, config, report: Report, text: str, now: datetime, key: str | None = None):
    where = destination(db, config, report)
    texts = _texts(where.channel, report.code, text)
    expires = now + NOTICE_LIFETIME
    queue_notice(
        db, "report", where.channel, where.account_id, where.address, texts, now, expires, key=key
    )
    return where


def _tell(db, config, who: audit.Actor, report: Report, template: str, now: datetime) -> None:
    """Tell the reporter a fixed message if they can be reached (audited either way)."""
    try:
        where = _queue(db, config, report, template.format(code=report.code), now)
    except Conflict as unreachable:
        _log(db, who, "report.not_told", report, reason=unreachable.text)
        return
    _log(db, who, "report.replied", report, channel=where.channel, fixed=True)


def reply(
    db: sqlite_utils.Database,
    config: Mapping,
    acting: Acting,
    code: str,
    text: str,
    now: datetime | None = None,
) -> str:
    """Send the officer's free text to the reporter on their channel; return the channel.

    SMS is refused (it carries only the fixed outcome), and so is Zalo once its 7-day
    window since the resident wrote has passed. The audit keeps the channel, not the text.
    """
    now = now or utcnow()
    try:
        message = _bounded(text, REPLY_MAX, "text")
        if not message:
            raise Refused("Write the reply.", "text")
        with write(db):
            report = visible(db, acting, code)
            _require_act(db, acting, report)
            if report.status == "withdrawn":
                raise Conflict("The reporter withdrew this report.")
            where = destination(db, config, report)
            if where.channel == "sms":
                raise Conflict(
                    "By SMS the reporter only gets the reference and the outcome, not free text."
                )
            if where.channel == "zalo" and now - from_text(report.created_at) > ZALO_WINDOW:
                raise Conflict("Zalo lets the police answer only within 7 days of the message.")
            _queue(db, config, report, message, now)
            _log(db, acting.actor, "report.replied", report, channel=where.channel, fixed=False)
        return where.channel
    except Refused as refusal:
        _refused(db, acting, code, "reply", refusal)
        raise


def tell_published(db: sqlite_utils.Database, config: Mapping, now: datetime | None = None) -> int:
    """Tell the reporters whose report became a published warning, with its code and link
    (the worker calls this every tick); return how many were told. The notice's fixed key
    records that they were, so each reporter hears it once."""
    now = now or utcnow()
    told = 0
    for report, warning_id in store.published_untold(db):
        alert = warning_store.get_alert(db, warning_id)
        url = f"{config['PUBLIC_URL'].rstrip('/')}/a/{alert.code}"
        text = PUBLISHED_TEXT.format(code=report.code, warning=alert.code, url=url)
        key = f"{store.PUBLISHED_KEY}{report.id}-{warning_id}"
        with write(db):
            try:
                where = _queue(db, config, report, text, now, key=key)
            except Conflict as unreachable:
                _log(db, audit.SYSTEM, "report.not_told", report, reason=unreachable.text)
                continue
            _log(
                db,
                audit.SYSTEM,
                "report.replied",
                report,
                channel=where.channel,
                warning=alert.code,
            )
        told += 1
    return told


# --- drafting a warning from reports ---------------------------------------------------------


def _actable(db, acting: Acting, codes: Iterable[str]) -> list[Report]:
    chosen = list(dict.fromkeys(c.strip().upper() for c in codes if c and c.strip()))
    if not chosen:
        raise Refused("Choose at least one report.", "reports")
    if len(chosen) > 50:
        raise Refused("At most %(max)s entries.", "reports", max=50)
    reports = [visible(db, acting, c) for c in chosen]
    for report in reports:
        _require_act(db, acting, report)
    return reports


def draft_fields(db: sqlite_utils.Database, acting: Acting, codes: Iterable[str]) -> dict:
    """Return what a warning drafted from these reports starts with: their indicators, the
    communes they came from (inside the actor's jurisdiction) and a type from their kind."""
    reports = _actable(db, acting, codes)
    found = store.indicators(db, [r.id for r in reports])
    values = {"phones": [], "accounts": [], "links": []}
    names = {"phone": "phones", "account": "accounts", "link": "links"}
    for report in reports:
        for indicator in found.get(report.id, []):
            listed = values[names[indicator.kind]]
            if indicator.value not in listed:
                listed.append(indicator.value)
    regions = list(dict.fromkeys(r.region_code for r in reports))
    kinds = [r.kind for r in reports]
    return {
        "warning_type": WARNING_TYPE[max(set(kinds), key=kinds.count)],
        "regions": regions,
        "indicators": values,
    }


def draft_start(
    db: sqlite_utils.Database, acting: Acting, codes: Iterable[str], now: datetime | None = None
) -> dict:
    """Return what the admin's "draft a warning from reports" starts with: the reports'
    fields (``draft_fields``), Vietnamese texts with "[...]" blanks (submission is refused
    until the officer fills them, so no placeholder reaches residents), every channel and
    an expiry a month out. The reporters' own words never enter the draft: they are
    unverified and may be hostile."""
    fields = draft_fields(db, acting, codes)
    count = len(list(dict.fromkeys(c.strip().upper() for c in codes if c and c.strip())))
    texts = {name: text.format(count=count) for name, text in DRAFT_TEXTS.items()}
    expires = to_text((now or utcnow()) + DRAFT_LIFETIME)
    return {
        **fields,
        **texts,
        "severity": "Severe",
        "urgency": "Expected",
        "certainty": "Likely",
        "channels": list(CHANNELS),
        "expires_at": expires,
    }


def create_warning(
    db: sqlite_utils.Database,
    acting: Acting,
    codes: Iterable[str],
    raw: Mapping,
    *,
    config: Mapping,
    naive_zone=None,
) -> int:
    """Draft a warning from reports (``raw`` as the drafting form or the API sends it) and
    attach the reports to it, so they are kept past the retention; return its id."""
    reports = _actable(db, acting, codes)
    alert_id = workflow.create(db, acting, raw, config=config, naive_zone=naive_zone)
    with write(db):
        store.link_warning(db, [r.id for r in reports], alert_id)
        for report in reports:
            _log(db, acting.actor, "report.warning_drafted", report, warning=alert_id)
    return alert_id


def screenshot(
    db: sqlite_utils.Database, config: Mapping, acting: Acting, code: str
) -> tuple[str, bytes]:
    """Return a visible report's screenshot (MIME type, bytes) opened from the vault;
    NotFound when it has none."""
    report = visible(db, acting, code)
    found = store.image(db, report.id)
    if found is None:
        raise NotFound(code)
    mime, sealed = found
    return mime, vault.vault(config).decrypt(sealed)


def history(db: sqlite_utils.Database, acting: Acting, code: str) -> list[dict]:
    """Return a visible report's audit entries, oldest first (filing, each decision, each
    refusal, each answer): they hold its code and status, never its text or contact."""
    report = visible(db, acting, code)
    return audit_store.for_objects(db, [f"report:{report.id}"])
