"""The residents' portal: region pages, warning pages, CAP, signatures, feeds and the key."""

from __future__ import annotations

import base64
import re
import xml.etree.ElementTree as ET
from datetime import timedelta
from pathlib import Path

import feedparser
import pytest
import xmlschema

from alerts.clock import utcnow
from alerts.store import warnings as store
from alerts.warnings import signatures as signing
from alerts.warnings import workflow
from alerts.warnings.models import Alert
from alerts.web import page_cache
from tests.builders import CONFIG
from tests.builders import approve
from tests.builders import create
from tests.builders import published
from tests.conftest import acting_as
from tests.conftest import make_app
from tests.conftest import post_form

CAP_NS = {"cap": "urn:oasis:names:tc:emergency:cap:1.2"}
SCHEMA = Path(__file__).parent / "data" / "CAP-v1.2.xsd"
HAI_CHAU = "20242"  # Phường Hải Châu, Đà Nẵng


@pytest.fixture
def app(db_path):
    """The app signing and linking as CONFIG does, so what was published verifies here."""
    return make_app(db_path, SIGNING_KEY=CONFIG["SIGNING_KEY"], PUBLIC_URL=CONFIG["PUBLIC_URL"])


@pytest.fixture
def english(client):
    """The client with English chosen, so UI text can be asserted whatever the catalogue."""
    client.set_cookie("lang", "en")
    return client


def hanoi(db, headline="Cảnh báo lừa đảo toàn thành phố Hà Nội") -> Alert:
    return published(db, "hanoi.canbo", "hanoi.duyet", regions=["01"], headline=headline)


def nation(db, headline="Cảnh báo lừa đảo trên toàn quốc") -> Alert:
    return published(db, "bo.canbo", "bo.duyet", regions=["vn"], headline=headline)


def danang(db, headline="Cảnh báo lừa đảo ở phường Hải Châu") -> Alert:
    return published(db, "haichau.canbo", "danang.duyet", regions=[HAI_CHAU], headline=headline)


def update(db, alert: Alert, headline: str) -> Alert:
    new_id = workflow.start_update(
        db, acting_as(db, "hoankiem.canbo"), alert.id, {"headline": headline}, config=CONFIG
    )
    workflow.submit(db, acting_as(db, "hoankiem.canbo"), new_id, config=CONFIG)
    return approve(db, "hanoi.duyet", new_id)


def cancel(db, alert: Alert, reason="Thông tin chưa chính xác") -> Alert:
    workflow.cancel(db, acting_as(db, "hanoi.duyet"), alert.id, reason=reason, config=CONFIG)
    return store.get_alert(db, alert.id)


def page(client, url: str, status: int = 200) -> str:
    response = client.get(url, follow_redirects=True)  # a language cookie moves to ?lang=
    assert response.status_code == status, url
    return response.get_data(as_text=True)


def section(html: str, name: str) -> str:
    """Return one section of a page, by its data-testid."""
    match = re.search(rf'data-testid="{name}".*?</section>', html, re.DOTALL)
    assert match, f"no section {name}"
    return match.group(0)


def dashed(code: str) -> str:
    return f"{code[:4]}-{code[4:]}".lower()


# --- the front door and the region pages ----------------------------------------------------


def test_home_lists_warnings_in_force_only(client, db):
    live = published(db, headline="Cảnh báo đang có hiệu lực ở Hoàn Kiếm")
    create(db, headline="Bản nháp chưa gửi duyệt")
    published(db, headline="Tin diễn tập không được liệt kê", mode="Exercise")
    soon = (utcnow() + timedelta(hours=1)).isoformat()
    published(db, headline="Cảnh báo đã hết hiệu lực", expires_at=soon)
    workflow.expire_due(db, utcnow() + timedelta(hours=2))
    html = page(client, "/")
    assert "Cảnh báo đang có hiệu lực ở Hoàn Kiếm" in html
    assert f'href="/a/{live.code}"' in html
    for hidden in ("Bản nháp", "Tin diễn tập", "đã hết hiệu lực"):
        assert hidden not in html


