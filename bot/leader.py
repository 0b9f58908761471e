"""Leadership among the bot processes sharing one database (DESIGN §9): the work that must
happen once (file ingest, feed fetching) is done by the holder of the store's leader lock.

    leader = Leadership(store.leader_lock())
    await leader.start()          # one attempt now, then a retry every few seconds
    leader.is_leader()            # check before the once-only work
    leader.on_change(callback)    # called with True when this process takes over, False on loss
    await leader.wait_leader()    # until this process leads
    await leader.stop()           # release (close)

A follower retries every ``retry_seconds``; the leader checks every ``retry_seconds`` that it
still holds the lock (a PostgreSQL connection can drop), so a dead leader is replaced within
about that time. Each change is logged.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from bot.store.leader import LeaderLock

__all__ = ["RETRY_SECONDS", "Leadership"]

log = logging.getLogger(__name__)

RETRY_SECONDS = 3.0


class Leadership:
    """Whether this process leads, kept current by a background task."""

    def __init__(self, lock: LeaderLock, *, retry_seconds: float = RETRY_SECONDS):
        self._lock = lock
        self.retry_seconds = retry_seconds
        self._leader = False
        self._gained = asyncio.Event()
        self._callbacks: list[Callable[[bool], Awaitable[None]]] = []
        self._task: asyncio.Task[None] | None = None
        self._told_follower = False

    def is_leader(self) -> bool:
        return self._leader

    def on_change(self, callback: Callable[[bool], Awaitable[None]]) -> None:
        """Call ``callback(True)`` when this process takes the lead, ``(False)`` when it loses
        it (the callback runs in the leadership task: keep it short, start work elsewhere)."""
        self._callbacks.append(callback)

    async def wait_leader(self) -> None:
        """Return once this process leads."""
        while not self._leader:
            await self._gained.wait()

    async def start(self) -> None:
        """One attempt at once (so a sole process leads before its first job), then the loop."""
        if self._task is not None:
            return
        await self._check()
        self._task = asyncio.create_task(self._loop(), name="leadership")

    async def stop(self) -> None:
        """Stop checking and release the lock (idempotent)."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._leader:
            self._leader = False
            log.info("leadership released")
        await self._lock.release()

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self.retry_seconds)
            try:
                await self._check()
            except Exception:  # the database is unreachable: we cannot know we lead
                log.exception("leadership check failed")
                await self._set(False)

    async def _check(self) -> None:
        if self._leader:
            if not await self._lock.held():
                log.warning("leadership lost (the database connection holding it is gone)")
                await self._set(False)
            return
        if await self._lock.try_acquire():
            log.info("leadership taken: this process now ingests (and fetches feeds)")
            self._told_follower = False
            await self._set(True)
        elif not self._told_follower:
            log.info(
                "another process leads (ingest, feeds); trying to take over every %.0f s",
                self.retry_seconds,
            )
            self._told_follower = True

    async def _set(self, leader: bool) -> None:
        if leader == self._leader:
            return
        self._leader = leader
        if leader:
            self._gained.set()
        else:
            self._gained = asyncio.Event()
        for callback in self._callbacks:
            try:
                await callback(leader)
            except Exception:
                log.exception("leadership callback failed")
