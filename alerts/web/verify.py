"""(being written) the residents' verify pages."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("verify", __name__)
