"""The residents' portal: public pages, each warning's CAP document and signature, the
region feeds and the signing key. No sign-in.

Pages are Vietnamese by default (English from the switch in the header), built for phones,
and cacheable for a minute: ``Cache-Control: public, max-age=60`` replaces the app's
``no-store``, with ``Vary: Cookie`` since the language and the remembered commune are
cookies. A response that starts a session (the first CSRF token of the language form) is
cached privately only, so no shared cache hands one visitor's session cookie to another.
The documents (CAP, signatures, feeds, key) are public data: any site may fetch them
(``Access-Control-Allow-Origin: *``), and the feeds answer 304 to conditional requests.
"""

from __future__ import annotations

import inspect
from urllib.parse import urlencode

from flask import Blueprint
from flask import Response
from flask import abort
from flask import current_app
from flask import make_response
from flask import redirect
from flask import render_template
from flask import request
from flask import session
from flask import url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from markupsafe import Markup

from alerts.api import serialize
from alerts.clock import utcnow
from alerts.db import get_db
from alerts.models import Level
from alerts.models import Region
from alerts.render import Message
from alerts.render import atom
from alerts.render import cap
from alerts.render import web
from alerts.residents import portal
from alerts.store import signatures as signature_store
from alerts.warnings import cap_signatures as cap_signing
from alerts.warnings import publication
from alerts.warnings import signatures as signing
from alerts.warnings.models import Alert
from alerts.web.guards import public

bp = Blueprint("portal", __name__)
REGION_COOKIE = "region"
ONE_YEAR = 365 * 24 * 3600
PAGE_MAX_AGE = 60
MAP_MAX_AGE = 3600  # the map changes only with a release
KEY_PATH = "/.well-known/alerts-signing-key.json"
STATE_LABELS = {
    portal.ACTIVE: _l("In force"),
    portal.UPDATED: _l("Updated"),
    portal.CANCELLED: _l("Cancelled"),
    portal.EXPIRED: _l("Expired"),
}
LEVEL_LABELS = {
    Level.NATION: _l("Nation"),
    Level.PROVINCE: _l("Province"),
    Level.COMMUNE: _l("Commune"),
}


@bp.context_processor
def _labels() -> dict:
    return {
        "STATE_LABELS": STATE_LABELS,
        "LEVEL_LABELS": LEVEL_LABELS,
        "PAST_DAYS": portal.PAST_DAYS,
    }


@bp.after_request
def _private_when_a_session_starts(response: Response) -> Response:
    """Keep a response that sets the session cookie out of shared caches."""
    cache = response.headers.get("Cache-Control", "")
    if session.modified and cache.startswith("public"):
        response.headers["Cache-Control"] = cache.replace("public", "private", 1)
    return response


def _cached(response: Response, max_age: int = PAGE_MAX_AGE) -> Response:
    response.headers["Cache-Control"] = f"public, max-age={max_age}"
    return response


def _public_data(response: Response, max_age: int = PAGE_MAX_AGE) -> Response:
    """Return public data (XML, JSON) any site may fetch and any cache may keep briefly."""
    response.headers["Access-Control-Allow-Origin"] = "*"
    return _cached(response, max_age)


def _xml(body: str, mimetype: str) -> Response:
    return _public_data(Response(body, mimetype=mimetype))


def _json(body: object, max_age: int = PAGE_MAX_AGE) -> Response:
    return _public_data(serialize.json_response(body), max_age)


def _page(template: str, **context) -> Response:
    response = make_response(render_template(template, **context))
    response.vary.add("Cookie")  # the language and the remembered commune
    return _cached(response)


def _not_found(message: str) -> Response:
    """Return the helpful 404: what was not found and a search box to find one's commune."""
    return make_response(render_template("portal/not_found.html", message=message), 404)


def _query() -> str:
    return request.args.get("q", "")[: portal.QUERY_MAX]


def _region_links(regions: list[Region]) -> list[dict]:
    """Return regions as the API shows them, with their parent's name and their page."""
    db = get_db()
    codes = {r.parent_code for r in regions if r.parent_code}
    parents = {code: portal.find_region(db, code) for code in codes}
    return [
        {
            **serialize.region_json(r),
            "parent_name": parents[r.parent_code].name if parents.get(r.parent_code) else None,
            "url": url_for("portal.region", code=r.code),
        }
        for r in regions
    ]


# --- pages -----------------------------------------------------------------------------------


@bp.route("/")
@public
def home():
    """The front door: the warnings in force (the remembered area's first) and the picker."""
    db = get_db()
    query = _query()
    found = _region_links(portal.search(db, query)) if query.strip() else []
    page = portal.home(db, request.cookies.get(REGION_COOKIE), utcnow())
    return _page("portal/home.html", home=page, query=query, found=found)


@bp.route("/r/<path:code>")
@public
def region(code: str):
    """A region's page; ``code`` is "vn", a province ("01") or a commune ("00070")."""
    db = get_db()
    found = portal.find_region(db, code)
    if found is None:
        return _not_found(_("There is no province or commune with this code."))
    query = _query()
    matches = None
    if query.strip() and found.level == Level.PROVINCE:
        matches = _region_links(portal.search(db, query, within=found.code))
    return _page(
        "portal/region.html",
        page=portal.region_page(db, found, utcnow()),
        remembered=request.cookies.get(REGION_COOKIE),
        query=query,
        matches=matches,
    )


