"""`newsbot db copy SOURCE TARGET`: a whole database from one store to another (SQLite or
PostgreSQL, either way), every table of ``tables.COPIED_TABLES``, ids kept, in batches.

The target ends up holding exactly the source's rows, read from one snapshot of the source (a
bot may keep running on it). The target must be empty, or a copy this command made that
nothing has written to since (the row counts the copy left are recorded in its meta under
``COPY_MARK``); anything else is refused unless ``replace``. So running the copy twice leaves
the same target, and a copy never silently overwrites a database a bot has used since: its
delivery ledger is what keeps digests from posting twice.
"""

from __future__ import annotations

import asyncio
import functools
import json
import os
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TypeVar
from urllib.parse import urlsplit

from bot.store.db import Database
from bot.store.lock import DatabaseInUse, DatabaseLock
from bot.store.tables import COPIED_TABLES, DERIVED_TABLES

__all__ = [
    "BATCH_ROWS",
    "COPY_MARK",
    "CopyEnd",
    "CopyRefused",
    "CopyReport",
    "CopyWriter",
    "SqliteEnd",
    "copy_database",
    "is_database_url",
    "same_database",
]

COPY_MARK = "db_copy"  # meta key of a copy's target: JSON {"source": label, "counts": {...}}
BATCH_ROWS = 5000  # rows read and written at a time: memory stays bounded at any size
Batch = list[tuple[Any, ...]]
Progress = Callable[[int, int], None]
T = TypeVar("T")


class CopyRefused(Exception):
    """The copy cannot be made as asked; str(exc) says why and what to do. Nothing was
    written to the target."""


class CopyWriter(Protocol):
    """Writes to the target, inside the one transaction of ``CopyEnd.write``."""

    async def clear(self, tables: Sequence[str]) -> None: ...

    async def insert(self, table: str, columns: Sequence[str], rows: Batch) -> None: ...


class CopyEnd(Protocol):
    """One side of a copy (a source or a target)."""

    label: str  # for messages: a path, or a URL with its password masked

    async def columns(self) -> dict[str, tuple[str, ...]]:
        """Table -> its columns, for the tables of COPIED_TABLES this database has."""
        ...

    def snapshot(self) -> AbstractAsyncContextManager[None]:
        """Reads inside see one consistent state of the database."""
        ...

    async def count(self, table: str) -> int: ...

    def batches(self, table: str, columns: Sequence[str], size: int) -> AsyncIterator[Batch]:
        """The table's rows, ``size`` at a time."""
        ...

    async def get_meta(self, key: str) -> str | None: ...

    async def write(self, work: Callable[[CopyWriter], Awaitable[None]]) -> None:
        """Run ``work`` in one transaction, then rebuild what is derived (full-text indexes,
        sequences past the copied ids) and commit; nothing is kept when it raises."""
        ...

    async def close(self) -> None: ...


@dataclass(frozen=True, slots=True)
class CopyReport:
    rows: dict[str, int]  # table -> rows copied

    @property
    def total(self) -> int:
        return sum(self.rows.values())


def is_database_url(spec: str) -> bool:
    """Whether a SOURCE/TARGET is a URL (``scheme://...``) rather than a SQLite path."""
    return "://" in spec


async def copy_database(
    source: CopyEnd, target: CopyEnd, *, replace: bool = False, progress: Progress | None = None
) -> CopyReport:
    """Make ``target`` hold exactly what ``source`` holds (see the module's docstring)."""
    source_columns = await source.columns()
    target_columns = await target.columns()
    async with source.snapshot():
        counts = {table: await source.count(table) for table in source_columns}
        tables = _tables_to_copy(source, target, source_columns, target_columns, counts)
        await _check_target(source, target, target_columns, replace=replace)
        total = sum(counts[table] for table in tables)
        done = 0

        async def work(writer: CopyWriter) -> None:
            nonlocal done
            await writer.clear([t for t in reversed(COPIED_TABLES) if t in target_columns])
            for table, columns in tables.items():
                async for read in source.batches(table, columns, BATCH_ROWS):
                    batch = read
                    if table == "meta":  # the source's own mark, if it was a copy, stays behind
                        batch = [row for row in read if row[columns.index("key")] != COPY_MARK]
                    await writer.insert(table, columns, batch)
                    done += len(read)
                    if progress is not None:
                        progress(done, total)
            mark = {"source": source.label, "counts": _data_counts(counts)}
            await writer.insert("meta", ("key", "value"), [(COPY_MARK, json.dumps(mark))])

        await target.write(work)
    return CopyReport({table: counts[table] for table in tables})


