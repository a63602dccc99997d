"""The residents' subscribe pages: subscribe, confirm, unsubscribe, manage. No sign-in;
every rule is in ``alerts.residents.subscriptions`` and ``alerts.residents.app_links``. The
SMS stop keyword arrives through the gateway's own callback (``alerts.inbound.sms``,
``/hooks/sms/...``).

The subscribe page is one form that works without JavaScript: the channel first, the
commune picker (``alerts.web.commune_picker``; ``static/subscribe.js`` makes it live), then
the chosen channel's part. SMS and email get a code or a link; Telegram gets a one-time deep
link, so nobody types a chat id; Zalo gets the OA to follow and what to send it.

One view is exempt from CSRF, and only this one: ``/unsubscribe/<token>``, because a mail
client's RFC 8058 one-click POST carries no cookie and no form token (the token in the URL is
the proof; the page's own button still sends and checks a CSRF token).
"""

from __future__ import annotations

import segno
from flask import Blueprint
from flask import current_app
from flask import flash
from flask import redirect
from flask import render_template
from flask import request
from flask import session
from flask import url_for
from flask.blueprints import BlueprintSetupState
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.csrf import CSRFError
from flask_wtf.csrf import validate_csrf
from wtforms import RadioField
from wtforms import SelectField
from wtforms import SelectMultipleField
from wtforms import StringField
from wtforms.validators import ValidationError

from alerts import channels
from alerts.clock import from_text
from alerts.clock import utcnow
from alerts.db import get_db
from alerts.errors import N_
from alerts.errors import Refused
from alerts.i18n import show_moment
from alerts.residents import app_links
from alerts.residents import subscriptions
from alerts.web import commune_picker
from alerts.web.context import client_ip
from alerts.web.forms import show_refusal
from alerts.web.guards import public
from alerts.web.warning_forms import CHANNEL_LABELS

bp = Blueprint("subscribe", __name__)
PENDING = "subscribe.pending"  # the session key: channel, address and masked address
ONE_CLICK = "One-Click"
ADDRESS_HINTS = {
    "sms": _l("SMS: a Vietnamese mobile number, such as 0912 345 678."),
    "email": _l("Email: your address; we send a link to confirm."),
    "telegram": _l(
        "Telegram: nothing to type. Choose your communes, then open the link we give you:"
        " Telegram asks you to press Start, and that confirms it."
    ),
    "zalo": _l(
        "Zalo: nothing to type here. Follow the police's Official Account on Zalo, then"
        " send it the name of your commune."
    ),
}
STATUS_LABELS = {
    "active": _l("Active"),
    "pending": _l("Waiting for confirmation"),
    "unsubscribed": _l("Ended"),
    "disabled": _l("Stopped: the address cannot be reached"),
}
CODE_CHANNELS = channels.CONFIRM_BY_CODE
# Addresses a resident types on the portal. A Telegram chat or a Zalo follower is never typed
# in: the bot's deep link or the OA conversation subscribes, and /stop or HUY there stops.
TYPED = ("sms", "email")
TYPED_CODE_CHANNELS = tuple(c for c in CODE_CHANNELS if c in TYPED)
IN_THE_APP = N_("On Telegram or Zalo, send /stop or HUY in the conversation with the police.")


class SubscribeForm(FlaskForm):
    channel = RadioField(_l("Receive warnings by"), validate_choice=False, default="sms")
    address = StringField(_l("Phone number or email address"))
    q = StringField(_l("Find your commune or ward"))
    regions = SelectMultipleField(_l("Your communes or wards"), validate_choice=False)


class ConfirmForm(FlaskForm):
    channel = SelectField(_l("Channel"), validate_choice=False)
    address = StringField(_l("Phone number or id"))
    code = StringField(_l("6-digit code"))


class ManageRequestForm(FlaskForm):
    channel = RadioField(_l("Channel"), validate_choice=False, default="sms")
    address = StringField(_l("Phone number, email address or id"))


class ActionForm(FlaskForm):
    """A button: only the CSRF token."""


@bp.context_processor
def _labels() -> dict:
    return {
        "ADDRESS_HINTS": ADDRESS_HINTS,
        "STATUS_LABELS": STATUS_LABELS,
    }


def _channel_choices(only: tuple[str, ...] = channels.RESIDENT_NAMES) -> list[tuple[str, str]]:
    return [(c, str(CHANNEL_LABELS[c])) for c in channels.RESIDENT_NAMES if c in only]


def _picker(form: SubscribeForm) -> dict:
    """Return what the commune picker shows: the places chosen, and a search's matches."""
    if request.method == "GET":
        form.regions.data = commune_picker.prefilled()
    chosen = commune_picker.places(form.regions.data or [])
    query = (form.q.data or "").strip()
    found = commune_picker.matches(query, [p.code for p in chosen]) if query else None
    return {"chosen": chosen, "query": query, "matches": found}


@bp.route("/subscribe", methods=["GET", "POST"])
@public
def start():
    """Choose a channel, then communes (``?region=`` prefills one), then: a code or link by
    SMS or email, a one-time Telegram link, or how to write to the Zalo OA. Any other
    submit (the search button, Enter in a box) only redraws the form with what was chosen."""
    form = SubscribeForm()
    form.channel.choices = _channel_choices()
    status = 200
    if request.form.get("action") == "subscribe" and form.validate_on_submit():
        try:
            return _subscribe(form)
        except Refused as error:
            show_refusal(error, form)
            status = error.status
    page = render_template("subscribe/start.html", form=form, **_picker(form))
    return page, status


