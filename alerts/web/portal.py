"""(being written) the residents' portal pages."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("portal", __name__)
