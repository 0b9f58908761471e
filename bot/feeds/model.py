"""The feed records: what a feed says, item by item, as plain text and http(s) URLs."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class FeedItem:
    """One entry as the feed says it, already plain text where it is text."""

    link: str | None  # absolute http(s), resolved against xml:base / the feed URL; else None
    guid: str | None  # the entry's id as written (RSS guid, Atom id, JSON Feed id)
    title: str | None  # HTML stripped, entities decoded, whitespace collapsed
    summary: str | None  # HTML as plain text: paragraphs on their own lines
    published: datetime | None  # aware UTC: published, else updated; None when the feed has none
    categories: tuple[str, ...] = ()
    image_url: str | None = None  # the first http(s) image: thumbnail, media, enclosure, JSON image


@dataclass(frozen=True, slots=True)
class ParsedFeed:
    title: str | None
    site_url: str | None  # the feed's site link (http(s))
    items: tuple[FeedItem, ...]
    warnings: tuple[str, ...] = ()  # "item 4: no title or link, skipped", malformed XML, ...


class FeedError(Exception):
    """The body is not a feed that can be read; str(exc) is the reason shown to the operator."""
