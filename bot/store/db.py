"""SQLite connections: one writer and one reader over a WAL database, the pragmas, numbered
migrations (SQL scripts, and Python steps where SQL is not enough), and running work on a
connection's own thread."""

from __future__ import annotations

import asyncio
import functools
import importlib
import importlib.resources
import re
import sqlite3
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar, cast

import aiosqlite

from bot.store.lock import DatabaseLock
from bot.store.plain import PRAGMAS, transaction

T = TypeVar("T")
Row = tuple[Any, ...]  # a result row, as sqlite3 returns it (no row factory)


class Database:
    """One writer connection (every write, one at a time, on its thread) and one reader
    connection (query_only) over a WAL database; with ``lock``, the database's lock
    (bot.store.lock), held until close."""

    def __init__(
        self,
        path: Path,
        writer: aiosqlite.Connection,
        reader: aiosqlite.Connection,
        lock: DatabaseLock | None = None,
    ):
        self.path = path
        self._writer = writer
        self._reader = reader
        self._lock = lock
        self._closing: asyncio.Future[None] | None = None

    @classmethod
    async def open(cls, path: Path, *, exclusive: bool = False) -> Database:
        """Open both connections, migrating the database first. ``exclusive``: take the
        database's lock before anything touches the file (DatabaseInUse when another process
        holds it)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        lock = DatabaseLock.acquire(path) if exclusive else None
        try:
            writer, reader = await _connect(path)
        except BaseException:
            if lock is not None:
                lock.release()
            raise
        return cls(path, writer, reader, lock)

    async def close(self) -> None:
        """Idempotent and safe to call from two tasks at once: every caller waits for the one
        close (closing an aiosqlite connection twice waits forever on its stopped thread, and
        a connection left open keeps the process from exiting)."""
        if self._closing is None:
            self._closing = asyncio.ensure_future(self._close_connections())
        await asyncio.shield(self._closing)

    async def _close_connections(self) -> None:
        try:
            for conn in (self._reader, self._writer):
                await conn.close()
        finally:
            if self._lock is not None:
                self._lock.release()

    async def read(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """Run a function on the reader connection's thread."""
        return await _on_thread(self._reader, work)

    async def write(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """Run a function on the writer connection's thread inside one transaction."""

        def wrapped(conn: sqlite3.Connection) -> T:
            with transaction(conn):
                return work(conn)

        return await _on_thread(self._writer, wrapped)

    async def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        """Every row of one query on the reader."""
        return await _on_thread(self._reader, lambda conn: conn.execute(sql, params).fetchall())

    async def scalar(self, sql: str, params: Sequence[Any] = ()) -> int:
        """The first column of the first row of one query on the reader, as an int (0: none)."""
        rows = await self.fetchall(sql, params)
        return int(rows[0][0] or 0) if rows else 0

    async def shrink_writer(self) -> None:
        """Free the writer's page cache (refilled by its next writes): after a large ingest it
        holds up to cache_size of pages no reader uses."""
        await _on_thread(self._writer, lambda conn: conn.execute("PRAGMA shrink_memory"))

    async def shrink_reader(self) -> None:
        """Free the reader's page cache (refilled by the next reads): a read of a whole table
        (every file's state) leaves it full of pages no query needs."""
        await _on_thread(self._reader, lambda conn: conn.execute("PRAGMA shrink_memory"))

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        """One statement on the writer, a transaction of its own; returns the rows it changed."""
        return await _on_thread(self._writer, lambda conn: conn.execute(sql, params).rowcount)


async def _connect(path: Path) -> tuple[aiosqlite.Connection, aiosqlite.Connection]:
    """The writer (which migrates the database first) and the reader."""
    writer = await aiosqlite.connect(path, isolation_level=None)
    try:
        await _configure(writer)
        await _on_thread(writer, _migrate)
        reader = await aiosqlite.connect(path, isolation_level=None)
        await _configure(reader)
        await reader.execute("PRAGMA query_only = ON")
    except BaseException:
        await writer.close()
        raise
    return writer, reader


async def _on_thread(conn: aiosqlite.Connection, work: Callable[[sqlite3.Connection], T]) -> T:
    """Run a whole batch on the connection's own thread in one hop (aiosqlite has no public
    call for this; one hop per batch instead of one per statement is what makes ingest fast)."""
    execute = cast(  # aiosqlite's _execute is unannotated: this is the type it has
        Callable[[Callable[[sqlite3.Connection], T], sqlite3.Connection], Awaitable[T]],
        conn._execute,
    )
    return await execute(work, conn._conn)


async def _configure(conn: aiosqlite.Connection) -> None:
    for pragma in PRAGMAS:
        await conn.execute(pragma)


# -------------------------------------------------------------------- migrations
def migration_scripts() -> list[tuple[int, str]]:
    """The numbered migrations shipped in bot/store/migrations, in order."""
    found = []
    for entry in importlib.resources.files("bot.store.migrations").iterdir():
        match = re.match(r"(\d+)_.*\.sql$", entry.name)
        if match:
            found.append((int(match.group(1)), entry.read_text(encoding="utf-8")))
    return sorted(found)


def split_sql(script: str) -> list[str]:
    """Split a migration into statements (triggers keep their inner semicolons)."""
    statements, current = [], []
    for line in script.splitlines():
        current.append(line)
        candidate = "\n".join(current).strip()
        if candidate and sqlite3.complete_statement(candidate):
            statements.append(candidate)
            current = []
    return [s for s in statements if s.strip(" ;\n")]


def migration_steps() -> list[tuple[int, Callable[[sqlite3.Connection], None]]]:
    """Every numbered migration, in order: the SQL scripts, and the Python steps
    (``NNN_name.py`` with a ``migrate(conn)`` function) for what SQL alone cannot do."""
    steps: list[tuple[int, Callable[[sqlite3.Connection], None]]] = [
        (number, functools.partial(_run_script, sql)) for number, sql in migration_scripts()
    ]
    for entry in importlib.resources.files("bot.store.migrations").iterdir():
        match = re.match(r"(\d+)_\w*\.py$", entry.name)
        if match:
            module = importlib.import_module(f"bot.store.migrations.{entry.name[:-3]}")
            steps.append((int(match.group(1)), module.migrate))
    return sorted(steps, key=lambda step: step[0])


def _run_script(sql: str, conn: sqlite3.Connection) -> None:
    for statement in split_sql(sql):
        conn.execute(statement)


def _migrate(conn: sqlite3.Connection) -> None:
    """Apply numbered migrations, each in one transaction, tracked in PRAGMA user_version."""
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    for number, step in migration_steps():
        if number <= version:
            continue
        with transaction(conn):
            step(conn)
            conn.execute(f"PRAGMA user_version = {int(number)}")