def _data_counts(counts: dict[str, int]) -> dict[str, int]:
    """Row counts of the tables a bot writes to (meta changes without meaning anything)."""
    return {table: n for table, n in sorted(counts.items()) if table != "meta"}


def _tables_to_copy(
    source: CopyEnd,
    target: CopyEnd,
    source_columns: dict[str, tuple[str, ...]],
    target_columns: dict[str, tuple[str, ...]],
    counts: dict[str, int],
) -> dict[str, tuple[str, ...]]:
    """Table -> the columns to copy; CopyRefused when the target cannot hold a source's row."""
    tables: dict[str, tuple[str, ...]] = {}
    for table in COPIED_TABLES:
        if table not in source_columns:
            continue  # an older source: nothing of it to copy
        if table not in target_columns:
            if counts[table]:
                raise CopyRefused(
                    f"{target.label} has no table {table} (an older newsbot?);"
                    f" {source.label} holds {counts[table]} rows of it"
                )
            continue
        missing = [c for c in source_columns[table] if c not in target_columns[table]]
        if missing and counts[table]:
            raise CopyRefused(
                f"{target.label} has no column {table}.{missing[0]} (an older newsbot?);"
                f" upgrade the newsbot that owns it first"
            )
        tables[table] = tuple(c for c in source_columns[table] if c in target_columns[table])
    return tables


async def _check_target(
    source: CopyEnd,
    target: CopyEnd,
    target_columns: dict[str, tuple[str, ...]],
    *,
    replace: bool,
) -> None:
    """The target is empty, or this source's unchanged copy, or ``replace`` was given."""
    if replace:
        return
    counts = {table: await target.count(table) for table in target_columns}
    data = _data_counts(counts)
    if not any(data.values()):
        return
    raw = await target.get_meta(COPY_MARK)
    mark: dict[str, Any] = {}
    if raw is not None:
        try:
            mark = json.loads(raw)
        except ValueError:
            mark = {}
    summary = f"{data.get('articles', 0)} articles, {data.get('deliveries', 0)} deliveries"
    if mark.get("source") != source.label:
        raise CopyRefused(
            f"{target.label} already holds a database ({summary}) that is not a copy of"
            f" {source.label}; give an empty target, or add --replace to overwrite it"
        )
    if mark.get("counts") != data:
        raise CopyRefused(
            f"{target.label} was copied from {source.label} but has been written to since"
            f" ({summary}); a bot may be using it. Add --replace to overwrite it anyway"
        )


# --------------------------------------------------------------------------- SQLite


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


