"""The shapes in the OpenAPI document: a warning, its input, a problem, a region, an entry.

Vocabularies (status, severity, channels, ...) and length limits are read from the domain,
so the document lists exactly what the workflow accepts.
"""

from __future__ import annotations

from alerts.warnings.content import CATEGORIES
from alerts.warnings.content import CERTAINTIES
from alerts.warnings.content import CHANNELS
from alerts.warnings.content import LIMITS
from alerts.warnings.content import MODES
from alerts.warnings.content import SEVERITIES
from alerts.warnings.content import URGENCIES
from alerts.warnings.content import WARNING_TYPES
from alerts.warnings.models import Status

ACTIONS = ("approve", "cancel", "edit", "reject", "submit", "update", "withdraw")


def ref(name: str) -> dict:
    """Return a JSON reference to one of the schemas below."""
    return {"$ref": f"#/components/schemas/{name}"}


def _nullable(schema: dict) -> dict:
    return {**schema, "type": [schema["type"], "null"]}


def _text(max_length: int | None = None, **extra) -> dict:
    return {"type": "string", **({"maxLength": max_length} if max_length else {}), **extra}


def closed(properties: dict, **extra) -> dict:
    """Return an object schema that allows no member beyond ``properties``."""
    return {"type": "object", "properties": properties, "additionalProperties": False, **extra}


def content_properties() -> dict:
    """Return the fields a caller sends and reads back (names as in ``alerts.warnings.content``)."""
    time = {"type": "string", "format": "date-time", "description": "ISO 8601 with offset."}
    strings = {"type": "array", "items": {"type": "string"}}
    return {
        "headline": _text(LIMITS["headline"]),
        "description": _text(LIMITS["description"]),
        "instruction": _text(LIMITS["instruction"]),
        "category": {"enum": list(CATEGORIES), "default": "Security"},
        "warning_type": {"enum": list(WARNING_TYPES)},
        "severity": {"enum": list(SEVERITIES)},
        "urgency": {"enum": list(URGENCIES)},
        "certainty": {"enum": list(CERTAINTIES)},
        "mode": {"enum": list(MODES), "default": "Actual"},
        "regions": {**strings, "description": '"vn", a 2-digit province or 5-digit commune.'},
        "channels": {"type": "array", "items": {"enum": list(CHANNELS)}},
        "publish_at": {**_nullable(time), "description": "null: publish on approval."},
        "expires_at": time,
        "headline_en": _text(LIMITS["headline"]),
        "description_en": _text(LIMITS["description"]),
        "instruction_en": _text(LIMITS["instruction"]),
        "link": _text(LIMITS["link"], description="https:// link to an official domain."),
        "image": _nullable(
            _text(
                description="SHA-256 of a stored image; on input also a data:image/..."
                ";base64, URL (PNG, JPEG or WebP, at most 2 MB)."
            )
        ),
        "indicators": ref("Indicators"),
        "refutation": {
            "oneOf": [ref("Refutation"), {"type": "null"}],
            "description": 'With warning_type "fake_news" (required there): the false claim'
            " quoted and the links it spreads; the description states the facts.",
        },
    }


