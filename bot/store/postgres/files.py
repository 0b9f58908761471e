"""The files table in PostgreSQL (bot.store.files): file states, the files generation, touches
and removals."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from operator import itemgetter

import asyncpg

from bot.articles import PARSER_VERSION
from bot.store.files import FILES_GENERATION, STALE_SIZE, UNREAD_TOO_LARGE
from bot.store.postgres.db import PgDatabase
from bot.store.postgres.gone import mark_gone
from bot.store.records import FileState


class PgFiles:
    """File states for ingest: what was read, at which generation, and touches."""

    def __init__(self, db: PgDatabase):
        self._db = db

    async def states(
        self, *, parser_version: int = PARSER_VERSION, max_file_bytes: int | None = None
    ) -> tuple[int, dict[str, FileState]]:
        """Every known file by path, and the files generation they were read at (one snapshot);
        see bot.store.files.Files.states."""
        limit = -1 if max_file_bytes is None else max_file_bytes
        async with self._db.snapshot() as conn:
            generation = await files_generation(conn)
            records = await conn.fetch(
                "SELECT path, CASE WHEN parser_version = $1"
                " OR (parser_version = $2 AND size > $3) THEN size ELSE $4 END, mtime_ns,"
                " CASE WHEN status = 'rejected' THEN coalesce(error, '') END FROM files",
                parser_version,
                UNREAD_TOO_LARGE,
                limit,
                STALE_SIZE,
            )
        rows: list[FileState] = [tuple(r) for r in records]
        return generation, dict(zip(map(itemgetter(0), rows), rows, strict=True))

    async def generation(self) -> int:
        """A counter every write to the files table bumps, in the same transaction."""
        async with self._db.snapshot() as conn:
            return await files_generation(conn)

    async def hashes(
        self, paths: Sequence[str], *, parser_version: int = PARSER_VERSION
    ) -> dict[str, str]:
        """The stored content hash of each known path parsed by ``parser_version``."""
        if not paths:
            return {}
        rows = await self._db.fetch(
            "SELECT path, hash FROM files WHERE parser_version = $1 AND path = ANY ($2::text[])",
            parser_version,
            list(paths),
        )
        return {str(path): str(hash_) for path, hash_ in rows}

    async def touch(self, records: Iterable[tuple[str, int, int]], now: float) -> None:
        """Files (path, size, mtime_ns) whose content hash is unchanged but whose size or
        mtime moved."""
        rows = [(size, mtime, now, path) for path, size, mtime in records]
        if not rows:
            return
        async with self._db.transaction() as conn:
            await conn.executemany(
                "UPDATE files SET size = $1, mtime_ns = $2, seen_at = $3 WHERE path = $4", rows
            )
            await bump_files_generation(conn)

    async def remove(self, paths: Sequence[str]) -> int:
        """Forget files deleted from disk; the article of each is gone unless another file
        still holds it. Returns how many articles went."""
        if not paths:
            return 0
        async with self._db.transaction(ordered=True) as conn:
            deleted = await conn.fetch(
                "DELETE FROM files WHERE path = ANY ($1::text[]) RETURNING article_id", list(paths)
            )
            article_ids = {r[0] for r in deleted if r[0] is not None}
            held = await conn.fetch(
                "SELECT DISTINCT article_id FROM files WHERE article_id = ANY ($1::bigint[])",
                sorted(article_ids),
            )
            article_ids.difference_update(r[0] for r in held)
            await bump_files_generation(conn)
            return await mark_gone(conn, sorted(article_ids))


async def files_generation(conn: asyncpg.Connection) -> int:
    value = await conn.fetchval("SELECT value FROM meta WHERE key = $1", FILES_GENERATION)
    return int(value) if value is not None else 0


async def bump_files_generation(conn: asyncpg.Connection) -> None:
    """Called in every transaction that writes the files table."""
    await conn.execute(
        "INSERT INTO meta (key, value) VALUES ($1, '1')"
        " ON CONFLICT (key) DO UPDATE SET value = (meta.value::bigint + 1)::text",
        FILES_GENERATION,
    )
