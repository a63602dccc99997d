"""Accepting an image for a warning: only PNG, JPEG or WebP, recognised by their bytes.

The type is read from the file's signature, never from its name or the browser's claim,
so a script renamed to .png is refused.
"""

from __future__ import annotations

import hashlib

import sqlite_utils

from alerts.db import write
from alerts.errors import Refused
from alerts.store import images as image_store

MAX_BYTES = 2 * 1024 * 1024
_SIGNATURES = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
)


def sniff(data: bytes) -> str | None:
    """Return the MIME type of PNG, JPEG or WebP bytes, or None."""
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return next((mime for magic, mime in _SIGNATURES if data.startswith(magic)), None)


def store_image(db: sqlite_utils.Database, data: bytes) -> str:
    """Check and store an uploaded image; return its SHA-256 (the reference a warning keeps)."""
    if len(data) > MAX_BYTES:
        raise Refused("The image is larger than %(max)s MB.", "image", max=MAX_BYTES // 2**20)
    mime = sniff(data)
    if mime is None:
        raise Refused("Use a PNG, JPEG or WebP image.", "image")
    digest = hashlib.sha256(data).hexdigest()
    with write(db):
        image_store.save_image(db, digest, mime, data)
    return digest
