"""RSS 0.9x, 1.0 (RDF) and 2.0, and Atom, through feedparser. Pure.

feedparser is only ever given bytes in a BytesIO (a string could make it open a file or a URL),
and a Content-Type it can trust: the server's charset, if any, on an XML type, so a feed served
as text/html or text/plain is still read by its own XML declaration.
"""

from __future__ import annotations

import io
import time
import xml.sax
from collections.abc import Mapping
from datetime import UTC, datetime

import feedparser

from bot.feeds.collect import FeedItems, categories, html_line, utc
from bot.feeds.links import http_url
from bot.feeds.model import FeedError, FeedItem, ParsedFeed
from bot.feeds.text import html_text

Entry = Mapping[str, object]  # a feedparser.FeedParserDict, read with .get only


def parse_xml_feed(body: bytes, *, url: str, content_type: str | None) -> ParsedFeed:
    """The items of an RSS or Atom feed; FeedError when the body is not one. The caller has
    checked the prolog (bot.feeds.safety.root_element)."""
    headers = {"content-location": url, "content-type": _xml_content_type(content_type)}
    try:
        # no sanitizing or resolving inside HTML: html_text keeps only its text (a quarter faster)
        result = feedparser.parse(
            io.BytesIO(body), response_headers=headers, resolve_relative_uris=False,
            sanitize_html=False,
        )  # fmt: skip
    except Exception as exc:  # a third-party parser on hostile bytes: any failure is the feed's
        raise FeedError(f"unreadable feed: {type(exc).__name__}: {exc}") from None
    version = result.get("version") or ""
    entries = result.get("entries") or []
    malformed = _malformed(result.get("bozo_exception"))
    if not version and not entries:
        raise FeedError(f"malformed XML{malformed}" if malformed else "not a feed: no RSS or Atom")
    items = FeedItems()
    for position, entry in enumerate(entries, 1):
        items.add(position, _item(entry, url))
    if malformed:
        if not items:
            raise FeedError(f"malformed XML{malformed}; no items read")
        items.warn(f"malformed XML{malformed}; {len(items)} items read")
    channel = result.get("feed") or {}
    return items.feed(html_line(channel.get("title")), http_url(channel.get("link"), url))


def _xml_content_type(content_type: str | None) -> str:
    """application/xml with the server's charset parameter, when it gave one."""
    for param in (content_type or "").split(";")[1:]:
        name, _, value = param.partition("=")
        if name.strip().lower() == "charset" and value.strip().strip("\"'"):
            return f"application/xml; charset={value.strip().strip(chr(34) + chr(39))}"
    return "application/xml"


def _malformed(exc: object) -> str:
    """ " at line N: what" for an XML error; "" for no error or a harmless one (feedparser also
    flags a Content-Type or an encoding it had to guess)."""
    if not isinstance(exc, xml.sax.SAXException):
        return ""
    if isinstance(exc, xml.sax.SAXParseException):
        return f" at line {exc.getLineNumber()}: {exc.getMessage()}"
    return f": {exc.getMessage()}"


def _item(entry: Entry, feed_url: str) -> FeedItem:
    base = _base(entry, feed_url)
    tags = entry.get("tags")
    return FeedItem(
        link=http_url(entry.get("link"), base),
        guid=_guid(entry.get("id")),
        title=html_line(entry.get("title")),
        summary=_summary(entry),
        published=_date(entry.get("published_parsed")) or _updated(entry),
        categories=categories(_tag_names(tags), html_line) if isinstance(tags, list) else (),
        image_url=_image(entry, base),
    )


def _base(entry: Entry, feed_url: str) -> str:
    """The entry's xml:base as feedparser resolved it, else the feed's URL."""
    for key in ("title_detail", "summary_detail", "content"):
        detail = entry.get(key)
        if isinstance(detail, list):
            detail = detail[0] if detail else None
        if isinstance(detail, Mapping) and (base := http_url(detail.get("base"), feed_url)):
            return base
    return feed_url


def _guid(value: object) -> str | None:
    return value.strip() or None if isinstance(value, str) else None


def _summary(entry: Entry) -> str | None:
    """The summary, else the first content, as plain text."""
    summary = entry.get("summary")
    if isinstance(summary, str) and (text := html_text(summary)):
        return text
    content = entry.get("content")
    for part in content if isinstance(content, list) else ():
        value = part.get("value") if isinstance(part, Mapping) else None
        if isinstance(value, str) and (text := html_text(value)):
            return text
    return None


def _date(value: object) -> datetime | None:
    """feedparser's UTC struct_time as an aware datetime; None when absent or out of range."""
    if not isinstance(value, time.struct_time):
        return None
    try:
        return utc(datetime(*value[:6], tzinfo=UTC))
    except (OverflowError, ValueError):
        return None


def _updated(entry: Entry) -> datetime | None:
    # `in` first: feedparser's get("updated_parsed") falls back to published_parsed with a
    # DeprecationWarning
    return _date(entry.get("updated_parsed")) if "updated_parsed" in entry else None


def _tag_names(tags: list[object]) -> list[object]:
    return [tag.get("term") or tag.get("label") for tag in tags if isinstance(tag, Mapping)]


def _image(entry: Entry, base: str) -> str | None:
    """The first http(s) image: media:thumbnail, then media:content that is an image, then an
    image enclosure."""
    for thumbnail in _mappings(entry.get("media_thumbnail")):
        if url := http_url(thumbnail.get("url"), base):
            return url
    for media in _mappings(entry.get("media_content")):
        if _is_image(media.get("medium"), media.get("type")) and (
            url := http_url(media.get("url"), base)
        ):
            return url
    for link in _mappings(entry.get("links")):
        if (
            link.get("rel") == "enclosure"
            and _is_image(None, link.get("type"))
            and (url := http_url(link.get("href"), base))
        ):
            return url
    return None


def _mappings(value: object) -> list[Mapping[str, object]]:
    return [item for item in value if isinstance(item, Mapping)] if isinstance(value, list) else []


def _is_image(medium: object, mime: object) -> bool:
    """media:content's medium="image", or an image/* type; with neither given, an image is
    what media:content usually carries."""
    if isinstance(medium, str) and medium:
        return medium.strip().lower() == "image"
    if isinstance(mime, str) and mime:
        return mime.strip().lower().startswith("image/")
    return medium is None and mime is None