@bp.route("/r/<code>/remember", methods=["POST"])
@public
def remember(code: str):
    """Keep a province or commune as the visitor's area (a cookie) and go to the front door."""
    found = portal.rememberable(get_db(), code)
    if found is None:
        abort(404)
    response = redirect(url_for("portal.home"))
    response.set_cookie(
        REGION_COOKIE,
        found.code,
        max_age=ONE_YEAR,
        httponly=True,
        samesite="Lax",
        secure=current_app.config["SESSION_COOKIE_SECURE"],
    )
    return response


@bp.route("/forget", methods=["POST"])
@public
def forget():
    """Forget the visitor's area."""
    response = redirect(url_for("portal.home"))
    response.delete_cookie(
        REGION_COOKIE,
        httponly=True,
        samesite="Lax",
        secure=current_app.config["SESSION_COOKIE_SECURE"],
    )
    return response


def _published(code: str) -> Alert:
    alert = portal.find_warning(get_db(), code)
    if alert is None:
        abort(404)
    return alert


def _share(message: Message) -> dict:
    """Return plain share links (no third-party script) and the text, code included."""
    return {
        "text": portal.share_text(message),
        "facebook": "https://www.facebook.com/sharer/sharer.php?" + urlencode({"u": message.url}),
        # Zalo documents only its script button; this is the plain link that button opens.
        "zalo": "https://sp.zalo.me/share_inline?" + urlencode({"url": message.url}),
    }


@bp.route("/a/<path:code>")
@public
def warning(code: str):
    """A warning's page: its status, the warning itself, how to check it, how to share it."""
    db = get_db()
    alert = portal.find_warning(db, code)
    if alert is None:
        return _not_found(
            _("No published warning has this code. Check that you copied all 8 characters.")
        )
    config = current_app.config
    message = portal.message(db, alert, config)
    newest = portal.newest(db, alert)
    now = utcnow()
    rendering = web.render(message, publication.render_settings(config))
    return _page(
        "portal/warning.html",
        alert=alert,
        state=portal.state(alert, now),
        newest=newest,
        newest_state=portal.state(newest, now),
        message=message,
        drill=alert.content.mode != "Actual",
        # Our own renderer's output: every value in it is escaped and scam links defanged
        # (alerts/render/web.py), so it is embedded as it is.
        fragment=Markup(rendering.parts["html"]),
        share=_share(message),
    )


@bp.route("/a/<code>.cap")
@public
def warning_cap(code: str):
    """The warning's CAP 1.2 document (its Cancel message once cancelled), signed.

    The enveloped XML signature (``alerts/warnings/cap_signatures.py``) covers the exact bytes sent;
    publication already proved the document signable, so a refusal here means the key or
    certificate was changed since: nothing unsigned is served (503, the cause logged).
    """
    db = get_db()
    config = current_app.config
    message = portal.message(db, _published(code), config)
    try:
        settings = publication.with_cap_signature(publication.render_settings(config), config)
        signed = cap.render(message, settings).parts["xml"]
    except (cap_signing.CapSigningError, OSError) as error:
        current_app.logger.error("CAP document %s not served: %s", message.identifier, error)
        return Response(
            _("This CAP document cannot be signed right now. Try again later."),
            status=503,
            mimetype="text/plain",
        )
    return _xml(signed, cap.MEDIA_TYPE)


@bp.route("/a/<code>.sig")
@public
def warning_signature(code: str):
    """The warning's signatures with the exact bytes signed, to verify offline."""
    db = get_db()
    alert = _published(code)
    body = {
        "code": alert.code,
        "url": f"{current_app.config['PUBLIC_URL']}/a/{alert.code}",
        "key_url": current_app.config["PUBLIC_URL"] + KEY_PATH,
        "signatures": [
            serialize.signature_json(s) for s in signature_store.signatures_of(db, alert.id)
        ],
    }
    return _json(body)


@bp.route("/feeds/<code>.atom")
@public
def feed(code: str):
    """A region's Atom feed: the warnings covering it and those inside it, newest first."""
    db = get_db()
    config = current_app.config
    found = portal.find_region(db, code)
    if found is None:
        abort(404)
    state = portal.feed_state(db, found, config, utcnow())
    if _not_modified(state):
        response = _public_data(Response(status=304))
    else:
        response = _xml(portal.feed_document(db, found, state, config), atom.MEDIA_TYPE)
    response.set_etag(state.etag)
    response.last_modified = state.last_modified
    return response


def _not_modified(state: portal.FeedState) -> bool:
    """Return whether the poller already has this feed (If-None-Match wins when sent)."""
    if request.if_none_match:
        return request.if_none_match.contains_weak(state.etag)
    since = request.if_modified_since
    return since is not None and state.last_modified <= since


@bp.route("/regions.json")
@public
def search_regions():
    """Regions whose name matches ``q`` ("hoan kiem"), optionally ``within`` a province."""
    within = request.args.get("within") or None
    found = portal.search(get_db(), _query(), within=within)
    return _json({"regions": _region_links(found)}, MAP_MAX_AGE)


@bp.route(KEY_PATH)
@public
def signing_key():
    """The public key that verifies every published warning (Ed25519, base64 of 32 bytes)."""
    return _json(portal.signing_key(current_app.config))


@bp.route("/about/verify")
@public
def signing_key_page():
    """How to check a warning's signature offline, with the key."""
    config = current_app.config
    return _page(
        "portal/verify_key.html",
        key=portal.signing_key(config),
        pem=portal.public_key_pem(config),
        rules=inspect.getdoc(signing.canonical_payload),
        key_path=KEY_PATH,
        public_url=config["PUBLIC_URL"],
    )
