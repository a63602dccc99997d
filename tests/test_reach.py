"""Reach (issue 18) against a seeded Hà Nội: the residents the approval screen and the
preview API count are the deliveries the approval then queues; portal views, code checks
and lookups are counters with nothing about the visitor; the timeline buckets deliveries
and receipts per minute; a unit's reach page, its charts and its CSV; jurisdiction (404)."""

from __future__ import annotations

import csv
import io
import random
import re
from datetime import timedelta

import pytest

from alerts.clock import to_text
from alerts.clock import utcnow
from alerts.db import write
from alerts.delivery import worker
from alerts.delivery.engine import Dispatcher
from alerts.reach import audience
from alerts.reach import timeline
from alerts.reach import unit_report
from alerts.store import units as unit_store
from alerts.store import warnings as store
from alerts.web.admin.reach import counters
from tests.builders import CONFIG
from tests.builders import approve
from tests.builders import submitted
from tests.conftest import make_app
from tests.conftest import sign_in
from tests.reach_setup import HAI_CHAU
from tests.reach_setup import HOAN_KIEM
from tests.reach_setup import province_warning
from tests.reach_setup import seed_hanoi


@pytest.fixture
def app(db_path):
    """The app signing and linking as CONFIG does, so what was published verifies here."""
    return make_app(db_path, **{k: CONFIG[k] for k in ("SIGNING_KEY", "PUBLIC_URL", "DATA_KEY")})


@pytest.fixture
def hanoi(db, fakes):
    return seed_hanoi(db, fakes)


def queued(db, alert_id: int) -> dict[str, int]:
    rows = db.execute(
        "SELECT channel, COUNT(*) FROM deliveries WHERE warning_id = ? AND target != 'broadcast'"
        " GROUP BY channel",
        [alert_id],
    )
    return dict(rows.fetchall())


def test_the_reach_before_approval_is_what_the_approval_queues(db, hanoi):
    alert_id = province_warning(db)
    found = audience.audience(db, store.get_alert(db, alert_id))
    assert found.residents == {"sms": 6, "telegram": 2, "email": 1} and found.total == 9
    assert found.by_province == {"01": {"sms": 6, "telegram": 2, "email": 1}}
    assert found.by_region["sms"] == [(hanoi[0], 3), (hanoi[1], 2), (hanoi[2], 1)]
    assert sorted((p.channel, p.followers) for p in found.posters) == [
        ("facebook", None),
        ("telegram", None),
    ]
    approve(db, "hanoi.duyet", alert_id)
    assert queued(db, alert_id) == found.residents
    broadcasts = db.execute(
        "SELECT d.channel, a.name FROM deliveries d JOIN channel_accounts a ON a.id = d.account_id"
        " WHERE d.warning_id = ? AND d.target = 'broadcast' ORDER BY d.id",
        [alert_id],
    ).fetchall()
    assert sorted(broadcasts) == sorted((p.channel, p.account) for p in found.posters)


def test_a_drill_reaches_only_the_test_audience_as_the_approval_does(db, hanoi):
    alert_id = province_warning(db, mode="Exercise")
    found = audience.audience(db, store.get_alert(db, alert_id))
    assert found.residents == {"sms": 1, "telegram": 0, "email": 0}
    approve(db, "hanoi.duyet", alert_id)
    assert queued(db, alert_id) == {"sms": 1}


def test_the_approval_screen_and_the_preview_api_show_the_reach(client, db, hanoi, auth):
    alert_id = province_warning(db)
    assert sign_in(client, "hanoi.duyet").status_code == 302
    html = client.get(f"/admin/warnings/{alert_id}").get_data(as_text=True)
    table = html[html.index('data-testid="reach-channels"') :]
    for channel, count in (("sms", 6), ("telegram", 2), ("email", 1)):
        assert re.search(
            rf'data-channel="{channel}"><th scope="row">[^<]+</th><td>{count}</td>', table
        )
    assert html.count("người theo dõi: nhà cung cấp không báo số liệu") == 2  # Vietnamese first
    row = re.search(r'<th scope="row">Thành phố Hà Nội</th>((?:<td>\d+</td>)+)</tr>', html)
    assert sorted(re.findall(r"\d+", row.group(1))) == ["1", "2", "6"]
    body = client.get(f"/api/v1/alerts/{alert_id}/preview", headers=auth("hanoi.duyet")).json
    assert body["reach"]["residents"] == {"sms": 6, "telegram": 2, "email": 1}
    assert body["reach"]["by_province"] == {"01": {"sms": 6, "telegram": 2, "email": 1}}
    assert {p["channel"] for p in body["reach"]["posters"]} == {"telegram", "facebook"}
    approve(db, "hanoi.duyet", alert_id)
    assert queued(db, alert_id) == body["reach"]["residents"]


