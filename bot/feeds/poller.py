"""The bot's background fetcher: each feed on its own interval, due ones at start-up, feeds
added by a reload within a minute (at once when woken)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from bot.feeds.safety import check_expat
from bot.feeds.service import FeedService

log = logging.getLogger(__name__)

MAX_SLEEP_S = 60.0  # a reload's new feeds wait at most this long, even unwoken
MIN_SLEEP_S = 1.0


class FeedPoller:
    """Started in setup_hook, stopped in close()."""

    def __init__(self, service: FeedService, *, leads: Callable[[], bool] = lambda: True):
        self._service = service
        # Fetching is once-only work: among processes on one database, the leader's (bot.leader).
        self._leads = leads
        self._task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()

    def start(self) -> None:
        refused = check_expat()
        if refused is not None:
            log.error("%s", refused)
            return
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="feeds")

    def wake(self) -> None:
        """Look at the feeds again now (the config was reloaded)."""
        self._wake.set()

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run(self) -> None:
        while True:
            if not self._leads():
                await self._sleep(MAX_SLEEP_S)  # woken when this process takes the lead
                continue
            try:
                reports = await self._service.fetch(due_only=True)
                for report in reports:
                    if report.status == "ok":
                        log.info("%s", report.line())
                wait = await self._service.seconds_until_due()
            except Exception:
                log.exception("fetching feeds failed")
                wait = MAX_SLEEP_S
            await self._sleep(
                MAX_SLEEP_S if wait is None else min(max(wait, MIN_SLEEP_S), MAX_SLEEP_S)
            )

    async def _sleep(self, delay: float) -> None:
        """Until ``delay`` passes or someone wakes the poller."""
        self._wake.clear()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(delay):
                await self._wake.wait()
