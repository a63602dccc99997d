"""The residents' portal: public pages, each warning's CAP document and signature, the
region feeds and the signing key. No sign-in.

Pages are Vietnamese by default (English with ``?lang=en``, from the links in the header),
built for phones, and the same for every visitor of a language, so shared caches may keep
them (``alerts/web/page_cache.py``: the headers, the bound on how soon a change shows, the
app's own cache). Nothing per visitor is in them: no CSRF token, no session, no flash, no
remembered commune. The remembered commune is a small uncached request of its own
(``/my-area``, fetched by portal.js), and "make this my area" opens an uncached form. Any
response that touches the session anyway is made ``private, no-store``. The documents (CAP,
signatures, feeds, key) are public data: any site may fetch them
(``Access-Control-Allow-Origin: *``).
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
from flask import url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from markupsafe import Markup

from alerts.api import serialize
from alerts.clock import utcnow
from alerts.db import get_db
from alerts.i18n import LANG_ARG
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
from alerts.web import page_cache
from alerts.web.guards import public

bp = Blueprint("portal", __name__)
REGION_COOKIE = "region"
ONE_YEAR = 365 * 24 * 3600
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
        "language_url": _language_url,
    }


def _language_url(code: str) -> str:
    """Return this page's URL in the language ``code``."""
    args = request.args.to_dict(flat=False)
    args[LANG_ARG] = code
    return url_for(request.endpoint, **(request.view_args or {}), **args)


@bp.after_request
def _private_unless_shared(response: Response) -> Response:
    """Keep out of every cache a response that holds a CSRF token, changed the session (a
    flash shown, a sign-in) or sets a cookie, and anything not explicitly public."""
    if page_cache.personal(response) or not page_cache.is_shared(response):
        response.headers["Cache-Control"] = page_cache.PRIVATE
    return response


def _public_data(response: Response) -> Response:
    """Return public data (XML, JSON) any site may fetch."""
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


def _xml(body: str, mimetype: str) -> Response:
    return _public_data(Response(body, mimetype=mimetype))


def _json(body: object) -> Response:
    return _public_data(serialize.json_response(body))


def _page(template: str, **context) -> Response:
    """Render a page every visitor of a language shares (the template leaves out the
    per-visitor parts of the layout)."""
    return make_response(render_template(template, shared=True, **context))


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
@page_cache.cached()
def home():
    """The front door: the warnings in force and the picker (portal.js adds the visitor's
    remembered area from ``/my-area``)."""
    db = get_db()
    query = _query()
    found = _region_links(portal.search(db, query)) if query.strip() else []
    page = portal.home(db, None, utcnow())
    return _page("portal/home.html", home=page, query=query, found=found)


@bp.route("/my-area")
@public
def my_area():
    """The visitor's remembered area and its warnings, as a piece of the front door
    (never cached: it depends on the visitor's cookie); 204 when none is remembered."""
    page = portal.home(get_db(), request.cookies.get(REGION_COOKIE), utcnow())
    if page.mine is None:
        return Response(status=204)
    return make_response(render_template("portal/my_area.html", home=page))


@bp.route("/r/<path:code>")
@public
@page_cache.cached()
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
        query=query,
        matches=matches,
    )


@bp.route("/r/<code>/remember", methods=["GET", "POST"])
@public
def remember(code: str):
    """Keep a province or commune as the visitor's area (a cookie) and go to the front door;
    GET shows the form (the shared region page holds no CSRF token, so it links here)."""
    found = portal.rememberable(get_db(), code)
    if found is None:
        abort(404)
    if request.method == "GET":
        remembered = request.cookies.get(REGION_COOKIE) == found.code
        return render_template("portal/remember.html", region=found, remembered=remembered)
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
@page_cache.cached()
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
@page_cache.cached(localized=False)
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
@page_cache.cached(localized=False)
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
@page_cache.cached(localized=False)
def feed(code: str):
    """A region's Atom feed: the warnings covering it and those inside it, newest first.
    Its Last-Modified is its newest change (the ETag, as for every page, its bytes')."""
    db = get_db()
    config = current_app.config
    found = portal.find_region(db, code)
    if found is None:
        abort(404)
    state = portal.feed_state(db, found, config, utcnow())
    response = _xml(portal.feed_document(db, found, state, config), atom.MEDIA_TYPE)
    response.last_modified = state.last_modified
    return response


@bp.route("/regions.json")
@public
@page_cache.cached(localized=False, lifetime=page_cache.MAP_SECONDS)
def search_regions():
    """Regions whose name matches ``q`` ("hoan kiem"), optionally ``within`` a province."""
    within = request.args.get("within") or None
    found = portal.search(get_db(), _query(), within=within)
    return _json({"regions": _region_links(found)})


@bp.route(KEY_PATH)
@public
@page_cache.cached(localized=False)
def signing_key():
    """The public key that verifies every published warning (Ed25519, base64 of 32 bytes)."""
    return _json(portal.signing_key(current_app.config))


@bp.route("/about/verify")
@public
@page_cache.cached()
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
