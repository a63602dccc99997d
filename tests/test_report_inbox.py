"""The unit's report inbox (issue 16): jurisdiction, ordering, states, forwarding up,
grouping, assignment, counts, replies really sent through the fake channels, warnings
drafted from reports and reporters told of their publication, privacy of the audit."""

from __future__ import annotations

import json
import logging
import random
from dataclasses import replace
from datetime import timedelta

import pytest

from alerts.clock import utcnow
from alerts.delivery import policy
from alerts.delivery.engine import Dispatcher
from alerts.errors import Conflict
from alerts.errors import Forbidden
from alerts.errors import NotFound
from alerts.errors import Refused
from alerts.render import gsm
from alerts.reports import inbox
from alerts.store import report_inbox as store
from alerts.warnings import workflow
from tests.builders import CONFIG
from tests.builders import approve
from tests.builders import draft
from tests.conftest import acting_as
from tests.delivery_setup import add_accounts
from tests.report_builders import add_report
from tests.report_builders import other_commune
from tests.report_builders import unit_id
from tests.test_subscriptions import received

FAST = {c: replace(p, deadline=1.5) for c, p in policy.POLICIES.items()}
ZALO_USER, TG_CHAT = "4418000000000001", "100001"


@pytest.fixture
def accounts(db, fakes):
    return add_accounts(db, CONFIG, fakes)


@pytest.fixture
def dispatcher():
    engine = Dispatcher(CONFIG, rng=random.Random(7), rules=FAST)
    yield engine
    engine.close()


def officer(db):
    return acting_as(db, "hoankiem.canbo")


def codes(reports) -> list[str]:
    return [r.code for r in reports]


def move(db, code, action, who="hoankiem.canbo", **kw):
    return inbox.move(db, CONFIG, acting_as(db, who), code, action, **kw)


def audit_of(db, action: str) -> list[dict]:
    rows = db.execute("SELECT detail FROM audit_log WHERE action = ? ORDER BY id", [action])
    return [json.loads(r[0]) for r in rows]


# --- jurisdiction and ordering -------------------------------------------------------------


def test_a_report_is_seen_by_its_unit_and_those_above_only(db):
    code = add_report(db)
    for who in ("hoankiem.canbo", "hanoi.duyet", "hanoi.canbo", "bo.canbo"):
        assert inbox.visible(db, acting_as(db, who), code).code == code
        assert code in codes(inbox.list_reports(db, acting_as(db, who)))
    for who in ("haichau.canbo", "danang.duyet"):
        with pytest.raises(NotFound):
            inbox.visible(db, acting_as(db, who), code)
        assert inbox.list_reports(db, acting_as(db, who)) == []
    with pytest.raises(NotFound):
        inbox.visible(db, officer(db), "BT-NONE-0000")


def test_a_commune_does_not_see_its_neighbours_reports(db):
    neighbour = add_report(db, region=other_commune(db))
    with pytest.raises(NotFound):
        inbox.visible(db, officer(db), neighbour)
    assert neighbour in codes(inbox.list_reports(db, acting_as(db, "hanoi.duyet")))


def test_new_reports_come_first_then_the_newest(db):
    now = utcnow()
    old_new = add_report(db, created_at=now - timedelta(hours=5))
    reviewed = add_report(db, created_at=now - timedelta(hours=1))
    newest = add_report(db, created_at=now - timedelta(hours=2))
    move(db, reviewed, "review")
    assert codes(inbox.list_reports(db, officer(db))) == [newest, old_new, reviewed]


def test_filters_by_status_and_kind_refuse_unknown_values(db):
    call = add_report(db)
    site = add_report(db, kind="fake_site", indicators=("link:hxxp://vneid[.]top/a",))
    move(db, site, "review")
    me = officer(db)
    assert codes(inbox.list_reports(db, me, statuses=["in_review"])) == [site]
    assert codes(inbox.list_reports(db, me, kinds=["scam_call"])) == [call]
    with pytest.raises(Refused, match="Choose one of"):
        inbox.list_reports(db, me, statuses=["open"])
    with pytest.raises(Refused):
        inbox.list_reports(db, me, kinds=["spam"])


# --- states --------------------------------------------------------------------------------


