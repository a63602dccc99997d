"""Absolute links, built on ALERTS_PUBLIC_URL and never on the request's Host header.

``url_for(..., _external=True)`` takes the host from the request, which any client sets:
a ``Host: evil.example`` would put the attacker's address in a ``Location`` or a problem
``type`` that scripts follow. Setting SERVER_NAME instead would also make Flask refuse
requests arriving under another name (the loopback address, a health check), so links
are built from the configured address alone, as every channel's links already are.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import current_app


def external_url(endpoint: str, **values: object) -> str:
    """Return the absolute URL of ``endpoint`` under ALERTS_PUBLIC_URL (its path included)."""
    public = urlsplit(current_app.config["PUBLIC_URL"])
    adapter = current_app.url_map.bind(
        public.netloc, script_name=public.path or "/", url_scheme=public.scheme
    )
    return adapter.build(endpoint, values, force_external=True)
