"""What a script looks up around warnings: region codes by name, a warning's audit trail,
and the public key that verifies published warnings.

Regions and audit entries are scoped like the UI: regions to the caller's jurisdiction (as
the admin's region picker), audit entries to warnings the caller may see (404 for any
other). The signing key is public.
"""

from __future__ import annotations

from flask import current_app
from flask import request

from alerts.api import bp
from alerts.api import inputs
from alerts.api import serialize
from alerts.api.auth import acting
from alerts.api.auth import public
from alerts.api.auth import token_required
from alerts.db import get_db
from alerts.errors import Refused
from alerts.models import Level
from alerts.regions.jurisdiction import unit_covers_region
from alerts.store import audit as audit_store
from alerts.store import regions as region_store
from alerts.warnings import publication
from alerts.warnings import workflow

QUERY_MAX = 100
REGIONS_LIMIT = 20


@bp.get("/regions")
@token_required
def search_regions():
    """Regions inside the caller's jurisdiction whose name matches ``q`` ("hoan kiem")."""
    query = request.args.get("q", "")
    if len(query) > QUERY_MAX:
        limit = Refused(
            "At most %(max)s characters (now %(count)s).", "q", max=QUERY_MAX, count=len(query)
        )
        inputs.check([limit])
    unit = acting().unit
    within = unit.region_code if unit.level == Level.PROVINCE else None
    found = region_store.search_regions(get_db(), query, within=within, limit=REGIONS_LIMIT)
    regions = [serialize.region_json(r) for r in found if unit_covers_region(unit, r)]
    return serialize.json_response({"regions": regions})


def _alert_id(value: str | None) -> int:
    """Return the warning id of ``?object=12`` (or ``alert:12``); 422 if it is not one."""
    text = (value or "").strip().removeprefix("alert:")
    if not text:
        inputs.check([Refused("This field is required.", "object")])
    if not (text.isascii() and text.isdigit()) or len(text) > 18:
        inputs.check([Refused("Give the id of a warning.", "object")])
    return int(text)


@bp.get("/audit")
@token_required
def audit_entries():
    """The audit trail of one warning the caller may see, oldest first."""
    db = get_db()
    alert_id = _alert_id(request.args.get("object"))
    workflow.visible(db, acting(), alert_id)
    rows = audit_store.for_objects(db, [f"alert:{alert_id}"])
    return serialize.json_response({"entries": [serialize.audit_json(r) for r in rows]})


@bp.get("/signing-key")
@public
def signing_key():
    """The public key that verifies every published warning (Ed25519, base64 of 32 bytes)."""
    signer = publication.signer(current_app.config)
    return serialize.json_response(
        {"algorithm": "Ed25519", "key_id": signer.key_id, "public_key": signer.public_key_b64}
    )