def test_the_first_move_out_of_new_stamps_the_first_review(db):
    code = add_report(db)
    reviewed = move(db, code, "review")
    assert reviewed.status == "in_review" and reviewed.first_reviewed_at
    confirmed = move(db, code, "confirm")
    assert confirmed.status == "confirmed"
    assert confirmed.first_reviewed_at == reviewed.first_reviewed_at


def test_invalid_transitions_say_why_and_change_nothing(db):
    code = add_report(db)
    move(db, code, "confirm")
    with pytest.raises(Conflict, match="A report that is confirmed cannot become in_review"):
        move(db, code, "review")
    with pytest.raises(Conflict):
        move(db, code, "dismiss", reason="x")
    assert store.get_by_code(db, code).status == "confirmed"
    refused = audit_of(db, "report.refused")
    assert [(e["code"], e["attempted"]) for e in refused] == [(code, "review"), (code, "dismiss")]
    with pytest.raises(Refused, match="Unknown action"):
        move(db, add_report(db), "publish")
    withdrawn = add_report(db, status="withdrawn")
    with pytest.raises(Conflict):
        move(db, withdrawn, "review")


def test_dismissing_needs_a_reason(db):
    code = add_report(db)
    with pytest.raises(Refused, match="Give a reason") as refused:
        move(db, code, "dismiss", reason="  ")
    assert refused.value.field == "reason"
    assert store.get_by_code(db, code).status == "new"
    with pytest.raises(Refused, match="At most 1000"):
        move(db, code, "dismiss", reason="x" * 1001)
    dismissed = move(db, code, "dismiss", reason="Không đủ thông tin")
    assert (dismissed.status, dismissed.reason) == ("dismissed", "Không đủ thông tin")


def test_a_duplicate_names_another_report_of_the_same_unit(db):
    first, again = add_report(db), add_report(db)
    elsewhere = add_report(db, region=other_commune(db))
    for target, message in (
        ("", "Give the code"),
        (again, "cannot repeat itself"),
        (elsewhere, "No report"),
        ("BT-NONE-0000", "No report"),
    ):
        with pytest.raises(Refused, match=message):
            move(db, again, "duplicate", duplicate_of=target)
    repeat = move(db, again, "duplicate", duplicate_of=first.lower())
    assert repeat.status == "duplicate" and repeat.duplicate_of == store.get_by_code(db, first).id
    third = add_report(db)
    with pytest.raises(Refused, match="itself a repeat"):
        move(db, third, "duplicate", duplicate_of=again)
    assert audit_of(db, "report.duplicate")[0]["duplicate_of"] == first


def test_forwarding_up_moves_the_report_and_keeps_its_origin(db):
    code = add_report(db)
    forwarded = move(db, code, "forward", reason="Liên quan nhiều phường")
    hanoi, hoankiem = unit_id(db, "ca-01"), unit_id(db, "ca-00070")
    assert (forwarded.unit_id, forwarded.origin_unit_id) == (hanoi, hoankiem)
    assert forwarded.status == "forwarded" and forwarded.first_reviewed_at
    # The commune still reads it, but the province handles it now.
    me = officer(db)
    assert inbox.visible(db, me, code) and inbox.allowed_actions(db, me, forwarded) == []
    with pytest.raises(Forbidden, match="forwarded"):
        move(db, code, "review")
    province = acting_as(db, "hanoi.canbo")
    assert code in codes(inbox.list_reports(db, province))
    assert "review" in inbox.allowed_actions(db, province, forwarded)
    assert inbox.count_new(db, province.unit) == 1 and inbox.count_new(db, me.unit) == 0
    move(db, code, "forward", who="hanoi.canbo")
    at_ministry = store.get_by_code(db, code)
    assert at_ministry.unit_id == unit_id(db, "bca")
    with pytest.raises(Conflict, match="ministry"):
        move(db, code, "forward", who="bo.canbo")
    assert "forward" not in inbox.allowed_actions(db, acting_as(db, "bo.canbo"), at_ministry)
    assert audit_of(db, "report.forward")[0]["to_unit"] == "ca-01"


def test_only_officers_and_approvers_act(db, app):
    code = add_report(db)
    admin = acting_as(db, "bo.admin")
    assert inbox.may_act(db, admin, store.get_by_code(db, code))  # an approver too
    plain = replace(officer(db), user=replace(officer(db).user, roles=frozenset()))
    with pytest.raises(Forbidden):
        inbox.move(db, CONFIG, plain, code, "review")


# --- assignment, grouping, counts ------------------------------------------------------------


