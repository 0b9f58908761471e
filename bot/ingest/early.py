"""The parse pool and the writer process of a large ingest, started while its walk still runs.

Started after the walk, each child then imports for ~0.1 s: on a first ingest (20k new files,
a walk of ~0.1 s) that start was one core's work. Asked for from the walk's thread once it has
found as many changed files as make the run use them, they start beside the rest of the walk.
The run takes what started; what it does not take (the walk failed, the run was cancelled) is
closed at its end. A start that failed is logged and left to the run, which starts its children
as it would have without this.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import TypeVar

from bot.ingest.pool import ParsePool
from bot.ingest.writer import WriterProcess

log = logging.getLogger("bot.ingest")  # the ingestor's, so its log lines read the same

_T = TypeVar("_T")


class EarlyStart:
    """One run's early start: ``found`` on the walk's thread, the rest on the event loop."""

    def __init__(
        self,
        threshold: int,
        workers: int,
        writer: Callable[[], WriterProcess] | None,
    ):
        self._loop = asyncio.get_running_loop()
        self._threshold = threshold  # changed files from which the run uses its children
        self._workers = workers
        self._start_writer = writer  # None: the run writes in its own process
        self._asked = False  # set on the walk's thread only
        self._closed = False
        self._pool: asyncio.Future[ParsePool] | None = None
        self._writer: asyncio.Future[WriterProcess] | None = None

    def found(self, changed: int) -> None:
        """On the walk's thread: ``changed`` files found changed so far."""
        if self._asked or changed < self._threshold:
            return
        self._asked = True
        # RuntimeError: the loop is closed, the run is gone with it; nothing to start.
        with contextlib.suppress(RuntimeError):
            self._loop.call_soon_threadsafe(self._start)

    def _start(self) -> None:
        if self._closed:
            return  # the run ended before its walk did
        log.debug("ingest: starting the parse pool and the writer during the walk")
        self._pool = asyncio.ensure_future(asyncio.to_thread(ParsePool, self._workers))
        if self._start_writer is not None:
            self._writer = asyncio.ensure_future(asyncio.to_thread(self._start_writer))

    async def pool(self) -> ParsePool | None:
        """The parse pool started early, now the caller's to close; None when none was started
        or its start failed."""
        started = await _taken(self._pool, "parse pool")
        self._pool = None
        return started

    async def writer(self) -> WriterProcess | None:
        """The writer process started early, now the caller's to close; None when none was
        started or its start failed."""
        started = await _taken(self._writer, "writer process")
        self._writer = None
        return started

    async def close(self) -> None:
        """End what was started and not taken (after its start finishes); idempotent."""
        self._closed = True
        pool, self._pool = self._pool, None
        writer, self._writer = self._writer, None
        if pool is not None and (unused := await _settled(pool)) is not None:
            await asyncio.to_thread(unused.close)
        if writer is not None and (unneeded := await _settled(writer)) is not None:
            await asyncio.to_thread(unneeded.close)


async def _taken(starting: asyncio.Future[_T] | None, what: str) -> _T | None:
    if starting is None:
        return None
    try:
        # Shielded: a run cancelled here leaves the start to close(), not to a lost thread.
        return await asyncio.shield(starting)
    except Exception as exc:
        log.debug("ingest: the %s started during the walk failed (%s)", what, exc)
        return None


async def _settled(starting: asyncio.Future[_T]) -> _T | None:
    try:
        return await asyncio.shield(starting)
    except Exception:
        return None  # nothing started, nothing to close
