"""The background fetcher fetches only while its process leads (feeds are once-only work)."""

from __future__ import annotations

import asyncio
from typing import Any, cast

from bot.feeds.poller import FeedPoller
from bot.feeds.service import FeedService


class _CountingService:
    def __init__(self) -> None:
        self.fetches = 0
        self.fetched = asyncio.Event()

    async def fetch(self, urls: Any = None, *, due_only: bool = False) -> list[Any]:
        self.fetches += 1
        self.fetched.set()
        return []

    async def seconds_until_due(self) -> float | None:
        return None


async def test_a_follower_does_not_fetch_until_it_leads() -> None:
    service = _CountingService()
    leading = False
    poller = FeedPoller(cast(FeedService, service), leads=lambda: leading)
    poller.start()
    try:
        await asyncio.sleep(0.2)
        assert service.fetches == 0
        leading = True
        poller.wake()  # what the bot does when leadership moves to it
        await asyncio.wait_for(service.fetched.wait(), timeout=5)
        assert service.fetches == 1
    finally:
        await poller.stop()


async def test_the_sole_process_fetches_at_start() -> None:
    service = _CountingService()
    poller = FeedPoller(cast(FeedService, service))
    poller.start()
    try:
        await asyncio.wait_for(service.fetched.wait(), timeout=5)
    finally:
        await poller.stop()
