"""Reading what a caller sends: a JSON object body, its content fields and query parameters.

Anything that is not a JSON object is a 400 problem, never a 500; a field of the wrong type
is a 422 naming the field, and so is a member the request does not take: dropping it
silently once created a warning without the ``phones`` its author sent at the top level.
Images arrive inline as ``data:image/...;base64,`` URLs (one request, no multipart) or as
the SHA-256 of an image stored before.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import fields

import sqlite_utils
from flask import request
from werkzeug.exceptions import BadRequest

from alerts.api import bp
from alerts.errors import N_
from alerts.errors import Invalid
from alerts.errors import Refused
from alerts.warnings.content import Content
from alerts.warnings.content import Indicators
from alerts.warnings.images import store_image

# An image may be 2 MB, which base64 turns into 2.7 MB; the rest of a warning is small.
MAX_BODY = 3 * 1024 * 1024
CONTENT_FIELDS = tuple(f.name for f in fields(Content))
INDICATOR_FIELDS = tuple(f.name for f in fields(Indicators))
# Past this many unknown members the rest go unnamed (a 3 MB body holds many keys).
MAX_NAMED = 20
_DATA_URL = re.compile(r"data:image/[a-z0-9.+-]+;base64,(.*)", re.IGNORECASE | re.DOTALL)
_BAD_IMAGE = N_("Send the image as a data:image/...;base64, URL or a stored image's SHA-256.")


@bp.before_request
def _limit_body() -> None:
    """Allow bodies up to MAX_BODY here (the web forms keep the app's smaller limit)."""
    request.max_content_length = MAX_BODY


class UnknownField(Refused):
    """A member the request does not take; ``field`` is its full path (``indicators.phone``),
    so the problem names it as sent, not as the domain nests indicators."""


def unknown(body: dict, accepted: tuple[str, ...], prefix: str = "") -> list[Refused]:
    """Return a problem for each member of ``body`` outside ``accepted`` (the first MAX_NAMED)."""
    names = [str(name)[:60] for name in body if name not in accepted][:MAX_NAMED]
    return [UnknownField("Unknown field: %(name)s", prefix + n, name=prefix + n) for n in names]


def json_body(accepted: tuple[str, ...] = (), *, required: bool = True) -> dict:
    """Return the body as a JSON object; 400 otherwise (an empty body is ``{}`` if optional).

    A member outside ``accepted`` is a 422 naming it, before anything is done.
    """
    data = request.get_data(cache=True)
    if not data.strip() and not required:
        return {}
    try:
        body = json.loads(data)
    except (ValueError, RecursionError):
        body = None
    if not isinstance(body, dict):
        raise BadRequest(N_("The body must be a JSON object."))
    check(unknown(body, accepted))
    return body


def _image(db: sqlite_utils.Database, value: object) -> object:
    """Store an inline image and return its SHA-256; leave anything else to the workflow."""
    if not (isinstance(value, str) and value[:5].lower() == "data:"):
        return value
    match = _DATA_URL.fullmatch(value)
    try:
        data = base64.b64decode(re.sub(r"\s+", "", match[1]), validate=True) if match else b""
    except binascii.Error:
        data = b""
    if not data:
        raise Invalid([Refused(_BAD_IMAGE, "image")])
    return store_image(db, data)


def _indicators(value: object) -> list[Refused]:
    """Return the problems of an ``indicators`` member: an object of known kinds, or null."""
    if value is None:
        return []
    if not isinstance(value, dict):
        return [Refused(N_("Must be an object with phones, accounts and links."), "indicators")]
    return unknown(value, INDICATOR_FIELDS, "indicators.")


def content(db: sqlite_utils.Database, body: dict) -> dict:
    """Return the content fields of a body read by ``json_body(CONTENT_FIELDS)``, image
    stored; an ``indicators`` member that is no object, or holds unknown kinds, is a 422."""
    raw = {name: body[name] for name in CONTENT_FIELDS if name in body}
    check(_indicators(raw.get("indicators")))
    if "image" in raw:
        raw["image"] = _image(db, raw["image"])
    return raw


def text(body: dict, name: str, problems: list[Refused]) -> str:
    """Return a text member of the body ("" if missing); a non-text value adds a problem."""
    value = body.get(name)
    if value is None:
        return ""
    if not isinstance(value, str):
        problems.append(Refused("Must be text.", name))
        return ""
    return value


def check(problems: list[Refused]) -> None:
    """Raise Invalid listing every problem found, if any (one 422 names them all)."""
    if problems:
        raise Invalid(problems)
