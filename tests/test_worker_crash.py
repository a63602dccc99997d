"""kill -9 of a real worker process mid-fan-out, then a restart: nothing is lost, nothing
is sent twice except deliveries whose outcome was unknown, which go out again with the
same idempotency key and are recorded as possible duplicates."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter

import pytest

from alerts.db import open_db
from tests.builders import CONFIG
from tests.builders import approve
from tests.builders import submitted
from tests.delivery_setup import add_accounts
from tests.delivery_setup import running_fakes
from tests.fakes import hooks

LEASE = 3


def start_worker(db_path, log, lease: int = LEASE, **settings: str):
    """Start ``flask worker`` on the database; ``settings`` are more ALERTS_* (without it)."""
    env = {
        **os.environ,
        "ALERTS_ENV": "testing",
        "ALERTS_DATABASE": str(db_path),
        "ALERTS_SIGNING_KEY": CONFIG["SIGNING_KEY"],
        "ALERTS_DATA_KEY": CONFIG["DATA_KEY"],
        "ALERTS_PUBLIC_URL": CONFIG["PUBLIC_URL"],
        "ALERTS_WORKER_LEASE_SECONDS": str(lease),
        **{f"ALERTS_{name}": value for name, value in settings.items()},
    }
    return subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "alerts", "worker"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log,
    )


def wait_for(condition, timeout: float = 30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError("timed out waiting")


def statuses(db) -> Counter:
    return Counter(r[0] for r in db.execute("SELECT status FROM deliveries"))


@pytest.mark.parametrize("moment", ["while claimed and paced", "while the provider answers"])
def test_kill_9_then_restart_loses_nothing(db_path, tmp_path, moment):
    db = open_db(db_path)
    with running_fakes() as fakes, open(tmp_path / "worker.log", "wb") as log:
        account_ids = add_accounts(db, CONFIG, fakes)
        # One webhook account, slowed to a message every 2 s, carries three warnings: the
        # worker claims all three, sends the first and waits its turn for the others.
        db.execute(
            "UPDATE channel_accounts SET settings = json_set(settings, '$.per_second', 0.5)"
            " WHERE id = ?",
            [account_ids["webhook"]],
        )
        if moment == "while the provider answers":
            fakes.state.delays["hooks"] = 3.0
        for _ in range(3):
            approve(db, "hanoi.duyet", submitted(db, channels=["webhook"]))
        assert statuses(db) == {"queued": 3}
        first = start_worker(db_path, log)
        try:
            wait_for(lambda: len(fakes.state.recorded("hooks")) >= 1)
        finally:
            first.send_signal(signal.SIGKILL)
            first.wait()
        at_kill = {
            key: (status, started is not None)
            for key, status, started in db.execute(
                "SELECT idempotency_key, status, started_at FROM deliveries"
            )
        }
        # The two waiting their turn were claimed; the first may already be recorded.
        assert [s for s, _ in at_kill.values()].count("sending") >= 2, at_kill
        second = start_worker(db_path, log)
        try:
            wait_for(lambda: statuses(db) == {"sent": 3}, timeout=60)
        finally:
            second.send_signal(signal.SIGTERM)
            second.wait(timeout=10)
        rows = db.execute(
            "SELECT idempotency_key, possible_duplicate FROM deliveries ORDER BY id"
        ).fetchall()
        received = Counter(d["id"] for d in hooks.deliveries(fakes.state, "newsroom"))
        # Every delivery arrived; exactly those whose attempt had started at the kill were
        # marked possible duplicates (not those claimed and waiting their turn), and a key
        # arrived twice only if it was so marked.
        assert set(received) == {key for key, _ in rows}
        for key, duplicate in rows:
            assert duplicate == (at_kill[key] == ("sending", True))
            assert received[key] <= 1 + duplicate
        assert any(received[key] == 2 for key, _ in rows) or moment == "while claimed and paced"
    db.close()


def test_sigterm_stops_the_worker_cleanly_and_gives_the_lease_up(db_path, tmp_path):
    db = open_db(db_path)
    with open(tmp_path / "worker.log", "wb") as log:
        worker = start_worker(db_path, log)
        try:
            wait_for(lambda: db.execute("SELECT COUNT(*) FROM worker_lease").fetchone()[0] == 1)
            worker.send_signal(signal.SIGTERM)
            assert worker.wait(15) is not None
        finally:
            if worker.poll() is None:
                worker.kill()
                worker.wait()
    assert db.execute("SELECT COUNT(*) FROM worker_lease").fetchone()[0] == 0
    db.close()
