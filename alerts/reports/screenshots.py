"""A report's screenshot: checked by its bytes, re-encoded without metadata, sealed.

A resident's photo can carry where and when it was taken (EXIF GPS), the phone's model and
its owner's name; a screenshot shows their own chats. So the image is decoded and drawn
again from its pixels alone (nothing of the file but the pixels survives: no EXIF, XMP, ICC
profile or text chunks), shrunk to at most ``MAX_SIDE`` pixels, and sealed with the data
key like the contact. The type is read from the signature (``alerts.warnings.images.sniff``)
and must agree with what the decoder finds, so a script renamed to .png is refused.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from dataclasses import dataclass

from PIL import Image
from PIL import ImageOps
from PIL import UnidentifiedImageError

from alerts.errors import N_
from alerts.errors import Refused
from alerts.security import vault
from alerts.warnings.images import sniff

MAX_BYTES = 5 * 1024 * 1024  # what a resident may send
MAX_SIDE = 2000  # pixels, after re-encoding
MAX_PIXELS = 50_000_000  # refused before decoding: a small file can expand to gigabytes
MAX_STORED = 3 * 1024 * 1024  # a re-encoded PNG above this is kept as a JPEG instead
_FORMATS = {"image/png": "PNG", "image/jpeg": "JPEG", "image/webp": "WEBP"}
_MIMES = {name: mime for mime, name in _FORMATS.items()}


@dataclass(frozen=True)
class Screenshot:
    """A cleaned image: its type and its re-encoded bytes."""

    mime: str
    data: bytes


def clean(data: bytes) -> Screenshot:
    """Return the image re-encoded from its pixels alone, or refuse (field ``image``)."""
    if len(data) > MAX_BYTES:
        raise Refused(N_("The screenshot is larger than %(max)s MB."), "image", max=5)
    mime = sniff(data)
    if mime is None:
        raise Refused(N_("The screenshot must be a PNG, JPEG or WebP image."), "image")
    image = _decode(data, mime)
    image = ImageOps.exif_transpose(image)  # keep it upright once the EXIF is gone
    image.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.LANCZOS)
    pixels = _plain(image)
    encoded = _encode(pixels, _FORMATS[mime])
    if len(encoded) > MAX_STORED and mime != "image/jpeg":
        pixels, mime = _flatten(pixels), "image/jpeg"
        encoded = _encode(pixels, "JPEG")
    return Screenshot(mime, encoded)


def _decode(data: bytes, mime: str) -> Image.Image:
    unreadable = Refused(N_("The screenshot cannot be read: send another image."), "image")
    try:
        image = Image.open(io.BytesIO(data))
        if _MIMES.get(image.format) != mime:
            raise unreadable
        width, height = image.size
        if width * height > MAX_PIXELS:
            raise Refused(N_("The screenshot has too many pixels."), "image")
        image.seek(0)  # an animation: its first frame
        image.load()
    except (OSError, SyntaxError, ValueError, UnidentifiedImageError, Image.DecompressionBombError):
        raise unreadable from None
    return image


def _plain(image: Image.Image) -> Image.Image:
    """Return a new image holding only the pixels (in a mode every format can write)."""
    has_alpha = image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info
    mode = "RGBA" if has_alpha else "RGB"
    converted = image.convert(mode)
    return Image.frombytes(mode, converted.size, converted.tobytes())


def _flatten(image: Image.Image) -> Image.Image:
    if image.mode == "RGB":
        return image
    background = Image.new("RGB", image.size, "white")
    background.paste(image, mask=image.getchannel("A"))
    return background


def _encode(image: Image.Image, fmt: str) -> bytes:
    if fmt == "JPEG":
        image = _flatten(image)
    out = io.BytesIO()
    options = {"optimize": True} if fmt == "PNG" else {"quality": 85}
    image.save(out, fmt, **options)
    return out.getvalue()


def seal(config: Mapping, screenshot: Screenshot) -> bytes:
    """Encrypt a cleaned screenshot with the data key (``alerts.security.vault``)."""
    return vault.vault(config).encrypt(screenshot.data)


def unseal(config: Mapping, sealed: bytes) -> bytes:
    """Decrypt a stored screenshot (for the unit's inbox)."""
    return vault.vault(config).decrypt(bytes(sealed))
