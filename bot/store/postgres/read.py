"""What /news reads, in PostgreSQL (bot.store.read): the same queries and the same order.

NULL published_at sorts last (SQLite's DESC order), and ties fall back to the id order SQLite's
indexes give."""

from __future__ import annotations

from typing import Any

from bot.articles import StoryEntry, topic_key
from bot.store.postgres.db import PgDatabase
from bot.store.postgres.rows import article_rows, story_entries
from bot.store.postgres.search import search_entries
from bot.store.postgres.titles import title_matches
from bot.store.rows import ARTICLE_SELECT, one_per_story

# The topic's id as a value the planner sees before it plans the scan: a topic page is then a
# backward range scan of article_topics' primary key (a join estimated the topic's size
# blindly and sorted every row of a big topic: 8 ms for AI at 28k articles).
_ON_TOPIC = "at.topic_id = (SELECT id FROM topics WHERE key = $1)"


class PgReads:
    """The read queries over articles and topics; every list shows a story once."""

    def __init__(self, db: PgDatabase):
        self._db = db

    async def topics(self, prefix: str = "", limit: int = 25) -> list[tuple[str, int]]:
        """Topics with article counts, most articles first; filtered by a substring."""
        needle = topic_key(prefix)
        rows = await self._db.fetch(
            "SELECT name, article_count FROM topics WHERE article_count > 0"
            " AND strpos(key, $1) > 0 ORDER BY (left(key, length($1)) = $1) DESC,"
            " article_count DESC, key LIMIT $2",
            needle,
            limit,
        )
        return [(str(name), int(count)) for name, count in rows]

    async def topic_name(self, name: str) -> str | None:
        """The stored spelling of a topic that has articles, matched case-insensitively."""
        rows = await self._db.fetch(
            "SELECT name FROM topics WHERE key = $1 AND article_count > 0", topic_key(name)
        )
        return str(rows[0][0]) if rows else None

    async def topic_entries(
        self, topic: str, *, min_quality: int = 0, limit: int = 10
    ) -> list[StoryEntry]:
        """Newest articles on a topic, one story once (its best article among these)."""
        return await self._entries(
            f"SELECT {ARTICLE_SELECT} FROM article_topics at"
            f" JOIN articles a ON a.id = at.article_id WHERE {_ON_TOPIC}"
            " AND COALESCE(at.quality, 0) >= $2"
            " ORDER BY at.published_at DESC, at.article_id DESC LIMIT $3",
            (topic_key(topic), min_quality, limit * 4),
            limit,
        )

    async def latest(
        self, *, min_quality: int, limit: int = 10, topic: str | None = None
    ) -> list[StoryEntry]:
        """Newest published articles at or above a quality bar, one story once."""
        if topic is not None:
            return await self._entries(
                f"SELECT {ARTICLE_SELECT} FROM article_topics at"
                f" JOIN articles a ON a.id = at.article_id WHERE {_ON_TOPIC}"
                " AND COALESCE(at.quality, 0) >= $2 AND a.published = 1"
                " ORDER BY at.published_at DESC, at.article_id DESC LIMIT $3",
                (topic_key(topic), min_quality, limit * 4),
                limit,
            )
        return await self._entries(
            f"SELECT {ARTICLE_SELECT} FROM articles a"
            " WHERE published = 1 AND from_file = 1 AND gone = 0"
            " AND COALESCE(quality, 0) >= $1"
            " ORDER BY published_at DESC, id LIMIT $2",
            (min_quality, limit * 4),
            limit,
        )

    async def search(self, text: str, *, limit: int = 10) -> list[StoryEntry]:
        """Full-text search over title, excerpt and provider; best match first."""
        return await search_entries(self._db, text, limit)

    async def title_choices(self, text: str, *, limit: int = 25) -> list[tuple[int, str]]:
        """(article id, title) for autocomplete by title: articles with a file of their own
        first, then newest first."""
        return await title_matches(self._db, text, limit)

    async def entry(self, article_id: int) -> StoryEntry | None:
        entries = await self._entries(
            f"SELECT {ARTICLE_SELECT} FROM articles a WHERE id = $1", (article_id,), None
        )
        return entries[0] if entries else None

    async def entry_by_url(self, canonical: str) -> StoryEntry | None:
        entries = await self._entries(
            f"SELECT {ARTICLE_SELECT} FROM articles a WHERE canonical_url = $1", (canonical,), None
        )
        return entries[0] if entries else None

    async def related(self, article_id: int, *, limit: int = 20) -> list[StoryEntry]:
        """Articles linked to this one in either direction, one story once, best first."""
        return await self._entries(
            f"SELECT {ARTICLE_SELECT} FROM articles a WHERE a.id IN ("
            " SELECT child_id FROM related WHERE parent_id = $1"
            " UNION SELECT parent_id FROM related WHERE child_id = $1)"
            " AND a.story_id IS DISTINCT FROM (SELECT story_id FROM articles WHERE id = $1)"
            " AND a.gone = 0"
            # On a tie, what a file says about itself beats what a related list says.
            " ORDER BY COALESCE(a.quality, -1) DESC, COALESCE(a.heat, -1) DESC,"
            " a.from_file DESC, a.published_at DESC NULLS LAST, a.id LIMIT $2",
            (article_id, limit * 4),
            limit,
        )

    async def story_members(self, article_id: int) -> list[StoryEntry]:
        """The story's other articles (the same story told at other URLs)."""
        async with self._db.snapshot() as conn:
            records = await conn.fetch(
                f"SELECT {ARTICLE_SELECT} FROM articles a WHERE a.story_id ="
                " (SELECT story_id FROM articles WHERE id = $1) AND a.id != $1 AND a.gone = 0"
                " ORDER BY COALESCE(a.quality, -1) DESC, a.published_at DESC NULLS LAST, a.id"
                " LIMIT 25",
                article_id,
            )
            return await story_entries(conn, article_rows(records), with_also=False)

    async def _entries(
        self, sql: str, params: tuple[Any, ...], limit: int | None
    ) -> list[StoryEntry]:
        """The rows of one query, one story once (``limit``: at most that many; None: all),
        as entries, read in one snapshot."""
        async with self._db.snapshot() as conn:
            rows = article_rows(await conn.fetch(sql, *params))
            kept = rows if limit is None else one_per_story(rows, limit)
            return await story_entries(conn, kept)
