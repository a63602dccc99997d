"""The demo: its channel accounts carry exactly the credentials the fake servers accept
(and callback secrets of their own, made per install), a published warning reaches every
demo resident through the fakes, the "resident phone" page shows what each one received
with its receipt, its taps change real state through our endpoints and the worker's inbox,
and the demo's reports land grouped in Phường Hoàn Kiếm's inbox."""

from __future__ import annotations

import re
import time

import pytest

from alerts.delivery import inbox
from alerts.delivery.engine import Dispatcher
from alerts.demo import channels as demo_channels
from alerts.demo import live
from alerts.demo import phones
from alerts.demo import reports as demo_reports
from alerts.reports import inbox as report_inbox
from alerts.security import vault
from alerts.store import accounts as account_store
from alerts.store import subscriptions as subscription_store
from alerts.store import units as unit_store
from tests.browser_fixtures import sign_in_browser
from tests.builders import CONFIG
from tests.builders import approve
from tests.builders import submitted
from tests.conftest import acting_as
from tests.conftest import csrf_token
from tests.conftest import make_app
from tests.conftest import post_form
from tests.conftest import sign_in
from tests.delivery_setup import WEBHOOK_SECRET
from tests.delivery_setup import running_fakes
from tests.fakes import esms
from tests.fakes import graph
from tests.fakes import telegram
from tests.fakes import zalo

NEWCOMER_TG, NEWCOMER_ZALO = (address for _channel, address in demo_channels.NEWCOMERS)
SCAM = "+84868123456"  # the number the demo's residents report


@pytest.fixture
def app(db_path):
    return make_app(db_path, DATA_KEY=CONFIG["DATA_KEY"])


@pytest.fixture
def demo(app, db, fakes, live_server):
    """The demo's accounts and residents on the fakes, our app served where they call."""
    app.config["PUBLIC_URL"] = live_server
    fakes.state.limits["telegram:chat"] = 0  # a chat's answers go out together here
    demo_channels.seed(db, app.config, fakes.url, fakes.smtp_port)
    return app.config


def work(db, config) -> None:
    """One pass of what the worker does: apply the inbox, then send what is due."""
    inbox.apply_waiting(db, config)
    dispatcher = Dispatcher(config)
    try:
        dispatcher.dispatch_due(db)
    finally:
        dispatcher.close()


def secrets_of(db, config, channel: str) -> dict:
    """The opened secrets of the demo's live (not test-audience) account of the channel."""
    units = [unit_store.get_unit_by_code(db, code).id for code in ("bca", "ca-01")]
    (found,) = [
        a
        for a in account_store.accounts_of_units(db, units)
        if a.channel == channel and not a.test_audience
    ]
    return vault.unseal(config, found.secrets)


def tap(client, channel: str, address: str, action: str, text: str = ""):
    token = csrf_token(client, "/admin/demo/phones")
    data = {"csrf_token": token, "channel": channel, "address": address, "action": action}
    return client.post("/admin/demo/phones/tap", data={**data, "text": text})


def states(db, channel: str, address: str) -> list[tuple]:
    return [
        (code, status, reason)
        for code, _n, status, reason in subscription_store.states(db, channel, address)
    ]


def test_demo_credentials_are_the_fakes_own():
    assert demo_channels.TELEGRAM_TOKEN == telegram.TOKEN
    assert demo_channels.ZALO_OA_ID == zalo.OA_ID
    assert demo_channels.ZALO["access_token"] == zalo.ACCESS_TOKEN
    assert demo_channels.ZALO["refresh_token"] == zalo.REFRESH_TOKEN
    assert demo_channels.ZALO["secret_key"] == zalo.SECRET_KEY
    assert demo_channels.ZALO_APP_ID == zalo.APP_ID
    assert (demo_channels.FACEBOOK_PAGE, demo_channels.FACEBOOK_TOKEN) == (
        graph.PAGE_ID,
        graph.PAGE_TOKEN,
    )
    assert demo_channels.ESMS == {"api_key": esms.API_KEY, "secret_key": esms.SECRET_KEY}
    assert demo_channels.ESMS_BRANDNAME in esms.BRANDNAMES
    assert demo_channels.ESMS_CPID == esms.CPID
    assert demo_channels.ESMS_MO_KEY == esms.PRIVATE_KEY
    assert demo_channels.WEBHOOK_SECRET == WEBHOOK_SECRET


