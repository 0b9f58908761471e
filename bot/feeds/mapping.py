"""item_article: one feed item as the article the store keeps (DESIGN.md §3b, Item -> article).
Pure."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from bot.articles import Article, Provider, canonical_url, topic_key
from bot.feeds.links import http_url, site_host
from bot.feeds.model import FeedItem, ParsedFeed
from bot.feeds.text import cut_at_word, one_line

FUTURE_SLACK = timedelta(minutes=5)  # clocks differ; a date further ahead is a feed's mistake
EXCERPT_CHARS = 300  # about what article files carry (real excerpts are 90-220 characters)
TITLE_CHARS = 256  # the most an embed title shows
UNTITLED_CHARS = 100  # an untitled item (a microblog post) is titled by its text's start


def item_article(
    item: FeedItem,
    *,
    feed: ParsedFeed,
    feed_url: str,
    provider_name: str | None,
    topics: Sequence[str],
    quality: int,
    canonical_topic: Callable[[str], str],
    now: datetime,
    first_seen: datetime | None,
) -> Article | None:
    """The article an item stands for; None when it has no http(s) link (nor an http(s)
    guid), which the caller reports as a skipped item.

    now and first_seen are aware UTC: first_seen is when the store first saw the item's
    canonical URL (None for a new one), the date given to an item whose feed has none.
    """
    url = item.link or http_url(item.guid, None)
    if url is None:
        return None
    title = item.title or (
        cut_at_word(one_line(item.summary), UNTITLED_CHARS) if item.summary else url
    )
    if item.published is not None:
        published_at = min(item.published, now + FUTURE_SLACK)
    else:
        published_at = first_seen or now
    return Article(
        url=url,
        canonical_url=canonical_url(url),
        title=cut_at_word(title, TITLE_CHARS),
        published_at=published_at,
        excerpt=cut_at_word(item.summary, EXCERPT_CHARS) if item.summary else None,
        quality=quality,
        published=True,
        published_field=True,
        topics=_topics((*item.categories, *topics), canonical_topic),
        provider=Provider(
            name=provider_name or feed.title,
            domain=site_host(feed.site_url or feed_url),
        ),
        image_url=item.image_url,
    )


def _topics(names: Sequence[str], canonical_topic: Callable[[str], str]) -> tuple[str, ...]:
    """Each name through [topics] aliases, on one line; empty and repeated ones (compared
    case-insensitively) dropped."""
    found: list[str] = []
    seen: set[str] = set()
    for name in names:
        topic = one_line(canonical_topic(name))
        key = topic_key(topic)
        if topic and key not in seen:
            seen.add(key)
            found.append(topic)
    return tuple(found)
