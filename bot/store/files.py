"""The files table: what the store knows about each article file, and its generation."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from operator import itemgetter

from bot.store.db import Database
from bot.store.records import FileState

FILES_GENERATION = "files_generation"  # meta key: bumped by every write to the files table


class Files:
    """File states for ingest: what was read, at which generation, and touches."""

    def __init__(self, db: Database):
        self._db = db

    async def states(self) -> tuple[int, dict[str, FileState]]:
        """Every known file by path, and the files generation they were read at (one snapshot)."""

        def work(conn: sqlite3.Connection) -> tuple[int, dict[str, FileState]]:
            conn.execute("BEGIN")
            try:
                generation = files_generation(conn)
                rows: list[FileState] = conn.execute(
                    "SELECT path, size, mtime_ns,"
                    " CASE WHEN status = 'rejected' THEN coalesce(error, '') END FROM files"
                ).fetchall()
            finally:
                conn.execute("COMMIT")
            # zip/map/itemgetter keep the 100k-row loop in C.
            return generation, dict(zip(map(itemgetter(0), rows), rows, strict=True))

        return await self._db.read(work)

    async def generation(self) -> int:
        """A counter every write to the files table bumps, in the same transaction (any
        process): while it stands still, what states() returned is still true."""
        return await self._db.read(files_generation)

    async def hashes(self, paths: Sequence[str]) -> dict[str, str]:
        """The stored content hash of each of these paths that is known."""

        def work(conn: sqlite3.Connection) -> dict[str, str]:
            found: dict[str, str] = {}
            for i in range(0, len(paths), 500):
                part = paths[i : i + 500]
                marks = ",".join("?" * len(part))
                sql = f"SELECT path, hash FROM files WHERE path IN ({marks})"
                found.update(conn.execute(sql, part).fetchall())
            return found

        return await self._db.read(work) if paths else {}

    async def touch(self, records: Iterable[tuple[str, int, int]], now: float) -> None:
        """Files (path, size, mtime_ns) whose content hash is unchanged but whose size or
        mtime moved."""
        rows = [(size, mtime, now, path) for path, size, mtime in records]
        if not rows:
            return

        def work(conn: sqlite3.Connection) -> None:
            conn.executemany(
                "UPDATE files SET size = ?, mtime_ns = ?, seen_at = ? WHERE path = ?", rows
            )
            bump_files_generation(conn)

        await self._db.write(work)


def files_generation(conn: sqlite3.Connection) -> int:
    row = conn.execute("SELECT value FROM meta WHERE key = ?", (FILES_GENERATION,)).fetchone()
    return int(row[0]) if row else 0


def bump_files_generation(conn: sqlite3.Connection) -> None:
    """Called in every transaction that writes the files table."""
    conn.execute(
        "INSERT INTO meta (key, value) VALUES (?, 1)"
        " ON CONFLICT (key) DO UPDATE SET value = CAST(value AS INTEGER) + 1",
        (FILES_GENERATION,),
    )
