"""One fetched body -> the articles the store writes: parse, map and prepare, in a worker
process or thread (never on the event loop). Plain values in and out, cheap to pickle."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from bot.articles import Article
from bot.config import TopicsConfig
from bot.feeds.mapping import item_article
from bot.feeds.model import FeedError
from bot.feeds.parse import parse_feed
from bot.store import PreparedArticle, prepare_article


@dataclass(frozen=True, slots=True)
class ParseJob:
    body: bytes
    fetch_url: str  # where the body came from: relative links resolve against it
    feed_url: str  # the configured URL (the provider's domain when the feed names no site)
    content_type: str | None
    provider_name: str | None
    topics: tuple[str, ...]
    quality: int
    aliases: Mapping[str, str]  # [topics] aliases (a TopicsConfig does not pickle)
    now: datetime


@dataclass(frozen=True, slots=True)
class ParseOutcome:
    """error: the feed could not be read (nothing else is set). undated: the articles of items
    with no date, dated now: the caller gives the stored ones their first-seen date back."""

    error: str | None = None
    title: str | None = None
    items: int = 0
    warnings: tuple[str, ...] = ()
    prepared: tuple[PreparedArticle, ...] = ()
    undated: tuple[Article, ...] = ()


def parse_job(job: ParseJob) -> ParseOutcome:
    try:
        feed = parse_feed(job.body, url=job.fetch_url, content_type=job.content_type)
    except FeedError as exc:
        return ParseOutcome(error=str(exc))
    canonical_topic = TopicsConfig(aliases=dict(job.aliases)).canonical
    warnings = list(feed.warnings)
    prepared: list[PreparedArticle] = []
    undated: list[Article] = []
    seen: set[str] = set()
    for position, item in enumerate(feed.items, 1):
        article = item_article(
            item,
            feed=feed,
            feed_url=job.feed_url,
            provider_name=job.provider_name,
            topics=job.topics,
            quality=job.quality,
            canonical_topic=canonical_topic,
            now=job.now,
            first_seen=None,
        )
        if article is None:
            warnings.append(f"item {position}: no http(s) link, skipped")
            continue
        if article.canonical_url in seen:  # the same story twice (a changed guid): once
            continue
        seen.add(article.canonical_url)
        if item.published is None:
            undated.append(article)
        else:
            prepared.append(prepare_article(article))
    return ParseOutcome(
        title=feed.title,
        items=len(feed.items),
        warnings=tuple(warnings),
        prepared=tuple(prepared),
        undated=tuple(undated),
    )


def prepare_all(articles: tuple[Article, ...]) -> list[PreparedArticle]:
    return [prepare_article(article) for article in articles]
