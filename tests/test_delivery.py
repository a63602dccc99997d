"""The delivery engine against the fake channel servers over loopback: the outbox filled at
publication, sending, each reaction, retries, breakers, token refresh, dead letters and
replay, cancel mid-fan-out, expiry, and the single worker's lease."""

from __future__ import annotations

import json
import random
import threading
import time
from collections import Counter
from dataclasses import replace
from datetime import timedelta

import pytest

from alerts.clock import utcnow
from alerts.delivery import policy
from alerts.delivery import progress
from alerts.delivery import worker
from alerts.delivery.engine import Dispatcher
from alerts.residents import links
from alerts.store import deliveries as delivery_store
from alerts.store import warnings as store
from alerts.warnings import workflow
from tests.builders import CONFIG
from tests.builders import approve
from tests.builders import submitted
from tests.conftest import acting_as
from tests.delivery_setup import FAST
from tests.delivery_setup import add_accounts
from tests.delivery_setup import subscribe
from tests.test_integrity import tamper

# Short deadlines so hung servers cost a test a second, not fifteen.


@pytest.fixture
def dispatcher():
    engine = Dispatcher(CONFIG, rng=random.Random(7), rules=FAST)
    yield engine
    engine.close()


def rows(db, alert_id: int) -> list[dict]:
    cursor = db.execute("SELECT * FROM deliveries WHERE warning_id = ? ORDER BY id", [alert_id])
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, r, strict=True)) for r in cursor]


def publish(db, **changes) -> int:
    return approve(db, "hanoi.duyet", submitted(db, **changes)).id


def by_channel(db, alert_id: int) -> dict[str, list[dict]]:
    found: dict[str, list[dict]] = {}
    for row in rows(db, alert_id):
        found.setdefault(row["channel"], []).append(row)
    return found


def test_approval_enqueues_every_delivery_in_the_same_transaction(db, fakes):
    add_accounts(db, CONFIG, fakes)
    subscribe(db, "sms", "+84912345001", "00070")
    subscribe(db, "sms", "+84912345001", "01")  # twice: one delivery
    subscribe(db, "email", "dan@example.vn", "01")
    subscribe(db, "telegram", "100001", "00070")
    subscribe(db, "sms", "+84912345002", "48")  # Đà Nẵng: not targeted
    alert_id = publish(db, channels=["sms", "email", "telegram", "zalo", "facebook", "webhook"])
    found = by_channel(db, alert_id)
    assert [r["target"] for r in found["sms"]] == ["+84912345001"]
    assert [r["target"] for r in found["email"]] == ["dan@example.vn"]
    assert sorted(r["target"] for r in found["telegram"]) == ["100001", "broadcast"]
    assert [r["target"] for r in found["facebook"]] == ["broadcast"]
    assert all(r["status"] == "queued" and r["province_code"] == "01" for r in rows(db, alert_id))
    keys = [r["idempotency_key"] for r in rows(db, alert_id)]
    assert len(keys) == len(set(keys))
    publish_entry = db.execute(
        "SELECT detail FROM audit_log WHERE action = 'alert.publish' AND object = ?",
        [f"alert:{alert_id}"],
    ).fetchone()
    assert json.loads(publish_entry[0])["deliveries"] == len(keys)


def test_exercise_goes_only_to_the_test_audience(db, fakes):
    add_accounts(db, CONFIG, fakes)
    test_accounts = add_accounts(db, CONFIG, fakes, unit="bca", test=True)
    subscribe(db, "sms", "+84912345001", "00070")
    subscribe(db, "sms", "+84912345009", "00070", test=True)
    alert_id = publish(db, mode="Exercise", channels=["sms", "telegram"])
    found = rows(db, alert_id)
    assert {r["target"] for r in found} == {"+84912345009", "broadcast"}
    assert {r["account_id"] for r in found} <= set(test_accounts.values())