def test_a_warning_reaches_every_demo_resident_and_shows_on_their_phone(client, db):
    with running_fakes() as fakes:
        assert demo_channels.seed(db, CONFIG, fakes.url, fakes.smtp_port) == 8
        assert demo_channels.seed(db, CONFIG, fakes.url, fakes.smtp_port) == 0  # idempotent
        channels = ["sms", "email", "telegram", "zalo", "facebook", "webhook"]
        alert = approve(db, "hanoi.duyet", submitted(db, channels=channels))
        dispatcher = Dispatcher(CONFIG)
        try:
            dispatcher.dispatch_due(db)
        finally:
            dispatcher.close()
        statuses = db.execute(
            "SELECT status, COUNT(*) FROM deliveries WHERE warning_id = ? GROUP BY status",
            [alert.id],
        ).fetchall()
        assert statuses == [("sent", 9)]  # 6 residents, Telegram channel, Page, newsroom
    sign_in(client, "hanoi.duyet")
    page = client.get("/admin/demo/phones").get_data(as_text=True)
    assert f"{alert.code[:4]}-{alert.code[4:]}" in page and "+84900000001" in page
    assert 'class="bubble sms"' in page


def test_demo_warnings_cover_every_state_once(db):
    from alerts.demo import warnings as demo_warnings

    assert demo_warnings.seed(db, CONFIG) == 7
    assert demo_warnings.seed(db, CONFIG) == 0
    found = db.execute(
        "SELECT status, mode, msg_type, superseded_by IS NOT NULL FROM warnings ORDER BY id"
    ).fetchall()
    assert ("published", "Actual", "Update", 0) in found  # the newest Hoàn Kiếm revision
    assert ("published", "Actual", "Alert", 1) in found  # ... which replaced the first
    assert ("cancelled", "Actual", "Alert", 0) in found
    assert ("published", "Exercise", "Alert", 0) in found
    assert sum(1 for f in found if f[0] == "published") == 6  # the refutation too
    signed = db.execute("SELECT COUNT(*) FROM signatures").fetchone()[0]
    assert signed == 8  # seven publications and one cancellation


def test_an_older_demo_gets_its_refutation_once(db):
    from alerts.demo import warnings as demo_warnings

    assert demo_warnings.seed(db, CONFIG) == 7
    db.execute("DELETE FROM meta WHERE key = ?", [demo_warnings.REFUTED_KEY])
    assert demo_warnings.seed(db, CONFIG) == 1  # a demo seeded before refutations existed
    assert demo_warnings.seed(db, CONFIG) == 0
    refuted = "SELECT COUNT(*) FROM warnings WHERE warning_type = 'fake_news'"
    assert db.execute(refuted).fetchone()[0] == 2


def test_the_demo_refutation_is_recognised_when_its_claim_is_re_typed(client, db, app):
    from alerts.demo import warnings as demo_warnings

    demo_warnings.seed(db, app.config)
    retyped = (
        "khan: tu 15/12 nguoi dan chua cap nhat can cuoc gan chip tren ung dung se bi khoa"
        " can cuoc va phat 2 trieu dong, nop phi 200.000 dong"
    )
    html = post_form(client, "/verify", {"text": retyped}).get_data(as_text=True)
    (code,) = db.execute(
        "SELECT code FROM warnings WHERE warning_type = 'fake_news' AND status = 'published'"
    ).fetchone()
    assert "Thông tin sai sự thật: đã được công an đính chính" in html and f"/a/{code}" in html
    other = post_form(client, "/verify", {"text": "Cảnh báo lừa đảo đầu tư tiền ảo qua Zalo"})
    assert "đã được công an đính chính" not in other.get_data(as_text=True)


def test_a_demo_report_became_a_warning_approved_by_someone_else(db, app):
    assert demo_reports.seed_portal(db, app.config) == 3
    code, status, warning_id = db.execute(
        "SELECT code, status, warning_id FROM reports WHERE kind = 'fake_site'"
    ).fetchone()
    assert status == "confirmed" and warning_id is not None
    warning = db.execute(
        "SELECT w.status, a.username, b.username FROM warnings w"
        " JOIN users a ON a.id = w.created_by JOIN users b ON b.id = w.approved_by"
        " WHERE w.id = ?",
        [warning_id],
    ).fetchone()
    assert warning == ("published", "hoankiem.canbo", "hanoi.duyet")
    links = db.execute(
        "SELECT value FROM warning_indicators WHERE warning_id = ?", [warning_id]
    ).fetchall()
    assert links == [("http://dichvucong-hoankiem.top/cai-dat",)]
    drafted = db.execute(
        "SELECT COUNT(*) FROM audit_log WHERE action = 'report.warning_drafted'"
    ).fetchone()[0]
    assert drafted == 1 and code


