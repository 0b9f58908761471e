"""The items of one feed as they are read: the skip rules and the warnings, shared by the XML
and the JSON Feed readers. Pure."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, datetime

from bot.feeds.model import FeedItem, ParsedFeed
from bot.feeds.text import html_text, one_line

MAX_WARNINGS = 20  # a feed with 1,000 bad items says so in 21 lines, not 1,000
MAX_CATEGORIES = 32  # per item: a topic list no digest needs more of


class FeedItems:
    """Items in feed order: one without title or link skipped, one that repeats an earlier
    item (same link, guid and title) skipped, each with a warning naming its position."""

    def __init__(self) -> None:
        self._items: list[FeedItem] = []
        self._seen: dict[tuple[str | None, str | None, str | None], int] = {}
        self._warnings: list[str] = []
        self._unsaid = 0

    def add(self, position: int, item: FeedItem) -> None:
        """position: 1 for the feed's first entry."""
        if item.title is None and item.link is None:
            self.warn(f"item {position}: no title or link, skipped")
            return
        key = (item.link, item.guid, item.title)
        first = self._seen.setdefault(key, position)
        if first != position:
            self.warn(f"item {position}: repeats item {first}, skipped")
            return
        self._items.append(item)

    def warn(self, message: str) -> None:
        if len(self._warnings) < MAX_WARNINGS:
            self._warnings.append(message)
        else:
            self._unsaid += 1

    def __len__(self) -> int:
        return len(self._items)

    def feed(self, title: str | None, site_url: str | None) -> ParsedFeed:
        warnings = list(self._warnings)
        if self._unsaid:
            warnings.append(f"and {self._unsaid} more warnings")
        return ParsedFeed(title, site_url, tuple(self._items), tuple(warnings))


def html_line(value: object) -> str | None:
    """A feed's text that may hold HTML, as plain text on one line; None when it is not text
    or nothing is left."""
    if not isinstance(value, str):
        return None
    return one_line(html_text(value)) or None


def plain_line(value: object) -> str | None:
    """A feed's plain text on one line; None when it is not text or nothing is left."""
    if not isinstance(value, str):
        return None
    return one_line(value) or None


def categories(names: Iterable[object], line: Callable[[object], str | None]) -> tuple[str, ...]:
    """The distinct non-empty names, each made one line of text by line (html_line or
    plain_line), at most MAX_CATEGORIES."""
    found: list[str] = []
    for name in names:
        text = line(name)
        if text is not None and text not in found:
            found.append(text)
            if len(found) == MAX_CATEGORIES:
                break
    return tuple(found)


def utc(moment: datetime) -> datetime | None:
    """An aware UTC datetime (a naive one is UTC); None when out of range."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        return moment.replace(tzinfo=UTC)
    try:
        return moment.astimezone(UTC)
    except (OverflowError, ValueError):
        return None
