"""The life of a warning: who may draft, edit, submit, approve, reject, withdraw, update and
cancel it, and when it is published and expires.

The rules (the Hawaii 2018 lessons):
- an officer drafts only for regions inside their unit's jurisdiction;
- approval goes up the hierarchy and nobody approves a revision they drafted or edited;
- an approval is bound to the content hash the approver saw, and any later edit sends the
  warning back to "submitted";
- a cancel is one step for any approver of the issuing unit or above, because a false warning
  must stop fast.

Every action, and every refusal, lands in the audit log with the content hash. Each function
runs in one transaction: a refusal changes nothing except the audit entry that records it.
"""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Mapping
from datetime import datetime
from functools import wraps
from typing import TypeVar
from zoneinfo import ZoneInfo

import sqlite_utils

from alerts import audit
from alerts.clock import to_text
from alerts.clock import utcnow
from alerts.db import write
from alerts.errors import N_
from alerts.errors import Conflict
from alerts.errors import Forbidden
from alerts.errors import NotFound
from alerts.errors import Refused
from alerts.models import Acting
from alerts.models import Level
from alerts.models import Role
from alerts.models import Unit
from alerts.models import User
from alerts.regions.jurisdiction import MINISTRY_CODE
from alerts.regions.jurisdiction import unit_covers
from alerts.store import audit as audit_store
from alerts.store import images as image_store
from alerts.store import regions as region_store
from alerts.store import units as unit_store
from alerts.store import users as user_store
from alerts.store import warnings as store
from alerts.text import clean_text
from alerts.warnings import codes as verification
from alerts.warnings import integrity
from alerts.warnings import outbox
from alerts.warnings import publication
from alerts.warnings import separation
from alerts.warnings import template_blanks
from alerts.warnings import warning_templates
from alerts.warnings.content import Content
from alerts.warnings.content import content_hash
from alerts.warnings.content import parse_content
from alerts.warnings.models import Alert
from alerts.warnings.models import Status

# The lifecycle: for each action, the statuses it may start from and the status it leads to.
# An edit sends an approved revision back to "submitted" and a rejected one back to "draft";
# an update starts a new revision and leaves the published one as it is.
TRANSITIONS: dict[str, dict[Status, Status]] = {
    "edit": {
        Status.DRAFT: Status.DRAFT,
        Status.SUBMITTED: Status.SUBMITTED,
        Status.APPROVED: Status.SUBMITTED,
        Status.REJECTED: Status.DRAFT,
    },
    "submit": {Status.DRAFT: Status.SUBMITTED, Status.REJECTED: Status.SUBMITTED},
    "approve": {Status.SUBMITTED: Status.APPROVED},
    "reject": {Status.SUBMITTED: Status.REJECTED},
    "withdraw": {
        Status.DRAFT: Status.WITHDRAWN,
        Status.SUBMITTED: Status.WITHDRAWN,
        Status.REJECTED: Status.WITHDRAWN,
    },
    "update": {Status.PUBLISHED: Status.PUBLISHED},
    "cancel": {Status.APPROVED: Status.CANCELLED, Status.PUBLISHED: Status.CANCELLED},
    # Time-driven: they run only on the revisions ``store.due`` picked by status.
    "publish": {Status.APPROVED: Status.PUBLISHED},
    "expire": {Status.APPROVED: Status.EXPIRED, Status.PUBLISHED: Status.EXPIRED},
}
# Why an officer's or approver's action is refused (409) in the revision's status.
NOT_NOW = {
    "edit": N_("Only a warning that is not yet published can be edited."),
    "submit": N_("Only a draft or a rejected warning can be sent for approval."),
    "approve": N_("Only a warning awaiting approval can be reviewed."),
    "reject": N_("Only a warning awaiting approval can be reviewed."),
    "withdraw": N_("Only a warning that is not yet approved can be withdrawn."),
    "update": N_("Only a published warning can be updated."),
    "cancel": N_("Only an approved or published warning can be cancelled."),
}
# A revision still on its way to publication: one that may still be edited.
OPEN = frozenset(TRANSITIONS["edit"])
REASON_MAX = 1000

F = TypeVar("F", bound=Callable)


def _log(db: sqlite_utils.Database, who: audit.Actor, action: str, alert_id: int | None, **detail):
    obj = f"alert:{alert_id}" if alert_id is not None else "alert"
    audit_store.append(db, audit.make_entry(who, action, obj, detail))


