"""parse_feed: a fetched body, whatever its Content-Type says, into a ParsedFeed. Pure, sync
and CPU-bound: the caller runs it off the event loop."""

from __future__ import annotations

from bot.feeds.jsonfeed import parse_json_feed
from bot.feeds.model import FeedError, ParsedFeed
from bot.feeds.safety import root_element
from bot.feeds.xmlfeed import parse_xml_feed

_JSON_TYPES = frozenset({"application/feed+json", "application/json"})
_LEADING = b"\xef\xbb\xbf \t\r\n"  # a UTF-8 byte order mark and whitespace


def parse_feed(body: bytes, *, url: str, content_type: str | None) -> ParsedFeed:
    """The feed's title, site, items and warnings. FeedError, with the reason, when the body is
    not a feed (an HTML page, neither XML nor JSON), is refused (entity declarations) or is so
    malformed that no item could be read. url is the address it was fetched from: relative
    links resolve against it (or the feed's xml:base)."""
    start = body.lstrip(_LEADING)[:1]
    if not start:
        raise FeedError("empty body")
    media_type = (content_type or "").partition(";")[0].strip().lower()
    if start == b"{" or (media_type in _JSON_TYPES and start != b"<"):
        return parse_json_feed(body, url=url)
    root = root_element(body, content_type)
    if root is None:
        raise FeedError("not a feed: neither XML nor JSON")
    if root.lower() == "html":
        raise FeedError("not a feed: HTML page")
    return parse_xml_feed(body, url=url, content_type=content_type)
