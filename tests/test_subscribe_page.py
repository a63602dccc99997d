"""The portal's subscribe page for a resident with a phone (issue 15), through the test
client (the page without JavaScript) and a real chromium on a phone: the commune picker
(search without diacritics, chips, ``?region=``), only the chosen channel's part, the
one-time Telegram link, the Zalo OA's steps, the welcome after confirmation, and the limits."""

from __future__ import annotations

import hashlib
import json
import re
from datetime import timedelta
from pathlib import Path

import pytest

import alerts
from alerts.clock import from_text
from alerts.clock import utcnow
from alerts.residents import app_links
from alerts.residents import limits
from alerts.residents import welcome
from alerts.store import accounts as account_store
from tests.builders import CONFIG
from tests.builders import approve
from tests.builders import submitted
from tests.conftest import make_app
from tests.conftest import post_form
from tests.delivery_setup import add_accounts

BOT = "canhbao_hanoi_bot"
OA_PAGE = "https://zalo.me/3886132808700000001"
DEEP_LINK = re.compile(r"https://t\.me/canhbao_hanoi_bot\?start=([A-Za-z0-9_-]{43})")


@pytest.fixture
def app(db_path):
    return make_app(db_path, DATA_KEY=CONFIG["DATA_KEY"], PUBLIC_URL=CONFIG["PUBLIC_URL"])


@pytest.fixture
def accounts(db, fakes):
    """Hà Nội's accounts on the fakes, its bot named and its OA's page given."""
    ids = add_accounts(db, CONFIG, fakes)
    for channel, extra in (
        ("telegram", {"bot_username": "@" + BOT}),
        ("zalo", {"oa_url": OA_PAGE}),
    ):
        account = account_store.get_account(db, ids[channel])
        with db.conn:
            account_store.set_settings(db, ids[channel], {**account.settings, **extra})
    return ids


def page_of(response) -> str:
    return response.get_data(as_text=True)


def count(db, table: str) -> int:
    return db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]


def chip(code: str) -> str:
    return f'name="regions" value="{code}" id="chosen-{code}" checked'


def form(**fields) -> dict:
    return {"action": "subscribe", "channel": "telegram", "regions": "00070", **fields}


# --- the picker without JavaScript ------------------------------------------------------------


def test_the_commune_comes_prefilled_from_the_page_the_resident_came_from(client):
    client.set_cookie("region", "48")
    page = page_of(client.get("/subscribe?region=00070"))
    assert chip("00070") in page and chip("48") not in page  # ?region= wins over the cookie
    assert re.search(r"Phường Hoàn Kiếm </label>|Phường Hoàn Kiếm <small>Thành phố Hà Nội", page)
    province = page_of(client.get("/subscribe?region=01"))
    assert chip("01") in province and "cả tỉnh, thành phố" in province
    for junk in ("vn", "99999", "<script>", "0" * 40):
        page = page_of(client.get("/subscribe", query_string={"region": junk}))
        assert chip("48") in page and "<script>" not in page  # falls back to the cookie


def test_a_search_without_diacritics_lists_matches_as_boxes_and_keeps_the_chosen(client, db):
    page = page_of(post_form(client, "/subscribe", {"action": "search", "q": "ba dinh"}))
    results = page[page.index('id="picker-results"') :]
    for code, province in (("00004", "Thành phố Hà Nội"), ("16171", "Tỉnh Thanh Hóa")):
        assert f'<input type="checkbox" name="regions" value="{code}" id="match-{code}">' in results
        assert province in results  # the province beside each namesake
    assert "Có 3 địa bàn khớp." in page
    fields = {"action": "search", "q": "hoan kiem", "regions": ["00004", "00070"]}
    again = page_of(post_form(client, "/subscribe", fields))
    assert chip("00004") in again and chip("00070") in again  # ticked boxes are kept
    assert 'id="match-00070"' not in again  # nor offered twice
    assert "Không có xã, phường hay tỉnh nào khớp." in again
    assert count(db, "subscriptions") == 0 and count(db, "channel_links") == 0


def test_the_live_search_reads_the_region_endpoint(client):
    regions = client.get("/regions.json?q=hoan kiem").get_json()["regions"]
    assert [(r["code"], r["parent_name"]) for r in regions] == [("00070", "Thành phố Hà Nội")]
    page = page_of(client.get("/subscribe"))
    assert 'data-suggest="/regions.json"' in page and "/static/subscribe.js" in page
    assert 'aria-live="polite"' in page and '<label for="q">' in page


