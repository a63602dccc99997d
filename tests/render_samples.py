"""Realistic messages for renderer tests, built without a database (renderers are pure)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC
from datetime import datetime

from alerts.models import Level
from alerts.models import Region
from alerts.render import Message
from alerts.render import Reference
from alerts.warnings.content import Content
from alerts.warnings.content import Indicators
from alerts.warnings.content import Refutation

HANOI = Region("01", Level.PROVINCE, "Thành phố Hà Nội", "Thành phố Trung ương", "vn")
HOAN_KIEM = Region("00070", Level.COMMUNE, "Phường Hoàn Kiếm", "Phường", "01")
SENT = datetime(2026, 12, 1, 1, 30, tzinfo=UTC)  # 08:30 in Vietnam


def sample_content(**changes) -> Content:
    """A commune warning about a phone scam, as an officer would write it."""
    values = {
        "headline": "Cảnh báo cuộc gọi giả danh công an yêu cầu cung cấp mã OTP",
        "description": (
            "Công an phường Hoàn Kiếm nhận được nhiều phản ánh về đối tượng gọi điện tự xưng"
            ' cán bộ công an phường, yêu cầu người dân đọc mã OTP để "xác thực VNeID".\n'
            "Sau khi có mã OTP, đối tượng chiếm đoạt tài khoản ngân hàng của bị hại."
        ),
        "instruction": (
            "Không cung cấp mã OTP cho bất kỳ ai. Công an không làm việc qua điện thoại."
            " Khi nghi ngờ, gọi 113 hoặc đến trụ sở công an phường."
        ),
        "category": "Security",
        "warning_type": "scam_phone",
        "severity": "Severe",
        "urgency": "Immediate",
        "certainty": "Observed",
        "mode": "Actual",
        "regions": ("00070",),
        "channels": ("zalo", "facebook", "telegram", "sms", "email", "webhook"),
        "publish_at": None,
        "expires_at": "2026-12-08T01:30:00+00:00",
        "headline_en": "Warning: callers posing as police ask for OTP codes",
        "description_en": "People posing as ward police call residents and ask for OTP codes.",
        "instruction_en": "Never give an OTP to anyone. Call 113 if in doubt.",
        "link": "https://bocongan.gov.vn/canh-bao/otp",
        "image": None,
        "indicators": Indicators(
            phones=("+84912345678",),
            accounts=("Vietcombank 0123456789",),
            links=("http://vneid-capnhat.com/login",),
        ),
    }
    values.update(changes)
    return Content(**values)


def sample_message(content: Content | None = None, **changes) -> Message:
    """A published Alert of Phường Hoàn Kiếm, approved by Hà Nội's police."""
    values = {
        "alert_id": 7,
        "revision": 1,
        "msg_type": "Alert",
        "identifier": "canhbao.bocongan.gov.vn:7.1",
        "sender": "ca-00070@canhbao.bocongan.gov.vn",
        "sent": SENT,
        "content": content or sample_content(),
        "issuer_code": "ca-00070",
        "issuer_name": "Công an phường Hoàn Kiếm",
        "approver_name": "Công an thành phố Hà Nội",
        "regions": (HOAN_KIEM,),
        "code": "K7M4XQ2P",
        "url": "https://canhbao.bocongan.gov.vn/a/K7M4XQ2P",
        "cap_url": "https://canhbao.bocongan.gov.vn/a/K7M4XQ2P.cap",
        "portal_url": "https://canhbao.bocongan.gov.vn",
        "map_version": "vietnam-provinces 2025.10.1 (data 2025-10-18)",
    }
    values.update(changes)
    return Message(**values)


def sample_update() -> Message:
    """Revision 2 of the same warning (CAP Update referencing revision 1)."""
    first = sample_message()
    return replace(
        first,
        revision=2,
        msg_type="Update",
        identifier="canhbao.bocongan.gov.vn:7.2",
        sent=datetime(2026, 12, 2, 2, 0, tzinfo=UTC),
        code="R8T3WN6H",
        url="https://canhbao.bocongan.gov.vn/a/R8T3WN6H",
        cap_url="https://canhbao.bocongan.gov.vn/a/R8T3WN6H.cap",
        references=(Reference(first.sender, first.identifier, first.sent),),
    )


def sample_cancel() -> Message:
    """The cancellation of revision 1 (CAP Cancel)."""
    first = sample_message()
    return replace(
        first,
        msg_type="Cancel",
        identifier="canhbao.bocongan.gov.vn:7.1.cancel",
        sent=datetime(2026, 12, 1, 3, 0, tzinfo=UTC),
        references=(Reference(first.sender, first.identifier, first.sent),),
        cancel_reason="Thông tin chưa chính xác, đã xác minh lại.",
    )


# A claim as it goes around, with what a hostile sharer could put in it.
CLAIM = (
    'Khẩn: từ 15/12 ai chưa "cập nhật VNeID mức 2" sẽ bị khóa tài khoản ngân hàng'
    " <script>alert(1)</script> & phạt 5 triệu. Cập nhật tại vneid-capnhat.com ngay!"
)
CLAIM_LINK = "http://vneid-capnhat.com/cap-nhat"


def sample_refutation(**changes) -> Content:
    """A refutation of Hà Nội's police: the claim quoted, the facts in the description."""
    values = {
        "headline": "Thông tin khóa tài khoản nếu chưa cập nhật VNeID là sai sự thật",
        "description": (
            "Bộ Công an không khóa tài khoản ngân hàng của người chưa có VNeID mức 2 và"
            " không thu phí cập nhật. Ứng dụng VNeID chỉ tải từ kho ứng dụng chính thức."
        ),
        "instruction": "Không truy cập đường link lạ, không chia sẻ tin này.",
        "warning_type": "fake_news",
        "indicators": Indicators(),
        "refutation": Refutation(CLAIM, (CLAIM_LINK,)),
    }
    values.update(changes)
    return sample_content(**values)
