"""The audit log is append-only, hash-chained and verifiable, and holds no secrets."""

from __future__ import annotations

import sqlite3

import pytest

from alerts import audit
from alerts.store import audit as audit_store
from tests.conftest import DEMO_PASSWORD
from tests.conftest import sign_in


def test_chain_verifies_after_activity(client, runner):
    sign_in(client, "bo.admin")
    sign_in(client.application.test_client(), "bo.admin", "wrong password")
    result = runner.invoke(args=["audit-verify"])
    assert result.exit_code == 0, result.output
    assert "Audit chain OK" in result.output


def test_update_and_delete_are_refused(db):
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        db.execute("UPDATE audit_log SET actor = 'x'")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        db.execute("DELETE FROM audit_log")


def test_tampering_is_detected(db, runner):
    # An insider with raw database access drops the trigger and edits an entry.
    db.execute("DROP TRIGGER audit_log_no_update")
    db.execute("UPDATE audit_log SET actor = 'someone else' WHERE id = 1")
    result = runner.invoke(args=["audit-verify"])
    assert result.exit_code == 1
    assert "BROKEN at entry 1" in result.output


def test_deleting_the_last_entries_is_detected(client, db, runner):
    sign_in(client, "bo.canbo")
    db.execute("DROP TRIGGER audit_log_no_delete")
    db.execute("DELETE FROM audit_log WHERE id = (SELECT max(id) FROM audit_log)")
    result = runner.invoke(args=["audit-verify"])
    assert result.exit_code == 1
    assert "missing at the end" in result.output


def test_entries_have_who_what_when_and_no_secrets(client, db):
    sign_in(client, "hanoi.canbo")
    entry = audit_store.recent(db, limit=1)[0]
    assert entry["action"] == "signin.ok" and entry["actor"] == "hanoi.canbo"
    assert entry["actor_unit"] == "ca-01" and entry["at"].endswith("+00:00")
    everything = " ".join(str(v) for row in audit_store.iter_rows(db) for v in row.values())
    assert DEMO_PASSWORD not in everything


def test_redaction_masks_secrets_and_phone_numbers():
    detail = audit.redact({"password": "p", "api_token": "t", "note": "gọi 0912 345 678 ngay"})
    assert detail == {
        "password": "[redacted]",
        "api_token": "[redacted]",
        "note": "gọi ***678 ngay",
    }
