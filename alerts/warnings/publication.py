"""From a stored revision to the ``Message`` every renderer takes: units, regions, CAP
identifiers and references, the verification code and the portal links, resolved once.

CAP identifiers are ``<portal host>:<warning>.<revision>`` (``.cancel`` added for the
cancellation message) and senders ``<unit code>@<portal host>``: stable, unique per
message, and free of the spaces, commas, ``<`` and ``&`` that CAP forbids.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit

import sqlite_utils

from alerts.clock import from_text
from alerts.clock import utcnow
from alerts.errors import N_
from alerts.regions import MAP_VERSION_KEY
from alerts.render import Message
from alerts.render import Reference
from alerts.render import Rendering
from alerts.render import RenderSettings
from alerts.render import cap
from alerts.render import registry
from alerts.residents import links as subscription_tokens
from alerts.store import regions as region_store
from alerts.store import signatures as signature_store
from alerts.store import units as unit_store
from alerts.store import users as user_store
from alerts.store import warnings as store
from alerts.warnings import cap_signatures as cap_signing
from alerts.warnings import signatures as signing
from alerts.warnings.models import Alert
from alerts.warnings.models import Status

# Shown in previews before a code exists: same length, so every count is exact.
PREVIEW_CODE = "XXXXXXXX"
# Shown in previews (and checked at approval) in place of a resident's own token: same
# length, so the stop link, every count and the SMS budget are those of each resident's copy.
PREVIEW_TOKEN = "X" * subscription_tokens.TOKEN_LENGTH
# ``render_settings`` for any resident, their token shown as PREVIEW_TOKEN.
ANY_RESIDENT = "any resident"


def _host(public_url: str) -> str:
    return urlsplit(public_url).hostname or "localhost"


def cap_sender(unit_code: str, public_url: str) -> str:
    """Return the CAP sender of a unit."""
    return f"{unit_code}@{_host(public_url)}"


def cap_identifier(alert: Alert, public_url: str, msg_type: str) -> str:
    """Return the CAP identifier of a revision's message (its cancellation has its own)."""
    suffix = ".cancel" if msg_type == "Cancel" else ""
    return f"{_host(public_url)}:{alert.series_id}.{alert.revision}{suffix}"


def _references(db, alert: Alert, sender: str, public_url: str, msg_type: str):
    """Return the earlier messages this one refers to (CAP ``references``)."""
    earlier = [
        a
        for a in store.series(db, alert.series_id)
        if a.published_at
        and (a.revision < alert.revision or (msg_type == "Cancel" and a.id == alert.id))
    ]
    return tuple(
        Reference(sender, cap_identifier(a, public_url, a.msg_type), from_text(a.published_at))
        for a in earlier
    )


def _sent(alert: Alert, msg_type: str, now: datetime) -> datetime:
    if msg_type == "Cancel" and alert.cancelled_at:
        return from_text(alert.cancelled_at)
    return from_text(alert.published_at) if alert.published_at else now


def message_for(
    db: sqlite_utils.Database,
    alert: Alert,
    *,
    public_url: str,
    msg_type: str | None = None,
    now: datetime | None = None,
) -> Message:
    """Return the message of a revision (``msg_type="Cancel"`` for its cancellation).

    Before publication (a preview) the code is a placeholder of the real length and the
    sent time is now, so every count the approver sees is the one residents will get.
    """
    msg_type = msg_type or ("Cancel" if alert.status == Status.CANCELLED else alert.msg_type)
    public_url = public_url.rstrip("/")
    issuer = unit_store.get_unit(db, alert.unit_id)
    approver = user_store.get_user(db, alert.approved_by) if alert.approved_by else None
    approver_unit = unit_store.get_unit(db, approver.unit_id) if approver else None
    sender = cap_sender(issuer.code, public_url)
    code = alert.code or PREVIEW_CODE
    content = alert.content
    return Message(
        alert_id=alert.id,
        revision=alert.revision,
        msg_type=msg_type,
        identifier=cap_identifier(alert, public_url, msg_type),
        sender=sender,
        sent=_sent(alert, msg_type, now or utcnow()),
        content=content,
        issuer_code=issuer.code,
        issuer_name=issuer.name,
        approver_name=approver_unit.name if approver_unit else None,
        regions=tuple(region_store.get_region(db, c) for c in content.regions),
        code=code,
        url=f"{public_url}/a/{code}",
        cap_url=f"{public_url}/a/{code}.cap",
        portal_url=public_url,
        map_version=region_store.get_meta(db, MAP_VERSION_KEY) or "",
        references=_references(db, alert, sender, public_url, msg_type),
        cancel_reason=(alert.cancel_reason or "") if msg_type == "Cancel" else "",
        image_url=f"{public_url}/media/{content.image}" if content.image else None,
    )