def _subscribe(form: SubscribeForm):
    """Answer the form on its channel (Refused for a bad choice or past the limits)."""
    db, regions = get_db(), form.regions.data or []
    if form.channel.data == "telegram":
        offer = app_links.offer(
            db,
            channel="telegram",
            regions=regions,
            lang=str(get_locale()),
            ip=client_ip(),
            now=utcnow(),
        )
        qr = segno.make(offer.url, error="m").svg_data_uri(scale=4)
        expires = show_moment(from_text(offer.expires_at))
        return render_template("subscribe/telegram.html", offer=offer, qr=qr, expires=expires)
    if form.channel.data == "zalo":
        accounts = app_links.zalo_accounts(db, regions)
        return render_template("subscribe/zalo.html", accounts=accounts)
    pending = subscriptions.request(
        db,
        current_app.config,
        channel=form.channel.data,
        address=form.address.data,
        regions=regions,
        ip=client_ip(),
    )
    if pending.by_link:
        return render_template("subscribe/sent.html", pending=pending)
    session[PENDING] = {
        "channel": pending.channel,
        "address": form.address.data.strip(),
        "masked": pending.masked,
    }
    return redirect(url_for("subscribe.confirm"))


@bp.route("/subscribe/confirm", methods=["GET", "POST"])
@public
def confirm():
    """Enter the code received by SMS, Zalo or Telegram."""
    pending = session.get(PENDING) or {}
    form = ConfirmForm(data={"channel": pending.get("channel"), "address": pending.get("address")})
    form.channel.choices = _channel_choices(TYPED_CODE_CHANNELS)
    status = 200
    if form.validate_on_submit():
        try:
            listing = subscriptions.confirm(
                get_db(),
                current_app.config,
                form.code.data or "",
                channel=form.channel.data,
                address=form.address.data or "",
                ip=client_ip(),
                lang=str(get_locale()),
            )
        except Refused as error:
            show_refusal(error, form)
            status = error.status
        else:
            session.pop(PENDING, None)
            return render_template("subscribe/confirmed.html", listing=listing)
    form.code.data = ""
    page = render_template("subscribe/confirm.html", form=form, masked=pending.get("masked"))
    return page, status


@bp.route("/subscribe/confirm/<token>", methods=["GET", "POST"])
@public
def confirm_link(token: str):
    """The email's link: a button to confirm (opening the link alone changes nothing)."""
    form = ActionForm()
    if form.validate_on_submit():
        try:
            listing = subscriptions.confirm(
                get_db(), current_app.config, token, ip=client_ip(), lang=str(get_locale())
            )
        except Refused as error:
            show_refusal(error, form)
            return render_template("subscribe/confirm_link.html", form=form, failed=True), 422
        return render_template("subscribe/confirmed.html", listing=listing)
    return render_template("subscribe/confirm_link.html", form=form, failed=False)


@bp.route("/unsubscribe/<token>", methods=["GET", "POST"])
@public
def unsubscribe(token: str):
    """GET: the address (masked) and a button. POST: end its subscriptions on the channel,
    from the button (CSRF-checked) or a mail client's RFC 8058 one-click POST."""
    db = get_db()
    if request.method == "GET":
        listing = subscriptions.manage(db, token)
        form = ActionForm()
        return render_template("subscribe/unsubscribe.html", listing=listing, form=form)
    one_click = request.form.get("List-Unsubscribe") == ONE_CLICK
    if not one_click:
        _check_csrf()
    via = "one-click" if one_click else "link"
    listing = subscriptions.unsubscribe(db, token, ip=client_ip(), via=via)
    if one_click:
        return _("Unsubscribed."), 200, {"Content-Type": "text/plain; charset=utf-8"}
    return render_template("subscribe/unsubscribed.html", listing=listing)


def _check_csrf() -> None:
    """Check the form's CSRF token in a view exempt from the automatic check."""
    try:
        validate_csrf(request.form.get("csrf_token"))
    except ValidationError as error:
        raise CSRFError(str(error)) from None


@bp.route("/subscriptions/<token>", methods=["GET", "POST"])
@public
def manage(token: str):
    """See the address's subscriptions (masked) and delete any of them."""
    db = get_db()
    form = ActionForm()
    if form.validate_on_submit():
        chosen = request.form.get("delete", type=int)
        if chosen is not None:
            subscriptions.delete(db, token, chosen, ip=client_ip())
            flash(_("The subscription was deleted: nothing more is sent for it."), "ok")
        return redirect(url_for("subscribe.manage", token=token))
    listing = subscriptions.manage(db, token)
    return render_template("subscribe/manage.html", listing=listing, form=form)


@bp.route("/subscriptions", methods=["GET", "POST"])
@public
def request_manage():
    """Ask for a link to manage one's subscriptions; the answer never says whether the
    address is subscribed."""
    form = ManageRequestForm()
    form.channel.choices = _channel_choices(TYPED)
    status = 200
    if form.validate_on_submit():
        try:
            if form.channel.data not in TYPED:
                raise Refused(IN_THE_APP, "channel")
            subscriptions.send_manage_link(
                get_db(),
                current_app.config,
                form.channel.data,
                form.address.data or "",
                ip=client_ip(),
            )
        except Refused as error:
            show_refusal(error, form)
            status = error.status
        else:
            flash(
                _(
                    "If this address has subscriptions, a link to manage them is on its way."
                    " Nothing is sent otherwise."
                ),
                "ok",
            )
            return redirect(url_for("subscribe.request_manage"))
    return render_template("subscribe/manage_request.html", form=form), status


@bp.record_once
def _exempt_from_csrf(state: BlueprintSetupState) -> None:
    """Exempt exactly the one-click unsubscribe (see the docstring)."""
    state.app.extensions["csrf"].exempt(unsubscribe)
