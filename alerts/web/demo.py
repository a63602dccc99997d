"""The demo's "resident phone": what each demo resident and each unit channel received,
shown as it looked on the channel (re-rendered from the delivery records exactly as the
worker sent it). Not available in production."""

from __future__ import annotations

from flask import Blueprint
from flask import abort
from flask import current_app
from flask import render_template

from alerts.db import get_db
from alerts.render import registry
from alerts.store import deliveries as delivery_store
from alerts.store import subscriptions as subscription_store
from alerts.store import warnings as warning_store
from alerts.warnings import publication
from alerts.web.guards import signed_in

bp = Blueprint("demo", __name__, url_prefix="/admin/demo")


def _received(db, rows: list[tuple]) -> list[dict]:
    """Return sent deliveries (newest first) with each one's rendering."""
    settings = publication.render_settings(current_app.config)
    found = []
    for delivery_id, warning_id, msg_type, channel, target, sent_at in rows:
        alert = warning_store.get_alert(db, warning_id)
        message = publication.message_for(
            db, alert, public_url=current_app.config["PUBLIC_URL"], msg_type=msg_type
        )
        rendering = registry.RENDERERS[channel](message, settings)
        found.append(
            {
                "id": delivery_id,
                "channel": channel,
                "target": target,
                "sent_at": sent_at,
                "rendering": rendering,
            }
        )
    return found


@bp.route("/phones")
@signed_in
def phones():
    """Each demo resident's phone and inbox, and the units' own channels."""
    if current_app.config["ENV"] == "production":
        abort(404)
    db = get_db()
    residents = subscription_store.first_addresses(db)
    inboxes = [
        {
            "channel": channel,
            "address": address,
            "region": region,
            "test": bool(test),
            "messages": _received(db, delivery_store.sent_to_subscription(db, sub_id)),
        }
        for sub_id, channel, address, region, test in residents
    ]
    broadcasts = _received(db, delivery_store.sent_broadcasts(db))
    return render_template("demo/phones.html", inboxes=inboxes, broadcasts=broadcasts)
