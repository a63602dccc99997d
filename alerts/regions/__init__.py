"""The 2025 two-level map (nation -> 34 provinces -> 3,321 communes) from vietnam-provinces.

Official codes are the identifiers, zero-padded as the statistics office writes them:
provinces with 2 digits ("01" Hà Nội), communes with 5 ("00070" Phường Hoàn Kiếm); the
nation is "vn".
"""

from __future__ import annotations

import re

import vietnam_provinces
from vietnam_provinces import Province
from vietnam_provinces import VietNamDivisionType
from vietnam_provinces import Ward

from alerts.models import Level
from alerts.models import Region
from alerts.text import nfc

NATION_CODE = "vn"
NATION_NAME = "Việt Nam"
_CODE = re.compile(r"vn|\d{2}|\d{5}")

# The meta key holding the version of the map loaded (``alerts.seed``).
MAP_VERSION_KEY = "map_version"


def map_version() -> str:
    """Return the version of the map data, recorded in the database and shown in the UI."""
    package, data = vietnam_provinces.__version__, vietnam_provinces.__data_version__
    return f"vietnam-provinces {package} (data {data})"


def is_region_code(value: str) -> bool:
    """Return whether the value has the shape of a region code (it may still not exist)."""
    return bool(_CODE.fullmatch(value))


def province_name(province: Province) -> str:
    """Return the full name: the package gives "Cao Bằng" but "Thành phố Hà Nội"."""
    if province.division_type == VietNamDivisionType.TINH:
        return nfc(f"Tỉnh {province.name}")
    return nfc(province.name)


def load_map() -> list[Region]:
    """Return every region of the map: the nation first, then provinces, then communes."""
    regions = [Region(NATION_CODE, Level.NATION, NATION_NAME, "quốc gia", None)]
    for province in sorted(Province.iter_all(), key=lambda p: int(p.code)):
        regions.append(
            Region(
                f"{int(province.code):02d}",
                Level.PROVINCE,
                province_name(province),
                province.division_type.value,
                NATION_CODE,
            )
        )
    for ward in sorted(Ward.iter_all(), key=lambda w: int(w.code)):
        regions.append(
            Region(
                f"{int(ward.code):05d}",
                Level.COMMUNE,
                nfc(ward.name),
                ward.division_type.value,
                f"{int(ward.province_code):02d}",
            )
        )
    return regions
