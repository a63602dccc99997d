"""Delivery under faults, with real worker processes, real signals and the fake providers
over HTTP: a hanging gateway holds up no other channel, a cancel stops what is not yet on
the wire, and kill -9 repeats almost nothing (issue 13's targets)."""

from __future__ import annotations

import json
import random
import signal
import time
from collections import Counter
from datetime import UTC
from datetime import datetime

from alerts.db import open_db
from alerts.warnings import workflow
from tests.builders import CONFIG
from tests.builders import acting_as
from tests.delivery_setup import add_accounts
from tests.delivery_setup import running_fakes
from tests.delivery_setup import subscribe_many
from tests.disk import small_disk
from tests.test_delivery import publish
from tests.test_worker_crash import start_worker
from tests.test_worker_crash import wait_for

COMMUNE = "00070"
CANCELLED = "ĐÃ HỦY CẢNH BÁO"  # templates/channels/telegram.html


def count(db, where: str, params=()) -> int:
    return db.execute(f"SELECT COUNT(*) FROM deliveries WHERE {where}", params).fetchone()[0]


def stop(worker) -> None:
    worker.send_signal(signal.SIGTERM)
    try:
        worker.wait(30)
    except Exception:
        worker.kill()
        worker.wait()
        raise


def cancel(db, alert_id: int) -> float:
    """Cancel a warning; return the moment its transaction had committed (wall clock)."""
    workflow.cancel(db, acting_as(db, "hanoi.duyet"), alert_id, reason="Tin sai", config=CONFIG)
    return time.time()


def test_a_hanging_gateway_with_10000_queued_holds_up_no_other_channel(db_path, tmp_path):
    db = open_db(db_path)
    log_path = tmp_path / "worker.log"
    with running_fakes() as fakes, open(log_path, "wb") as log:
        add_accounts(db, CONFIG, fakes)
        subscribe_many(db, "sms", 10_000, COMMUNE)
        subscribe_many(db, "telegram", 2, COMMUNE)
        fakes.state.set_mode("esms", "hang")  # accepts every request, never answers
        sms_warning = publish(db, channels=["sms"])
        worker = start_worker(db_path, log)
        try:
            wait_for(lambda: len(fakes.state.recorded("esms")) >= 100)
            # A Telegram warning approved meanwhile; its first request draws a 429 that
            # says "retry after 1 s".
            fakes.state.fail("telegram", kind="429", retry_after=1)
            approved = time.time()
            telegram_warning = publish(db, channels=["telegram"])
            wait_for(lambda: fakes.state.recorded("telegram"), timeout=10)
            first = min(r.at for r in fakes.state.recorded("telegram"))
            assert first - approved < 3.0
            where = "warning_id = ? AND status = 'sent'"
            wait_for(lambda: count(db, where, [telegram_warning]) == 3, timeout=10)
            assert time.time() - approved < 3.0  # the retry due in 1 s went in about 1 s
            # A cancel of the SMS warning is claimed at once, however stuck its lane.
            cancelled = cancel(db, sms_warning)
            claimed = "msg_type = 'Cancel' AND status = 'sending'"
            wait_for(lambda: count(db, claimed) > 0, timeout=10)
            assert time.time() - cancelled < 3.0
            moment = datetime.fromtimestamp(cancelled, UTC).isoformat()
            assert count(db, "msg_type = 'Alert' AND started_at > ?", [moment]) == 0
        finally:
            stop(worker)
    text = log_path.read_text(errors="replace")
    assert "maximum number of running instances" not in text
    assert "skipped" not in text.lower()
    db.close()


def test_a_cancel_stops_what_is_not_on_the_wire_and_reaches_all_within_60_s(db_path, tmp_path):
    db = open_db(db_path)
    with running_fakes() as fakes, open(tmp_path / "worker.log", "wb") as log:
        add_accounts(db, CONFIG, fakes)
        subscribe_many(db, "telegram", 1_000, COMMUNE)
        warning = publish(db, channels=["telegram"])
        worker = start_worker(db_path, log)
        try:
            wait_for(lambda: len(fakes.state.recorded("telegram")) >= 150, timeout=30)
            cancelled = cancel(db, warning)
            cancels = "msg_type = 'Cancel' AND status != 'sent'"
            wait_for(lambda: count(db, "msg_type = 'Cancel'") and not count(db, cancels), 60)
            assert time.time() - cancelled < 60
        finally:
            stop(worker)
        requests = fakes.state.recorded("telegram")
    originals = [r for r in requests if CANCELLED not in r.json["text"]]
    corrections = [r for r in requests if CANCELLED in r.json["text"]]
    # Only what was on the wire when the cancel committed may still arrive after it: on
    # loopback within milliseconds, within 2 s on a machine loaded with other work (seen:
    # 0.5 s missed at a load average of 7; before the cancel stopped claimed rows, originals
    # came up to 5.2 s after it).
    late = [r.at for r in originals if r.at > cancelled + 2.0]
    assert late == []
    moment = datetime.fromtimestamp(cancelled, UTC).isoformat()
    assert count(db, "msg_type = 'Alert' AND started_at > ?", [moment]) == 0
    # Everyone who got the warning got its cancellation, nobody else did, and the
    # provider never answered 429 at its limit.
    got = {r.json["chat_id"] for r in originals if r.status == 200}  # a 429 reached nobody
    missing = got - {r.json["chat_id"] for r in corrections}
    assert not missing, db.execute(
        "SELECT target, msg_type, status, history FROM deliveries WHERE target IN"
        " (SELECT value FROM json_each(?))",
        [json.dumps([str(m) for m in missing])],
    ).fetchall()
    refused = db.execute(
        "SELECT COUNT(*) FROM deliveries, json_each(history) h WHERE h.value ->> 'status' = 429"
    ).fetchone()[0]
    assert refused == 0
    db.close()


