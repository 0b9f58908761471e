"""The files table: what the store knows about each article file, and its generation."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Sequence
from operator import itemgetter
from typing import TYPE_CHECKING

from bot.articles import PARSER_VERSION
from bot.store.gone import mark_gone

if TYPE_CHECKING:  # types only: bot.ingest.unchanged reads states without aiosqlite
    from bot.store.db import Database
    from bot.store.records import FileState

FILES_GENERATION = "files_generation"  # meta key: bumped by every write to the files table
# meta key: what the walk of the last complete ingest saw, valid at the files generation it
# names (bot.ingest.fingerprint; opaque here)
TREE_FINGERPRINT = "tree_fingerprint"
# files.parser_version of a file rejected by its size alone, never parsed: it is read again once
# the size limit allows its size (a raised [ingest] max_file_bytes takes effect).
UNREAD_TOO_LARGE = -1
# The size a state reports for a file that must be read again whatever its size and mtime: no
# file on disk has it, so the walk sees a change.
STALE_SIZE = -1


class Files:
    """File states for ingest: what was read, at which generation, and touches."""

    def __init__(self, db: Database):
        self._db = db

    async def states(
        self, *, parser_version: int = PARSER_VERSION, max_file_bytes: int | None = None
    ) -> tuple[int, dict[str, FileState]]:
        """Every known file by path, and the files generation they were read at (one snapshot).

        A file read by another parser version, or rejected as too large when
        ``max_file_bytes`` now allows its size, has size STALE_SIZE: the walk reads it again."""

        def work(conn: sqlite3.Connection) -> tuple[int, dict[str, FileState]]:
            return file_states(conn, parser_version, max_file_bytes)

        return await self._db.read(work)

    async def generation(self) -> int:
        """A counter every write to the files table bumps, in the same transaction (any
        process): while it stands still, what states() returned is still true."""
        return await self._db.read(files_generation)

    async def hashes(
        self, paths: Sequence[str], *, parser_version: int = PARSER_VERSION
    ) -> dict[str, str]:
        """The stored content hash of each of these paths that is known and was parsed by
        ``parser_version`` (the same bytes read by another version are not the same file)."""

        def work(conn: sqlite3.Connection) -> dict[str, str]:
            return stored_hashes(conn, paths, parser_version)

        return await self._db.read(work) if paths else {}

    async def stamp_fingerprint(self, fingerprint: str, generation: int) -> bool:
        """Store the tree fingerprint of an ingest that left the files table at ``generation``;
        False, and nothing written, when another writer has moved the generation since."""
        return await self._db.write(lambda conn: stamp_fingerprint(conn, fingerprint, generation))

    async def touch(self, records: Iterable[tuple[str, int, int]], now: float) -> None:
        """Files (path, size, mtime_ns) whose content hash is unchanged but whose size or
        mtime moved."""
        rows = list(records)
        if rows:
            await self._db.write(lambda conn: touch_files(conn, rows, now))

    async def remove(self, paths: Sequence[str]) -> int:
        """Forget files deleted from disk; the article of each is gone (out of lists, search,
        autocomplete and digests; kept in the ledger) unless another file still holds it.
        Returns how many articles went."""
        if not paths:
            return 0

        def work(conn: sqlite3.Connection) -> int:
            # json_each: one statement whatever the count (no bound-variable limit), and one
            # scan of files (article_id has no index) for the articles another file holds
            listed = json.dumps(list(paths))
            article_ids = {
                article_id
                for (article_id,) in conn.execute(
                    "DELETE FROM files WHERE path IN (SELECT value FROM json_each(?))"
                    " RETURNING article_id",
                    (listed,),
                )
                if article_id is not None
            }
            held = conn.execute(
                "SELECT DISTINCT article_id FROM files"
                " WHERE article_id IN (SELECT value FROM json_each(?))",
                (json.dumps(sorted(article_ids)),),
            )
            article_ids.difference_update(article_id for (article_id,) in held)
            bump_files_generation(conn)
            return mark_gone(conn, sorted(article_ids))

        return await self._db.write(work)


def file_states(
    conn: sqlite3.Connection, parser_version: int, max_file_bytes: int | None
) -> tuple[int, dict[str, FileState]]:
    """Files.states on a connection (a cold `newsbot ingest` reads them without the loop)."""
    limit = -1 if max_file_bytes is None else max_file_bytes
    conn.execute("BEGIN")
    try:
        generation = files_generation(conn)
        rows: list[FileState] = conn.execute(
            "SELECT path, CASE WHEN parser_version = ?"
            " OR (parser_version = ? AND size > ?) THEN size ELSE ? END, mtime_ns,"
            " CASE WHEN status = 'rejected' THEN coalesce(error, '') END FROM files",
            (parser_version, UNREAD_TOO_LARGE, limit, STALE_SIZE),
        ).fetchall()
    finally:
        conn.execute("COMMIT")
    # zip/map/itemgetter keep the 100k-row loop in C.
    return generation, dict(zip(map(itemgetter(0), rows), rows, strict=True))


def stored_hashes(
    conn: sqlite3.Connection, paths: Sequence[str], parser_version: int
) -> dict[str, str]:
    """Files.hashes on a connection (an ingest's writer process calls it directly)."""
    # json_each: one statement text whatever the count (see write._prefetch)
    rows = conn.execute(
        "SELECT path, hash FROM files WHERE parser_version = ?"
        " AND path IN (SELECT value FROM json_each(?))",
        (parser_version, json.dumps(list(paths), ensure_ascii=False)),
    ).fetchall()
    return dict(rows)


def touch_files(
    conn: sqlite3.Connection, records: Iterable[tuple[str, int, int]], now: float
) -> None:
    """Files.touch in the caller's transaction."""
    conn.executemany(
        "UPDATE files SET size = ?, mtime_ns = ?, seen_at = ? WHERE path = ?",
        [(size, mtime, now, path) for path, size, mtime in records],
    )
    bump_files_generation(conn)


def files_generation(conn: sqlite3.Connection) -> int:
    row = conn.execute("SELECT value FROM meta WHERE key = ?", (FILES_GENERATION,)).fetchone()
    return int(row[0]) if row else 0


def stamped_fingerprint(conn: sqlite3.Connection) -> tuple[int, str | None]:
    """The files generation and the stored tree fingerprint, read together (one snapshot)."""
    generation, fingerprint = conn.execute(
        "SELECT (SELECT value FROM meta WHERE key = ?), (SELECT value FROM meta WHERE key = ?)",
        (FILES_GENERATION, TREE_FINGERPRINT),
    ).fetchone()
    return (0 if generation is None else int(generation)), fingerprint


def stamp_fingerprint(conn: sqlite3.Connection, fingerprint: str, generation: int) -> bool:
    """Files.stamp_fingerprint in the caller's transaction."""
    if files_generation(conn) != generation:
        return False
    conn.execute(
        "INSERT INTO meta (key, value) VALUES (?, ?)"
        " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        (TREE_FINGERPRINT, fingerprint),
    )
    return True


def bump_files_generation(conn: sqlite3.Connection) -> None:
    """Called in every transaction that writes the files table."""
    conn.execute(
        "INSERT INTO meta (key, value) VALUES (?, 1)"
        " ON CONFLICT (key) DO UPDATE SET value = CAST(value AS INTEGER) + 1",
        (FILES_GENERATION,),
    )