def audited(action: str) -> Callable[[F], F]:
    """Record a refusal of ``action`` (after its transaction rolled back), then re-raise it."""

    def decorate(func: F) -> F:
        @wraps(func)
        def run(db: sqlite_utils.Database, acting: Acting, *args, **kwargs):
            try:
                return func(db, acting, *args, **kwargs)
            except (Refused, NotFound) as refusal:
                alert_id = args[0] if args and isinstance(args[0], int) else None
                found = refusal.audit_detail() if isinstance(refusal, Refused) else None
                # A NotFound must not tell the actor's unit anything about the object.
                visible_id = alert_id if isinstance(refusal, Refused) else None
                alert = store.get_alert(db, visible_id) if visible_id is not None else None
                detail = {"attempted": action, **(found or {"reason": "not found"})}
                if alert is not None:
                    detail["content_hash"] = alert.content_hash
                with write(db):
                    _log(db, acting.actor, "alert.refused", alert_id, **detail)
                    _log_security(db, acting, refusal, alert_id, action)
                raise

        return run

    return decorate


def _log_security(db, acting: Acting, refusal: Exception, alert_id: int | None, action: str):
    """Record a refusal that points at an attack as a security event of its own."""
    if isinstance(refusal, separation.TakeoverRisk):
        _log(db, acting.actor, "security.review_refused", alert_id, attempted=action)
    if isinstance(refusal, integrity.IntegrityRefusal):
        integrity.mark_failure(db, refusal.alert, refusal.step, refusal.reason, acting.actor)


# --- who may see and do what -------------------------------------------------------------


def _unit(db: sqlite_utils.Database, unit_id: int) -> Unit:
    unit = unit_store.get_unit(db, unit_id)
    assert unit is not None, f"unit {unit_id} vanished"
    return unit


def visible(db: sqlite_utils.Database, acting: Acting, alert_id: int) -> Alert:
    """Return a revision of the actor's unit or a unit below it; NotFound otherwise."""
    alert = store.get_alert(db, alert_id)
    if alert is None or not unit_covers(acting.unit, _unit(db, alert.unit_id)):
        raise NotFound(alert_id)
    return alert


def approving_units_rule(issuer: Unit, approver: Unit) -> bool:
    """Approval goes up: a commune's warning by its province, a province's by the same
    province (a second person) or the ministry, the ministry's by a second ministry approver."""
    if approver.level == Level.NATION:
        return True
    if issuer.level == Level.COMMUNE:
        return approver.id == issuer.parent_id
    return issuer.level == Level.PROVINCE and approver.id == issuer.id


def _require_role(acting: Acting, role: Role) -> None:
    if not acting.user.has(role):
        message = {
            Role.OFFICER: "Only officers draft and change warnings.",
            Role.APPROVER: "Only approvers may do this.",
        }[role]
        raise Forbidden(message)


def _review_problem(
    db: sqlite_utils.Database, user: User, unit: Unit, alert: Alert
) -> Refused | None:
    """Return why this user of this unit may not approve or reject the revision, or None."""
    if not user.has(Role.APPROVER):
        return Forbidden("Only approvers may do this.")
    if user.id in separation.writers(db, alert):
        return Forbidden("You drafted or edited this warning: another approver must review it.")
    risk = separation.takeover_risk(db, user.id, alert)
    if risk:
        return risk
    if not approving_units_rule(_unit(db, alert.unit_id), unit):
        return Forbidden("This warning is reviewed by the unit above the one that issued it.")
    return None


def reviewers(db: sqlite_utils.Database, alert: Alert, *, first_line: bool = False) -> list[int]:
    """Return the ids of everyone who may approve or reject the revision now: the active
    approvers of the units the approval rule names (a commune's province, a province
    itself, the ministry), less those ``_review_problem`` refuses (its writers, anyone who
    could have written it through another account). The work notices tell exactly these.

    ``first_line``: only the nearest units' (a commune's province, a province's second
    approvers), unless none of them may: the ministry may approve any warning but is not
    the one to review every commune's, and hears of one only when nobody nearer can act
    or it has waited past the reminder."""
    issuer = _unit(db, alert.unit_id)
    ministry = unit_store.get_unit_by_code(db, MINISTRY_CODE)
    candidates = {u.id: u for u in (issuer, ministry) if u is not None}
    if issuer.parent_id:
        candidates[issuer.parent_id] = _unit(db, issuer.parent_id)
    units = sorted(
        (u for u in candidates.values() if approving_units_rule(issuer, u)), key=lambda u: u.id
    )
    found = [
        (unit, user.id)
        for unit in units
        for user in user_store.active_approvers(db, unit.id)
        if _review_problem(db, user, unit, alert) is None
    ]
    nearer = [user_id for unit, user_id in found if unit.level != Level.NATION]
    return nearer if first_line and nearer else [user_id for _unit_, user_id in found]


