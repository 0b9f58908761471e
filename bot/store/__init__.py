"""The store: every SQL statement of the bot, behind one ``Store``.

``Store`` owns the connections and hands out one object per area: ``files`` (file states for
ingest), ``articles`` (the write path), ``reads`` (what /news reads, search included) and
``digests`` (subscriptions, runs, the ledger). The records it accepts and returns live in
``records``, free of SQLite, so another backend can return the same types.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from bot.store.db import Database
from bot.store.digests import Digests
from bot.store.files import UNREAD_TOO_LARGE, Files
from bot.store.lock import DatabaseInUse
from bot.store.prepare import prepare_article
from bot.store.read import Reads
from bot.store.records import (
    BatchCounts,
    DigestCandidate,
    DigestCandidates,
    DigestRunRecord,
    FileRecord,
    FileState,
    PreparedArticle,
    RunConflict,
    RunMessage,
    StoreStatus,
    Subscription,
    SubscriptionSpec,
)
from bot.store.write import ArticleWriter

__all__ = [
    "UNREAD_TOO_LARGE",
    "BatchCounts",
    "DatabaseInUse",
    "DigestCandidate",
    "DigestCandidates",
    "DigestRunRecord",
    "FileRecord",
    "FileState",
    "PreparedArticle",
    "RunConflict",
    "RunMessage",
    "Store",
    "StoreStatus",
    "Subscription",
    "SubscriptionSpec",
    "prepare_article",
]

T = TypeVar("T")


class Store:
    """One writer connection and one reader connection over a WAL database, and the areas."""

    def __init__(self, db: Database):
        self._db = db
        self.path: Path = db.path
        self.files = Files(db)
        self.articles = ArticleWriter(db)
        self.reads = Reads(db)
        self.digests = Digests(db)

    @classmethod
    async def open(cls, path: Path, *, exclusive: bool = False) -> Store:
        """Open (creating and migrating when needed) the database at ``path``. ``exclusive``:
        hold the database's lock until close, so no other exclusive owner can open it
        (DatabaseInUse names the one that holds it)."""
        return cls(await Database.open(path, exclusive=exclusive))

    async def close(self) -> None:
        """Idempotent, and safe to call from two tasks at once."""
        await self._db.close()

    async def release_memory(self) -> None:
        """Give back what a large write left cached (the writer's page cache)."""
        await self._db.shrink_writer()

    async def __aenter__(self) -> Store:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def status(self) -> StoreStatus:
        db = self._db
        rejected = await db.fetchall(
            "SELECT path, coalesce(error, '') FROM files WHERE status = 'rejected' ORDER BY path"
        )
        return StoreStatus(
            articles=await db.scalar("SELECT count(*) FROM articles WHERE gone = 0"),
            stories=await db.scalar("SELECT count(DISTINCT story_id) FROM articles WHERE gone = 0"),
            topics=await db.scalar("SELECT count(*) FROM topics WHERE article_count > 0"),
            files=await db.scalar("SELECT count(*) FROM files"),
            rejected_files=tuple((str(path), str(reason)) for path, reason in rejected),
            gone_files=await db.scalar("SELECT count(*) FROM articles WHERE gone = 1"),
            subscriptions=await self.digests.subscription_count(),
            last_ingest_at=await self.get_meta("last_ingest_at"),
        )

    async def integrity_check(self) -> str:
        rows = await self._db.fetchall("PRAGMA integrity_check")
        return ", ".join(str(result) for (result,) in rows)

    async def get_meta(self, key: str) -> str | None:
        rows = await self._db.fetchall("SELECT value FROM meta WHERE key = ?", (key,))
        return str(rows[0][0]) if rows else None

    async def set_meta(self, key: str, value: str) -> None:
        await self._db.execute(
            "INSERT INTO meta (key, value) VALUES (?, ?)"
            " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (key, value),
        )

    async def run_read(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """Run a function on the reader connection's thread (benchmarks, tests)."""
        return await self._db.read(work)

    async def run_write(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """Run a function on the writer connection's thread inside one transaction."""
        return await self._db.write(work)
