"""Which store a SOURCE or TARGET of `newsbot db copy` names, opened as a side of the copy
(bot.store.copy)."""

from __future__ import annotations

from pathlib import Path

from bot.store.copy import CopyEnd, CopyRefused, SqliteEnd, is_database_url

__all__ = ["POSTGRES_SCHEMES", "open_end"]

POSTGRES_SCHEMES = ("postgresql", "postgres")


async def open_end(spec: str, *, target: bool) -> CopyEnd:
    """A SOURCE or TARGET of `newsbot db copy`: a SQLite path or a postgresql:// URL."""
    if not is_database_url(spec):
        return await SqliteEnd.open(Path(spec), target=target)
    scheme = spec.split("://", 1)[0].lower()
    if scheme not in POSTGRES_SCHEMES:
        raise CopyRefused(
            f"unknown database scheme {scheme!r}: give a SQLite file path or a"
            " postgresql://user:password@host:5432/name URL"
        )
    # Imported here: asyncpg is loaded only by those who use PostgreSQL.
    from bot.store.postgres.copy import PostgresEnd

    return await PostgresEnd.open(spec)