def test_dispatch_sends_over_every_channel(db, fakes, dispatcher):
    add_accounts(db, CONFIG, fakes)
    subscribe(db, "sms", "+84912345001", "00070")
    subscribe(db, "email", "dan@example.vn", "00070")
    subscribe(db, "telegram", "100001", "00070")
    alert_id = publish(db, channels=["sms", "email", "telegram", "facebook", "webhook"])
    summary = dispatcher.dispatch_due(db)
    assert summary.claimed == 6
    assert {r["status"] for r in rows(db, alert_id)} == {"sent"}, rows(db, alert_id)
    code = store.get_alert(db, alert_id).code
    sms = fakes.state.recorded("esms")[0].json
    assert code[:4] in sms["Content"] and sms["Phone"].endswith("912345001")
    assert code[:4] in fakes.state.recorded("telegram")[0].json["text"]
    assert progress.progress(db, store.get_alert(db, alert_id))["done"]


def test_retry_after_is_honoured(db, fakes, dispatcher):
    add_accounts(db, CONFIG, fakes)
    alert_id = publish(db, channels=["telegram"])
    fakes.state.fail("telegram", kind="429", retry_after=7)
    before = utcnow()
    dispatcher.dispatch_due(db)
    (row,) = rows(db, alert_id)
    assert row["status"] == "queued" and row["attempts"] == 1
    wait = (utcnow() - before).total_seconds()
    delay = (store_time(row["next_attempt_at"]) - before).total_seconds()
    assert 7 - 1 <= delay <= 7 + wait + 1
    assert json.loads(row["history"])[0]["reaction"] == "retry_after"


def store_time(text):
    from alerts.clock import from_text

    return from_text(text)


def test_backoff_uses_full_jitter_within_the_schedule(db, fakes, dispatcher):
    add_accounts(db, CONFIG, fakes)
    alert_id = publish(db, channels=["webhook"])
    fakes.state.fail("hooks", kind="http", status=500)
    before = utcnow()
    dispatcher.dispatch_due(db)
    (row,) = rows(db, alert_id)
    delay = (store_time(row["next_attempt_at"]) - before).total_seconds()
    assert row["status"] == "queued" and 0 <= delay <= policy.POLICIES["webhook"].schedule[0] + 2
    assert policy.backoff(FAST["webhook"], 3, random.Random(1)) <= FAST["webhook"].schedule[2]


def test_a_hung_server_costs_only_its_deadline_and_leaves_others_alone(db, fakes, dispatcher):
    add_accounts(db, CONFIG, fakes)
    alert_id = publish(db, channels=["webhook", "telegram"])
    fakes.state.fail("hooks", kind="hang", seconds=6)
    began = time.monotonic()
    dispatcher.dispatch_due(db)
    assert time.monotonic() - began < 4
    found = by_channel(db, alert_id)
    assert found["telegram"][0]["status"] == "sent"
    hung = found["webhook"][0]
    assert hung["status"] == "queued" and hung["possible_duplicate"] == 1
    assert json.loads(hung["history"])[-1]["reaction"] == "unknown"


def test_breaker_opens_after_repeated_failures_and_skips_the_account(db, fakes, dispatcher):
    add_accounts(db, CONFIG, fakes)
    alert_id = publish(db, channels=["webhook", "telegram"])
    fakes.state.fail("hooks", count=20, kind="http", status=503)
    for _ in range(policy.BREAKER_THRESHOLD):
        db.execute("UPDATE deliveries SET next_attempt_at = '2000-01-01T00:00:00+00:00'")
        dispatcher.dispatch_due(db)
    account = db.execute(
        "SELECT breaker_open_until FROM channel_accounts WHERE channel = 'webhook'"
    ).fetchone()
    assert account[0] is not None
    db.execute("UPDATE deliveries SET next_attempt_at = '2000-01-01T00:00:00+00:00'")
    assert dispatcher.dispatch_due(db).claimed == 0  # the open breaker skips it
    assert by_channel(db, alert_id)["telegram"][0]["status"] == "sent"