def _alert_schema() -> dict:
    """Return the Alert schema: the content plus the workflow record, read-only."""
    integer, nullable_int = {"type": "integer"}, {"type": ["integer", "null"]}
    time = {"type": ["string", "null"], "format": "date-time"}
    name = {"type": ["string", "null"]}
    record = {
        "id": integer,
        "series_id": integer,
        "revision": integer,
        "msg_type": {"enum": ["Alert", "Update"]},
        "references": nullable_int,
        "status": {"enum": [s.value for s in Status]},
        "unit": {"type": "string", "description": 'Issuing unit code, e.g. "ca-00070".'},
        "content_hash": {"type": "string", "description": "Send it back to approve or reject."},
        "created_by": name,
        "created_at": time,
        "updated_at": time,
        "submitted_at": time,
        "approved_by": name,
        "approved_at": time,
        "reject_reason": name,
        "published_at": time,
        "code": {**name, "description": "Verification code, once published."},
        "url": {**name, "format": "uri", "description": "Short public link, once published."},
        "cancelled_at": time,
        "cancel_reason": name,
        "superseded_by": nullable_int,
        "signatures": {
            "type": "array",
            "description": "Ed25519 signatures of its publication (and cancellation): verify"
            " `signature` over the base64-decoded `payload` with GET /signing-key.",
            "items": {
                "type": "object",
                "properties": {
                    "msg_type": {"enum": ["Alert", "Update", "Cancel"]},
                    "algorithm": {"const": "Ed25519"},
                    "key_id": {"type": "string"},
                    "signature": {"type": "string"},
                    "payload": {"type": "string", "contentEncoding": "base64"},
                    "signed_at": time,
                },
            },
        },
        "actions": {"type": "array", "items": {"enum": list(ACTIONS)}},
    }
    properties = {**content_properties(), **record}
    return {"type": "object", "properties": properties, "required": list(properties)}


def components() -> dict:
    """Return every schema of the document, by name."""
    strings = {"type": "array", "items": {"type": "string"}}
    problem = {
        "type": "object",
        "properties": {
            "type": {"type": "string", "format": "uri-reference"},
            "title": {"type": "string"},
            "status": {"type": "integer"},
            "detail": {"type": "string"},
            "errors": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {"field": {"type": ["string", "null"]}, "message": _text()},
                },
            },
        },
        "required": ["type", "title", "status", "detail"],
    }
    return {
        "Alert": _alert_schema(),
        # Request bodies take no other member: an unknown one is a 422 naming it.
        "AlertInput": closed(content_properties()),
        "Indicators": closed({"phones": strings, "accounts": strings, "links": strings}),
        "Refutation": closed({"claim": _text(LIMITS["claim"]), "links": strings}),
        "Approval": closed({"content_hash": _text()}, required=["content_hash"]),
        "Review": closed(
            {"content_hash": _text(), "reason": _text(1000)}, required=["content_hash", "reason"]
        ),
        "Reason": closed({"reason": _text(1000)}, required=["reason"]),
        "Empty": closed({}),
        "Problem": problem,
        "Region": {
            "type": "object",
            "properties": {
                "code": _text(),
                "name": _text(),
                "level": {"enum": ["nation", "province", "commune"]},
                "parent": {"type": ["string", "null"]},
            },
        },
        "Preview": {
            "type": "object",
            "properties": {
                "channels": {
                    "type": "object",
                    "description": "By channel (web, cap, atom and those chosen).",
                    "additionalProperties": {
                        "type": "object",
                        "properties": {
                            "media_type": _text(),
                            "parts": {"type": "object", "additionalProperties": _text()},
                            "headers": {"type": "object", "additionalProperties": _text()},
                            "counts": {"type": "object"},
                            "notes": strings,
                            "error": {"type": ["string", "null"]},
                        },
                    },
                },
                "reach": {
                    "type": "object",
                    "description": "Who it reaches if approved now: the residents' messages"
                    " by channel, by province and by subscribed region (the counts the"
                    " approval queues), and the unit accounts that post it (followers: null,"
                    " not reported by the providers).",
                    "properties": {
                        "total": {"type": "integer"},
                        "residents": {
                            "type": "object",
                            "additionalProperties": {"type": "integer"},
                        },
                        "by_province": {"type": "object"},
                        "by_region": {"type": "object"},
                        "posters": {"type": "array", "items": {"type": "object"}},
                        "unreachable": strings,
                    },
                },
            },
        },
        "AuditEntry": {
            "type": "object",
            "properties": {
                "id": {"type": "integer"},
                "at": {"type": "string", "format": "date-time"},
                "actor": _text(),
                "actor_unit": {"type": ["string", "null"]},
                "action": _text(),
                "object": {"type": ["string", "null"]},
                "detail": {"type": "object"},
                "hash": _text(),
            },
        },
    }
