"""PostgreSQL connections: an asyncpg pool, numbered migrations applied under an advisory lock,
and the transactions the areas run in.

Every write that can take a change sequence value runs under one transaction-level advisory
lock (``WRITE_LOCK``), so writes that stamp articles commit in sequence order, as SQLite's
BEGIN IMMEDIATE serialises them: a reader that sees value N sees every article stamped N or
lower. Reads that must agree with each other run in one REPEATABLE READ snapshot.
"""

from __future__ import annotations

import asyncio
import importlib.resources
import re
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

import asyncpg

from bot.config.model import masked_url
from bot.store.interface import DatabaseUnavailable

# Advisory lock keys of this bot (one 64-bit key space per database, shared by every client).
MIGRATION_LOCK = 0x6E657773_626F7401  # held while a process migrates the schema
WRITE_LOCK = 0x6E657773_626F7402  # held by each write transaction of the article data
MIGRATION_TIMEOUT = 3600.0  # seconds one migration may take

Row = tuple[Any, ...]


class PgDatabase:
    """A pool of connections to one PostgreSQL database, migrated when opened."""

    def __init__(self, pool: asyncpg.Pool, shown_url: str):
        self._pool = pool
        self.shown_url = shown_url
        self._closing: asyncio.Future[None] | None = None

    @classmethod
    async def open(cls, url: str, *, min_size: int = 1, max_size: int = 8) -> PgDatabase:
        """Connect and migrate; DatabaseUnavailable (password masked) when that fails."""
        shown = masked_url(url)
        try:
            pool = await asyncpg.create_pool(
                url,
                min_size=min_size,
                max_size=max_size,
                command_timeout=60,
                # JIT compiling a query costs 10-50 ms: more than any query of the bot takes
                server_settings={"jit": "off", "application_name": "newsbot"},
            )
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            raise DatabaseUnavailable(
                f"cannot connect to {shown}: {_without(str(exc), url)}"
            ) from None
        try:
            async with pool.acquire() as conn:
                await migrate(conn)
        except BaseException:
            await pool.close()
            raise
        return cls(pool, shown)

    async def close(self) -> None:
        """Idempotent and safe to call from two tasks at once: every caller waits for the one
        close (as bot.store.db.Database.close)."""
        if self._closing is None:
            self._closing = asyncio.ensure_future(self._pool.close())
        await asyncio.shield(self._closing)

    async def fetch(self, sql: str, *args: Any) -> list[Row]:
        """Every row of one query, as tuples."""
        async with self._pool.acquire() as conn:
            return [tuple(r) for r in await conn.fetch(sql, *args)]

    async def scalar(self, sql: str, *args: Any) -> int:
        """The first column of the first row as an int (0: none or NULL)."""
        async with self._pool.acquire() as conn:
            value = await conn.fetchval(sql, *args)
        return int(value or 0)

    async def execute(self, sql: str, *args: Any) -> int:
        """One statement in a transaction of its own; returns the rows it changed."""
        async with self._pool.acquire() as conn:
            return affected(await conn.execute(sql, *args))

    @asynccontextmanager
    async def transaction(self, *, ordered: bool = False) -> AsyncIterator[asyncpg.Connection]:
        """One read-write transaction; ``ordered``: under WRITE_LOCK (it may take a change
        sequence value, or must see every value taken before it)."""
        async with self._pool.acquire() as conn, conn.transaction():
            if ordered:
                await conn.execute("SELECT pg_advisory_xact_lock($1)", WRITE_LOCK)
            yield conn

    @asynccontextmanager
    async def snapshot(self) -> AsyncIterator[asyncpg.Connection]:
        """One read-only REPEATABLE READ transaction: every query sees the same data."""
        async with (
            self._pool.acquire() as conn,
            conn.transaction(isolation="repeatable_read", readonly=True),
        ):
            yield conn


def affected(status: str) -> int:
    """The row count of a command status ('UPDATE 3', 'INSERT 0 1', 'DELETE 0')."""
    last = status.rsplit(" ", 1)[-1]
    return int(last) if last.isdigit() else 0


def _without(message: str, url: str) -> str:
    """An error message with the URL, if it quotes it, masked (asyncpg does not, but a
    driver's message is not ours to trust)."""
    return message.replace(url, masked_url(url))


# -------------------------------------------------------------------- migrations
def migration_scripts() -> list[tuple[int, str]]:
    """The numbered migrations shipped in bot/store/postgres/migrations, in order."""
    found = []
    for entry in importlib.resources.files("bot.store.postgres.migrations").iterdir():
        match = re.match(r"(\d+)_.*\.sql$", entry.name)
        if match:
            found.append((int(match.group(1)), entry.read_text(encoding="utf-8")))
    return sorted(found)


async def migrate(conn: asyncpg.Connection) -> int:
    """Apply the migrations not applied yet, each in one transaction, under MIGRATION_LOCK so
    that processes starting together migrate once; returns the schema version."""
    await conn.execute("SELECT pg_advisory_lock($1)", MIGRATION_LOCK)
    try:
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_version"
            " (version INTEGER PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())"
        )
        version = int(await conn.fetchval("SELECT COALESCE(max(version), 0) FROM schema_version"))
        for number, script in migration_scripts():
            if number <= version:
                continue
            async with conn.transaction():
                # an index build over a large table takes minutes, not a query's 60 s
                await conn.execute(script, timeout=MIGRATION_TIMEOUT)
                await conn.execute("INSERT INTO schema_version (version) VALUES ($1)", number)
            version = number
        return version
    finally:
        await conn.execute("SELECT pg_advisory_unlock($1)", MIGRATION_LOCK)


async def executemany(conn: asyncpg.Connection, sql: str, rows: Sequence[Sequence[Any]]) -> None:
    """executemany that skips an empty list."""
    if rows:
        await conn.executemany(sql, rows)
