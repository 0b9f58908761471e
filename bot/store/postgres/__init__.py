"""The PostgreSQL store (DESIGN §9): the same interface and the same answers as the SQLite
store (bot.store), over an asyncpg pool, with its own numbered migrations
(bot/store/postgres/migrations/NNN_name.sql).

    store = await PostgresStore.open("postgresql://user:pass@host:5432/newsbot")
"""

from __future__ import annotations

from bot.store.interface import DatabaseUnavailable
from bot.store.postgres.db import PgDatabase
from bot.store.postgres.digests import PgDigests
from bot.store.postgres.feeds import PgFeeds
from bot.store.postgres.files import PgFiles
from bot.store.postgres.read import PgReads
from bot.store.postgres.write import PgArticleWriter
from bot.store.records import StoreStatus

__all__ = ["DatabaseUnavailable", "PgDatabase", "PostgresStore"]


class PostgresStore:
    """A pool of connections to one PostgreSQL database, and the areas."""

    backend = "postgresql"

    def __init__(self, db: PgDatabase):
        self.database = db  # for what needs PostgreSQL itself (advisory locks of shards)
        self.files = PgFiles(db)
        self.articles = PgArticleWriter(db)
        self.reads = PgReads(db)
        self.digests = PgDigests(db)
        self.feeds = PgFeeds(db)

    @classmethod
    async def open(cls, url: str) -> PostgresStore:
        """Connect to ``url`` and migrate; DatabaseUnavailable (password masked) when that
        fails."""
        return cls(await PgDatabase.open(url))

    @property
    def shown_url(self) -> str:
        """The URL with its password masked."""
        return self.database.shown_url

    async def close(self) -> None:
        """Idempotent, and safe to call from two tasks at once."""
        await self.database.close()

    async def __aenter__(self) -> PostgresStore:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def release_memory(self) -> None:
        """Nothing to give back: the server keeps the page cache, not this process."""

    async def status(self) -> StoreStatus:
        db = self.database
        async with db.snapshot() as conn:
            rejected = await conn.fetch(
                "SELECT path, coalesce(error, '') FROM files WHERE status = 'rejected'"
                " ORDER BY path"
            )
            counts = await conn.fetchrow(
                "SELECT (SELECT count(*) FROM articles WHERE gone = 0),"
                " (SELECT count(DISTINCT story_id) FROM articles WHERE gone = 0),"
                " (SELECT count(*) FROM topics WHERE article_count > 0),"
                " (SELECT count(*) FROM files),"
                " (SELECT count(*) FROM articles WHERE gone = 1),"
                " (SELECT count(*) FROM subscriptions),"
                " (SELECT value FROM meta WHERE key = 'last_ingest_at'),"
                " (SELECT count(*) FROM subscriptions"
                " WHERE paused = 0 AND consecutive_failures > 0),"
                " (SELECT count(*) FROM subscriptions WHERE paused = 1),"
                " (SELECT count(*) FROM feeds),"
                " (SELECT count(*) FROM feeds WHERE failures > 0 OR disabled_reason IS NOT NULL)"
            )
        (
            articles, stories, topics, files, gone, subscriptions, last_ingest_at,
            failing, paused, feeds, failing_feeds,
        ) = counts  # fmt: skip
        return StoreStatus(
            articles=int(articles),
            stories=int(stories),
            topics=int(topics),
            files=int(files),
            rejected_files=tuple((str(path), str(reason)) for path, reason in rejected),
            gone_files=int(gone),
            subscriptions=int(subscriptions),
            last_ingest_at=last_ingest_at,
            failing_subscriptions=int(failing),
            paused_subscriptions=int(paused),
            feeds=int(feeds),
            failing_feeds=int(failing_feeds),
        )

    async def get_meta(self, key: str) -> str | None:
        rows = await self.database.fetch("SELECT value FROM meta WHERE key = $1", key)
        return str(rows[0][0]) if rows else None

    async def set_meta(self, key: str, value: str) -> None:
        await self.database.execute(
            "INSERT INTO meta (key, value) VALUES ($1, $2)"
            " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            key,
            value,
        )