KILLS = 20


def test_twenty_kill_9_lose_nothing_and_repeat_only_what_was_on_the_wire(db_path, tmp_path):
    db = open_db(db_path)
    rng = random.Random(13)
    with running_fakes() as fakes, open(tmp_path / "worker.log", "wb") as log:
        ids = add_accounts(db, CONFIG, fakes)
        db.execute(  # the gateway's contract: 40/s, so the fan-out lasts through the kills
            "UPDATE channel_accounts SET settings = json_set(settings, '$.per_second', 40)"
            " WHERE id = ?",
            [ids["sms"]],
        )
        subscribe_many(db, "sms", 200, COMMUNE)
        subscribe_many(db, "telegram", 800, COMMUNE)
        publish(db, channels=["sms", "telegram"])
        total = count(db, "1")
        for _ in range(KILLS):
            wait_for(lambda: lease_free(db), timeout=30)
            worker = start_worker(db_path, log)
            before = len(fakes.state.recorded())
            wait_for(lambda n=before: len(fakes.state.recorded()) > n, timeout=30)  # sending
            time.sleep(rng.uniform(0.1, 1.2))
            worker.send_signal(signal.SIGKILL)
            worker.wait()
        assert count(db, "status = 'sent'") < total  # the kills came during the fan-out
        wait_for(lambda: lease_free(db), timeout=30)
        worker = start_worker(db_path, log)
        try:
            wait_for(lambda: count(db, "status = 'sent'") == total, timeout=120)
        finally:
            stop(worker)
        requests = fakes.state.recorded()
    telegram = Counter(r.json["chat_id"] for r in requests if r.channel == "telegram")
    sms = Counter(r.json["RequestId"] for r in requests if r.channel == "esms")
    assert len(telegram) + len(sms) == total  # nothing lost: every delivery arrived
    repeated = {"telegram": sum(telegram.values()) - len(telegram)}
    repeated["sms"] = sum(sms.values()) - len(sms)
    assert repeated["telegram"] <= 2 * KILLS
    # Marked: what had started. Beyond the repeats, only an attempt whose start was
    # committed in the last moment before a kill, not yet on the wire, is marked and was
    # never received: a few at most over twenty kills.
    marked = count(db, "possible_duplicate = 1")
    assert marked <= 1.5 * sum(repeated.values()) + 3, (marked, repeated)
    db.close()


def lease_free(db) -> bool:
    """Return whether no worker holds a fresh lease (a killed one's runs out by itself)."""
    row = db.execute("SELECT expires_at FROM worker_lease").fetchone()
    return row is None or row[0] <= datetime.now(UTC).isoformat()


def test_a_full_disk_stops_every_start_and_the_worker_resumes_by_itself(template_db, tmp_path):
    """The database's disk fills up mid fan-out: no attempt starts while its start cannot
    be written, nothing is lost, and once space is back the worker goes on within a tick
    and takes back its own claims without waiting for its 60 s lease."""
    log_path = tmp_path / "worker.log"
    with (
        small_disk(tmp_path / "disk", template_db, size="24m") as disk,
        running_fakes() as fakes,
        open(log_path, "wb") as log,
    ):
        db = disk.db
        ids = add_accounts(db, CONFIG, fakes)
        db.execute(
            "UPDATE channel_accounts SET settings = json_set(settings, '$.per_second', 40)"
            " WHERE id = ?",
            [ids["sms"]],
        )
        subscribe_many(db, "sms", 400, COMMUNE)
        publish(db, channels=["sms"])
        worker = start_worker(disk.path, log, lease=60)
        try:
            wait_for(lambda: count(db, "status = 'sent'") >= 40)
            disk.fill()
            filled = time.time()
            time.sleep(4)  # two ticks on a full disk
            during = [r for r in fakes.state.recorded("esms") if r.at > filled + 0.5]
            assert during == []  # no start could be written: nothing went out
            disk.free()
            freed = time.time()
            wait_for(lambda: [r for r in fakes.state.recorded("esms") if r.at > freed])
            resumed = min(r.at for r in fakes.state.recorded("esms") if r.at > freed)
            assert resumed - freed < 3.0
            wait_for(lambda: count(db, "status = 'sent'") == 400, timeout=30)
            assert time.time() - freed < 30  # well before the 60 s lease
        finally:
            stop(worker)
        arrived = Counter(r.json["RequestId"] for r in fakes.state.recorded("esms"))
        assert len(arrived) == 400
        assert count(db, "possible_duplicate = 1") == 0
    text = log_path.read_text(errors="replace")
    assert "could not" in text and "retrying" in text
