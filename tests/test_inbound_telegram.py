"""Telegram calling back, over loopback: the fake Bot API POSTs updates with our secret token
(or a wrong one) to the app served over HTTP; our endpoint answers at once, the worker's
inbox then subscribes a chat that opened a one-time link (``/start <token>``), stops it with
``/stop``, pauses it when the resident blocks the bot, and files a report told with
``/baotin``. The bot's answers are read from what the fake was asked to send."""

from __future__ import annotations

import json
import random
from datetime import timedelta

import httpx
import pytest

from alerts.clock import utcnow
from alerts.delivery import inbox
from alerts.delivery.engine import Dispatcher
from alerts.residents import app_links
from tests.builders import CONFIG
from tests.builders import published
from tests.chat_setup import CONF
from tests.chat_setup import FAST
from tests.chat_setup import SECRET
from tests.chat_setup import chat_account
from tests.chat_setup import events
from tests.chat_setup import one
from tests.conftest import make_app
from tests.delivery_setup import subscribe
from tests.fakes import telegram

CHAT, OTHER = 5342000001, 5342000002


@pytest.fixture
def app(db_path):
    return make_app(db_path, SECRET_KEY=SECRET, DATA_KEY=CONFIG["DATA_KEY"])


@pytest.fixture
def dispatcher():
    engine = Dispatcher(CONF, rng=random.Random(7), rules=FAST)
    yield engine
    engine.close()


@pytest.fixture
def bot(db, fakes, live_server):
    """The Telegram account on the fake Bot API, with its bot's name and webhook secret."""
    settings = {"bot_username": "canhbao_fake_bot"}
    secrets = {"webhook_secret": telegram.WEBHOOK_SECRET}
    account_id = chat_account(db, fakes, "telegram", settings, secrets)
    fakes.state.limits["telegram:chat"] = 0  # a conversation's answers go out together here
    return {"id": account_id, "url": f"{live_server}/hooks/telegram/{account_id}", "fakes": fakes}


def update(bot, kind: str, chat: int = CHAT, **options) -> dict:
    """The fake Bot API sends one update to our webhook; what our endpoint answered."""
    body = {"url": bot["url"], "kind": kind, "chat": chat, **options}
    sent = httpx.post(f"{bot['fakes'].url}/telegram/_control/update", json=body, timeout=10)
    return sent.json()


def answers(bot, chat: int = CHAT) -> list[str]:
    """What the bot was asked to send to the chat, oldest first."""
    with bot["fakes"].state.lock:
        sent = list(bot["fakes"].state.extra.get("telegram_sent", []))
    return [m["text"] for m in sent if m["chat_id"] == str(chat)]


def subscriptions(db) -> list[tuple]:
    return db.execute(
        "SELECT address, region_code, status FROM subscriptions WHERE channel = 'telegram'"
        " ORDER BY id"
    ).fetchall()


def link(db, regions=("00070",), made=None) -> str:
    token, url = app_links.create(db, "telegram", list(regions), "vi", made or utcnow())
    assert url == f"https://t.me/canhbao_fake_bot?start={token}"
    return token


def test_a_deep_link_subscribes_the_chat_once_and_says_how_to_stop(db, bot, dispatcher):
    token = link(db, ("00070", "01"))
    started = update(bot, "start", payload=token)
    assert started["status"] == 200 and started["elapsed"] < 1.0
    assert events(db) == [(str(started["update_id"]), "start", "new")]
    assert subscriptions(db) == []  # the request only stored it: the worker applies
    assert inbox.apply_waiting(db, CONF) == 1
    assert subscriptions(db) == [(str(CHAT), "00070", "active"), (str(CHAT), "01", "active")]
    dispatcher.dispatch_due(db)
    (welcome,) = answers(bot)
    assert "Đã đăng ký" in welcome and "Phường Hoàn Kiếm" in welcome and "/stop" in welcome
    update(bot, "start", chat=OTHER, payload=token)  # a shared link opens once
    inbox.apply_waiting(db, CONF)
    assert [s[0] for s in subscriptions(db)] == [str(CHAT)] * 2
    dispatcher.dispatch_due(db)
    assert "không hợp lệ, đã dùng hoặc đã hết hạn" in answers(bot, OTHER)[0]


def test_the_welcome_lists_the_warnings_in_force_there(db, bot, dispatcher):
    warning = published(db, channels=["sms"], headline="Giả danh công an gọi điện đòi mã OTP")
    update(bot, "start", payload=link(db))
    inbox.apply_waiting(db, CONF)
    dispatcher.dispatch_due(db)
    (welcome,) = answers(bot)
    assert "Cảnh báo đang có hiệu lực:" in welcome
    assert "Giả danh công an gọi điện đòi mã OTP" in welcome
    assert f"{CONF['PUBLIC_URL']}/a/{warning.code}" in welcome


@pytest.mark.parametrize("case", ["expired", "malformed", "unknown"])
def test_a_bad_link_gets_a_clear_answer_and_changes_nothing(db, bot, dispatcher, case):
    token = {
        "expired": lambda: link(db, made=utcnow() - timedelta(hours=25)),
        "malformed": lambda: "00070",
        "unknown": lambda: "A" * 43,
    }[case]()
    update(bot, "start", payload=token)
    assert inbox.apply_waiting(db, CONF) == 1
    assert subscriptions(db) == []
    dispatcher.dispatch_due(db)
    (answer,) = answers(bot)
    assert "không hợp lệ" in answer and "trang đăng ký" in answer


