"""The change sequence (bot.store.sequence) in PostgreSQL: the same counter in change_marks,
read and taken inside the caller's transaction. A writer that takes values holds WRITE_LOCK
(bot.store.postgres.db), so values are taken in commit order."""

from __future__ import annotations

import asyncpg


async def next_value(conn: asyncpg.Connection) -> int:
    """The value this write transaction stamps its changes with."""
    return await current_value(conn) + 1


async def current_value(conn: asyncpg.Connection) -> int:
    """The last value taken (0: none yet)."""
    return int(await conn.fetchval("SELECT COALESCE(max(seq), 0) FROM change_marks"))


async def take(conn: asyncpg.Connection, value: int, now: float) -> bool:
    """Take ``value`` when some article was stamped with it; True when it was."""
    status: str = await conn.execute(
        "INSERT INTO change_marks (seq, at) SELECT $1, $2"
        " WHERE EXISTS (SELECT 1 FROM articles WHERE change_seq = $1)",
        value,
        now,
    )
    return status.endswith(" 1")


async def value_at(conn: asyncpg.Connection, moment: float) -> int:
    """The value taken last at or before ``moment`` (0: none)."""
    value = await conn.fetchval(
        "SELECT seq FROM change_marks WHERE at <= $1 ORDER BY at DESC, seq DESC LIMIT 1", moment
    )
    return 0 if value is None else int(value)