def test_callback_secrets_are_made_per_install_sealed_and_never_printed(app, db, fakes, runner):
    result = runner.invoke(args=["seed-demo", "--channels-url", fakes.url])
    assert result.exit_code == 0, result.output
    assert "Demo reports filed on the portal: 3" in result.output
    made = {
        channel: secrets_of(db, app.config, channel) for channel in demo_channels.CALLBACK_SECRETS
    }
    secrets = [
        made[c][name] for c, names in demo_channels.CALLBACK_SECRETS.items() for name in names
    ]
    assert all(re.fullmatch(r"[A-Za-z0-9_-]{32}", s) for s in secrets)
    assert made["telegram"]["webhook_secret"] != telegram.WEBHOOK_SECRET
    assert made["zalo"]["oa_secret_key"] != zalo.OA_SECRET
    stored = "\n".join(str(row) for row in db.execute("SELECT * FROM channel_accounts"))
    logged = "\n".join(str(row) for row in db.execute("SELECT * FROM audit_log"))
    for secret in secrets:
        assert secret not in result.output and secret not in stored and secret not in logged
    again = runner.invoke(args=["seed-demo", "--channels-url", fakes.url])
    assert "Demo reports filed on the portal: none (already there)" in again.output
    assert phones.account(db, app.config, "telegram").secrets == made["telegram"]


def test_an_earlier_install_gets_the_settings_and_secrets_it_lacks(app, db, fakes, monkeypatch):
    config = app.config
    demo_channels.seed(db, config, fakes.url, fakes.smtp_port)
    bot = phones.account(db, config, "telegram")
    old = {k: v for k, v in bot.secrets.items() if k != "webhook_secret"}
    account_store.set_secrets(db, bot.id, vault.seal(config, old))
    account_store.set_settings(db, bot.id, {"chat_id": "@canhbao_hanoi"})
    monkeypatch.setenv("ALERTS_DEMO_WEBHOOK_SECRET", "from-the-environment_0123")
    assert demo_channels.seed(db, config, fakes.url, fakes.smtp_port) == 0
    bot = phones.account(db, config, "telegram")
    assert bot.secrets["webhook_secret"] == "from-the-environment_0123"
    assert bot.secrets["bot_token"] == telegram.TOKEN
    assert bot.settings == {"chat_id": "@canhbao_hanoi", "bot_username": demo_channels.TELEGRAM_BOT}


def test_the_demo_reports_reach_hoan_kiem_grouped_and_the_chats_get_their_reference(db, demo):
    assert demo_reports.seed_portal(db, demo) == 3
    assert demo_reports.send_chat_reports(db, demo) == 2
    assert (demo_reports.seed_portal(db, demo), demo_reports.send_chat_reports(db, demo)) == (0, 0)
    work(db, demo)
    found = db.execute("SELECT channel, region_code FROM reports ORDER BY id").fetchall()
    assert found == [("portal", "00070")] * 3 + [("telegram", "00070"), ("zalo", "00070")]
    (group,) = [
        g for g in report_inbox.groups(db, acting_as(db, "hoankiem.canbo")) if g.value == SCAM
    ]
    assert (group.reports, group.communes) == (4, 1)
    chats = {c: a for c, a, _r in demo_channels.RESIDENTS}
    for channel in ("telegram", "zalo"):
        (told,) = [
            t for t in phones.answers(db, demo, channel, chats[channel]) if "Mã tin báo" in t
        ]
        assert re.search(r"BT-[0-9A-Z]{4}-[0-9A-Z]{4}", told)


def test_a_newcomer_subscribes_by_the_telegram_link_and_blocking_the_bot_pauses_it(
    client, db, demo
):
    sign_in(client, "hoankiem.canbo")
    assert tap(client, "telegram", NEWCOMER_TG, "link").status_code == 302
    work(db, demo)
    assert states(db, "telegram", NEWCOMER_TG) == [("00070", "active", None)]
    page = client.get("/admin/demo/phones").get_data(as_text=True)
    assert "Đã đăng ký nhận cảnh báo lừa đảo của Công an cho Phường Hoàn Kiếm" in page
    assert tap(client, "telegram", NEWCOMER_TG, "block").status_code == 302
    work(db, demo)
    assert states(db, "telegram", NEWCOMER_TG) == [("00070", "disabled", "blocked the bot")]
    assert "blocked the bot" in client.get("/admin/demo/phones").get_data(as_text=True)
    (entry,) = db.execute(
        "SELECT detail FROM audit_log WHERE action = 'demo.tap' AND detail LIKE '%block%'"
    ).fetchall()
    assert NEWCOMER_TG not in entry[0] and "10***03" in entry[0]


def test_a_tap_for_someone_not_in_the_demo_is_refused(client, db, demo):
    sign_in(client, "hoankiem.canbo")
    assert tap(client, "telegram", "5342000001", "link").status_code == 400
    assert tap(client, "zalo", NEWCOMER_ZALO, "block").status_code == 400
    assert db.execute("SELECT COUNT(*) FROM inbound_events").fetchone()[0] == 0