def test_zalo_token_is_refreshed_and_the_message_sent(db, fakes, dispatcher):
    add_accounts(db, CONFIG, fakes)
    subscribe(db, "zalo", "4418000000000001", "00070")
    alert_id = publish(db, channels=["zalo"])
    fakes.state.fail("zalo", kind="error", code=-216)
    dispatcher.dispatch_due(db)
    resident = [r for r in rows(db, alert_id) if r["target"] == "4418000000000001"][0]
    assert resident["status"] == "queued"
    dispatcher.dispatch_due(db)
    assert {r["status"] for r in rows(db, alert_id)} == {"sent"}, [
        (r["target"], r["last_error"]) for r in rows(db, alert_id)
    ]
    assert db.execute(
        "SELECT COUNT(*) FROM audit_log WHERE action = 'channel.token_refreshed'"
    ).fetchone() == (1,)


def test_a_token_is_refreshed_at_most_once_a_minute(db, fakes, dispatcher):
    """Attempts sent with the old token keep coming back refused for a moment after a
    refresh; Zalo's refresh token works once, so a second refresh would waste the pair."""
    add_accounts(db, CONFIG, fakes)
    subscribe(db, "zalo", "4418000000000001", "00070")
    first = publish(db, channels=["zalo"])
    fakes.state.fail("zalo", kind="error", code=-216)
    dispatcher.dispatch_due(db)
    dispatcher.dispatch_due(db)
    second = publish(db, channels=["zalo"], headline="Cảnh báo thứ hai về cuộc gọi giả danh")
    fakes.state.fail("zalo", kind="error", code=-216)  # sent before the refresh, say
    dispatcher.dispatch_due(db)
    dispatcher.dispatch_due(db)
    assert {r["status"] for r in rows(db, first) + rows(db, second)} == {"sent"}
    assert db.execute(
        "SELECT COUNT(*) FROM audit_log WHERE action = 'channel.token_refreshed'"
    ).fetchone() == (1,)


def test_dead_letter_and_replay_with_the_same_key(db, fakes, dispatcher):
    add_accounts(db, CONFIG, fakes)
    subscribe(db, "telegram", "100001", "00070")
    alert_id = publish(db, channels=["telegram"])
    fakes.state.fail(
        "telegram",
        count=2,
        kind="error",
        status=400,
        description="Bad Request: can't parse entities",
    )
    dispatcher.dispatch_due(db)
    dead = [r for r in rows(db, alert_id) if r["status"] == "dead"]
    assert len(dead) == 2 and "parse entities" in dead[0]["last_error"]
    key = dead[0]["idempotency_key"]
    progress.replay(db, acting_as(db, "hanoi.duyet"), dead[0]["id"])
    replayed = delivery_store.get_delivery(db, dead[0]["id"])
    assert replayed["status"] == "queued" and replayed["idempotency_key"] == key
    dispatcher.dispatch_due(db)
    assert delivery_store.get_delivery(db, dead[0]["id"])["status"] == "sent"
    assert db.execute(
        "SELECT COUNT(*) FROM audit_log WHERE action = 'delivery.replay'"
    ).fetchone() == (1,)


def test_cancel_mid_fan_out_stops_the_rest_and_corrects_those_reached(db, fakes, dispatcher):
    add_accounts(db, CONFIG, fakes)
    for i in range(4):
        subscribe(db, "sms", f"+8491234500{i}", "00070")
    alert_id = publish(db, channels=["sms"])
    first_two = [r["id"] for r in rows(db, alert_id)[:2]]
    db.execute(
        f"UPDATE deliveries SET next_attempt_at = '2999-01-01T00:00:00+00:00'"
        f" WHERE warning_id = ? AND id NOT IN ({first_two[0]}, {first_two[1]})",
        [alert_id],
    )
    dispatcher.dispatch_due(db)
    workflow.cancel(db, acting_as(db, "hanoi.duyet"), alert_id, reason="Tin sai", config=CONFIG)
    found = rows(db, alert_id)
    originals = [r for r in found if r["msg_type"] == "Alert"]
    cancels = [r for r in found if r["msg_type"] == "Cancel"]
    assert sorted(r["status"] for r in originals) == ["cancelled", "cancelled", "sent", "sent"]
    assert sorted(r["target"] for r in cancels) == sorted(
        r["target"] for r in originals if r["status"] == "sent"
    )
    assert all(r["priority"] == 100 for r in cancels)
    dispatcher.dispatch_due(db)
    assert {r["status"] for r in rows(db, alert_id) if r["msg_type"] == "Cancel"} == {"sent"}
    last = fakes.state.recorded("esms")[-1].json["Content"]
    assert "HUY CANH BAO" in last.upper()