def test_region_pages_show_the_warnings_that_cover_them(client, db):
    hanoi(db)
    nation(db)
    danang(db)
    published(db, headline="Cảnh báo riêng phường Hoàn Kiếm")
    hoan_kiem = page(client, "/r/00070")
    covering = section(hoan_kiem, "covering")
    for headline in ("toàn thành phố Hà Nội", "trên toàn quốc", "riêng phường Hoàn Kiếm"):
        assert headline in covering
    assert "Hải Châu" not in hoan_kiem
    hai_chau = section(page(client, f"/r/{HAI_CHAU}"), "covering")
    assert "phường Hải Châu" in hai_chau and "trên toàn quốc" in hai_chau
    assert "Hà Nội" not in hai_chau and "Hoàn Kiếm" not in hai_chau
    province = page(client, "/r/01")
    assert "toàn thành phố Hà Nội" in section(province, "covering")
    assert "riêng phường Hoàn Kiếm" not in section(province, "covering")
    assert "riêng phường Hoàn Kiếm" in section(province, "below")
    assert "Hải Châu" not in section(province, "below")
    everywhere = page(client, "/r/vn")
    assert "trên toàn quốc" in section(everywhere, "covering")
    below = section(everywhere, "below")
    assert all(h in below for h in ("Hà Nội", "riêng phường Hoàn Kiếm", "phường Hải Châu"))


def test_region_pages_list_the_recent_past_apart(client, db):
    cancel(db, published(db, headline="Cảnh báo bị hủy gần đây"))
    html = page(client, "/r/00070")
    assert "bị hủy gần đây" in section(html, "past")
    assert "bị hủy gần đây" not in section(html, "covering")
    assert "bị hủy gần đây" not in page(client, "/")


def test_drills_are_never_listed_but_their_page_shows_the_banner(client, db):
    drill = published(db, headline="Tin diễn tập phường Hoàn Kiếm", mode="Exercise")
    assert "Tin diễn tập" not in page(client, "/r/00070")
    assert "Tin diễn tập" not in page(client, "/feeds/vn.atom")
    html = page(client, f"/a/{drill.code}")
    assert "drill-banner" in html and "DIỄN TẬP" in html
    assert '<meta name="robots" content="noindex">' in html
    assert "facebook.com/sharer" not in html


@pytest.mark.parametrize(
    "code", ["99999", "98", "xx", "..%2Fetc", "../etc", "%00", "%C3%A9", "0" * 5000, "01/../02"]
)
def test_unknown_and_malformed_region_codes_answer_a_helpful_404(client, code):
    response = client.get(f"/r/{code}")
    assert response.status_code == 404
    html = response.get_data(as_text=True)
    assert 'type="search"' in html and 'name="q"' in html


@pytest.mark.parametrize("code", ["ZZZZZZZZ", "0000-1111", "%00", "<b>", "k" * 5000, "..%2Fx"])
def test_unknown_and_malformed_warning_codes_answer_404(client, code):
    response = client.get(f"/a/{code}")
    assert response.status_code == 404 and 'name="q"' in response.get_data(as_text=True)
    for suffix in (".cap", ".sig"):
        assert client.get(f"/a/{code}{suffix}").status_code == 404
    assert client.get(f"/feeds/{code}.atom").status_code == 404


def test_the_path_above_a_code_does_not_escape(client):
    assert client.get("/r/../etc/passwd").status_code == 404
    assert client.get("/feeds/..%2F..%2Fetc.atom").status_code == 404


