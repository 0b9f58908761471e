"""Leadership (bot.leader): one process at a time does the once-only work; a follower takes
over when the leader's lock is gone; changes are logged and reported to callbacks."""

from __future__ import annotations

import asyncio
import logging

import asyncpg
import pytest

from bot.leader import Leadership
from bot.store.leader import LEADER_LOCK_KEY, SoleLeader
from bot.store.postgres.leader import PostgresLeaderLock


class SharedLock:
    """Locks of several processes on one database: the first to try holds it until it
    releases or its connection is cut."""

    def __init__(self) -> None:
        self.holder: object | None = None

    def lock(self) -> ProcessLock:
        return ProcessLock(self)


class ProcessLock:
    def __init__(self, shared: SharedLock) -> None:
        self.shared = shared

    async def try_acquire(self) -> bool:
        if self.shared.holder is None:
            self.shared.holder = self
        return self.shared.holder is self

    async def held(self) -> bool:
        return self.shared.holder is self

    async def release(self) -> None:
        if self.shared.holder is self:
            self.shared.holder = None

    def cut(self) -> None:
        """The holder's connection dropped: the database released its lock."""
        if self.shared.holder is self:
            self.shared.holder = None


async def until(condition) -> None:
    """Poll a condition the leadership task changes (it has no event of its own to wait on)."""
    async with asyncio.timeout(5):
        while not condition():  # noqa: ASYNC110
            await asyncio.sleep(0.01)


async def test_sqlite_always_leads():
    leader = Leadership(SoleLeader())
    await leader.start()
    assert leader.is_leader()
    await asyncio.wait_for(leader.wait_leader(), 1)
    await leader.stop()
    assert not leader.is_leader()


async def test_a_follower_takes_over_when_the_leader_dies(caplog: pytest.LogCaptureFixture):
    caplog.set_level(logging.INFO, logger="bot.leader")
    shared = SharedLock()
    first_lock, second_lock = shared.lock(), shared.lock()
    first = Leadership(first_lock, retry_seconds=0.05)
    second = Leadership(second_lock, retry_seconds=0.05)
    changes: list[bool] = []

    async def changed(leader: bool) -> None:
        changes.append(leader)

    second.on_change(changed)
    await first.start()
    await second.start()
    assert first.is_leader() and not second.is_leader()
    await asyncio.sleep(0.2)
    assert first.is_leader() and not second.is_leader()  # retrying does not steal it
    waiting = asyncio.create_task(second.wait_leader())

    first_lock.cut()  # the leader's process died: its connection and lock are gone
    await until(second.is_leader)
    await asyncio.wait_for(waiting, 1)
    await until(lambda: not first.is_leader())  # what was the leader notices it lost the lock
    assert changes == [True]
    messages = [r.getMessage() for r in caplog.records]
    assert any("leadership taken" in m for m in messages)
    assert any("leadership lost" in m for m in messages)
    assert any("another process leads" in m for m in messages)

    # a clean stop hands over too (a stopping process is told nothing more)
    await second.stop()
    await until(first.is_leader)
    assert changes == [True]
    await first.stop()
    assert shared.holder is None


async def test_a_failing_check_means_not_leading(caplog: pytest.LogCaptureFixture):
    class Broken(ProcessLock):
        async def held(self) -> bool:
            raise OSError("database unreachable")

    lock = Broken(SharedLock())
    leader = Leadership(lock, retry_seconds=0.05)
    await leader.start()
    assert leader.is_leader()
    await until(lambda: not leader.is_leader())
    await leader.stop()


async def test_postgresql_advisory_lock_moves_when_its_connection_dies(postgres_url: str):
    first_lock, second_lock = PostgresLeaderLock(postgres_url), PostgresLeaderLock(postgres_url)
    first = Leadership(first_lock, retry_seconds=0.05)
    second = Leadership(second_lock, retry_seconds=0.05)
    await first.start()
    await second.start()
    try:
        assert first.is_leader() and not second.is_leader()
        # the leader's process dies: PostgreSQL ends its session, and the lock with it
        admin = await asyncpg.connect(postgres_url)
        try:
            [pid] = await admin.fetchval(
                "SELECT array_agg(pid) FROM pg_locks WHERE locktype = 'advisory' AND granted"
                " AND objid = $1::bigint & 4294967295",
                LEADER_LOCK_KEY,
            )
            await admin.execute("SELECT pg_terminate_backend($1)", pid)
        finally:
            await admin.close()
        await until(second.is_leader)
        await until(lambda: not first.is_leader())
        await asyncio.sleep(0.3)
        assert second.is_leader() and not first.is_leader()  # the old leader cannot take it back
    finally:
        await first.stop()
        await second.stop()