def test_each_channel_part_is_marked_for_its_channel_and_telegram_asks_no_id(client):
    page = page_of(client.get("/subscribe"))
    assert 'class="field channel-part for-sms for-email' in page
    assert 'class="hint channel-part for-telegram"' in page and "không cần nhập gì" in page
    assert "chat id" not in page.lower() and "ID người dùng" not in page
    css = (Path(alerts.__file__).parent / "static" / "portal.css").read_text(encoding="utf-8")
    assert ".subscribe-form:has([name=channel][value=telegram]:checked) .for-telegram" in css


# --- Telegram: a one-time link -------------------------------------------------------------


def test_telegram_gives_a_one_time_link_with_its_qr_code_and_expiry(client, db, accounts):
    response = post_form(client, "/subscribe", form(address="ignored 0912345678"))
    page = page_of(response)
    assert response.status_code == 200 and "Mở Telegram để xác nhận" in page
    token = DEEP_LINK.search(page)[1]
    assert page.count(f"https://t.me/{BOT}?start={token}") == 2  # the button and the text
    assert 'src="data:image/svg+xml' in page and "Liên kết chỉ dùng được một lần, đến" in page
    stored = db.execute("SELECT token_hash, region_codes, lang FROM channel_links").fetchall()
    assert stored == [(hashlib.sha256(token.encode()).hexdigest(), '["00070"]', "vi")]
    assert count(db, "subscriptions") == 0 and count(db, "notices") == 0
    (detail,) = db.execute(
        "SELECT detail FROM audit_log WHERE action = 'subscription.app_link'"
    ).fetchone()
    assert json.loads(detail) == {"channel": "telegram", "regions": "00070"}
    with db.conn:
        link = app_links.redeem(db, accounts["telegram"], token, utcnow())
        assert link.region_codes == ("00070",)
        assert app_links.redeem(db, accounts["telegram"], token, utcnow()) is None  # once


def test_telegram_without_a_bot_named_is_refused_beside_the_channel(client, db, fakes):
    add_accounts(db, CONFIG, fakes)  # Hà Nội's bot has no username
    response = post_form(client, "/subscribe", form())
    page = page_of(response)
    assert response.status_code == 422
    start = page.index('name="channel"')
    assert "Kênh này chưa gửi tin tới địa bàn của bạn" in page[start : page.index('id="regions"')]
    assert count(db, "channel_links") == 0
    refused = db.execute("SELECT detail FROM audit_log WHERE action = 'subscription.refused'")
    assert "app_link" in refused.fetchone()[0]


def test_bad_communes_are_refused_beside_the_picker_and_nothing_is_stored(client, db, accounts):
    for regions, message in (
        ([], "Vui lòng chọn ít nhất"),
        (["vn"], "cảnh báo toàn quốc"),
        ([f"{c:05d}" for c in range(4, 70, 6)], "tối đa 10"),
        (['<script>alert("x")</script>'], "trong danh sách"),
    ):
        response = post_form(client, "/subscribe", form(regions=regions))
        page = page_of(response)
        assert response.status_code == 422 and "<script>alert" not in page
        picker = page[page.index('id="regions"') : page.index('data-testid="address-field"')]
        assert message in picker, regions
    assert count(db, "channel_links") == 0


def test_links_count_against_the_networks_limit(client, db, accounts):
    for _ in range(limits.IP_LIMIT):
        assert post_form(client, "/subscribe", form()).status_code == 200
    response = post_form(client, "/subscribe", form())
    assert response.status_code == 429 and "Có quá nhiều yêu cầu từ mạng của bạn" in page_of(
        response
    )
    assert count(db, "channel_links") == limits.IP_LIMIT


# --- Zalo: the OA to follow ----------------------------------------------------------------


def test_zalo_names_the_oa_to_follow_and_what_to_send(client, db, accounts):
    response = post_form(client, "/subscribe", form(channel="zalo", regions=["00070", "00004"]))
    page = page_of(response)
    assert response.status_code == 200
    assert "Quan tâm OA của Công an thành phố Hà Nội rồi nhắn tên xã" in page
    assert f'<a href="{OA_PAGE}" rel="noopener noreferrer">Mở “zalo live” trên Zalo</a>' in page
    assert "<q>Phường Hoàn Kiếm</q>, <q>Phường Ba Đình</q>" in page
    assert count(db, "subscriptions") == 0 and count(db, "channel_links") == 0


def test_zalo_shows_no_link_it_does_not_trust_and_refuses_where_no_oa_reaches(client, db, accounts):
    account = account_store.get_account(db, accounts["zalo"])
    with db.conn:
        settings = {**account.settings, "oa_url": "javascript:alert(1)"}
        account_store.set_settings(db, accounts["zalo"], settings)
    page = page_of(post_form(client, "/subscribe", form(channel="zalo")))
    assert "javascript:" not in page and "Trong Zalo, tìm Official Account “zalo live”." in page
    far = post_form(client, "/subscribe", form(channel="zalo", regions="48"))
    assert far.status_code == 422 and "chưa gửi tin tới địa bàn" in page_of(far)