def test_a_zalo_follower_subscribes_and_the_oas_receipts_mark_a_warning_read(
    client, db, demo, fakes
):
    assert phones.connect(db, demo)
    sign_in(client, "hoankiem.canbo")
    for action, text in (("follow", ""), ("say", "Hoan Kiem"), ("say", "CO")):
        assert tap(client, "zalo", NEWCOMER_ZALO, action, text).status_code == 302
        work(db, demo)
    assert states(db, "zalo", NEWCOMER_ZALO) == [("00070", "active", None)]
    approve(db, "hanoi.duyet", submitted(db, channels=["zalo"], config=demo), config=demo)
    work(db, demo)
    receipts = []
    until = time.monotonic() + 10
    while time.monotonic() < until and receipts != [("read",)]:
        time.sleep(0.1)  # the fake OA tells our webhook: received, then seen
        inbox.apply_waiting(db, demo)
        receipts = db.execute(
            "SELECT receipt FROM deliveries WHERE channel = 'zalo' AND target = ?",
            [NEWCOMER_ZALO],
        ).fetchall()
    assert receipts == [("read",)]
    page = client.get("/admin/demo/phones").get_data(as_text=True)
    assert 'data-receipt="read"' in page


def test_the_live_step_of_scripts_run_connects_the_fakes_and_reports_by_chat(
    db, demo, fakes, monkeypatch
):
    for name, value in (
        ("DATABASE", demo["DATABASE"]),
        ("PUBLIC_URL", demo["PUBLIC_URL"]),
        ("DATA_KEY", CONFIG["DATA_KEY"]),
        ("ENV", "development"),
    ):
        monkeypatch.setenv(f"ALERTS_{name}", value)
    assert live.main() == 0
    assert (
        db.execute("SELECT COUNT(*) FROM inbound_events WHERE kind = 'message'").fetchone()[0] == 2
    )
    oa, ours = zalo.oa(fakes.state), phones.account(db, demo, "zalo")
    assert oa.webhook == f"{demo['PUBLIC_URL']}/hooks/zalo/{ours.id}"
    assert oa.oa_secret == ours.secrets["oa_secret_key"]


def test_in_a_browser_a_newcomer_taps_the_telegram_link_then_blocks_the_bot(page, db, demo):
    base = demo["PUBLIC_URL"]
    sign_in_browser(page, base, "hoankiem.canbo")
    page.goto(base + "/admin/demo/phones")
    phone = page.locator(f"#telegram-{NEWCOMER_TG}")
    phone.get_by_role("button", name="Mở liên kết đăng ký (Phường Hoàn Kiếm)").click()
    page.wait_for_url(re.compile(r"/admin/demo/phones"))
    work(db, demo)
    page.reload()
    phone = page.locator(f"#telegram-{NEWCOMER_TG}")
    assert "Đã đăng ký nhận cảnh báo" in phone.locator(".answer").first.inner_text()
    assert phone.locator("li[data-status=active]").count() == 1
    phone.get_by_role("button", name="Chặn bot").click()
    page.wait_for_url(re.compile(r"/admin/demo/phones"))
    work(db, demo)
    page.reload()
    paused = page.locator(f"#telegram-{NEWCOMER_TG} li[data-status=disabled]")
    assert "blocked the bot" in paused.inner_text()
    assert states(db, "telegram", NEWCOMER_TG) == [("00070", "disabled", "blocked the bot")]


def test_a_newcomers_subscribe_code_shows_on_the_phone_view(client, db):
    """The fake gateway delivers nowhere: the code a newcomer asked for on the portal is
    read on the demo's phone view, masked, as the README says."""
    with running_fakes() as fakes:
        demo_channels.seed(db, CONFIG, fakes.url, fakes.smtp_port)
        form = {
            "action": "subscribe",
            "channel": "sms",
            "address": "0912000111",
            "regions": "00070",
        }
        assert post_form(client, "/subscribe", form).status_code == 302
        dispatcher = Dispatcher(CONFIG)
        try:
            dispatcher.dispatch_due(db)
        finally:
            dispatcher.close()
        (sent,) = [r.json["Content"] for r in fakes.state.recorded("esms")]
        code = re.search(r"\b(\d{6})\b", sent).group(1)
        sign_in(client, "hanoi.duyet")
        page = client.get("/admin/demo/phones").get_data(as_text=True)
    codes = page.split('id="codes"')[1].split("</section>")[0]
    assert code in codes and "+84******111" in codes and "0912000111" not in codes