def test_the_remembered_commune_comes_first(client, db):
    mine = published(db, headline="Cảnh báo ở phường của tôi")
    other = danang(db)
    assert 'href="/r/00070/remember"' in page(client, "/r/00070")
    response = post_form(client, "/r/00070/remember", {}, form_page="/r/00070/remember")
    assert response.status_code == 302 and response.location == "/"
    assert "region=00070" in response.headers["Set-Cookie"]
    assert "HttpOnly" in response.headers["Set-Cookie"]
    html = page(client, "/")
    # The front door is the same for everyone: the area comes from its own request.
    assert 'data-testid="my-area"' not in html and 'data-my-area="/my-area"' in html
    assert f"/a/{other.code}" in section(html, "nationwide")
    assert f"/a/{mine.code}" in section(html, "nationwide")
    mine_only = client.get("/my-area")
    assert mine_only.headers["Cache-Control"] == "private, no-store"
    my_area = section(mine_only.get_data(as_text=True), "my-area")
    assert "Hoàn Kiếm" in my_area and f"/a/{mine.code}" in my_area
    assert 'href="/r/00070"' in my_area and f"/a/{other.code}" not in my_area
    assert "Your area" in page(client, "/r/00070/remember?lang=en")
    post_form(client, "/forget", {}, form_page="/r/00070/remember")
    assert client.get("/my-area").status_code == 204


def test_only_a_province_or_commune_can_be_remembered(client):
    for code in ("vn", "99999", "x"):
        assert client.get(f"/r/{code}/remember").status_code == 404
        form = "/r/00070/remember"
        assert post_form(client, f"/r/{code}/remember", {}, form_page=form).status_code == 404
    client.set_cookie("region", "<script>")
    assert client.get("/my-area").status_code == 204


def test_the_picker_finds_regions_without_diacritics(client):
    html = page(client, "/?q=hoan kiem")
    assert 'href="/r/00070"' in html and "Phường Hoàn Kiếm" in html
    within = page(client, "/r/01?q=hoan kiem")
    assert 'href="/r/00070"' in within
    assert 'href="/r/00070"' not in page(client, "/r/48?q=hoan kiem").split("data-testid")[-1]


def test_the_region_search_json_is_public_and_short(client):
    body = client.get("/regions.json?q=phuong").json
    assert len(body["regions"]) == 20
    found = client.get("/regions.json?q=hoàn kiếm").json["regions"]
    assert found[0] == {
        "code": "00070",
        "name": "Phường Hoàn Kiếm",
        "level": "commune",
        "parent": "01",
        "parent_name": "Thành phố Hà Nội",
        "url": "/r/00070",
    }
    assert client.get("/regions.json?q=hoan kiem&within=48").json["regions"] == []
    assert client.get("/regions.json?q=" + "a" * 5000).status_code == 200
    assert client.get("/regions.json").json == {"regions": []}
    nation = client.get("/regions.json?q=viet nam").json["regions"][0]
    assert nation["code"] == "vn" and nation["parent"] is None and nation["parent_name"] is None


# --- the warning page -------------------------------------------------------------------------


def test_the_warning_page_shows_the_warning_and_how_to_check_it(english, db):
    alert = published(db)
    html = page(english, f"/a/{alert.code}")
    assert "Cảnh báo cuộc gọi giả danh công an" in html
    assert "Công an phường Hoàn Kiếm" in html and "Công an thành phố Hà Nội" in html
    assert "vneid-capnhat[.]com/x" in html and "vneid-capnhat.com" not in html
    assert "0912 345 678" in html
    assert "In force until" in html
    assert f'href="/a/{alert.code}.cap"' in html and f'href="/a/{alert.code}.sig"' in html
    assert 'href="/r/00070?lang=en"' in html
    share = re.search(r'<textarea id="share-text"[^>]*>(.*?)</textarea>', html, re.DOTALL)
    assert dashed(alert.code).upper() in share.group(1)
    assert f"{CONFIG['PUBLIC_URL']}/a/{alert.code}" in share.group(1)
    assert "https://www.facebook.com/sharer/sharer.php?u=https%3A%2F%2F" in html
    assert "https://sp.zalo.me/share_inline?url=" in html
    scripts = re.findall(r'<script src="([^"]+)"', html)
    assert scripts == ["/static/portal.js"]  # ours only: no third-party share script