# --- the links to the page -----------------------------------------------------------------


def test_region_and_warning_pages_link_to_the_page_for_their_area(client, db):
    assert 'href="/subscribe?region=00070"' in page_of(client.get("/r/00070"))
    assert 'href="/subscribe?region=01"' in page_of(client.get("/r/01"))
    assert "/subscribe?region=" not in page_of(client.get("/r/vn"))
    alert = approve(db, "hanoi.duyet", submitted(db))
    page = page_of(client.get(f"/a/{alert.code}"))
    assert 'href="/subscribe?region=00070"' in page and "Nhận cảnh báo cho địa bàn này" in page


# --- the welcome ---------------------------------------------------------------------------


def welcome_for(db, channel, regions=("00070",), lang="vi"):
    return welcome.welcome(db, regions, lang, channel, utcnow(), public_url=CONFIG["PUBLIC_URL"])


def test_the_welcome_lists_the_warnings_in_force_on_each_channel(db):
    headline = "Cảnh báo <b>giả</b> danh công an & ngân hàng"
    alert = approve(db, "hanoi.duyet", submitted(db, headline=headline))
    display = f"{alert.code[:4]}-{alert.code[4:]}"
    link = f"{CONFIG['PUBLIC_URL']}/a/{alert.code}"
    subject, text, html = welcome_for(db, "email")
    assert subject == "Đã đăng ký nhận cảnh báo của Công an" and headline in text
    assert f"mã {display}): {link}" in text and "Phường Hoàn Kiếm" in text
    assert f'<a href="{link}"' in html and "&lt;b&gt;giả&lt;/b&gt;" in html and "<b>giả" not in html
    _, sms, _ = welcome_for(db, "sms")
    assert sms.isascii() and display in sms and "Soan HUY" in sms
    _, telegram, _ = welcome_for(db, "telegram")
    assert "&lt;b&gt;giả&lt;/b&gt; danh công an &amp; ngân hàng" in telegram
    assert "/stop" in telegram
    stop = f"{CONFIG['PUBLIC_URL']}/subscriptions/T"
    with_link = welcome.welcome(
        db, ["00070"], "vi", "sms", utcnow(), public_url=CONFIG["PUBLIC_URL"], stop_url=stop
    )
    assert with_link[1].endswith(f"Xem hoac ngung nhan: {stop}")
    _, english, _ = welcome_for(db, "zalo", lang="en")
    assert "Warnings in force:" in english and display in english


def test_the_welcome_says_when_nothing_is_in_force_and_keeps_sms_short(db):
    _, text, _ = welcome_for(db, "zalo", regions=("48",))
    assert "Hiện chưa có cảnh báo nào đang có hiệu lực ở đây." in text
    for n in range(4):
        approve(db, "hanoi.duyet", submitted(db, headline=f"Cảnh báo thứ {n} về lừa đảo"))
    _, sms, _ = welcome_for(db, "sms")
    assert sms.count("/a/") == 3 and "Va 1 canh bao khac: " in sms


def test_queue_welcome_uses_the_bot_it_is_given(db, accounts):
    now = utcnow()
    with db.conn:
        notice = welcome.queue_welcome(
            db,
            CONFIG,
            channel="telegram",
            address="555002",
            regions=["00070"],
            lang="vi",
            now=now,
            account_id=accounts["telegram"],
        )
    row = db.execute(
        "SELECT kind, channel, account_id, expires_at FROM notices WHERE id = ?", [notice]
    )
    kind, channel, account_id, expires = row.fetchone()
    assert (kind, channel, account_id) == ("welcome", "telegram", accounts["telegram"])
    assert from_text(expires) >= now + timedelta(hours=23)


# --- in a browser, on a phone ----------------------------------------------------------------


@pytest.fixture
def phone(browser):
    """A phone's tab: 390 x 844, touch."""
    context = browser.new_context(
        viewport={"width": 390, "height": 844}, has_touch=True, is_mobile=True, locale="vi-VN"
    )
    yield context.new_page()
    context.close()


def assert_accessible(page) -> None:
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    assert results.violations_count == 0, results.generate_report()


