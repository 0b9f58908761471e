"""The PostgreSQL leader lock (bot.store.leader): a session-level advisory lock,
``pg_try_advisory_lock``, held on a connection of its own.

The lock lives as long as that connection: when the holder dies (SIGKILL, a lost machine, a
dropped network), PostgreSQL ends its session and the lock is free for the next process that
tries. Advisory locks are per database, so bots on different databases of one server do not
contend.
"""

from __future__ import annotations

import contextlib
import logging

import asyncpg

from bot.store.leader import LEADER_LOCK_KEY

__all__ = ["PostgresLeaderLock"]

log = logging.getLogger(__name__)

CONNECT_TIMEOUT_S = 10.0
QUERY_TIMEOUT_S = 5.0
# What a dead or unreachable server raises; the lock is then not (or no longer) ours.
_LOST = (asyncpg.PostgresError, asyncpg.InterfaceError, OSError, TimeoutError)


class PostgresLeaderLock:
    """``pg_try_advisory_lock(key)`` on a dedicated connection to ``dsn``."""

    def __init__(self, dsn: str, key: int = LEADER_LOCK_KEY):
        self._dsn = dsn
        self._key = key
        self._conn: asyncpg.Connection | None = None
        self._holding = False

    async def try_acquire(self) -> bool:
        if self._holding and await self.held():
            return True
        try:
            if self._conn is None or self._conn.is_closed():
                self._conn = await asyncpg.connect(self._dsn, timeout=CONNECT_TIMEOUT_S)
            got = await self._conn.fetchval(
                "SELECT pg_try_advisory_lock($1)", self._key, timeout=QUERY_TIMEOUT_S
            )
        except _LOST as exc:
            log.warning("leader lock: database unreachable: %s", type(exc).__name__)
            await self._drop()
            return False
        self._holding = bool(got)
        return self._holding

    async def held(self) -> bool:
        """Whether the session that took the lock is still alive (the lock goes with it)."""
        if not self._holding or self._conn is None or self._conn.is_closed():
            await self._drop()
            return False
        try:
            await self._conn.fetchval("SELECT 1", timeout=QUERY_TIMEOUT_S)
        except _LOST:
            await self._drop()
            return False
        return True

    async def release(self) -> None:
        await self._drop()

    async def _drop(self) -> None:
        """Close the connection: whatever it held is released with the session."""
        conn, self._conn, self._holding = self._conn, None, False
        if conn is None or conn.is_closed():
            return
        try:
            await conn.close(timeout=QUERY_TIMEOUT_S)
        except _LOST:
            with contextlib.suppress(Exception):
                conn.terminate()
