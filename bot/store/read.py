"""What /news reads: topics, a topic's newest stories, the latest, one entry, its related
articles and story, and search."""

from __future__ import annotations

from bot.articles import StoryEntry, topic_key
from bot.store.db import Database
from bot.store.rows import ARTICLE_SELECT, one_per_story, story_entries
from bot.store.search import search_entries, title_matches


class Reads:
    """The read queries over articles and topics; every list shows a story once."""

    def __init__(self, db: Database):
        self._db = db

    async def topics(self, prefix: str = "", limit: int = 25) -> list[tuple[str, int]]:
        """Topics with article counts, most articles first; filtered by a substring."""
        needle = topic_key(prefix)
        rows = await self._db.fetchall(
            "SELECT name, article_count FROM topics WHERE article_count > 0"
            " AND instr(key, ?) > 0 ORDER BY (substr(key, 1, length(?)) = ?) DESC,"
            " article_count DESC, key LIMIT ?",
            (needle, needle, needle, limit),
        )
        return [(name, count) for name, count in rows]

    async def topic_name(self, name: str) -> str | None:
        """The stored spelling of a topic that has articles, matched case-insensitively."""
        rows = await self._db.fetchall(
            "SELECT name FROM topics WHERE key = ? AND article_count > 0", (topic_key(name),)
        )
        return str(rows[0][0]) if rows else None

    async def topic_entries(
        self, topic: str, *, min_quality: int = 0, limit: int = 10
    ) -> list[StoryEntry]:
        """Newest articles on a topic, one story once (its best article among these)."""
        rows = await self._db.fetchall(
            f"SELECT {ARTICLE_SELECT} FROM article_topics at"
            " JOIN topics t ON t.id = at.topic_id JOIN articles a ON a.id = at.article_id"
            " WHERE t.key = ? AND COALESCE(at.quality, 0) >= ?"
            " ORDER BY at.published_at DESC, at.article_id DESC LIMIT ?",
            (topic_key(topic), min_quality, limit * 4),
        )
        return await story_entries(self._db, one_per_story(rows, limit))

    async def latest(
        self, *, min_quality: int, limit: int = 10, topic: str | None = None
    ) -> list[StoryEntry]:
        """Newest published articles at or above a quality bar, one story once."""
        if topic is not None:
            rows = await self._db.fetchall(
                f"SELECT {ARTICLE_SELECT} FROM article_topics at"
                " JOIN topics t ON t.id = at.topic_id JOIN articles a ON a.id = at.article_id"
                " WHERE t.key = ? AND COALESCE(at.quality, 0) >= ? AND a.published = 1"
                " ORDER BY at.published_at DESC, at.article_id DESC LIMIT ?",
                (topic_key(topic), min_quality, limit * 4),
            )
        else:
            rows = await self._db.fetchall(
                f"SELECT {ARTICLE_SELECT} FROM articles a INDEXED BY articles_latest"
                " WHERE published = 1 AND from_file = 1 AND COALESCE(quality, 0) >= ?"
                " ORDER BY published_at DESC LIMIT ?",
                (min_quality, limit * 4),
            )
        return await story_entries(self._db, one_per_story(rows, limit))

    async def search(self, text: str, *, limit: int = 10) -> list[StoryEntry]:
        """Full-text search over title, excerpt and provider; best match first. Nothing the
        user types is FTS5 syntax."""
        return await search_entries(self._db, text, limit)

    async def title_choices(self, text: str, *, limit: int = 25) -> list[tuple[int, str]]:
        """(article id, title) for autocomplete by title: articles with a file of their own
        first, then newest first."""
        return await title_matches(self._db, text, limit)

    async def entry(self, article_id: int) -> StoryEntry | None:
        rows = await self._db.fetchall(
            f"SELECT {ARTICLE_SELECT} FROM articles a WHERE id = ?", (article_id,)
        )
        entries = await story_entries(self._db, rows)
        return entries[0] if entries else None

    async def entry_by_url(self, canonical: str) -> StoryEntry | None:
        rows = await self._db.fetchall(
            f"SELECT {ARTICLE_SELECT} FROM articles a WHERE canonical_url = ?", (canonical,)
        )
        entries = await story_entries(self._db, rows)
        return entries[0] if entries else None

    async def related(self, article_id: int, *, limit: int = 20) -> list[StoryEntry]:
        """Articles linked to this one in either direction, one story once, best first."""
        rows = await self._db.fetchall(
            f"SELECT {ARTICLE_SELECT} FROM articles a WHERE a.id IN ("
            " SELECT child_id FROM related WHERE parent_id = ?"
            " UNION SELECT parent_id FROM related WHERE child_id = ?)"
            " AND a.story_id IS NOT (SELECT story_id FROM articles WHERE id = ?)"
            # On a tie, what a file says about itself beats what a related list says.
            " ORDER BY COALESCE(a.quality, -1) DESC, COALESCE(a.heat, -1) DESC,"
            " a.from_file DESC, a.published_at DESC LIMIT ?",
            (article_id, article_id, article_id, limit * 4),
        )
        return await story_entries(self._db, one_per_story(rows, limit))

    async def story_members(self, article_id: int) -> list[StoryEntry]:
        """The story's other articles (the same story told at other URLs)."""
        rows = await self._db.fetchall(
            f"SELECT {ARTICLE_SELECT} FROM articles a WHERE a.story_id ="
            " (SELECT story_id FROM articles WHERE id = ?) AND a.id != ?"
            " ORDER BY COALESCE(a.quality, -1) DESC, a.published_at DESC LIMIT 25",
            (article_id, article_id),
        )
        return await story_entries(self._db, rows, with_also=False)
