"""Who acts where: a unit acts inside its region; the ministry acts anywhere.

Pure rules over units and regions; the web layer turns a "no" into a 404 so that other
units' objects are not even confirmed to exist.
"""

from __future__ import annotations

from alerts.models import Level
from alerts.models import Region
from alerts.models import Unit

MINISTRY_CODE = "bca"
MINISTRY_NAME = "Bộ Công an"


def unit_code(region_code: str) -> str:
    """Return the code of the police unit bound to a region."""
    return MINISTRY_CODE if region_code == "vn" else f"ca-{region_code}"


def unit_name(region: Region) -> str:
    """Return the unit's Vietnamese name: "Công an thành phố Hà Nội", "Công an phường ..."."""
    if region.level == Level.NATION:
        return MINISTRY_NAME
    first, _, rest = region.name.partition(" ")
    if first == "Thành" and rest.startswith("phố "):
        return f"Công an thành {rest}"
    if first == "Đặc" and rest.startswith("khu "):
        return f"Công an đặc {rest}"
    return f"Công an {first.lower()} {rest}"


def unit_covers(actor: Unit, target: Unit) -> bool:
    """Return whether ``actor`` may act on ``target`` (itself, or a unit below it)."""
    if actor.level == Level.NATION or actor.id == target.id:
        return True
    return actor.level == Level.PROVINCE and target.parent_id == actor.id


def unit_covers_region(actor: Unit, region: Region) -> bool:
    """Return whether a region lies inside the unit's jurisdiction."""
    if actor.level == Level.NATION or actor.region_code == region.code:
        return True
    return actor.level == Level.PROVINCE and region.parent_code == actor.region_code
