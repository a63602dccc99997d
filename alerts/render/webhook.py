"""The webhook channel: a JSON body for newsrooms and partner systems, with the CAP document.

The body is laid out by ``templates/channels/webhook.json``, which only places values
serialised by Jinja2's ``tojson`` filter: every string is escaped by the JSON encoder, never
by hand, so quotes, backslashes, ``</script>``, emoji or U+2028 in a headline cannot break
the document. ``tojson`` writes ASCII only (non-ASCII and ``< > & '`` as ``\\u`` escapes):
a few more bytes for Vietnamese text, in exchange for a body no receiver can mis-decode and
that is safe to paste into HTML or JavaScript.

The Standard Webhooks headers (webhook-id, webhook-timestamp, webhook-signature) are not
part of the rendering: they depend on each endpoint's secret and on the moment of each
attempt, so the delivery engine adds them at send time with
``alerts.channels.webhook_signing.sign_headers(secret, msg_id, timestamp, body_bytes)`` over the
exact bytes of ``parts["json"]`` encoded as UTF-8.
"""

from __future__ import annotations

from alerts.render import Message
from alerts.render import Rendering
from alerts.render import RenderSettings
from alerts.render.common import REFUTATION_VI
from alerts.render.common import iso_vietnam
from alerts.render.common import template
from alerts.render.facts import refutation

CHANNEL = "webhook"
MEDIA_TYPE = "application/json"
EVENT_TYPES = {"Alert": "alert.published", "Update": "alert.updated", "Cancel": "alert.cancelled"}


def _refutation(message: Message) -> dict | None:
    """Return a refutation's heading, claim and defanged links for newsrooms, else None."""
    found = refutation(message)
    if found is None:
        return None
    claim = message.content.refutation.claim
    return {"heading": REFUTATION_VI, "claim": claim, "links": found["links"]}


def body(message: Message, cap_xml: str) -> dict:
    """Return the values of the webhook body (JSON-able: text, lists, objects, null)."""
    return {
        "type": EVENT_TYPES[message.msg_type],
        "id": message.identifier,
        "sent": iso_vietnam(message.sent),
        "msg_type": message.msg_type,
        "mode": message.content.mode,
        "code": message.code,
        "url": message.url,
        "cap_url": message.cap_url,
        "issuer": {"code": message.issuer_code, "name": message.issuer_name},
        "approver": message.approver_name,
        "regions": [
            {"code": r.code, "name": r.name, "level": str(r.level)} for r in message.regions
        ],
        "references": [
            {"sender": r.sender, "identifier": r.identifier, "sent": iso_vietnam(r.sent)}
            for r in message.references
        ],
        "cancel_reason": message.cancel_reason if message.msg_type == "Cancel" else "",
        "image_url": message.image_url,
        "refutation": _refutation(message),
        "content": message.content.as_dict(),
        "cap": cap_xml,
    }


def render(message: Message, settings: RenderSettings) -> Rendering:
    """Render the webhook body; its size in bytes is the count shown in the preview."""
    from alerts.render import cap  # imported here: the CAP renderer is a sibling channel

    cap_xml = cap.render(message, settings).parts["xml"]
    text = template("webhook.json").render(body=body(message, cap_xml))
    return Rendering(
        channel=CHANNEL,
        media_type=MEDIA_TYPE,
        parts={"json": text},
        counts={"bytes": len(text.encode("utf-8"))},
    )
