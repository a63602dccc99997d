"""Personal access tokens: created, listed and revoked from the command line, stored hashed,
audited without the secret, and refused once revoked or once their account is disabled."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from alerts.audit import Actor
from alerts.errors import Refused
from alerts.staff import api_tokens as tokens
from alerts.store import tokens as token_store

CLI = Actor("cli", "bca")


def new_token(runner, username="hoankiem.canbo", *extra) -> tuple[int, str]:
    """Run create-token and return (token id, secret) from its output."""
    result = runner.invoke(args=["create-token", username, *extra])
    assert result.exit_code == 0, result.output
    first, *_, secret = result.output.strip().splitlines()
    token_id = int(first.split()[2])
    return token_id, secret


def audit_rows(db, action: str) -> list[tuple[str, str, dict]]:
    rows = db.execute(
        "SELECT actor, object, detail FROM audit_log WHERE action = ? ORDER BY id", [action]
    )
    return [(actor, obj, json.loads(detail)) for actor, obj, detail in rows]


def test_create_token_prints_the_secret_once_and_stores_only_its_hash(runner, db, db_path):
    token_id, secret = new_token(runner, "hoankiem.canbo", "--name", "zalo-bot")
    assert secret.startswith("cbt_") and len(secret) >= 40
    row = db.execute(
        "SELECT user_id, name, token_hash, prefix, last_used_at, revoked_at FROM api_tokens"
        " WHERE id = ?",
        [token_id],
    ).fetchone()
    user_id = db.execute("SELECT id FROM users WHERE username = 'hoankiem.canbo'").fetchone()[0]
    digest = hashlib.sha256(secret.encode()).hexdigest()
    assert row == (user_id, "zalo-bot", digest, secret[:12], None, None)
    # The plaintext is nowhere in the database: not in any table, not in the files on disk.
    dump = "\n".join(db.conn.iterdump())
    assert secret not in dump and secret[4:] not in dump
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    for path in Path(db_path).parent.glob("alerts.db*"):
        assert secret[4:].encode() not in path.read_bytes(), path
    assert audit_rows(db, "api_token.create") == [
        ("cli", "user:hoankiem.canbo", {"id": token_id, "name": "zalo-bot", "prefix": secret[:12]})
    ]


def test_a_token_acts_for_its_user_and_records_its_use(client, runner, db):
    token_id, secret = new_token(runner)
    response = client.get("/api/v1/alerts", headers={"Authorization": f"Bearer {secret}"})
    assert response.status_code == 200
    first_use = token_store.get_token(db, token_id).last_used_at
    assert first_use is not None
    # Used again within the minute: no write for every request.
    client.get("/api/v1/alerts", headers={"Authorization": f"Bearer {secret}"})
    assert token_store.get_token(db, token_id).last_used_at == first_use


def test_list_tokens_shows_them_without_their_secret(runner):
    first, secret = new_token(runner, "hanoi.duyet", "--name", "bot một")
    second, _ = new_token(runner, "hanoi.duyet")
    result = runner.invoke(args=["list-tokens", "hanoi.duyet"])
    assert result.exit_code == 0
    lines = result.output.strip().splitlines()
    assert [line.split("\t")[:3] for line in lines] == [
        [str(first), "bot một", secret[:12] + "…"],
        [str(second), "api", lines[1].split("\t")[2]],
    ]
    assert all(line.endswith("active") and "last used never" in line for line in lines)
    assert secret not in result.output
    assert runner.invoke(args=["list-tokens", "hanoi.duyet2"]).output == (
        "hanoi.duyet2 has no tokens.\n"
    )


def test_revoke_token_stops_it_at_once(client, runner, db):
    token_id, secret = new_token(runner)
    headers = {"Authorization": f"Bearer {secret}"}
    assert client.get("/api/v1/alerts", headers=headers).status_code == 200
    result = runner.invoke(args=["revoke-token", str(token_id)])
    assert (result.exit_code, result.output) == (0, f"Revoked token {token_id}.\n")
    assert client.get("/api/v1/alerts", headers=headers).status_code == 401
    again = runner.invoke(args=["revoke-token", str(token_id)])
    assert (again.exit_code, again.output) == (0, f"Token {token_id} was already revoked.\n")
    listing = runner.invoke(args=["list-tokens", "hoankiem.canbo"]).output
    assert "\trevoked 20" in listing
    revokes = audit_rows(db, "api_token.revoke")
    assert revokes == [("cli", "user:hoankiem.canbo", {"id": token_id, "prefix": secret[:12]})]


def test_the_secret_never_reaches_the_audit_log(client, runner, db):
    token_id, secret = new_token(runner)
    client.get("/api/v1/alerts", headers={"Authorization": f"Bearer {secret}"})
    runner.invoke(args=["revoke-token", str(token_id)])
    client.get("/api/v1/alerts", headers={"Authorization": f"Bearer {secret}"})
    log = "\n".join(str(row) for row in db.execute("SELECT * FROM audit_log"))
    assert secret[4:] not in log
    actions = db.execute("SELECT action FROM audit_log WHERE action LIKE 'api_token.%' ORDER BY id")
    assert [a for (a,) in actions] == [
        "api_token.create",
        "api_token.revoke",
        "api_token.refused",
    ]


def test_bad_input_gives_a_message_not_a_traceback(runner, db):
    cases = {
        ("create-token", "nobody"): "Error: No user named 'nobody'.",
        ("list-tokens", "nobody"): "Error: No user named 'nobody'.",
        ("revoke-token", "999"): "Error: No token with id 999.",
        ("revoke-token", "99999999999999999999999"): "Error: No token with id",
        ("create-token", "hanoi.canbo", "--name", "x" * 101): "name: At most 100 characters",
    }
    for args, message in cases.items():
        result = runner.invoke(args=list(args))
        assert result.exit_code == 1 and message in result.output, (args, result.output)
        assert "Traceback" not in result.output
    assert runner.invoke(args=["revoke-token", "abc"]).exit_code == 2
    assert db.execute("SELECT COUNT(*) FROM api_tokens").fetchone()[0] == 0


def test_a_disabled_account_gets_no_token_and_its_tokens_stop(client, db):
    token, secret = tokens.create_token(db, CLI, "haichau.canbo")
    db.execute("UPDATE users SET active = 0 WHERE username = 'haichau.canbo'")
    response = client.get("/api/v1/alerts", headers={"Authorization": f"Bearer {secret}"})
    assert response.status_code == 401
    refused = audit_rows(db, "api_token.refused")
    assert [(o, d["reason"]) for _a, o, d in refused] == [
        ("user:haichau.canbo", "account disabled")
    ]
    with pytest.raises(Refused) as refusal:
        tokens.create_token(db, CLI, "haichau.canbo")
    assert (refusal.value.field, refusal.value.message) == ("username", "This account is disabled.")


def test_a_demo_account_token_is_refused_in_production(db):
    _token, secret = tokens.create_token(db, CLI, "bo.duyet")
    assert tokens.authenticate(db, secret, {"ENV": "testing"}).username == "bo.duyet"
    assert tokens.authenticate(db, secret, {"ENV": "production"}) is None


def test_malformed_tokens_are_refused_without_a_lookup(db):
    _token, secret = tokens.create_token(db, CLI, "bo.duyet")
    for wrong in (secret[4:], secret + "x", "cbt_" + "a" * 200, ""):
        assert tokens.authenticate(db, wrong, {"ENV": "testing"}) is None
    assert audit_rows(db, "api_token.refused") == []