def test_nothing_is_sent_after_expiry(db, fakes, dispatcher):
    add_accounts(db, CONFIG, fakes)
    alert_id = publish(db, channels=["telegram"])
    db.execute(
        "UPDATE deliveries SET expires_at = ? WHERE warning_id = ?",
        [(utcnow() - timedelta(seconds=1)).isoformat(timespec="seconds"), alert_id],
    )
    assert dispatcher.dispatch_due(db).expired == 1
    assert rows(db, alert_id)[0]["status"] == "dead"
    assert fakes.state.recorded("telegram") == []


def test_content_changed_behind_the_approval_is_never_sent(db, fakes, dispatcher):
    add_accounts(db, CONFIG, fakes)
    alert_id = publish(db, channels=["telegram"])
    db.execute("UPDATE warnings SET content_hash = 'forged' WHERE id = ?", [alert_id])
    dispatcher.dispatch_due(db)
    assert rows(db, alert_id)[0]["status"] == "dead"
    assert fakes.state.recorded("telegram") == []


def test_content_edited_in_the_database_after_publication_is_never_sent(db, fakes, dispatcher):
    """Both hash columns untouched: only recomputing the hash from the content catches it."""
    add_accounts(db, CONFIG, fakes)
    alert_id = publish(db, channels=["telegram", "sms"])
    tamper(db, alert_id, headline="Chuyển tiền vào tài khoản 0123456789 để được bảo vệ")
    dispatcher.dispatch_due(db)
    assert {r["status"] for r in rows(db, alert_id)} == {"dead"}
    assert fakes.state.recorded("telegram") == [] and fakes.state.recorded("esms") == []
    alert = store.get_alert(db, alert_id)
    assert alert.integrity_failure.startswith("sending:")
    actions = [r[0] for r in db.execute("SELECT action FROM audit_log")]
    assert actions.count("security.integrity_failure") == 1


def test_a_second_worker_is_refused_while_the_first_holds_the_lease(db):
    worker.acquire(db, "first", 60)
    with pytest.raises(worker.LeaseHeld, match="Another worker \\(first\\) is active"):
        worker.acquire(db, "second", 60)
    worker.acquire(db, "first", 60)  # renewing is fine
    worker.release(db, "first")
    worker.acquire(db, "second", 60)


def test_healthz_shows_the_worker_heartbeat(client, db):
    assert client.get("/healthz").json["worker"] is None
    worker.acquire(db, "host:1:abc", 60)
    assert client.get("/healthz").json["worker"]["holder"] == "host:1:abc"


def test_cli_worker_refuses_to_start_beside_another(runner, db):
    worker.acquire(db, "other", 60)
    result = runner.invoke(args=["worker", "--no-wait"])
    assert result.exit_code == 1 and "Another worker (other) is active" in result.output


def test_zalo_token_about_to_expire_is_refreshed_before_sending(db, fakes, dispatcher):
    from alerts.security import vault
    from alerts.store import accounts as account_store

    ids = add_accounts(db, CONFIG, fakes)
    stored = account_store.get_account(db, ids["zalo"])
    secrets = vault.unseal(CONFIG, stored.secrets)
    soon = (utcnow() + timedelta(minutes=10)).isoformat(timespec="seconds")
    account_store.set_secrets(db, stored.id, vault.seal(CONFIG, {**secrets, "expires_at": soon}))
    subscribe(db, "zalo", "4418000000000001", "00070")
    alert_id = publish(db, channels=["zalo"])
    dispatcher.dispatch_due(db)
    assert {r["status"] for r in rows(db, alert_id)} == {"sent"}
    renewed = vault.unseal(CONFIG, account_store.get_account(db, stored.id).secrets)
    assert renewed["refresh_token"] != secrets["refresh_token"] and renewed["expires_at"] > soon


