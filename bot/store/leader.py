"""Leadership locks: which of several bot processes on one database does the work that must
happen once (file ingest, feed fetching). ``bot.leader.Leadership`` runs the loop around one.

SQLite: the one process is always the leader (a second ``newsbot run`` on the database is
refused by its lock, bot.store.lock). PostgreSQL: a session-level advisory lock held on a
dedicated connection (bot.store.postgres.leader); the server drops it when that connection
ends, however the holder died, and another process takes it.
"""

from __future__ import annotations

from typing import Protocol

__all__ = ["LEADER_LOCK_KEY", "LeaderLock", "SoleLeader"]

# The advisory lock key of newsbot's leader ("newsbot" in ASCII): one leader per database.
LEADER_LOCK_KEY = 0x6E657773626F74


class LeaderLock(Protocol):
    """A lock at most one process holds; the holder is the leader."""

    async def try_acquire(self) -> bool:
        """Take the lock without waiting; True when this process holds it (now or already)."""
        ...

    async def held(self) -> bool:
        """Whether this process still holds it (False once its connection is gone)."""
        ...

    async def release(self) -> None:
        """Give it up (idempotent)."""
        ...


class SoleLeader:
    """SQLite's: one process per database, so it always leads."""

    async def try_acquire(self) -> bool:
        return True

    async def held(self) -> bool:
        return True

    async def release(self) -> None:
        return None
