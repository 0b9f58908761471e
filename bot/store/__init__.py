"""The store: every SQL statement of the bot, behind one ``Store``.

``Store`` (SQLite) owns the connections and hands out one object per area: ``files`` (file
states for ingest), ``articles`` (the write path), ``reads`` (what /news reads, search included),
``digests`` (subscriptions, runs, the ledger) and ``feeds`` (each feed's fetch state). The
records it accepts and returns live in ``records``, free of SQLite, so another backend returns
the same types: ``PostgresStore`` (bot.store.postgres) implements the same ``StoreInterface``
(bot.store.interface), and ``open_store`` picks one from ``[database]``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from bot.store.plain import set_meta

if TYPE_CHECKING:
    import sqlite3

    from bot.config.model import DatabaseConfig
    from bot.store.db import Database
    from bot.store.files import UNREAD_TOO_LARGE
    from bot.store.interface import (
        ArticlesArea,
        DatabaseUnavailable,
        DigestsArea,
        FilesArea,
        ReadsArea,
        StoreInterface,
    )
    from bot.store.leader import LeaderLock
    from bot.store.lock import DatabaseInUse
    from bot.store.prepare import prepare_article
    from bot.store.records import (
        BatchCounts,
        DigestCandidate,
        DigestCandidates,
        DigestRunRecord,
        FeedMove,
        FeedState,
        FileRecord,
        FileState,
        PreparedArticle,
        Publication,
        RunConflict,
        RunMessage,
        StoreStatus,
        Subscription,
        SubscriptionSpec,
    )

# Each exported name's module, imported on first use: a cold `newsbot ingest` of an unchanged
# tree reads the files table alone and needs neither the areas nor aiosqlite (~40 ms).
_EXPORTS = {
    "UNREAD_TOO_LARGE": "bot.store.files",
    "DatabaseInUse": "bot.store.lock",
    "LeaderLock": "bot.store.leader",
    "prepare_article": "bot.store.prepare",
    **dict.fromkeys(
        (
            "ArticlesArea",
            "DatabaseUnavailable",
            "DigestsArea",
            "FilesArea",
            "ReadsArea",
            "StoreInterface",
        ),
        "bot.store.interface",
    ),
    **dict.fromkeys(
        (
            "BatchCounts",
            "DigestCandidate",
            "DigestCandidates",
            "DigestRunRecord",
            "FeedMove",
            "FeedState",
            "FileRecord",
            "FileState",
            "PreparedArticle",
            "Publication",
            "RunConflict",
            "RunMessage",
            "StoreStatus",
            "Subscription",
            "SubscriptionSpec",
        ),
        "bot.store.records",
    ),
}

__all__ = [
    "UNREAD_TOO_LARGE",
    "ArticlesArea",
    "BatchCounts",
    "DatabaseInUse",
    "DatabaseUnavailable",
    "DigestCandidate",
    "DigestCandidates",
    "DigestRunRecord",
    "DigestsArea",
    "FeedMove",
    "FeedState",
    "FileRecord",
    "FileState",
    "FilesArea",
    "LeaderLock",
    "PreparedArticle",
    "Publication",
    "ReadsArea",
    "RunConflict",
    "RunMessage",
    "Store",
    "StoreInterface",
    "StoreStatus",
    "Subscription",
    "SubscriptionSpec",
    "leader_lock",
    "open_store",
    "prepare_article",
]

T = TypeVar("T")


class Store:
    """The SQLite store: one writer connection and one reader connection over a WAL database,
    and the areas."""

    backend = "sqlite"

    def __init__(self, db: Database):
        # Imported with the first Store, not with the package (see _EXPORTS).
        from bot.store.digests import Digests
        from bot.store.feeds import Feeds
        from bot.store.files import Files
        from bot.store.read import Reads
        from bot.store.write import ArticleWriter

        self._db = db
        self.path: Path = db.path
        self.files = Files(db)
        self.articles = ArticleWriter(db)
        self.reads = Reads(db)
        self.digests = Digests(db)
        self.feeds = Feeds(db)

    @classmethod
    async def open(cls, path: Path, *, exclusive: bool = False) -> Store:
        """Open (creating and migrating when needed) the database at ``path``. ``exclusive``:
        hold the database's lock until close, so no other exclusive owner can open it
        (DatabaseInUse names the one that holds it)."""
        from bot.store.db import Database

        return cls(await Database.open(path, exclusive=exclusive))

    async def close(self) -> None:
        """Idempotent, and safe to call from two tasks at once."""
        await self._db.close()

    async def release_memory(self) -> None:
        """Give back what a large write or read left cached (both connections' page caches)."""
        await self._db.shrink_writer()
        await self._db.shrink_reader()

    async def __aenter__(self) -> Store:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def status(self) -> StoreStatus:
        from bot.store.records import StoreStatus

        db = self._db
        rejected = await db.fetchall(
            "SELECT path, coalesce(error, '') FROM files WHERE status = 'rejected' ORDER BY path"
        )
        failing, paused = await self.digests.health_counts()
        feeds, failing_feeds = await self.feeds.counts()
        return StoreStatus(
            articles=await db.scalar("SELECT count(*) FROM articles WHERE gone = 0"),
            stories=await db.scalar("SELECT count(DISTINCT story_id) FROM articles WHERE gone = 0"),
            topics=await db.scalar("SELECT count(*) FROM topics WHERE article_count > 0"),
            files=await db.scalar("SELECT count(*) FROM files"),
            rejected_files=tuple((str(path), str(reason)) for path, reason in rejected),
            gone_files=await db.scalar("SELECT count(*) FROM articles WHERE gone = 1"),
            subscriptions=await self.digests.subscription_count(),
            last_ingest_at=await self.get_meta("last_ingest_at"),
            failing_subscriptions=failing,
            paused_subscriptions=paused,
            feeds=feeds,
            failing_feeds=failing_feeds,
        )

    async def integrity_check(self) -> str:
        rows = await self._db.fetchall("PRAGMA integrity_check")
        return ", ".join(str(result) for (result,) in rows)

    async def get_meta(self, key: str) -> str | None:
        rows = await self._db.fetchall("SELECT value FROM meta WHERE key = ?", (key,))
        return str(rows[0][0]) if rows else None

    async def set_meta(self, key: str, value: str) -> None:
        await self._db.write(lambda conn: set_meta(conn, key, value))

    async def run_read(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """Run a function on the reader connection's thread (benchmarks, tests)."""
        return await self._db.read(work)

    async def run_write(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """Run a function on the writer connection's thread inside one transaction."""
        return await self._db.write(work)


async def open_store(database: DatabaseConfig, *, exclusive: bool = False) -> StoreInterface:
    """The store ``[database]`` names: PostgreSQL at ``url`` when it is set (the config gives
    NEWSBOT_DATABASE_URL precedence), else SQLite at ``path``. ``exclusive`` (SQLite): hold
    the database's lock until close; PostgreSQL is shared by design (DESIGN §9), so there it
    changes nothing."""
    if database.url is not None:
        # Imported here: asyncpg is loaded only by those who use PostgreSQL.
        from bot.store.postgres import PostgresStore

        return await PostgresStore.open(database.url)
    return await Store.open(database.path, exclusive=exclusive)


def leader_lock(database: DatabaseConfig) -> LeaderLock:
    """The lock whose holder is the leader among the processes on this database (bot.leader):
    a PostgreSQL advisory lock; on SQLite, where one process has the database, always its."""
    if database.url is not None:
        from bot.store.postgres.leader import PostgresLeaderLock

        return PostgresLeaderLock(database.url)
    from bot.store.leader import SoleLeader

    return SoleLeader()


def __getattr__(name: str) -> object:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    # __import__, not importlib.import_module: only the former shows in `python -X importtime`
    return getattr(__import__(module, fromlist=(name,)), name)