def test_views_are_counters_with_nothing_about_the_visitor(app, client, db, hanoi):
    alert = approve(db, "hanoi.duyet", province_warning(db))
    visitors = [("203.0.113.77", "Mozilla/5.0 Visitor-One"), ("198.51.100.23", "Visitor-Two")]
    for ip, agent in visitors:
        env = {"REMOTE_ADDR": ip}
        headers = {"User-Agent": agent, "Cookie": "tracking=abc123"}
        assert client.get(f"/a/{alert.code}", environ_base=env, headers=headers).status_code == 200
    assert client.get(f"/a/{alert.code.lower()}.cap", environ_base=env).status_code == 200
    assert client.get("/a/ZZZZZZZZ").status_code == 404  # not a warning: not counted
    assert counters(app).flush(db) == 3
    columns = [r[1] for r in db.execute("PRAGMA table_info(reach_views)")]
    assert columns == ["warning_id", "kind", "minute", "count"]
    rows = db.execute("SELECT warning_id, kind, count FROM reach_views ORDER BY kind").fetchall()
    assert rows == [(alert.id, "cap", 1), (alert.id, "page", 2)]
    dump = "\n".join(db.conn.iterdump())
    for ip, agent in visitors:
        assert ip not in dump and agent not in dump
    assert "abc123" not in dump


def test_the_counts_are_written_in_batches_not_per_view(app, client, db, hanoi):
    alert = approve(db, "hanoi.duyet", province_warning(db))
    client.get(f"/a/{alert.code}")
    assert db.execute("SELECT COUNT(*) FROM reach_views").fetchone()[0] == 0  # still pending
    counters(app)._since -= 60  # as if the flush interval had passed
    client.get(f"/a/{alert.code}")
    assert db.execute("SELECT SUM(count) FROM reach_views").fetchone()[0] == 2


def test_code_checks_and_lookups_are_counted(app, client, db, hanoi):
    alert = approve(db, "hanoi.duyet", province_warning(db))
    assert client.get("/verify", query_string={"q": alert.code}).status_code == 200
    for _ in range(2):
        client.get("/verify/lookup", query_string={"q": "0912345678"})
    client.get("/verify/lookup", query_string={"q": "0987 000 111"})  # no warning lists it
    counters(app).flush(db)
    assert db.execute("SELECT kind, count FROM reach_views").fetchall() == [("verify", 1)]
    assert db.execute("SELECT kind, count FROM reach_lookups").fetchall() == [("phone", 2)]
    hanoi_unit = unit_store.get_unit_by_code(db, "ca-01")
    assert unit_report.report(db, hanoi_unit).lookups == [("phone", "+84912345678", 2)]


def _dispatch(db) -> None:
    engine = Dispatcher(CONFIG, rng=random.Random(7))
    try:
        worker.tick(db, {**CONFIG, "WORKER_LEASE_SECONDS": 60}, engine)
    finally:
        engine.close()


def test_the_timeline_buckets_deliveries_and_receipts_per_minute(db, hanoi, fakes):
    alert = approve(db, "hanoi.duyet", province_warning(db))
    _dispatch(db)
    ids = [
        r[0]
        for r in db.execute(
            "SELECT id FROM deliveries WHERE warning_id = ? AND channel = 'sms' ORDER BY id",
            [alert.id],
        )
    ]
    assert len(ids) == 6
    with write(db):  # when they went out and what the network reported: three minutes
        for delivery_id, sent, receipt, at in (
            (ids[0], "10:00:05", "delivered", "10:01:10"),
            (ids[1], "10:00:40", "failed", "10:02:00"),
            (ids[2], "10:01:59", "read", "10:02:30"),
            (ids[3], "10:02:00", None, None),
            (ids[4], "10:02:01", None, None),
            (ids[5], "10:02:59", None, None),
        ):
            db.execute(
                "UPDATE deliveries SET sent_at = ?, receipt = ?, receipt_at = ? WHERE id = ?",
                [f"2026-12-04T{sent}+00:00", receipt, at and f"2026-12-04T{at}+00:00", delivery_id],
            )
        db.execute(
            "UPDATE deliveries SET sent_at = '2026-12-04T10:01:30+00:00' WHERE warning_id = ?"
            " AND channel != 'sms'",
            [alert.id],
        )
    found = timeline.timeline(db, alert)
    assert found.starts == ["2026-12-04T10:00", "2026-12-04T10:01", "2026-12-04T10:02"]
    assert found.step == 1
    sms = found.deliveries["sms"]
    assert sms == {
        "sent": [2, 1, 3],
        "delivered": [0, 1, 0],
        "read": [0, 0, 1],
        "failed": [0, 0, 1],
    }
    assert found.deliveries["email"]["sent"] == [0, 1, 0]
    others = db.execute(
        "SELECT COUNT(*) FROM deliveries WHERE warning_id = ? AND channel != 'sms'", [alert.id]
    ).fetchone()[0]
    assert found.totals["sent"] == 6 + others and found.totals["failed"] == 1
    # The warning page's card reads the same totals from the kept counts, not the rows.
    assert timeline.totals(db, alert) == found.totals


def test_a_long_history_is_bucketed_wider(db, hanoi, fakes):
    alert = approve(db, "hanoi.duyet", province_warning(db))
    _dispatch(db)
    with write(db):
        db.execute(
            "UPDATE deliveries SET sent_at = '2026-12-04T10:00:00+00:00' WHERE warning_id = ?",
            [alert.id],
        )
        db.execute("INSERT INTO reach_views VALUES (?, 'page', '2026-12-04T14:59', 4)", [alert.id])
    found = timeline.timeline(db, alert)
    assert found.step == 5 and len(found.starts) == 60
    assert found.views["page"][-1] == 4 and sum(found.views["page"]) == 4