def test_a_report_is_assigned_to_an_officer_of_its_unit(db):
    code = add_report(db)
    me = officer(db)
    assigned = inbox.assign(db, me, code, "hoankiem.canbo")
    assert assigned.assigned_to == me.user.id
    with pytest.raises(Refused, match="not an officer of the unit") as refused:
        inbox.assign(db, me, code, "hanoi.canbo")
    assert refused.value.field == "assigned_to"
    assert inbox.assign(db, me, code, None).assigned_to is None
    assert [e["to"] for e in audit_of(db, "report.assign")] == ["hoankiem.canbo", None]


def test_the_same_indicator_from_several_residents_is_grouped(db):
    neighbour = other_commune(db)
    one = add_report(db, indicators=("phone:0912 345 678", "link:hxxp://vneid[.]top/a"))
    two = add_report(db, region=neighbour, indicators=("phone:+84 912 345 678",))
    add_report(db, indicators=("phone:0987 654 321",))
    add_report(db, region=neighbour, indicators=("phone:0912345678",), status="withdrawn")
    add_report(db, indicators=("phone:0912345678",), created_at=utcnow() - timedelta(days=40))
    (group,) = inbox.groups(db, acting_as(db, "hanoi.duyet"))
    assert (group.kind, group.key, group.reports, group.communes) == ("phone", "+84912345678", 2, 2)
    assert group.codes == tuple(sorted((one, two)))
    assert group.region_codes == tuple(sorted(("00070", neighbour)))
    # The commune sees only its own report: no group of one.
    assert inbox.groups(db, officer(db)) == []
    assert inbox.groups(db, acting_as(db, "haichau.canbo")) == []


def test_counts_open_reports_and_the_median_time_to_first_review(db):
    now = utcnow()
    delays = (1, 3, 10)
    for hours in delays:
        code = add_report(db, created_at=now - timedelta(hours=hours + 1))
        store.set_fields(
            db,
            store.get_by_code(db, code).id,
            first_reviewed_at=(now - timedelta(hours=1)).isoformat(),
            status="in_review",
        )
    db.conn.commit()
    add_report(db)
    add_report(db, status="confirmed")
    counts = inbox.counts(db, officer(db).unit, now)
    assert (counts.open, counts.new, counts.median_review_hours) == (4, 1, 3.0)
    assert inbox.counts(db, acting_as(db, "haichau.canbo").unit, now).median_review_hours is None


# --- answering the reporter --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("channel", "contact", "target"),
    [("zalo", ZALO_USER, ZALO_USER), ("telegram", TG_CHAT, TG_CHAT)],
)
def test_a_reply_goes_out_on_the_chat_the_resident_used(
    db, accounts, dispatcher, fakes, channel, contact, target
):
    code = add_report(db, channel=channel, contact=contact, account_id=accounts[channel])
    assert (
        inbox.reply(db, CONFIG, officer(db), code, "Cảm ơn, <b>chúng tôi</b> đang xác minh.")
        == channel
    )
    dispatcher.dispatch_due(db)
    (text,) = received(fakes, channel, target)
    expected = "&lt;b&gt;" if channel == "telegram" else "<b>"
    assert "đang xác minh" in text and expected in text
    assert db.execute("SELECT kind, status, text FROM notices").fetchall() == [
        ("report", "sent", "")
    ]
    (entry,) = audit_of(db, "report.replied")
    assert entry == {"code": code, "status": "new", "channel": channel, "fixed": False}


def test_a_portal_reporter_with_an_email_gets_the_reply_by_email(db, accounts, dispatcher, fakes):
    code = add_report(db, channel="portal", contact="dan.nguyen@example.vn")
    assert inbox.reply(db, CONFIG, officer(db), code, "Xin cảm ơn.") == "email"
    dispatcher.dispatch_due(db)
    assert [t.strip() for t in received(fakes, "email", "dan.nguyen@example.vn")] == ["Xin cảm ơn."]


def test_sms_carries_only_the_fixed_outcome(db, accounts, dispatcher, fakes):
    code = add_report(db, channel="portal", contact="+84912345678")
    with pytest.raises(Conflict, match="By SMS"):
        inbox.reply(db, CONFIG, officer(db), code, "Gọi lại cho tôi")
    assert db.execute("SELECT COUNT(*) FROM notices").fetchone()[0] == 0
    move(db, code, "confirm")
    dispatcher.dispatch_due(db)
    (text,) = received(fakes, "sms", "+84912345678")
    assert code in text and gsm.is_gsm7(text) and "xac minh" in text
    assert audit_of(db, "report.replied")[-1]["fixed"] is True