def _may(alert: Alert, action: str) -> bool:
    return alert.status in TRANSITIONS[action]


def _require_move(alert: Alert, action: str) -> Status:
    """Return the status ``action`` leads to; refuse it (409) if the lifecycle does not
    allow it from the revision's status, saying which states do."""
    if not _may(alert, action):
        raise Conflict(NOT_NOW[action])
    return TRANSITIONS[action][alert.status]


def _move(db: sqlite_utils.Database, alert: Alert, action: str, **fields) -> Status:
    """Write the status ``action`` leads to, with ``fields``; return that status. Callers
    that check more before writing call ``_require_move`` first, so the refusals keep
    their order; checking again here keeps every status write behind the table."""
    to = _require_move(alert, action)
    store.set_fields(db, alert.id, status=to.value, **fields)
    return to


def allowed_actions(db: sqlite_utils.Database, acting: Acting, alert: Alert) -> set[str]:
    """Return the actions the actor may take on a visible revision now (for buttons)."""
    actions = set()
    officer, approver = acting.user.has(Role.OFFICER), acting.user.has(Role.APPROVER)
    if officer:
        actions.update(a for a in ("edit", "submit", "withdraw") if _may(alert, a))
    if _may(alert, "approve") and _review_problem(db, acting.user, acting.unit, alert) is None:
        actions.update(("approve", "reject"))
    current = alert.superseded_by is None
    if officer and _may(alert, "update") and current and not _open_revision(db, alert):
        actions.add("update")
    if approver and _may(alert, "cancel") and current:
        actions.add("cancel")
    return actions


# --- content -----------------------------------------------------------------------------


def _parse(
    db: sqlite_utils.Database,
    unit: Unit,
    raw: Mapping,
    config: Mapping,
    now: datetime,
    naive_zone: ZoneInfo | None,
) -> Content:
    content = parse_content(
        raw,
        unit=unit,
        find_region=lambda code: region_store.get_region(db, code),
        official_domains=config["OFFICIAL_DOMAINS"],
        now=now,
        naive_zone=naive_zone,
    )
    if content.image and not image_store.exists(db, content.image):
        raise Refused("Unknown image.", "image")
    return content


def _record_content(db, acting: Acting, alert_id: int, content: Content, digest: str, now: str):
    store.add_editor(db, alert_id, acting.user.id)
    store.save_version(db, alert_id, content, digest, acting.user.id, now)


def _insert_revision(
    db: sqlite_utils.Database,
    acting: Acting,
    content: Content,
    now: datetime,
    unit_id: int,
    previous: Alert | None,
) -> tuple[int, str]:
    """Insert a draft: a new warning, or the next revision (CAP Update) of ``previous``."""
    msg_type = "Update" if previous else "Alert"
    references = previous.id if previous else None
    digest = content_hash(content, msg_type, references)
    revision = max(a.revision for a in store.series(db, previous.series_id)) + 1 if previous else 1
    alert_id = store.insert_alert(
        db,
        series_id=previous.series_id if previous else None,
        revision=revision,
        msg_type=msg_type,
        references_id=references,
        unit_id=unit_id,
        content=content,
        content_hash=digest,
        user_id=acting.user.id,
        now=to_text(now),
    )
    _record_content(db, acting, alert_id, content, digest, to_text(now))
    return alert_id, digest


@audited("create")
def create(
    db: sqlite_utils.Database,
    acting: Acting,
    raw: Mapping,
    *,
    config: Mapping,
    naive_zone: ZoneInfo | None = None,
) -> int:
    """Draft a new warning issued by the actor's unit; return its id."""
    _require_role(acting, Role.OFFICER)
    now = utcnow()
    content = _parse(db, acting.unit, raw, config, now, naive_zone)
    with write(db):
        alert_id, digest = _insert_revision(db, acting, content, now, acting.unit.id, None)
        _log(db, acting.actor, "alert.create", alert_id, content_hash=digest, mode=content.mode)
    return alert_id