def test_stop_unsubscribes_that_chat_only(db, bot, dispatcher):
    subscribe(db, "telegram", str(CHAT), "00070")
    subscribe(db, "telegram", str(OTHER), "00070")
    subscribe(db, "sms", "+84912345678", "00070")
    update(bot, "text", text="/stop")
    inbox.apply_waiting(db, CONF)
    assert subscriptions(db) == [
        (str(CHAT), "00070", "unsubscribed"),
        (str(OTHER), "00070", "active"),
    ]
    sms = db.execute("SELECT status FROM subscriptions WHERE channel = 'sms'").fetchone()
    assert sms == ("active",)
    dispatcher.dispatch_due(db)
    assert "Đã ngừng gửi" in answers(bot)[0]


def test_a_wrong_or_missing_secret_is_refused_and_a_repeated_update_acts_once(db, bot):
    subscribe(db, "telegram", str(CHAT), "00070")
    assert update(bot, "text", text="/stop", wrong_secret=True)["status"] == 401
    assert update(bot, "text", text="/stop", no_secret=True)["status"] == 401
    assert events(db) == []
    reasons = db.execute("SELECT detail FROM audit_log WHERE action = 'hook.refused'")
    assert [json.loads(r[0])["reason"] for r in reasons] == ["wrong or missing secret token"] * 2
    first = update(bot, "kicked")
    again = update(bot, "kicked", update_id=first["update_id"])
    assert (first["status"], again["status"]) == (200, 200)
    assert events(db) == [(str(first["update_id"]), "stopped", "new")]
    assert inbox.apply_waiting(db, CONF) == 1


def test_blocking_the_bot_pauses_that_chat_on_telegram_only(db, bot, dispatcher):
    subscribe(db, "telegram", str(CHAT), "00070")
    subscribe(db, "telegram", str(OTHER), "00070")
    subscribe(db, "sms", "+84912345678", "00070")
    assert update(bot, "kicked")["status"] == 200
    inbox.apply_waiting(db, CONF)
    assert subscriptions(db) == [(str(CHAT), "00070", "disabled"), (str(OTHER), "00070", "active")]
    reason = db.execute("SELECT paused_reason FROM subscriptions WHERE address = ?", [str(CHAT)])
    assert reason.fetchone() == ("blocked the bot",)
    assert db.execute("SELECT status FROM subscriptions WHERE channel = 'sms'").fetchone() == (
        "active",
    )
    update(bot, "member")  # unblocked: noted, nothing reopens until the resident asks
    inbox.apply_waiting(db, CONF)
    assert subscriptions(db)[0] == (str(CHAT), "00070", "disabled")
    dispatcher.dispatch_due(db)
    assert answers(bot) == []


def test_a_commune_typed_in_the_chat_subscribes_after_co(db, bot, dispatcher):
    update(bot, "text", text="Hoàn Kiếm")
    inbox.apply_waiting(db, CONF)
    assert subscriptions(db) == [(str(CHAT), "00070", "pending")]
    update(bot, "text", text="CÓ")
    inbox.apply_waiting(db, CONF)
    assert subscriptions(db) == [(str(CHAT), "00070", "active")]
    dispatcher.dispatch_due(db)
    assert len(answers(bot)) == 2 and one(answers(bot), "Phường Hoàn Kiếm (00070)?")
    assert "/stop" in one(answers(bot), "Đã đăng ký")


def test_baotin_files_a_report_for_the_chats_commune_and_answers_its_code(db, bot, dispatcher):
    subscribe(db, "telegram", str(CHAT), "00070")
    update(bot, "text", text="/baotin")
    inbox.apply_waiting(db, CONF)
    assert db.execute("SELECT COUNT(*) FROM chat_conversations").fetchone() == (1,)
    story = "Nhan tin <b>Zalo</b> gia danh ngan hang, gui link vietcombank-xacthuc.com bat nhap OTP"
    update(bot, "text", text=story)
    inbox.apply_waiting(db, CONF)
    code, kind, unit, channel, account_id = db.execute(
        "SELECT r.code, r.kind, u.code, r.channel, r.account_id"
        " FROM reports r JOIN units u ON u.id = r.unit_id"
    ).fetchone()
    assert (kind, unit, channel, account_id) == ("fake_site", "ca-00070", "telegram", bot["id"])
    found = db.execute("SELECT kind, key FROM report_indicators").fetchall()
    assert found == [("link", "vietcombank-xacthuc.com")]
    assert db.execute("SELECT COUNT(*) FROM chat_conversations").fetchone() == (0,)
    dispatcher.dispatch_due(db)
    assert len(answers(bot)) == 2 and one(answers(bot), "kể ngắn gọn")
    filed = one(answers(bot), code)
    assert code in filed and "Công an phường Hoàn Kiếm" in filed and "<b>" not in filed


def test_baotin_in_one_message_asks_the_commune_when_unknown(db, bot, dispatcher):
    update(bot, "text", text="/baotin So 0987654321 goi toi tu xung toa an")
    update(bot, "text", text="Tan Hoa")
    update(bot, "text", text="04792")
    inbox.apply_waiting(db, CONF)
    region, kind = db.execute("SELECT region_code, kind FROM reports").fetchone()
    assert (region, kind) == ("04792", "scam_call")
    dispatcher.dispatch_due(db)
    said = answers(bot)
    assert len(said) == 3 and one(said, "xã, phường nào") and one(said, "04792 Phường Tân Hòa")
    assert "Công an phường Tân Hòa" in one(said, "BT-")
