"""The demo's published warnings, so a newcomer sees a living portal at once: a national
one, one for Hà Nội, one for Phường Hoàn Kiếm that was updated, one that was cancelled and
one exercise; and Phường Hoàn Kiếm's refutation of a fake notice going around, which
``/verify`` recognises however it is re-typed. Each goes through the real workflow (drafted,
submitted, approved by another person, signed, queued for delivery). Loaded once; never in
production.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta

import sqlite_utils

from alerts.audit import Actor
from alerts.clock import utcnow
from alerts.db import write
from alerts.models import Acting
from alerts.reports import inbox
from alerts.store import regions as region_store
from alerts.store import units as unit_store
from alerts.store import users as user_store
from alerts.store import warnings as warning_store
from alerts.warnings import workflow

DONE_KEY = "demo_warnings"
REFUTED_KEY = "demo_refutation"  # added later than the others: an older demo gets it too


def acting(db, username: str) -> Acting:
    user = user_store.get_user_by_username(db, username)
    unit = unit_store.get_unit(db, user.unit_id)
    return Acting(user, unit, Actor(username, unit.code, "127.0.0.1"))


def _days(n: int) -> str:
    return (utcnow() + timedelta(days=n)).isoformat(timespec="seconds")


NATIONAL = {
    "headline": "Cảnh báo ứng dụng VNeID giả mạo lừa người dân cài đặt để chiếm đoạt tài khoản",
    "description": (
        "Bộ Công an ghi nhận nhiều trường hợp đối tượng gửi tin nhắn, gọi điện đề nghị người"
        ' dân "cập nhật dữ liệu", "tích hợp giấy tờ" trên VNeID qua đường link lạ.\n'
        "Ứng dụng giả mạo yêu cầu quyền trợ năng, mật khẩu và ảnh khuôn mặt, sau đó chiếm"
        " đoạt tiền trong tài khoản ngân hàng."
    ),
    "instruction": (
        "Chỉ cài VNeID từ App Store hoặc Google Play. Không bấm vào đường link lạ, không cung"
        " cấp mật khẩu, mã OTP. Khi nghi ngờ, gọi 113 hoặc đến công an xã, phường gần nhất."
    ),
    "warning_type": "fake_link",
    "severity": "Severe",
    "urgency": "Immediate",
    "certainty": "Observed",
    "regions": ["vn"],
    "channels": ["telegram", "facebook", "webhook"],
    "indicators": {"links": ["hxxp://vneid-capnhat[.]com", "hxxps://dichvucong-vneid[.]top"]},
    "headline_en": "Fake VNeID apps trick residents into installing them to steal their accounts",
    "description_en": "Scammers send links to a fake VNeID app that steals bank accounts.",
    "instruction_en": "Install VNeID only from the official stores. Call 113 if in doubt.",
}
HANOI = {
    "headline": "Cảnh báo lừa đảo đầu tư tiền ảo, chứng khoán qua mạng xã hội tại Hà Nội",
    "description": (
        "Đối tượng lập nhóm Zalo, Telegram mạo danh chuyên gia tài chính, hứa hẹn lợi nhuận"
        " 20-30% mỗi tuần, cho thắng nhỏ lúc đầu rồi yêu cầu nạp tiền lớn và chiếm đoạt."
    ),
    "instruction": (
        "Không tham gia đầu tư qua nhóm kín, không chuyển tiền cho tài khoản cá nhân. Báo ngay"
        " cho Công an thành phố Hà Nội qua số 113."
    ),
    "warning_type": "scam_online",
    "severity": "Moderate",
    "urgency": "Expected",
    "certainty": "Observed",
    "regions": ["01"],
    "channels": ["telegram", "zalo", "facebook", "sms", "email", "webhook"],
    "indicators": {"accounts": ["Techcombank 19036688889999"]},
}
HOAN_KIEM = {
    "headline": "Cảnh báo cuộc gọi giả danh công an phường yêu cầu cung cấp mã OTP",
    "description": (
        "Công an phường Hoàn Kiếm nhận được phản ánh về đối tượng gọi điện tự xưng cán bộ công"
        ' an phường, yêu cầu người dân đọc mã OTP để "xác thực định danh".'
    ),
    "instruction": (
        "Không cung cấp mã OTP cho bất kỳ ai. Công an không làm việc qua điện thoại."
        " Khi nghi ngờ, gọi 113 hoặc đến trụ sở công an phường."
    ),
    "warning_type": "scam_phone",
    "severity": "Severe",
    "urgency": "Immediate",
    "certainty": "Observed",
    "regions": ["00070"],
    "channels": ["sms", "email", "telegram", "zalo"],
    "indicators": {"phones": ["0912 345 678"]},
}
WRONG = {
    **HANOI,
    "headline": "Cảnh báo mất cắp xe máy tại các bãi gửi xe trên địa bàn Hà Nội",
    "description": "Thông báo về tình trạng trộm cắp xe máy tại các bãi gửi xe tự phát.",
    "instruction": "Gửi xe tại bãi có người trông giữ, khóa càng xe cẩn thận.",
    "warning_type": "theft",
    "channels": ["telegram"],
    "indicators": {},
}
EXERCISE = {
    **HOAN_KIEM,
    "headline": "Diễn tập phát cảnh báo khẩn tại phường Hoàn Kiếm",
    "description": "Bản tin diễn tập quy trình phát cảnh báo của Công an phường Hoàn Kiếm.",
    "instruction": "Đây là bản diễn tập, người dân không cần làm gì.",
    "warning_type": "other",
    "mode": "Exercise",
    "channels": ["sms", "telegram"],
    "indicators": {},
}


CLAIM = (
    "THÔNG BÁO KHẨN của Công an phường Hoàn Kiếm: từ ngày 15/12 người dân chưa cập nhật căn"
    " cước gắn chip trên ứng dụng sẽ bị khóa căn cước và phạt 2 triệu đồng. Nộp phí 200.000"
    " đồng và cập nhật ngay tại dichvucong-hoankiem.top/capnhat, chia sẻ cho mọi người!"
)
REFUTATION = {
    "headline": "Đính chính: tin khóa căn cước, phạt tiền nếu chưa cập nhật là sai sự thật",
    "description": (
        "Công an phường Hoàn Kiếm không ra thông báo này. Căn cước không bị khóa vì chưa cập"
        " nhật trên ứng dụng, không có khoản phạt nào như tin nêu, và công an không thu phí"
        " qua đường link. Trang dichvucong-hoankiem.top là trang giả mạo."
    ),
    "instruction": (
        "Không chia sẻ tin này, không truy cập đường link, không nộp tiền. Thông tin chính"
        " thức chỉ có trên cổng của Bộ Công an và tại trụ sở công an phường."
    ),
    "warning_type": "fake_news",
    "severity": "Moderate",
    "urgency": "Expected",
    "certainty": "Observed",
    "regions": ["00070"],
    "channels": ["sms", "email", "telegram", "zalo"],
    "indicators": {},
    "refutation": {"claim": CLAIM, "links": ["hxxps://dichvucong-hoankiem[.]top/capnhat"]},
}


def publish(
    db, config, raw: Mapping, author: str, approver: str, reports: list[str] | None = None
) -> int:
    """Draft (from these reports, if any), submit and approve a warning; return its id."""
    body = {**raw, "expires_at": _days(14)}
    if reports:
        alert_id = inbox.create_warning(db, acting(db, author), reports, body, config=config)
    else:
        alert_id = workflow.create(db, acting(db, author), body, config=config)
    workflow.submit(db, acting(db, author), alert_id, config=config)
    alert = warning_store.get_alert(db, alert_id)
    workflow.approve(
        db, acting(db, approver), alert_id, seen_hash=alert.content_hash, config=config
    )
    return alert_id


def seed(db: sqlite_utils.Database, config: Mapping) -> int:
    """Publish the demo warnings once; return how many were published now."""
    if region_store.get_meta(db, DONE_KEY):
        return _refute(db, config)
    publish(db, config, NATIONAL, "bo.canbo", "bo.duyet")
    publish(db, config, HANOI, "hanoi.canbo", "hanoi.duyet")
    first = publish(db, config, HOAN_KIEM, "hoankiem.canbo", "hanoi.duyet")
    update = {
        "headline": "Thêm số điện thoại giả danh công an phường yêu cầu mã OTP",
        "indicators": {"phones": ["0912 345 678", "0987 654 321"]},
    }
    second = workflow.start_update(db, acting(db, "hoankiem.canbo"), first, update, config=config)
    workflow.submit(db, acting(db, "hoankiem.canbo"), second, config=config)
    alert = warning_store.get_alert(db, second)
    workflow.approve(
        db, acting(db, "hanoi.duyet2"), second, seen_hash=alert.content_hash, config=config
    )
    wrong = publish(db, config, WRONG, "hanoi.canbo", "hanoi.duyet")
    workflow.cancel(
        db,
        acting(db, "hanoi.duyet"),
        wrong,
        reason="Thông tin chưa chính xác, đã xác minh lại: không có vụ việc như đã nêu.",
        config=config,
    )
    publish(db, config, EXERCISE, "hoankiem.canbo", "hanoi.duyet")
    with write(db):
        region_store.set_meta(db, DONE_KEY, utcnow().isoformat(timespec="seconds"))
    return 6 + _refute(db, config)


def _refute(db, config: Mapping) -> int:
    """Publish the refutation once (the commune drafts, the province approves)."""
    if region_store.get_meta(db, REFUTED_KEY):
        return 0
    publish(db, config, REFUTATION, "hoankiem.canbo", "hanoi.duyet2")
    with write(db):
        region_store.set_meta(db, REFUTED_KEY, utcnow().isoformat(timespec="seconds"))
    return 1