def render_settings(config: Mapping, recipient: int | str | None = ANY_RESIDENT) -> RenderSettings:
    """Return the rendering choices of a deployment for one recipient: the only place they
    are built, so the preview, the check at approval, the verification page and the worker
    cannot drift apart.

    ``recipient`` is a resident's subscription id (their own stop link), ANY_RESIDENT (the
    preview's: the same link with PREVIEW_TOKEN, of the real length) or None (a unit's own
    channel: no per-resident part). Without a SECRET_KEY no token can be derived, so no
    copy carries a stop link.
    """
    link = ""
    if recipient is not None and config.get("SECRET_KEY"):
        token = (
            PREVIEW_TOKEN
            if recipient == ANY_RESIDENT
            else subscription_tokens.token_for(config, recipient)
        )
        link = subscription_tokens.unsubscribe_link(config, token)
    return RenderSettings(sms_max_segments=config["SMS_MAX_SEGMENTS"], unsubscribe_url=link)


def with_cap_signature(settings: RenderSettings, config: Mapping) -> RenderSettings:
    """Return the settings with this deployment's CAP signer, so any CAP a channel carries
    (the newsroom webhook) is the signed document the portal serves. Raises
    ``cap_signing.CapSigningError`` when there is no usable key and certificate."""
    return replace(settings, sign_cap=cap_signing.signer_for(config).sign)


def check_renderable(db: sqlite_utils.Database, alert: Alert, config: Mapping) -> None:
    """Refuse (TooLong, naming the channel and its limit) a warning some channel cannot
    carry: the approver must never approve what cannot go out. Checked on a resident's
    copy (their stop link included), the longest one, as the worker renders it."""
    message = message_for(db, alert, public_url=config["PUBLIC_URL"])
    registry.render_all(message, render_settings(config))


def signer(config: Mapping) -> signing.Signer:
    """Return the signer of this deployment: ALERTS_SIGNING_KEY, or in development a key
    kept beside the database file."""
    return signing.signer_from_settings(config, Path(config["DATABASE"]).parent)


def sign(db: sqlite_utils.Database, alert: Alert, config: Mapping, msg_type: str) -> str:
    """Sign one message of a revision and store the signature; return the key id.

    Its CAP document is signed too (XML-DSig, ``alerts/warnings/cap_signatures.py``), as the portal
    will sign it when serving it. Raises ``Unsigned`` when either key is missing or
    unusable, or the CAP certificate does not fit its key: the caller must not publish.
    """
    message = message_for(db, alert, public_url=config["PUBLIC_URL"], msg_type=msg_type)
    try:
        signature = signer(config).sign_message(message)
        cap.render(message, with_cap_signature(render_settings(config), config))
    except (ValueError, OSError) as error:
        raise Unsigned(str(error)) from error
    signature_store.save_signature(
        db, alert.id, msg_type, signature.key_id, signature.payload, signature.signature
    )
    return signature.key_id


class Unsigned(Exception):
    """A message could not be signed; it is not published."""


def preview(db: sqlite_utils.Database, alert: Alert, config: Mapping) -> dict:
    """Return every channel's rendering of a revision (or that channel's refusal), exactly
    as it would go out now; a published revision shows its real code and times."""
    message = message_for(db, alert, public_url=config["PUBLIC_URL"])
    settings = render_settings(config)
    try:
        settings = with_cap_signature(settings, config)
    except (ValueError, OSError):
        pass  # shown unsigned; publication refuses until the key is fixed
    found = registry.preview(message, settings)
    return {channel: _placeholder_noted(r) for channel, r in found.items()}


def _placeholder_noted(rendering):
    """Return a rendering with a note saying what the preview's token stands for, if it
    carries one (a refusal is returned as it is)."""
    if not isinstance(rendering, Rendering) or not any(
        PREVIEW_TOKEN in part for part in rendering.parts.values()
    ):
        return rendering
    note = (N_("The Xs in the stop link stand for each resident's own code (same length)."), {})
    return replace(rendering, notes=(*rendering.notes, note))


def signature_checks(db: sqlite_utils.Database, alert: Alert, config: Mapping) -> list[dict]:
    """Return each stored signature of a revision, checked against this deployment's key."""
    public_key = signer(config).public_key_b64
    return [
        {
            "msg_type": s.msg_type,
            "key_id": s.key_id,
            "valid": signing.verify(public_key, s.payload, s.signature),
        }
        for s in signature_store.signatures_of(db, alert.id)
    ]
