"""(being written) the residents' subscribe pages."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("subscribe", __name__)
