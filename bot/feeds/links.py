"""Which URLs a feed may hand on: absolute http(s) only, relative ones resolved first. Pure."""

from __future__ import annotations

from urllib.parse import urljoin, urlsplit

from bot.articles.identity import (
    canonical_url,
    is_plain_http_url,
    split_http_url,
    url_entities_decoded,
)

MAX_URL_CHARS = 4096  # longer is no link anyone follows
_HOST_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789.-_:")


def http_url(value: object, base: str | None) -> str | None:
    """value as an absolute http(s) URL, resolved against base when relative; None for
    anything else (javascript:, data:, file:, mailto:, no host, control characters)."""
    if not isinstance(value, str):
        return None
    url = value.strip()
    if not url or len(url) > MAX_URL_CHARS or not url.isprintable():
        return None
    if "&" in url and ";" in url:  # "&#038;" and "&amp;" that a feed escaped twice
        url = url_entities_decoded(url)
    if is_plain_http_url(url):  # the usual absolute link: a plain host, nothing to resolve
        return url
    url = url.replace(" ", "%20")
    try:
        if base is not None:
            url = urljoin(base, url)
        host = split_http_url(url).hostname or ""
        if not all(ch in _HOST_CHARS or ch.isalnum() for ch in host):
            return None
        canonical_url(url)  # the identity of every URL handed on can be taken
    except ValueError:
        return None
    return url


def site_host(url: str) -> str | None:
    """The host of an http(s) URL, lowercased, without a leading "www."."""
    try:
        host = (urlsplit(url).hostname or "").rstrip(".")
    except ValueError:
        return None
    if host.startswith("www.") and "." in host[4:]:
        host = host[4:]
    return host or None
