"""`flask register-webhooks` against the fakes: the fake Bot API records the setWebhook it
got (URL, secret token, updates), the fake Graph the app installed on the Page; errors are
printed per account without a secret, and a public URL no platform can reach stops it."""

from __future__ import annotations

import json

import pytest

from alerts.security import vault
from alerts.store import accounts as account_store
from tests.builders import CONFIG
from tests.conftest import make_app
from tests.delivery_setup import add_accounts
from tests.fakes import graph
from tests.fakes import telegram

PUBLIC = "https://canhbao.bocongan.gov.vn"
WEBHOOK_SECRET = "tg-hook_0123456789abcdefABCDEF"


@pytest.fixture
def accounts(db, fakes) -> dict:
    """One account per channel on the fakes; the bot's and the Page's inbound secrets."""
    ids = add_accounts(db, CONFIG, fakes)
    _secrets(db, ids["telegram"], bot_token=telegram.TOKEN, webhook_secret=WEBHOOK_SECRET)
    _secrets(db, ids["facebook"], access_token=graph.PAGE_TOKEN, app_secret=graph.APP_SECRET)
    _secrets(db, ids["facebook"], verify_token=graph.VERIFY_TOKEN)
    return ids


def _secrets(db, account_id: int, **more) -> None:
    stored = account_store.get_account(db, account_id)
    secrets = {**vault.unseal(CONFIG, stored.secrets), **more}
    account_store.set_secrets(db, account_id, vault.seal(CONFIG, secrets))


def run(db_path, public: str = PUBLIC):
    app = make_app(db_path, DATA_KEY=CONFIG["DATA_KEY"], PUBLIC_URL=public)
    return app.test_cli_runner().invoke(args=["register-webhooks"])


def set_webhooks(fakes) -> list[dict]:
    return [r.json for r in fakes.state.recorded("telegram") if r.path.endswith("/setWebhook")]


def audited(db) -> list[dict]:
    rows = db.execute("SELECT detail FROM audit_log WHERE action = 'channel.webhook'").fetchall()
    return [json.loads(r[0]) for r in rows]


def no_secret_in(text: str) -> None:
    for secret in (telegram.TOKEN, WEBHOOK_SECRET, graph.PAGE_TOKEN, graph.APP_SECRET):
        assert secret not in text
    assert graph.VERIFY_TOKEN not in text


def test_every_platform_is_told_where_to_call(db, db_path, fakes, accounts):
    result = run(db_path)
    assert result.exit_code == 0, result.output
    tg, fb, zalo = accounts["telegram"], accounts["facebook"], accounts["zalo"]
    (call,) = set_webhooks(fakes)
    assert call == {
        "url": f"{PUBLIC}/hooks/telegram/{tg}",
        "secret_token": WEBHOOK_SECRET,
        "allowed_updates": ["message", "callback_query", "my_chat_member"],
        "drop_pending_updates": False,
    }
    assert fakes.state.extra["telegram_webhook"]["url"] == call["url"]
    fields = graph.pages(fakes.state).subscribed[graph.PAGE_ID]
    assert {"messages", "message_deliveries", "message_reads", "messaging_postbacks"} <= set(fields)
    assert f"telegram #{tg} telegram live: OK" in result.output
    assert f"facebook #{fb} facebook live: OK" in result.output
    assert f"callback URL {PUBLIC}/hooks/facebook/{fb}" in result.output
    assert "verify_token secret" in result.output
    assert f"{PUBLIC}/hooks/zalo/{zalo}" in result.output
    no_secret_in(result.output)
    assert sorted(a["channel"] for a in audited(db)) == ["facebook", "telegram", "zalo"]
    no_secret_in(json.dumps(audited(db)))


def test_a_refusal_is_printed_for_its_account_and_fails_the_command(db, db_path, fakes, accounts):
    fakes.state.extra["telegram_token"] = "999:OTHER"  # the stored bot token is now wrong
    fakes.state.fail("graph", kind="error", code=190)
    result = run(db_path)
    assert result.exit_code == 1
    assert f"telegram #{accounts['telegram']} telegram live: ERROR" in result.output
    assert "HTTP 401: Unauthorized" in result.output
    assert "subscribed_apps: HTTP 400: Invalid OAuth access token" in result.output
    assert f"{PUBLIC}/hooks/zalo/{accounts['zalo']}" in result.output  # the others still go on
    no_secret_in(result.output)
    outcomes = {a["channel"]: a["ok"] for a in audited(db)}
    assert outcomes == {"telegram": False, "facebook": False, "zalo": True}


def test_telegrams_own_check_of_the_url_is_reported(db_path, fakes, accounts):
    result = run(db_path, public="https://canhbao.bocongan.gov.vn:8080")
    assert result.exit_code == 1
    assert "Webhook can be set up only on ports 80, 88, 443 or 8443" in result.output
    assert "telegram_webhook" not in fakes.state.extra


def test_a_bot_without_its_webhook_secret_is_not_registered(db, db_path, fakes, accounts):
    _secrets(db, accounts["telegram"], webhook_secret="")
    result = run(db_path)
    assert result.exit_code == 1
    assert "no webhook_secret stored" in result.output
    assert set_webhooks(fakes) == []


@pytest.mark.parametrize(
    "public",
    [
        "http://canhbao.bocongan.gov.vn",
        "https://127.0.0.1:5000",
        "https://10.0.0.5",
        "https://localhost",
    ],
)
def test_a_public_url_no_platform_can_reach_stops_everything(db, db_path, fakes, accounts, public):
    result = run(db_path, public=public)
    assert result.exit_code != 0
    assert "ALERTS_PUBLIC_URL" in result.output
    assert fakes.state.recorded("telegram") == [] and fakes.state.recorded("graph") == []
    assert audited(db) == []
