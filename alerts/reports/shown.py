"""How a report's links are shown: defanged, so that nobody opens a scammer's site by a
click or a tap, and no app turns it into a link ("hxxps://vneid-capnhat[.]com/login").

Defanging is the convention of abuse desks; ``alerts.warnings.indicators.parse_link`` undoes
it, so an officer can paste a defanged link into a warning. Nothing here fetches a link.
"""

from __future__ import annotations

import re

# A web address in free text: an http(s) scheme, or a host ending in a letters-only TLD.
_LINK = re.compile(
    r"(?i)\b(?:https?://[^\s<>\"']+|(?:[a-z0-9-]+\.)+[a-z]{2,63}(?:[/?#][^\s<>\"']*)?)"
)
_SCHEME = re.compile(r"(?i)^http")


def defang(link: str) -> str:
    """Return one link defanged: "http" read "hxxp", every dot of the host "[.]"."""
    scheme, sep, rest = link.partition("://")
    if not sep:
        scheme, rest = "", link
    host, slash, tail = _host_split(rest)
    return _SCHEME.sub("hxxp", scheme) + sep + host.replace(".", "[.]") + slash + tail


def _host_split(rest: str) -> tuple[str, str, str]:
    match = re.search(r"[/?#]", rest)
    if match is None:
        return rest, "", ""
    return rest[: match.start()], match.group(), rest[match.end() :]


def defang_text(text: str) -> str:
    """Return free text with every web address in it defanged."""
    return _LINK.sub(lambda m: defang(m.group()), text)