def test_codes_are_case_insensitive_and_may_carry_the_dash(client, db):
    alert = published(db)
    for form in (alert.code.lower(), dashed(alert.code), dashed(alert.code).upper()):
        html = page(client, f"/a/{form}")
        assert f'<link rel="canonical" href="{CONFIG["PUBLIC_URL"]}/a/{alert.code}">' in html
        assert client.get(f"/a/{form}.cap").status_code == 200
        assert client.get(f"/a/{form}.sig").status_code == 200


def test_an_updated_warning_links_to_the_newest_revision(english, db):
    first = published(db)
    second = update(db, first, "Cảnh báo cập nhật: thêm số điện thoại lừa đảo")
    html = page(english, f"/a/{first.code}")
    assert "This warning has been updated." in html
    newest = re.search(r'<a href="([^"]+)" data-testid="newest">', html)
    assert newest.group(1) == f"/a/{second.code}?lang=en"
    current = page(english, f"/a/{second.code}")
    assert "In force until" in current and "CẬP NHẬT" in current
    listed = page(english, "/r/00070")
    assert f"/a/{second.code}" in listed and f"/a/{first.code}" not in listed


def test_a_cancelled_warning_says_so_at_the_top(english, db):
    alert = cancel(db, published(db), reason="Thông tin chưa chính xác")
    html = page(english, f"/a/{alert.code}")
    top = html[html.index("<main") :][:1500]
    assert "This warning was cancelled on" in top and "Thông tin chưa chính xác" in top
    assert "ĐÃ HỦY CẢNH BÁO" in html


def test_an_expired_warning_says_so(english, db):
    soon = (utcnow() + timedelta(hours=1)).isoformat()
    alert = published(db, expires_at=soon)
    workflow.expire_due(db, utcnow() + timedelta(hours=2))
    assert "This warning expired on" in page(english, f"/a/{alert.code}")


# --- CAP, signatures and the key ---------------------------------------------------------------


def _cap(client, code: str) -> ET.Element:
    response = client.get(f"/a/{code}.cap")
    assert response.status_code == 200 and response.mimetype == "application/cap+xml"
    xmlschema.XMLSchema(SCHEMA).validate(response.get_data(as_text=True))
    return ET.fromstring(response.data)


def test_the_cap_document_validates_and_has_the_right_message_type(client, db):
    first = published(db)
    second = update(db, first, "Cảnh báo cập nhật lần hai")
    assert _cap(client, first.code).findtext("cap:msgType", namespaces=CAP_NS) == "Alert"
    assert _cap(client, second.code).findtext("cap:msgType", namespaces=CAP_NS) == "Update"
    cancel(db, second)
    root = _cap(client, second.code)
    assert root.findtext("cap:msgType", namespaces=CAP_NS) == "Cancel"
    assert root.findtext("cap:identifier", namespaces=CAP_NS).endswith(".cancel")


def test_the_signatures_verify_with_the_well_known_key(client, db):
    alert = cancel(db, published(db))
    key = client.get("/.well-known/alerts-signing-key.json")
    assert key.mimetype == "application/json"
    assert key.json["algorithm"] == "Ed25519"
    response = client.get(f"/a/{alert.code}.sig")
    assert response.mimetype == "application/json"
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    body = response.json
    assert body["key_url"] == CONFIG["PUBLIC_URL"] + "/.well-known/alerts-signing-key.json"
    assert [s["msg_type"] for s in body["signatures"]] == ["Alert", "Cancel"]
    for signed in body["signatures"]:
        payload = base64.b64decode(signed["payload"])
        assert signed["key_id"] == key.json["key_id"]
        assert signing.verify(key.json["public_key"], payload, signed["signature"])
        assert alert.code.encode() in payload
        assert not signing.verify(key.json["public_key"], payload + b" ", signed["signature"])


def test_the_key_page_explains_how_to_verify(english, db):
    key = english.get("/.well-known/alerts-signing-key.json").json
    html = page(english, "/about/verify")
    assert key["key_id"] in html and key["public_key"] in html
    assert "-----BEGIN PUBLIC KEY-----" in html
    assert "openssl pkeyutl -verify" in html and "alerts-signature/1" in html