@pytest.mark.browser
def test_a_resident_picks_communes_with_a_thumb_and_gets_the_telegram_link(
    phone, live_server, db, accounts
):
    phone.goto(live_server + "/subscribe?region=00070")
    chosen = phone.locator(".picker-chosen li")
    assert chosen.all_inner_texts() == ["Phường Hoàn Kiếm Thành phố Hà Nội\n×"]
    assert_accessible(phone)
    phone.fill("#q", "ba dinh")  # no diacritics
    phone.locator(".picker-results button", has_text="Phường Ba Đình").tap()
    assert phone.inner_text("#picker-status") == "Đã chọn: Phường Ba Đình."
    assert [li.get_attribute("data-code") for li in chosen.all()] == ["00070", "00004"]
    phone.get_by_role("button", name="Bỏ Phường Hoàn Kiếm").tap()
    assert phone.inner_text("#picker-status") == "Đã bỏ: Phường Hoàn Kiếm."
    assert [li.get_attribute("data-code") for li in chosen.all()] == ["00004"]
    assert phone.is_visible("#address") and not phone.is_visible("[data-testid=telegram-hint]")
    assert phone.get_attribute("#address", "type") == "tel"  # digits on the phone's keyboard
    phone.get_by_role("radio", name="Email").tap()
    assert phone.is_visible("#address-hint .for-email") and not phone.is_visible(
        "#address-hint .for-sms"
    )
    assert phone.get_attribute("#address", "type") == "email"
    phone.get_by_role("radio", name="Telegram").tap()
    assert not phone.is_visible("#address") and phone.is_visible("[data-testid=telegram-hint]")
    assert_accessible(phone)
    phone.get_by_role("button", name="Lấy liên kết Telegram").tap()
    button = phone.get_by_role("link", name="Mở Telegram để xác nhận")
    token = DEEP_LINK.fullmatch(button.get_attribute("href"))[1]
    assert phone.inner_text("[data-testid=deep-link]") == button.get_attribute("href")
    assert phone.is_visible("img.qr")
    assert_accessible(phone)
    stored = db.execute("SELECT token_hash, region_codes FROM channel_links").fetchall()
    assert stored == [(hashlib.sha256(token.encode()).hexdigest(), '["00004"]')]


@pytest.mark.browser
def test_without_javascript_the_search_button_and_boxes_do_the_same(
    browser, live_server, db, accounts
):
    context = browser.new_context(viewport={"width": 390, "height": 844}, java_script_enabled=False)
    page = context.new_page()
    try:
        page.goto(live_server + "/subscribe")
        page.fill("#q", "hoan kiem")
        page.click("button[value=search]")
        assert "Có 1 địa bàn khớp." in page.inner_text("#picker-status")
        page.check("#match-00070")
        page.fill("#address", "0912 345 678")
        page.click("button[value=subscribe]")
        assert page.url.endswith("/subscribe/confirm")
    finally:
        context.close()
    rows = db.execute("SELECT address, region_code, status FROM subscriptions").fetchall()
    assert rows == [("+84912345678", "00070", "pending")]


@pytest.mark.browser
def test_the_zalo_steps_on_a_phone_are_accessible(phone, live_server, db, accounts):
    phone.goto(live_server + "/r/00070")
    phone.get_by_role("link", name="Nhận cảnh báo cho địa bàn này").tap()
    phone.get_by_role("radio", name="Zalo").tap()
    assert phone.is_visible("[data-testid=zalo-hint]") and not phone.is_visible("#address")
    phone.get_by_role("button", name="Xem cách đăng ký qua Zalo").tap()
    steps = phone.locator("[data-testid=zalo-account]")
    assert "Quan tâm OA của Công an thành phố Hà Nội rồi nhắn tên xã" in steps.inner_text()
    assert (
        phone.get_by_role("link", name="Mở “zalo live” trên Zalo").get_attribute("href") == OA_PAGE
    )
    assert_accessible(phone)
    assert db.execute("SELECT COUNT(*) FROM subscriptions").fetchone() == (0,)


@pytest.mark.parametrize(
    ("url", "typed"), [("/subscriptions", {"sms", "email"}), ("/subscribe/confirm", {"sms"})]
)
def test_no_page_asks_for_a_telegram_or_zalo_id(client, db, url, typed):
    """A chat or a follower is never typed in: the bot and the OA subscribe and stop."""
    page = client.get(url).get_data(as_text=True)
    offered = re.findall(r'name="channel"[^>]*value="(\w+)"|<option value="(\w+)"', page)
    assert {v for pair in offered for v in pair if v} == typed
    refused = post_form(client, url, {"channel": "telegram", "address": "5342000001", "code": "1"})
    assert refused.status_code == 422
    assert db.execute("SELECT COUNT(*) FROM notices").fetchone()[0] == 0