def test_a_hung_token_refresh_ends_at_the_deadline(db, fakes, dispatcher):
    from alerts.security import vault
    from alerts.store import accounts as account_store

    ids = add_accounts(db, CONFIG, fakes)
    stored = account_store.get_account(db, ids["zalo"])
    secrets = vault.unseal(CONFIG, stored.secrets)
    soon = (utcnow() + timedelta(minutes=10)).isoformat(timespec="seconds")
    account_store.set_secrets(db, stored.id, vault.seal(CONFIG, {**secrets, "expires_at": soon}))
    subscribe(db, "zalo", "4418000000000001", "00070")
    alert_id = publish(db, channels=["zalo"])
    fakes.state.delays["zalo"] = 10.0  # the token endpoint and the API both hang
    began = time.monotonic()
    dispatcher.dispatch_due(db)
    assert time.monotonic() - began < 6.0  # the refresh's deadline, then the send's (1.5 s)
    (failure,) = db.execute(
        "SELECT json_extract(detail, '$.error') FROM audit_log"
        " WHERE action = 'channel.refresh_failed'"
    ).fetchone()
    assert "TimeoutError" in failure
    (row,) = rows(db, alert_id)
    assert row["status"] == "queued" and row["possible_duplicate"] == 1


def test_rotate_credentials_reencrypts_with_the_first_key(db, fakes, runner, app):
    from cryptography.fernet import Fernet

    from alerts.security import vault
    from alerts.store import accounts as account_store

    add_accounts(db, dict(app.config), fakes)  # sealed with the development key
    new = Fernet.generate_key().decode()
    app.config["DATA_KEY"] = f"{new},{(app.config['DATA_KEY'] or _dev_key(app))}"
    result = runner.invoke(args=["rotate-credentials"])
    assert result.exit_code == 0 and "6 channel accounts" in result.output
    sealed = account_store.get_account(db, 1).secrets  # the Telegram account
    assert Fernet(new.encode()).decrypt(sealed)  # readable with the new key alone
    assert vault.unseal(app.config, sealed)["bot_token"]


def _dev_key(app) -> str:
    from pathlib import Path

    from alerts.security.vault import DEV_KEY_FILE

    return (Path(app.config["DATABASE"]).parent / DEV_KEY_FILE).read_text().strip()


def test_each_resident_gets_their_own_stop_link_and_the_unit_channel_none(db, fakes):
    config = {**CONFIG, "SECRET_KEY": "test-secret"}
    engine = Dispatcher(config, rng=random.Random(7), rules=FAST)
    add_accounts(db, config, fakes)
    first = subscribe(db, "telegram", "100001", "00070")
    second = subscribe(db, "telegram", "100002", "00070")
    publish(db, channels=["telegram"])
    try:
        engine.dispatch_due(db)
    finally:
        engine.close()
    texts = {str(r.json["chat_id"]): r.json["text"] for r in fakes.state.recorded("telegram")}

    assert links.unsubscribe_url(config, first) in texts["100001"]
    assert links.unsubscribe_url(config, second) in texts["100002"]
    assert "/unsubscribe/" not in texts["@canhbao_test"]


def test_a_worker_never_takes_back_what_it_still_holds(db, fakes):
    add_accounts(db, CONFIG, fakes)
    subscribe(db, "sms", "+84912345001", "00070")
    (row,) = by_channel(db, publish(db, channels=["sms"]))["sms"]
    past = "2000-01-01T00:00:00+00:00"
    db.execute(
        "UPDATE deliveries SET status = 'sending', lease_expires_at = ? WHERE id = ?",
        [past, row["id"]],
    )
    now = utcnow().isoformat()
    assert delivery_store.recover_expired_leases(db, now, held=[row["id"]]) == 0
    assert delivery_store.recover_expired_leases(db, now) == 1  # a dead worker's: taken back


