"""Time-based one-time passwords (RFC 6238) for two-factor sign-in."""

from __future__ import annotations

import time

import pyotp
import segno

DIGITS = 6
INTERVAL = 30


def new_secret() -> str:
    """Return a fresh random base32 secret."""
    return pyotp.random_base32()


def provisioning_uri(secret: str, username: str, issuer: str) -> str:
    """Return the otpauth:// URI that authenticator apps read from the QR code."""
    return pyotp.TOTP(secret).provisioning_uri(name=username, issuer_name=issuer)


def qr_data_uri(uri: str) -> str:
    """Return the URI as an SVG QR code in a data: URI (no network, no image files)."""
    return segno.make(uri, error="m").svg_data_uri(scale=5)


def matching_step(secret: str, code: str, now: float | None = None) -> int | None:
    """Return the time step the code belongs to (now, or one step either side), or None.

    The caller records the step so that a code cannot be used twice.
    """
    code = code.strip().replace(" ", "")
    if len(code) != DIGITS or not code.isdigit():
        return None
    now = time.time() if now is None else now
    totp = pyotp.TOTP(secret, digits=DIGITS, interval=INTERVAL)
    current = int(now // INTERVAL)
    for step in (current, current - 1, current + 1):
        if pyotp.utils.strings_equal(totp.at(step * INTERVAL), code):
            return step
    return None