def test_a_dismissed_reporter_is_told_and_one_without_contact_is_not(
    db, accounts, dispatcher, fakes
):
    code = add_report(db, channel="telegram", contact=TG_CHAT, account_id=accounts["telegram"])
    move(db, code, "dismiss", reason="Không phải lừa đảo")
    dispatcher.dispatch_due(db)
    (text,) = received(fakes, "telegram", TG_CHAT)
    assert code in text and "Không phải" not in text  # the fixed text, not the reason
    silent = add_report(db, contact=None)
    move(db, silent, "confirm")
    assert audit_of(db, "report.not_told")[0]["code"] == silent
    with pytest.raises(Conflict, match="no way to contact"):
        inbox.reply(db, CONFIG, officer(db), silent, "Xin chào")


def test_a_reply_is_refused_past_zalos_window_and_when_empty(db, accounts):
    old = add_report(db, account_id=accounts["zalo"], created_at=utcnow() - timedelta(days=8))
    with pytest.raises(Conflict, match="7 days"):
        inbox.reply(db, CONFIG, officer(db), old, "Xin chào")
    with pytest.raises(Refused, match="Write the reply"):
        inbox.reply(db, CONFIG, officer(db), old, " ")
    with pytest.raises(NotFound):
        inbox.reply(db, CONFIG, acting_as(db, "haichau.canbo"), old, "Xin chào")


# --- warnings from reports -------------------------------------------------------------------


def test_a_draft_from_reports_starts_with_their_indicators_and_communes(db):
    one = add_report(db, indicators=("phone:0912 345 678", "account:Vietcombank 0123456789"))
    two = add_report(db, indicators=("phone:0912345678", "link:hxxps://vneid-capnhat[.]com/x"))
    fields = inbox.draft_fields(db, officer(db), [one, two.lower()])
    assert fields == {
        "warning_type": "scam_phone",
        "regions": ["00070"],
        "indicators": {
            "phones": ["+84912345678"],
            "accounts": ["Vietcombank 0123456789"],
            "links": ["https://vneid-capnhat.com/x"],
        },
    }
    with pytest.raises(Refused, match="at least one"):
        inbox.draft_fields(db, officer(db), [])
    with pytest.raises(NotFound):
        inbox.draft_fields(db, acting_as(db, "haichau.canbo"), [one])


def test_reporters_are_told_once_when_the_warning_from_their_report_is_published(
    db, accounts, dispatcher, fakes
):
    code = add_report(db, channel="telegram", contact=TG_CHAT, account_id=accounts["telegram"])
    me = officer(db)
    fields = inbox.draft_fields(db, me, [code])
    alert_id = inbox.create_warning(db, me, [code], draft(**fields), config=CONFIG)
    assert store.get_by_code(db, code).warning_id == alert_id
    assert audit_of(db, "report.warning_drafted")[0]["warning"] == alert_id
    assert inbox.tell_published(db, CONFIG) == 0  # a draft tells nobody
    workflow.submit(db, me, alert_id, config=CONFIG)
    published = approve(db, "hanoi.duyet", alert_id)
    assert inbox.tell_published(db, CONFIG) == 1
    assert inbox.tell_published(db, CONFIG) == 0
    dispatcher.dispatch_due(db)
    texts = [t for t in received(fakes, "telegram", TG_CHAT) if code in t]
    assert len(texts) == 1 and f"/a/{published.code}" in texts[0]


def test_audit_entries_and_logs_never_hold_the_contact_or_the_text(
    db, accounts, dispatcher, caplog
):
    caplog.set_level(logging.DEBUG)
    code = add_report(db, channel="portal", contact="+84912345678", text="Số bí mật 0987 111 222")
    move(db, code, "review")
    inbox.assign(db, officer(db), code, "hoankiem.canbo")
    move(db, code, "confirm")
    dispatcher.dispatch_due(db)
    details = " ".join(r[0] for r in db.execute("SELECT detail FROM audit_log"))
    for secret in ("912345678", "0912345678", "bí mật", "111 222"):
        assert secret not in details and secret not in caplog.text