@audited("edit")
def edit(
    db: sqlite_utils.Database,
    acting: Acting,
    alert_id: int,
    raw: Mapping,
    *,
    config: Mapping,
    naive_zone: ZoneInfo | None = None,
) -> Alert:
    """Change a revision's content (fields missing from ``raw`` keep their value); an
    approved revision goes back to "submitted", a rejected one becomes a draft again."""
    now = utcnow()
    with write(db):
        alert = visible(db, acting, alert_id)
        _require_role(acting, Role.OFFICER)
        _require_move(alert, "edit")
        merged = _merged(alert.content, raw)
        content = _parse(db, _unit(db, alert.unit_id), merged, config, now, naive_zone)
        if alert.msg_type == "Update" and content.mode != alert.content.mode:
            raise Refused("An update keeps the mode of the warning it updates.", "mode")
        digest = content_hash(content, alert.msg_type, alert.references_id)
        if digest == alert.content_hash:
            return alert
        store.update_content(db, alert.id, content, digest, acting.user.id, to_text(now))
        new_status = _move(
            db, alert, "edit", approved_by=None, approved_at=None, approved_hash=None
        )
        _record_content(db, acting, alert.id, content, digest, to_text(now))
        _log(
            db,
            acting.actor,
            "alert.edit",
            alert.id,
            content_hash=digest,
            previous_hash=alert.content_hash,
            status=new_status.value,
        )
    return store.get_alert(db, alert.id)


@audited("submit")
def submit(db: sqlite_utils.Database, acting: Acting, alert_id: int, *, config: Mapping) -> None:
    """Send a draft (or a rejected revision) for approval, re-checking its times."""
    with write(db):
        alert = visible(db, acting, alert_id)
        _require_role(acting, Role.OFFICER)
        _require_move(alert, "submit")
        _parse(db, _unit(db, alert.unit_id), _raw(alert.content), config, utcnow(), None)
        _require_no_placeholders(db, alert)
        publication.check_renderable(db, alert, config)
        _move(db, alert, "submit", submitted_at=to_text(utcnow()))
        _log(db, acting.actor, "alert.submit", alert.id, content_hash=alert.content_hash)


def _require_no_placeholders(db: sqlite_utils.Database, alert: Alert) -> None:
    """Refuse to send a warning that still holds a blank of a template offered to its unit.

    Other bracketed text is the officer's own ("[Số tài khoản]" quoted, "site[.]com").
    """
    offered = warning_templates.offered_to(db, _unit(db, alert.unit_id))
    left = template_blanks.blanks_left(alert.content.as_dict(), [t.fields for t in offered])
    if left:
        raise Refused(
            "Fill in the template's blanks first: %(blanks)s", None, blanks=", ".join(left[:5])
        )


def _raw(content: Content) -> dict:
    """Return stored content as a submission, to re-check it (times may have passed)."""
    return content.as_dict()


INDICATOR_KINDS = ("phones", "accounts", "links")


def _merged(content: Content, raw: Mapping) -> dict:
    """Return the stored content with a submission's fields laid over it.

    Indicators come nested (the API: ``indicators.phones``) or as top-level fields (the
    form: ``phones``). The stored content is always nested, and the domain reads the nested
    form when present, so a form's new phone number once said "saved" and kept the old
    list: each kind the submission sends, whichever way, replaces the stored one.
    """
    merged = {**_raw(content), **raw}
    indicators = dict(_raw(content)["indicators"])
    if "indicators" in raw and raw["indicators"] is None:
        indicators = {}  # an explicit null clears them, as before
    nested = raw.get("indicators")
    if isinstance(nested, Mapping):
        indicators.update(nested)
    indicators.update({kind: raw[kind] for kind in INDICATOR_KINDS if kind in raw})
    merged["indicators"] = indicators
    for kind in INDICATOR_KINDS:
        merged.pop(kind, None)
    return merged


def _under_review(
    db: sqlite_utils.Database, acting: Acting, alert_id: int, seen_hash: str, action: str
) -> Alert:
    """Return a submitted revision the actor may review, unchanged since they opened it."""
    alert = visible(db, acting, alert_id)
    problem = _review_problem(db, acting.user, acting.unit, alert)
    if problem:
        raise problem
    _require_move(alert, action)
    if seen_hash != alert.content_hash:
        raise Conflict("The warning changed since you opened it: review it again.")
    integrity.require_intact(db, alert, "approval")
    return alert