# --- feeds ----------------------------------------------------------------------------------------


def test_the_feed_parses_and_links_the_page_and_the_cap(client, db):
    hoan_kiem = published(db)
    other = danang(db)
    response = client.get("/feeds/01.atom")
    assert response.status_code == 200 and response.mimetype == "application/atom+xml"
    feed = feedparser.parse(response.data)
    assert not feed.bozo, feed.get("bozo_exception")
    assert len(feed.entries) == 1
    links = {(link.type, link.href) for link in feed.entries[0].links}
    assert ("text/html", f"{CONFIG['PUBLIC_URL']}/a/{hoan_kiem.code}") in links
    assert ("application/cap+xml", f"{CONFIG['PUBLIC_URL']}/a/{hoan_kiem.code}.cap") in links
    national = feedparser.parse(client.get("/feeds/vn.atom").data)
    assert len(national.entries) == 2
    hai_chau = feedparser.parse(client.get(f"/feeds/{HAI_CHAU}.atom").data)
    assert [e.link for e in hai_chau.entries] == [f"{CONFIG['PUBLIC_URL']}/a/{other.code}"]


def test_the_feed_answers_conditional_requests_with_304(client, db):
    published(db)
    first = client.get("/feeds/00070.atom")
    etag, modified = first.headers["ETag"], first.headers["Last-Modified"]
    assert first.headers["Cache-Control"] == page_cache.cache_control(20)
    again = client.get("/feeds/00070.atom", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.data == b"" and again.headers["ETag"] == etag
    since = client.get("/feeds/00070.atom", headers={"If-Modified-Since": modified})
    assert since.status_code == 304
    hanoi(db)
    changed = client.get("/feeds/00070.atom", headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["ETag"] != etag
    assert len(feedparser.parse(changed.data).entries) == 2


def test_a_cancelled_warning_stays_in_the_feed_as_its_cancel(client, db):
    alert = cancel(db, published(db))
    feed = feedparser.parse(client.get("/feeds/00070.atom").data)
    [entry] = feed.entries
    specific = re.escape(f"{alert.series_id}.{alert.revision}.cancel")
    assert re.fullmatch(rf"tag:canhbao\.bocongan\.gov\.vn,\d{{4}}-\d\d-\d\d:{specific}", entry.id)
    assert feed.entries[0].title.startswith("HỦY CẢNH BÁO")


def test_an_empty_feed_is_still_a_feed(client):
    response = client.get("/feeds/48.atom")
    assert response.status_code == 200
    feed = feedparser.parse(response.data)
    assert not feed.bozo and feed.entries == []
    assert response.headers["Last-Modified"]


# --- language, headers, escaping ------------------------------------------------------------------


def test_the_english_switch_works_on_a_portal_page(client):
    html = page(client, "/r/01")
    assert '<html lang="vi">' in html and 'href="/r/01?lang=en"' in html
    html = page(client, "/r/01?lang=en")
    assert '<html lang="en">' in html and "Warnings in force here" in html
    # The language stays in the URL from page to page, and back to Vietnamese explicitly.
    assert 'href="/r/00070?lang=en"' in html and 'href="/r/01?lang=vi"' in html
    assert '<html lang="vi">' in page(client, "/r/01?lang=vi")


def test_a_language_cookie_moves_to_the_url_uncached(client):
    client.set_cookie("lang", "en")
    response = client.get("/r/01?q=hoan")
    assert response.status_code == 302 and response.location == "/r/01?q=hoan&lang=en"
    assert response.headers["Cache-Control"] == "private, no-store"
    client.set_cookie("lang", "vi")
    assert client.get("/r/01").status_code == 200


def test_script_in_query_strings_is_escaped(client):
    attack = "<script>alert(1)</script>"
    for url in (f"/?q={attack}", f"/r/01?q={attack}", f"/r/{attack}"):
        html = client.get(url).get_data(as_text=True)
        assert attack not in html and "<script>alert" not in html
    assert "&lt;script&gt;" in client.get(f"/?q={attack}").get_data(as_text=True)