class LostLease(Exception):
    pass


def test_a_drain_stopped_by_a_lost_lease_gives_back_what_never_started(db, fakes, monkeypatch):
    monkeypatch.setattr("alerts.delivery.drain.HEARTBEAT_SECONDS", 0.0)
    add_accounts(db, CONFIG, fakes)
    for n in range(20):
        subscribe(db, "sms", f"+849123450{n:02d}", "00070")
    alert_id = publish(db, channels=["sms"])
    one_at_a_time = {**FAST, "sms": replace(FAST["sms"], concurrency=1)}
    engine = Dispatcher(CONFIG, rng=random.Random(7), rules=one_at_a_time)
    beats = []

    def heartbeat():
        beats.append(1)
        raise LostLease("another worker holds the lease")

    try:
        with pytest.raises(LostLease):
            engine.dispatch_due(db, budget=60, heartbeat=heartbeat)
    finally:
        engine.close()
    found = rows(db, alert_id)
    by_status = {s: [r for r in found if r["status"] == s] for s in ("sent", "queued", "sending")}
    assert beats == [1]
    assert by_status["sent"] and by_status["queued"]
    assert len(by_status["sending"]) <= 1  # at most the one being sent when it stopped
    assert sum(len(v) for v in by_status.values()) == 20
    assert all(r["attempts"] == 0 and not r["possible_duplicate"] for r in by_status["queued"])


def test_closing_the_engine_mid_fan_out_gives_back_what_never_started(db, fakes):
    add_accounts(db, CONFIG, fakes)
    for n in range(20):
        subscribe(db, "sms", f"+849123450{n:02d}", "00070")
    alert_id = publish(db, channels=["sms"])
    fakes.state.delays["esms"] = 0.2  # the gateway answers slowly: the fan-out takes 4 s
    one_at_a_time = {**FAST, "sms": replace(FAST["sms"], concurrency=1)}
    engine = Dispatcher(CONFIG, rng=random.Random(7), rules=one_at_a_time)
    stopped = []

    def drain() -> None:
        try:
            engine.dispatch_due(db, budget=60)
        except BaseException as error:  # the worker's tick sees its drain cancelled
            stopped.append(type(error).__name__)

    draining = threading.Thread(target=drain)
    draining.start()
    deadline = time.monotonic() + 10
    while len(fakes.state.recorded("esms")) < 2 and time.monotonic() < deadline:
        time.sleep(0.02)
    engine.close()  # what a signal to the worker does
    draining.join(10)
    assert stopped == ["CancelledError"]
    found = rows(db, alert_id)
    by_status = {s: [r for r in found if r["status"] == s] for s in ("sent", "queued", "sending")}
    assert by_status["sent"] and len(by_status["queued"]) >= 15
    assert len(by_status["sending"]) <= 1  # at most the one being sent when it stopped
    assert all(r["attempts"] == 0 and not r["possible_duplicate"] for r in by_status["queued"])


def test_a_slow_channels_long_queue_never_holds_a_fast_one_back(db, fakes, dispatcher):
    add_accounts(db, CONFIG, fakes)
    for n in range(600):  # Telegram: 28/s, at most 42 in flight with a 1.5 s deadline
        subscribe(db, "telegram", str(700_000_000 + n), "00070")
    subscribe(db, "sms", "+84912345001", "00070")
    alert_id = publish(db, channels=["telegram", "sms"])  # the Telegram rows come first
    dispatcher.dispatch_due(db, budget=1.0)
    sms = by_channel(db, alert_id)["sms"]
    assert [r["status"] for r in sms] == ["sent"]
    telegram = Counter(r["status"] for r in by_channel(db, alert_id)["telegram"])
    assert 0 < telegram["sent"] < 600 and telegram["sending"] == 0