@audited("approve")
def approve(
    db: sqlite_utils.Database, acting: Acting, alert_id: int, *, seen_hash: str, config: Mapping
) -> Alert:
    """Approve exactly the content the approver saw (and every channel can carry); publish
    at once if it is due."""
    now = utcnow()
    with write(db):
        alert = _under_review(db, acting, alert_id, seen_hash, "approve")
        if alert.content.expires_at <= to_text(now):
            raise Conflict("The warning has already expired: edit its expiry time first.")
        publication.check_renderable(db, alert, config)
        _move(
            db,
            alert,
            "approve",
            approved_by=acting.user.id,
            approved_at=to_text(now),
            approved_hash=alert.content_hash,
            reviewed_hash=alert.content_hash,
            reject_reason=None,
        )
        _log(
            db,
            acting.actor,
            "alert.approve",
            alert.id,
            content_hash=alert.content_hash,
            mode=alert.content.mode,
        )
        publish_due(db, config, now)
    return store.get_alert(db, alert.id)


def _reason(text: str, name: str = "reason") -> str:
    reason = clean_text(text or "")
    if not reason:
        raise Refused("Give a reason.", name)
    if len(reason) > REASON_MAX:
        raise Refused(
            "At most %(max)s characters (now %(count)s).", name, max=REASON_MAX, count=len(reason)
        )
    return reason


@audited("reject")
def reject(
    db: sqlite_utils.Database, acting: Acting, alert_id: int, *, reason: str, seen_hash: str
) -> None:
    """Send a submitted revision back to its author with a reason."""
    reason = _reason(reason)
    with write(db):
        alert = _under_review(db, acting, alert_id, seen_hash, "reject")
        _move(db, alert, "reject", reviewed_hash=alert.content_hash, reject_reason=reason)
        _log(
            db,
            acting.actor,
            "alert.reject",
            alert.id,
            content_hash=alert.content_hash,
            reason=reason,
        )


@audited("withdraw")
def withdraw(db: sqlite_utils.Database, acting: Acting, alert_id: int) -> None:
    """Withdraw a revision before approval (it stays on record, never published)."""
    with write(db):
        alert = visible(db, acting, alert_id)
        _require_role(acting, Role.OFFICER)
        _move(db, alert, "withdraw")
        _log(db, acting.actor, "alert.withdraw", alert.id, content_hash=alert.content_hash)


def _open_revision(db: sqlite_utils.Database, alert: Alert) -> Alert | None:
    """Return a revision of the same warning still on its way to publication, if any."""
    return next((a for a in store.series(db, alert.series_id) if a.status in OPEN), None)


@audited("update")
def start_update(
    db: sqlite_utils.Database,
    acting: Acting,
    alert_id: int,
    raw: Mapping | None = None,
    *,
    config: Mapping,
    naive_zone: ZoneInfo | None = None,
) -> int:
    """Start a new revision (CAP Update) of a published warning; it needs its own approval."""
    now = utcnow()
    with write(db):
        alert = visible(db, acting, alert_id)
        _require_role(acting, Role.OFFICER)
        _require_move(alert, "update")
        if alert.superseded_by is not None:
            raise Conflict("A newer revision of this warning exists: update that one.")
        pending = _open_revision(db, alert)
        if pending is not None:
            raise Conflict(
                "Revision %(revision)s of this warning is already in progress.",
                revision=pending.revision,
            )
        merged = _merged(alert.content, {"publish_at": None, **(raw or {})})
        content = _parse(db, _unit(db, alert.unit_id), merged, config, now, naive_zone)
        if content.mode != alert.content.mode:
            raise Refused("An update keeps the mode of the warning it updates.", "mode")
        new_id, digest = _insert_revision(db, acting, content, now, alert.unit_id, alert)
        _log(db, acting.actor, "alert.update", new_id, content_hash=digest, references=alert.id)
    return new_id


