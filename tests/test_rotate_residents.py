"""``rotate-credentials`` re-seals the residents' sealed data too (issue 18's review): once
it has run, the old data key can be removed and what residents sent, the contact a
reporting resident gave, their screenshot and their conversation with the bot all still
open, with the new key alone."""

from __future__ import annotations

import json
from datetime import UTC
from datetime import datetime

import pytest
from cryptography.fernet import Fernet
from cryptography.fernet import InvalidToken

from alerts import audit
from alerts.delivery import channel_accounts as accounts
from alerts.residents import chat_state
from alerts.residents.chat_replies import Chat
from alerts.security import vault
from alerts.store import inbound
from tests.builders import CONFIG
from tests.conftest import make_app
from tests.report_builders import add_report

SCREENSHOT = b"\x89PNG not really"


@pytest.fixture
def app(db_path):
    return make_app(db_path, DATA_KEY=CONFIG["DATA_KEY"], PUBLIC_URL=CONFIG["PUBLIC_URL"])


def _account(db) -> int:
    return accounts.create_account(
        db,
        CONFIG,
        audit.Actor("bo.admin", "bca"),
        unit_code="ca-01",
        channel="telegram",
        name="Bot",
        base_url="https://api.telegram.org",
        settings={},
        secrets={"bot_token": "1:x"},
    )


def test_rotation_reseals_what_residents_sent_and_the_old_key_can_go(app, db):
    account = _account(db)
    add_report(db, contact="0912345678", image=("image/png", SCREENSHOT))
    sent = vault.seal(CONFIG, {"sender": "700001", "data": {"text": "xin chào"}, "raw": "{}"})
    inbound.insert(db, "telegram", account, [("update-1", "message", sent)], "2026-12-04")
    now = datetime.now(UTC)
    chat_state.keep(
        db,
        {**CONFIG, "SECRET_KEY": "test-secret"},
        Chat("telegram", account, "700001", now),
        {"step": "kind"},
    )
    db.conn.commit()

    new = Fernet.generate_key().decode()
    app.config["DATA_KEY"] = f"{new},{CONFIG['DATA_KEY']}"
    result = app.test_cli_runner().invoke(args=["rotate-credentials"])
    assert result.exit_code == 0, result.output
    for table in ("inbound_events", "reports", "report_images", "chat_conversations"):
        assert f"Re-encrypted 1 row(s) of {table}" in result.output, result.output

    alone, old = Fernet(new.encode()), Fernet(CONFIG["DATA_KEY"].encode())
    values = {
        "contact": db.execute("SELECT contact_sealed FROM reports").fetchone()[0],
        "image": db.execute("SELECT sealed FROM report_images").fetchone()[0],
        "event": db.execute("SELECT sealed FROM inbound_events").fetchone()[0],
        "chat": db.execute("SELECT sealed FROM chat_conversations").fetchone()[0],
    }
    for name, value in values.items():
        with pytest.raises(InvalidToken):
            old.decrypt(value)  # the old key opens none of it any more
        assert alone.decrypt(value), name
    assert json.loads(alone.decrypt(values["contact"]))["address"] == "0912345678"
    assert alone.decrypt(values["image"]) == SCREENSHOT
    (detail,) = db.execute("SELECT detail FROM audit_log WHERE action = 'data.reseal'").fetchone()
    assert json.loads(detail) == {
        "inbound_events": 1,
        "reports": 1,
        "report_images": 1,
        "chat_conversations": 1,
    }


def test_a_value_no_key_opens_stops_the_rotation_and_changes_nothing(app, db):
    add_report(db, contact="0912345678")
    lost = Fernet(Fernet.generate_key()).encrypt(b'{"address": "0900000000"}')
    add_report(db, contact=None)
    db.execute("UPDATE reports SET contact_sealed = ? WHERE contact_sealed IS NULL", [lost])
    db.conn.commit()
    before = db.execute("SELECT id, contact_sealed FROM reports ORDER BY id").fetchall()
    app.config["DATA_KEY"] = f"{Fernet.generate_key().decode()},{CONFIG['DATA_KEY']}"
    result = app.test_cli_runner().invoke(args=["rotate-credentials"])
    assert result.exit_code != 0 and "do not decrypt" in result.output, result.output
    assert db.execute("SELECT id, contact_sealed FROM reports ORDER BY id").fetchall() == before