class SqliteEnd:
    """A SQLite database as a copy's source or target. A target is created (and migrated)
    when missing, and locked like a running bot's database while the copy writes it."""

    def __init__(self, path: Path, conn: sqlite3.Connection, lock: DatabaseLock | None):
        self.path = path
        self.label = str(path)
        self._conn = conn
        self._lock = lock

    @classmethod
    async def open(cls, path: Path, *, target: bool) -> SqliteEnd:
        path = await asyncio.to_thread(_real_path, path)
        if not target and not await asyncio.to_thread(path.is_file):
            raise CopyRefused(f"{path}: no such database file")
        lock = None
        if target:
            try:
                lock = DatabaseLock.acquire(path)
            except DatabaseInUse as exc:
                raise CopyRefused(
                    f"{path} is in use by a running bot ({exc}); stop it before copying into it"
                ) from None
        try:
            db = await Database.open(path)  # creates and migrates, like every newsbot command
            await db.close()
            conn = await asyncio.to_thread(_connect, path)
        except BaseException:
            if lock is not None:
                lock.release()
            raise
        return cls(path, conn, lock)

    async def close(self) -> None:
        await asyncio.to_thread(self._conn.close)
        if self._lock is not None:
            self._lock.release()

    async def _run(self, work: Callable[[], T]) -> T:
        return await asyncio.to_thread(work)

    async def columns(self) -> dict[str, tuple[str, ...]]:
        def work() -> dict[str, tuple[str, ...]]:
            found = {}
            for table in COPIED_TABLES:
                rows = self._conn.execute(f"PRAGMA table_info({_quote(table)})").fetchall()
                if rows:
                    found[table] = tuple(str(row[1]) for row in rows)
            return found

        return await self._run(work)

    @asynccontextmanager
    async def snapshot(self) -> AsyncIterator[None]:
        await self._run(lambda: self._conn.execute("BEGIN"))
        try:
            yield
        finally:
            if self._conn.in_transaction:
                await self._run(lambda: self._conn.execute("ROLLBACK"))

    async def count(self, table: str) -> int:
        row = await self._run(
            lambda: self._conn.execute(f"SELECT count(*) FROM {_quote(table)}").fetchone()
        )
        return int(row[0])

    async def batches(self, table: str, columns: Sequence[str], size: int) -> AsyncIterator[Batch]:
        names = ", ".join(map(_quote, columns))
        cursor = await self._run(lambda: self._conn.execute(f"SELECT {names} FROM {_quote(table)}"))
        try:
            while batch := await self._run(lambda: cursor.fetchmany(size)):
                yield batch
        finally:
            cursor.close()

    async def get_meta(self, key: str) -> str | None:
        row = await self._run(
            lambda: self._conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        )
        return None if row is None else str(row[0])

    async def write(self, work: Callable[[CopyWriter], Awaitable[None]]) -> None:
        conn = self._conn
        await self._run(lambda: conn.execute("BEGIN IMMEDIATE"))
        try:
            await work(_SqliteWriter(self))
            await self._run(self._rebuild_derived)
        except BaseException:
            await self._run(lambda: conn.execute("ROLLBACK"))
            raise
        await self._run(lambda: conn.execute("COMMIT"))

    def _rebuild_derived(self) -> None:
        """The full-text indexes (DERIVED_TABLES), as the write path keeps them: every article
        that is not gone (bot.store.gone)."""
        conn = self._conn
        for table in DERIVED_TABLES:
            conn.execute(f"INSERT INTO {_quote(table)} ({_quote(table)}) VALUES ('delete-all')")
        conn.execute(
            "INSERT INTO articles_fts (rowid, title, excerpt, provider)"
            " SELECT id, title, excerpt, provider_name FROM articles WHERE gone = 0 ORDER BY id"
        )
        conn.execute(
            "INSERT INTO titles_fts (rowid, title)"
            " SELECT id, title FROM articles WHERE gone = 0 ORDER BY id"
        )


class _SqliteWriter:
    def __init__(self, end: SqliteEnd):
        self._end = end

    async def clear(self, tables: Sequence[str]) -> None:
        conn = self._end._conn
        for table in tables:
            await self._end._run(functools.partial(conn.execute, f"DELETE FROM {_quote(table)}"))

    async def insert(self, table: str, columns: Sequence[str], rows: Batch) -> None:
        names = ", ".join(map(_quote, columns))
        marks = ", ".join("?" * len(columns))
        sql = f"INSERT INTO {_quote(table)} ({names}) VALUES ({marks})"
        conn = self._end._conn
        await self._end._run(lambda: conn.executemany(sql, rows))


def _real_path(path: Path) -> Path:
    return Path(os.path.realpath(path.expanduser()))


def _connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA busy_timeout = 10000")
    conn.execute("PRAGMA journal_mode = WAL")
    return conn


def same_database(source: str, target: str) -> bool:
    """Whether two SOURCE/TARGET specs name one database (a path by its real file; a URL by
    host, port and database name)."""
    if is_database_url(source) != is_database_url(target):
        return False
    if not is_database_url(source):
        real = [os.path.realpath(Path(spec).expanduser()) for spec in (source, target)]
        return real[0] == real[1]
    parts = [urlsplit(spec) for spec in (source, target)]
    keys = [(p.hostname or "", p.port or 5432, p.path.strip("/")) for p in parts]
    return keys[0] == keys[1]