@audited("cancel")
def cancel(
    db: sqlite_utils.Database, acting: Acting, alert_id: int, *, reason: str, config: Mapping
) -> None:
    """Stop an approved or published warning in one step (CAP Cancel); open revisions of
    the same warning are withdrawn with it. The cancellation of a published warning is
    signed like a publication; if signing fails the cancel still stands (it must stop
    deliveries) and the missing signature is audited."""
    reason = _reason(reason)
    now = to_text(utcnow())
    with write(db):
        alert = visible(db, acting, alert_id)
        _require_role(acting, Role.APPROVER)
        _require_move(alert, "cancel")
        if alert.superseded_by is not None:
            raise Conflict("A newer revision of this warning exists: cancel that one.")
        _move(
            db,
            alert,
            "cancel",
            cancelled_by=acting.user.id,
            cancelled_at=now,
            cancel_reason=reason,
        )
        for other in store.series(db, alert.series_id):
            if other.id != alert.id and _may(other, "withdraw"):
                _move(db, other, "withdraw")
                _log(
                    db,
                    acting.actor,
                    "alert.withdraw",
                    other.id,
                    content_hash=other.content_hash,
                    because="cancel",
                )
        _log(
            db,
            acting.actor,
            "alert.cancel",
            alert.id,
            content_hash=alert.content_hash,
            reason=reason,
            was=alert.status.value,
            issuing_unit=_unit(db, alert.unit_id).code,
        )
        if alert.status == Status.PUBLISHED:
            queued = outbox.enqueue_cancel(db, store.get_alert(db, alert.id))
            _log(db, acting.actor, "alert.cancel_queued", alert.id, deliveries=queued)
            _sign_cancel(db, acting, alert.id, config)


def _sign_cancel(db: sqlite_utils.Database, acting: Acting, alert_id: int, config: Mapping):
    try:
        with write(db):
            publication.sign(db, store.get_alert(db, alert_id), config, "Cancel")
    except publication.Unsigned as error:
        _log(db, acting.actor, "alert.cancel_unsigned", alert_id, reason=str(error)[:200])


# --- time-driven transitions ----------------------------------------------------------------


def publish_due(
    db: sqlite_utils.Database, config: Mapping, now: datetime | None = None
) -> list[int]:
    """Publish approved revisions whose time has come; return their ids.

    Each publication gets its verification code and its Ed25519 signature in the same
    transaction; a revision that cannot be signed stays approved (never published
    unsigned) and the refusal is audited. A revision whose stored content is not what was
    approved is marked as an integrity failure and never published (``alerts.warnings.integrity``).
    An Update supersedes the earlier published revisions.
    """
    now = now or utcnow()
    published = []
    for alert in store.due(db, Status.APPROVED, "publish_at", to_text(now)):
        if alert.integrity_failure:
            continue
        try:
            with write(db):
                _publish(db, alert, config, now)
        except publication.Unsigned as error:
            with write(db):
                _log(db, audit.SYSTEM, "alert.publish_refused", alert.id, reason=str(error)[:200])
            continue
        except integrity.IntegrityRefusal as refusal:
            with write(db):
                integrity.mark_failure(db, alert, "publication", refusal.reason, audit.SYSTEM)
                _log(db, audit.SYSTEM, "alert.publish_refused", alert.id, reason=refusal.reason)
            continue
        published.append(alert.id)
    return published


def _publish(db: sqlite_utils.Database, alert: Alert, config: Mapping, now: datetime) -> None:
    integrity.require_intact(db, store.get_alert(db, alert.id), "publication")
    code = verification.new_code(lambda c: store.code_taken(db, c))
    _move(db, alert, "publish", published_at=to_text(now), code=code)
    published = store.get_alert(db, alert.id)
    key_id = publication.sign(db, published, config, alert.msg_type)
    for earlier in store.series(db, alert.series_id):
        if earlier.status == Status.PUBLISHED and earlier.id != alert.id:
            store.set_fields(db, earlier.id, superseded_by=alert.id)
    queued = outbox.enqueue_publication(db, published, alert.msg_type)
    _log(
        db,
        audit.SYSTEM,
        "alert.publish",
        alert.id,
        content_hash=alert.content_hash,
        code=code,
        key_id=key_id,
        deliveries=queued,
    )


def expire_due(db: sqlite_utils.Database, now: datetime | None = None) -> list[int]:
    """Mark approved or published revisions past their expiry as expired; return their ids."""
    now_text = to_text(now or utcnow())
    expired = []
    with write(db):
        for status in TRANSITIONS["expire"]:
            for alert in store.due(db, status, "expires_at", now_text):
                _move(db, alert, "expire")
                _log(db, audit.SYSTEM, "alert.expire", alert.id, content_hash=alert.content_hash)
                expired.append(alert.id)
    return expired