def test_a_cancellation_claimed_mid_fan_out_overtakes_what_is_still_queued(db, fakes, monkeypatch):
    monkeypatch.setattr("alerts.delivery.drain.HEARTBEAT_SECONDS", 0.0)
    monkeypatch.setattr("alerts.delivery.claims.BATCH", 20)  # a fan-out of several claims
    add_accounts(db, CONFIG, fakes)
    subscribe(db, "sms", "+84912345999", "00070")
    earlier = publish(db, channels=["sms"])
    for n in range(30):
        subscribe(db, "sms", f"+849123451{n:02d}", "00070")
    one_at_a_time = {**FAST, "sms": replace(FAST["sms"], concurrency=1)}
    engine = Dispatcher(CONFIG, rng=random.Random(7), rules=one_at_a_time)
    try:
        engine.dispatch_due(db)  # the earlier warning reaches its resident
        later = publish(db, channels=["sms"], headline="Cảnh báo thứ hai về cuộc gọi giả danh")
        cancelled = []

        def cancel_the_earlier_one_mid_fan_out():
            if not cancelled:
                acting = acting_as(db, "hanoi.duyet")
                workflow.cancel(db, acting, earlier, reason="Tin sai", config=CONFIG)
                cancelled.append(True)

        engine.dispatch_due(db, budget=30, heartbeat=cancel_the_earlier_one_mid_fan_out)
    finally:
        engine.close()
    texts = [r.json["Content"].upper() for r in fakes.state.recorded("esms")]
    assert {r["status"] for r in rows(db, later)} == {"sent"}
    assert [r["status"] for r in rows(db, earlier) if r["msg_type"] == "Cancel"] == ["sent"]
    (cancel_at,) = [i for i, text in enumerate(texts) if "HUY CANH BAO" in text]
    assert cancel_at < len(texts) - 10  # ahead of most of the later fan-out


def test_two_warnings_on_the_units_channel_within_a_second_are_paced_not_refused(
    db, fakes, dispatcher
):
    """A Telegram channel is a chat: one message a second there too (the fake counts it as
    Telegram does), so the second broadcast waits its turn instead of drawing a 429."""
    add_accounts(db, CONFIG, fakes)
    publish(db, channels=["telegram"], headline="Cảnh báo thứ nhất")
    publish(db, channels=["telegram"], headline="Cảnh báo thứ hai")
    drain_all(db, dispatcher)
    to_channel = [
        r for r in fakes.state.recorded("telegram") if r.json["chat_id"] == "@canhbao_test"
    ]
    assert [r.status for r in to_channel] == [200, 200]
    assert to_channel[1].at - to_channel[0].at >= 1.0


def test_two_units_accounts_of_one_bot_share_its_limits(db, fakes, dispatcher):
    """Telegram counts a bot, not our account: Hà Nội's and the ministry's accounts holding
    the same bot's token are paced as one (the fake's one bot, 1 message a second per chat)."""
    add_accounts(db, CONFIG, fakes)
    add_accounts(db, CONFIG, fakes, unit="bca")  # the same bot, the same channel
    publish(db, channels=["telegram"], headline="Cảnh báo của Hà Nội")
    approve(db, "bo.admin", submitted(db, "bo.canbo", channels=["telegram"], regions=["vn"]))
    drain_all(db, dispatcher)
    to_channel = [
        r for r in fakes.state.recorded("telegram") if r.json["chat_id"] == "@canhbao_test"
    ]
    assert [r.status for r in to_channel] == [200, 200]


def drain_all(db, dispatcher, seconds: float = 20) -> None:
    """Run the engine until every delivery is sent (a test fails past ``seconds``)."""
    deadline = time.monotonic() + seconds
    while db.execute("SELECT COUNT(*) FROM deliveries WHERE status != 'sent'").fetchone()[0]:
        assert time.monotonic() < deadline, "not all sent"
        dispatcher.dispatch_due(db)
