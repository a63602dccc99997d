"""The demo's "resident phone": what each demo resident and each unit channel received,
shown as it looked on the channel (re-rendered from the delivery records exactly as the
worker sent it) with the provider's receipt, and the demo residents' chats with the bot
and the OA, where a tap (open a subscribe link, follow, write, block the bot) is played by
the fake servers against our real endpoints (``alerts.demo.phones``). Not available in
production."""

from __future__ import annotations

from flask import Blueprint
from flask import abort
from flask import current_app
from flask import flash
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from flask_babel import gettext as _

from alerts import audit
from alerts.db import get_db
from alerts.db import write
from alerts.demo import channels as demo_channels
from alerts.demo import phones as demo_phones
from alerts.errors import Refused
from alerts.render import registry
from alerts.residents.addresses import mask
from alerts.store import audit as audit_store
from alerts.store import deliveries as delivery_store
from alerts.store import subscriptions as subscription_store
from alerts.store import warnings as warning_store
from alerts.warnings import publication
from alerts.web.context import actor
from alerts.web.guards import signed_in

bp = Blueprint("demo", __name__, url_prefix="/admin/demo")

CHATS = ("telegram", "zalo")
MAX_TEXT = 500  # what a demo resident may type into the chat box
DEMO_COMMUNE = "00070"  # the commune a tapped subscribe link is for
TAPS = {
    ("telegram", "link"): lambda db, conf, who, text: demo_phones.telegram_opens_link(
        db, conf, who, [DEMO_COMMUNE]
    ),
    ("telegram", "say"): demo_phones.telegram_says,
    ("telegram", "block"): lambda db, conf, who, text: demo_phones.telegram_blocks(db, conf, who),
    ("zalo", "follow"): lambda db, conf, who, text: demo_phones.zalo_follows(db, conf, who),
    ("zalo", "say"): demo_phones.zalo_says,
}


def _not_in_production() -> None:
    if current_app.config["ENV"] == "production":
        abort(404)


def _received(db, rows: list[tuple]) -> list[dict]:
    """Return sent deliveries (newest first) with each one's rendering and receipt."""
    settings = publication.render_settings(current_app.config)
    found = []
    for delivery_id, warning_id, msg_type, channel, target, sent_at, receipt in rows:
        alert = warning_store.get_alert(db, warning_id)
        message = publication.message_for(
            db, alert, public_url=current_app.config["PUBLIC_URL"], msg_type=msg_type
        )
        rendering = registry.RENDERERS[channel](message, settings)
        found.append(
            {
                "id": delivery_id,
                "warning_id": warning_id,
                "channel": channel,
                "target": target,
                "sent_at": sent_at,
                "receipt": receipt,
                "rendering": rendering,
            }
        )
    return found


def _demo_chats() -> list[tuple[str, str]]:
    """The (channel, address) of every demo resident's Telegram or Zalo chat."""
    residents = [(c, a) for c, a, _region in demo_channels.RESIDENTS if c in CHATS]
    return residents + list(demo_channels.NEWCOMERS)


def _chat(db, channel: str, address: str) -> dict:
    """A demo chat as its phone shows it: the subscriptions and the bot's answers."""
    return {
        "channel": channel,
        "address": address,
        "newcomer": (channel, address) in demo_channels.NEWCOMERS,
        "subscriptions": subscription_store.states(db, channel, address),
        "answers": demo_phones.answers(db, current_app.config, channel, address),
    }


@bp.route("/phones")
@signed_in
def phones():
    """Each demo resident's phone and inbox, their chats, and the units' own channels."""
    _not_in_production()
    db = get_db()
    residents = subscription_store.first_addresses(db)
    chats = {key: _chat(db, *key) for key in _demo_chats()}
    inboxes = [
        {
            "channel": channel,
            "address": address,
            "region": region,
            "test": bool(test),
            "chat": chats.get((channel, address)),
            "messages": _received(db, delivery_store.sent_to_subscription(db, sub_id)),
        }
        for sub_id, channel, address, region, test in residents
    ]
    shown = {(i["channel"], i["address"]) for i in inboxes}
    newcomers = [c for key, c in chats.items() if c["newcomer"] and key not in shown]
    broadcasts = _received(db, delivery_store.sent_broadcasts(db))
    residents_sms = demo_channels.RESIDENTS + demo_channels.TEST_RESIDENTS
    codes = demo_phones.gateway_sms(db, {a for c, a, _r in residents_sms if c == "sms"})
    return render_template(
        "demo/phones.html",
        inboxes=inboxes,
        newcomers=newcomers,
        broadcasts=broadcasts,
        codes=codes,
    )


@bp.post("/phones/tap")
@signed_in
def tap():
    """Play one tap of a demo resident in their chat through the fakes; the worker then
    applies what our endpoint stored, and the bot's answer shows within seconds."""
    _not_in_production()
    channel, address = request.form.get("channel", ""), request.form.get("address", "")
    action, text = request.form.get("action", ""), request.form.get("text", "").strip()
    play = TAPS.get((channel, action))
    if (channel, address) not in _demo_chats() or play is None:
        abort(400)
    if action == "say" and not 0 < len(text) <= MAX_TEXT:
        flash(_("Write a message of at most %(n)d characters.", n=MAX_TEXT), "error")
        return redirect(url_for("demo.phones"))
    db = get_db()
    try:
        status = play(db, current_app.config, address, text)
    except demo_phones.FakesUnreachable:
        flash(
            _("The fake channel servers do not answer: start the demo with scripts/run."), "error"
        )
        return redirect(url_for("demo.phones"))
    except Refused as refusal:
        flash(_(refusal.message, **refusal.params), "error")
        return redirect(url_for("demo.phones"))
    with write(db):
        detail = {"channel": channel, "action": action, "resident": mask(channel, address)}
        audit_store.append(db, audit.make_entry(actor(), "demo.tap", "demo:phones", detail))
    flash(
        _(
            "Sent: our endpoint answered %(status)d. Reload in a few seconds for the answer.",
            status=status,
        ),
        "info",
    )
    return redirect(url_for("demo.phones", _anchor=f"{channel}-{address}"))