def test_the_warning_pages_reach_card_and_timeline_page(client, db, hanoi, fakes):
    alert = approve(db, "hanoi.duyet", province_warning(db))
    _dispatch(db)
    assert sign_in(client, "hanoi.canbo").status_code == 302
    html = client.get(f"/admin/warnings/{alert.id}").get_data(as_text=True)
    assert 'id="reach"' in html and f"/admin/reach/warnings/{alert.id}" in html
    page = client.get(f"/admin/reach/warnings/{alert.id}")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert text.count('role="img"') == 2 and '<title id="tl-deliveries-t">' in text
    assert 'data-event="sent"' in text
    live = client.get(f"/admin/reach/warnings/{alert.id}/timeline.json").json
    assert live["totals"]["sent"] == sum(sum(s["sent"]) for s in live["deliveries"].values()) > 0


def _times(db, alert_id: int, approved, submitted_before, first_sent_after) -> None:
    with write(db):
        db.execute(
            "UPDATE warnings SET approved_at = ?, submitted_at = ? WHERE id = ?",
            [to_text(approved), to_text(approved - submitted_before), alert_id],
        )
        db.execute(
            "UPDATE deliveries SET sent_at = ? WHERE warning_id = ?",
            [to_text(approved + first_sent_after), alert_id],
        )


def test_a_units_reach_page_and_its_csv(client, db, hanoi, fakes):
    now = utcnow()
    first = approve(db, "hanoi.duyet", province_warning(db))
    second = approve(db, "hanoi.duyet", province_warning(db, warning_type="fake_link"))
    _dispatch(db)
    _times(db, first.id, now - timedelta(days=8), timedelta(minutes=30), timedelta(minutes=2))
    _times(db, second.id, now - timedelta(hours=1), timedelta(minutes=10), timedelta(minutes=4))
    found = unit_report.report(db, unit_store.get_unit_by_code(db, "ca-01"), now)
    assert found.to_approval == 20.0 and found.to_delivery == 3.0 and found.timed == 2
    assert sum(found.issued["scam_phone"]) == 1 and found.issued["fake_link"][-1] == 1
    assert found.subscribers["sms"][-1] == 6 and found.subscribers["telegram"][-1] == 2
    assert {r.code: r.now for r in found.regions}[HOAN_KIEM] == 2
    assert HAI_CHAU not in {r.code for r in found.regions}

    assert sign_in(client, "hanoi.duyet").status_code == 302
    html = client.get("/admin/reach").get_data(as_text=True)
    assert html.count('role="img"') == 2  # a province: no grid of the 34
    assert 'data-median="approval">' in html and "<table" in html
    response = client.get("/admin/reach/ca-01/reach.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert rows[0] == ["section", "item", "week", "value"]
    assert ["median", "to_approval_minutes", "", "20.0"] in rows
    assert [r[3] for r in rows if r[:2] == ["subscribers", "sms"]][-1] == "6"
    audit = db.execute("SELECT actor, action, object FROM audit_log WHERE action = 'reach.export'")
    assert audit.fetchall() == [("hanoi.duyet", "reach.export", "unit:ca-01")]


def test_the_ministry_sees_the_grid_of_the_34_provinces(client, db, hanoi):
    assert sign_in(client, "bo.admin").status_code == 302
    html = client.get("/admin/reach").get_data(as_text=True)
    grid = html[html.index('<title id="provinces-t">') :]
    grid = grid[: grid.index("</svg>")]
    assert grid.count("<rect") == 34
    assert re.search(r"<title>[^<]*Hà Nội: 9</title>", grid)
    table = html[html.index('data-testid="reach-provinces"') :]
    table = table[: table.index("</table>")]
    assert table.count('<th scope="row">') == 34
    assert re.search(r'<th scope="row">Thành phố Hà Nội</th><td>9</td>', table)


def test_a_commune_cannot_see_another_units_reach(client, db, hanoi):
    danang = approve(
        db, "danang.duyet", submitted(db, "haichau.canbo", regions=[HAI_CHAU], channels=["sms"])
    )
    assert sign_in(client, "hoankiem.canbo").status_code == 302
    assert client.get("/admin/reach").status_code == 200
    assert client.get(f"/admin/reach/ca-{HOAN_KIEM}").status_code == 200
    for url in (
        "/admin/reach/ca-01",
        f"/admin/reach/ca-{HAI_CHAU}",
        f"/admin/reach/ca-{HAI_CHAU}/reach.csv",
        "/admin/reach/no-such-unit",
        f"/admin/reach/warnings/{danang.id}",
        f"/admin/reach/warnings/{danang.id}/timeline.json",
    ):
        assert client.get(url).status_code == 404, url
    assert db.execute(
        "SELECT COUNT(*) FROM audit_log WHERE action = 'reach.export'"
    ).fetchone() == (0,)
