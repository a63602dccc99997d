"""The demo's residents' reports (issue 16): a few filed on each channel with Phường Hoàn
Kiếm's police, most about one scam number, so the commune officer's inbox shows them
grouped. Each goes through the channel's real path: the portal's through ``file_report``
(what the form calls), the chats' as messages the fake Telegram and Zalo send to our
endpoints (``alerts.demo.phones``), which the worker files and answers with a reference.
The report of a fake site became a published warning: the commune's officer confirmed it
and drafted the warning from it (``alerts.reports.inbox``), Hà Nội's approver approved it.
Filed once; never in production.
"""

from __future__ import annotations

from collections.abc import Mapping

import sqlite_utils

from alerts.clock import utcnow
from alerts.db import write
from alerts.demo import channels as demo_channels
from alerts.demo import phones
from alerts.demo import warnings as demo_warnings
from alerts.reports import inbox
from alerts.reports.filing import file_report
from alerts.store import regions as region_store

PORTAL_KEY = "demo_portal_reports"
CHAT_KEY = "demo_chat_reports"
COMMUNE = "00070"
SCAM_PHONE = "0868 123 456"  # the number several residents report
PORTAL = (
    {
        "kind": "scam_call",
        "text": (
            "Sáng nay có người gọi số 0868 123 456 tự xưng cán bộ công an phường, nói tôi liên"
            " quan đến một vụ rửa tiền và yêu cầu chuyển tiền vào tài khoản để xác minh."
        ),
        "indicators": {"phones": [SCAM_PHONE], "accounts": ["MB 0868123456789"]},
        "contact": "an.nguyen@example.vn",
    },
    {
        "kind": "scam_call",
        "text": (
            "Mẹ tôi nhận cuộc gọi từ 0868.123.456, đối tượng đọc đúng họ tên, số căn cước và"
            " đòi mã OTP gửi về điện thoại."
        ),
        "indicators": {"phones": ["+84 868 123 456"]},
        "contact": "",
    },
    {
        "kind": "fake_site",
        "text": "Tin nhắn mời cài ứng dụng dịch vụ công giả qua đường link lạ.",
        "indicators": {"links": ["hxxp://dichvucong-hoankiem[.]top/cai-dat"]},
        "contact": "",
    },
)
FROM_REPORT = {
    "headline": "Cảnh báo trang dịch vụ công giả mạo mời cài ứng dụng tại phường Hoàn Kiếm",
    "description": (
        "Công an phường Hoàn Kiếm nhận được tin báo của người dân về tin nhắn mời cài ứng"
        " dụng dịch vụ công qua đường link lạ. Trang này giả mạo Cổng dịch vụ công, ứng dụng"
        " cài từ đó chiếm quyền điều khiển điện thoại."
    ),
    "instruction": (
        "Không bấm vào đường link, không cài ứng dụng ngoài App Store và Google Play. Đã cài,"
        " hãy tắt mạng, gỡ ứng dụng và báo ngay cho công an phường."
    ),
    "severity": "Severe",
    "urgency": "Immediate",
    "certainty": "Observed",
    "channels": ["sms", "email", "telegram", "zalo"],
}
TELEGRAM_STORY = (
    "/baotin Có người gọi cho tôi từ số 0868 123 456, xưng là công an phường Hoàn Kiếm,"
    " yêu cầu cài ứng dụng và đọc mã OTP."
)
ZALO_STORY = (
    "BAO TIN so 0868123456 goi dien noi toi co lien quan vu an, yeu cau chuyen tien vao tai"
    " khoan tam giu."
)


def _mark_done(db: sqlite_utils.Database, key: str) -> None:
    with write(db):
        region_store.set_meta(db, key, utcnow().isoformat(timespec="seconds"))


def seed_portal(db: sqlite_utils.Database, config: Mapping) -> int:
    """File the portal's reports once; return how many were filed now."""
    if region_store.get_meta(db, PORTAL_KEY):
        return 0
    filed = [
        file_report(db, config, channel="portal", region_code=COMMUNE, **report).code
        for report in PORTAL
    ]
    _publish_from_report(db, config, filed[-1])
    _mark_done(db, PORTAL_KEY)
    return len(PORTAL)


def _publish_from_report(db, config: Mapping, code: str) -> int:
    """The officer confirms the report, drafts a warning from it (its link and commune
    filled in) and submits it; Hà Nội's approver publishes it. Return the warning's id."""
    officer = demo_warnings.acting(db, "hoankiem.canbo")
    inbox.move(db, config, officer, code, "confirm")
    raw = {**inbox.draft_fields(db, officer, [code]), **FROM_REPORT}
    return demo_warnings.publish(db, config, raw, "hoankiem.canbo", "hanoi.duyet", [code])


def send_chat_reports(db: sqlite_utils.Database, config: Mapping) -> int:
    """Have the demo's Telegram and Zalo residents of Hoàn Kiếm report the number by chat,
    once (the web app must be serving: the fakes call it); return how many were sent."""
    if phones.account(db, config, "telegram") is None or region_store.get_meta(db, CHAT_KEY):
        return 0
    chats = {channel: address for channel, address, _region in demo_channels.RESIDENTS}
    answered = (
        phones.telegram_says(db, config, chats["telegram"], TELEGRAM_STORY),
        phones.zalo_says(db, config, chats["zalo"], ZALO_STORY),
    )
    if answered != (200, 200):
        raise phones.FakesUnreachable(f"our endpoints answered {answered}")
    _mark_done(db, CHAT_KEY)
    return 2
