"""Article rows as the read queries select them, and the row factory that makes them Articles."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from bot.articles import Article, Provider, StoryEntry

if TYPE_CHECKING:  # types only: a parse worker imports this module (prepare) without aiosqlite
    from bot.store.db import Database, Row

TOPIC_SEP = "\x1f"  # between the topic names stored in one column

# Every query that returns articles selects these, in this order (row_article reads them).
ARTICLE_COLUMNS = (
    "id", "url", "canonical_url", "title", "excerpt", "published_at", "quality", "heat",
    "published", "published_field", "provider_name", "provider_domain", "provider_icon",
    "image_url", "category", "type", "original_url", "amp_url", "cdn_amp_url", "topics",
    "story_id",
)  # fmt: skip
ARTICLE_SELECT = ", ".join("a." + c for c in ARTICLE_COLUMNS)  # FROM articles a
ID = ARTICLE_COLUMNS.index("id")
TITLE = ARTICLE_COLUMNS.index("title")
EXCERPT = ARTICLE_COLUMNS.index("excerpt")
PROVIDER_NAME = ARTICLE_COLUMNS.index("provider_name")
STORY_ID = ARTICLE_COLUMNS.index("story_id")


def row_article(row: Row) -> Article:
    """The Article of a row that starts with ARTICLE_COLUMNS."""
    (
        _id, url, canonical_url, title, excerpt, published_at, quality, heat, published,
        published_field, provider_name, provider_domain, provider_icon, image_url, category,
        type_, original_url, amp_url, cdn_amp_url, topics, _story_id,
    ) = row[: len(ARTICLE_COLUMNS)]  # fmt: skip
    has_provider = provider_name or provider_domain or provider_icon
    return Article(
        url=url,
        canonical_url=canonical_url,
        title=title,
        excerpt=excerpt,
        published_at=None if published_at is None else datetime.fromtimestamp(published_at, UTC),
        quality=quality,
        heat=heat,
        published=bool(published),
        published_field=bool(published_field),
        provider=Provider(provider_name, provider_domain, provider_icon) if has_provider else None,
        image_url=image_url,
        category=category,
        type=type_,
        original_url=original_url,
        amp_url=amp_url,
        cdn_amp_url=cdn_amp_url,
        topics=tuple(t for t in (topics or "").split(TOPIC_SEP) if t),
    )


def one_per_story(rows: Iterable[Row], limit: int) -> list[Row]:
    """Keep the first row of each story (rows arrive in the wanted order)."""
    seen: set[int] = set()
    kept = []
    for row in rows:
        story = row[STORY_ID] if row[STORY_ID] is not None else -row[ID]
        if story in seen:
            continue
        seen.add(story)
        kept.append(row)
        if len(kept) >= limit:
            break
    return kept


async def story_entries(
    db: Database, rows: Sequence[Row], *, with_also: bool = True
) -> list[StoryEntry]:
    """The rows as StoryEntries, each with its story's other providers (``with_also``)."""
    also: dict[int, list[str]] = {}
    if with_also and rows:
        ids = [r[ID] for r in rows]
        marks = ",".join("?" * len(ids))
        others = await db.fetchall(
            "SELECT s.id, COALESCE(o.provider_name, o.provider_domain)"
            f" FROM articles s JOIN articles o ON o.story_id = s.story_id AND o.id != s.id"
            f" WHERE s.id IN ({marks}) AND o.gone = 0 ORDER BY COALESCE(o.quality, -1) DESC, o.id",
            ids,
        )
        for article_id, name in others:
            names = also.setdefault(article_id, [])
            if name and name not in names:
                names.append(name)
    return [
        StoryEntry(article_id=r[ID], article=row_article(r), also=tuple(also.get(r[ID], ())))
        for r in rows
    ]
