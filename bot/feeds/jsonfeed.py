"""JSON Feed 1.0 and 1.1 (https://jsonfeed.org), which feedparser does not read. Pure."""

from __future__ import annotations

import json
from datetime import datetime

from bot.feeds.collect import FeedItems, categories, plain_line, utc
from bot.feeds.links import http_url
from bot.feeds.model import FeedError, FeedItem, ParsedFeed
from bot.feeds.text import html_text, tidy

VERSION_PREFIX = "https://jsonfeed.org/version/1"  # 1 and 1.1


def parse_json_feed(body: bytes, *, url: str) -> ParsedFeed:
    """The items of a JSON Feed; FeedError when the body is not one."""
    try:
        doc = json.loads(body)
    except RecursionError:
        raise FeedError("not a feed: JSON nested too deeply") from None
    except ValueError as exc:  # JSONDecodeError, and UnicodeDecodeError for bytes in no UTF
        raise FeedError(f"malformed JSON: {exc}") from None
    if not isinstance(doc, dict):
        raise FeedError("not a feed: JSON that is not an object")
    version = doc.get("version")
    if not isinstance(version, str) or not version.startswith(VERSION_PREFIX):
        raise FeedError("not a feed: JSON without a JSON Feed version")
    entries = doc.get("items")
    if not isinstance(entries, list):
        raise FeedError("not a feed: JSON Feed without an items list")
    base = http_url(doc.get("feed_url"), url) or url
    items = FeedItems()
    for position, entry in enumerate(entries, 1):
        if not isinstance(entry, dict):
            items.warn(f"item {position}: not an object, skipped")
            continue
        items.add(position, _item(entry, base))
    return items.feed(plain_line(doc.get("title")), http_url(doc.get("home_page_url"), base))


def _item(entry: dict[str, object], base: str) -> FeedItem:
    guid = entry.get("id")
    if isinstance(guid, int | float) and not isinstance(guid, bool):
        guid = str(guid)  # 1.0 feeds in the wild give numbers
    tags = entry.get("tags")
    return FeedItem(
        link=http_url(entry.get("url"), base) or http_url(entry.get("external_url"), base),
        guid=guid.strip() or None if isinstance(guid, str) else None,
        title=plain_line(entry.get("title")),
        summary=_summary(entry),
        published=_date(entry.get("date_published")) or _date(entry.get("date_modified")),
        categories=categories(tags, plain_line) if isinstance(tags, list) else (),
        image_url=http_url(entry.get("image"), base) or http_url(entry.get("banner_image"), base),
    )


def _summary(entry: dict[str, object]) -> str | None:
    """summary, else content_text (both plain text), else content_html as plain text."""
    for key in ("summary", "content_text", "content_html"):
        value = entry.get(key)
        if isinstance(value, str):
            text = html_text(value) if key == "content_html" else tidy(value)
            if text:
                return text
    return None


def _date(value: object) -> datetime | None:
    """An RFC 3339 date-time as aware UTC; None when absent or unreadable."""
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    return utc(moment)
