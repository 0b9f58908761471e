"""The composition root: the running config, the store, the ingestor and the services, built once
and closed once, for the bot (`newsbot run`), the one-shot commands and the tests.

    async with open_app(config, watch=True) as app:   # opens the store, builds the rest
        bot = NewsBot(app)                              # the bot holds the app, never closes it
        ...
                                                        # ingestor, then store, closed here
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from bot.config import Config, LiveConfig
from bot.ingest import Ingestor
from bot.store import StoreInterface, leader_lock, open_store

if TYPE_CHECKING:
    from bot.digests.delivery import Sender
    from bot.digests.service import DigestJobs, DigestService
    from bot.feeds.service import FeedService
    from bot.leader import Leadership
    from bot.news.service import NewsService


@dataclass(frozen=True, slots=True)
class App:
    config: LiveConfig  # the one owner of the running config
    store: StoreInterface
    ingestor: Ingestor
    news: NewsService
    # Who does the once-only work among processes on one database; started by the bot.
    leader: Leadership
    feeds: FeedService

    async def reload(self) -> Config:
        """Re-read the config file and apply it to the store and the ingestor; ConfigError when
        it does not validate, and then nothing changes."""
        fresh = self.config.reload(os.environ, Path.cwd())
        await self.store.articles.apply_aliases(fresh.topics.canonical)
        # Plain attributes, not a config read per file: the ingest hot path stays as it is.
        self.ingestor.max_file_bytes = fresh.ingest.max_file_bytes
        self.ingestor.canonical_topic = fresh.topics.canonical
        await self.feeds.sync()  # feeds added or removed
        return fresh


@asynccontextmanager
async def open_app(
    config: Config, *, watch: bool = False, exclusive: bool = False, workers: int | None = None
) -> AsyncIterator[App]:
    """Open the store and build the services on it; on exit close what was opened, in reverse.

    ``watch``: a long-running owner (the bot) keeps inotify watches on the folders it walked, so
    an unchanged tree is not walked again. ``exclusive``: the one owner that posts (the bot)
    holds the database's lock while open, and DatabaseInUse is raised, before anything is
    written, when another one holds it; the one-shot commands do not lock. ``workers``: parse
    processes (default: one per CPU).
    """
    # Imported here: `newsbot ingest` (open_ingest) does not load HTTP, feeds or rendering.
    import aiohttp

    from bot.feeds.fetch import TOTAL, Fetcher
    from bot.feeds.service import FeedService
    from bot.ingest.pool import ProcessExecutor
    from bot.leader import Leadership
    from bot.news.service import NewsService

    async with AsyncExitStack() as opened:
        store = await open_store(config.database, exclusive=exclusive)
        opened.push_async_callback(store.close)
        ingestor = _ingestor(config, store, workers=workers, watch=watch)
        opened.callback(ingestor.close)
        live = LiveConfig(config)
        leader = Leadership(leader_lock(config.database))
        opened.push_async_callback(leader.stop)  # released before the store closes
        # Feeds: one HTTP session, no cookies kept between sites; limits in the Fetcher.
        session = await opened.enter_async_context(
            aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=TOTAL, limit_per_host=0),
                cookie_jar=aiohttp.DummyCookieJar(),
            )
        )
        feeds = FeedService(
            store,
            Fetcher(session),
            live.current,
            make_pool=lambda: ProcessExecutor(workers),
        )
        yield App(
            config=live,
            store=store,
            ingestor=ingestor,
            news=NewsService(store, live),
            leader=leader,
            feeds=feeds,
        )


@asynccontextmanager
async def open_ingest(config: Config) -> AsyncIterator[Ingestor]:
    """The store and an ingestor on it, for one `newsbot ingest`: nothing else is built (a cold
    unchanged ingest is mostly interpreter start-up and imports)."""
    async with AsyncExitStack() as opened:
        store = await open_store(config.database)
        opened.push_async_callback(store.close)
        ingestor = _ingestor(config, store, workers=None, watch=False)
        opened.callback(ingestor.close)
        yield ingestor


def _ingestor(
    config: Config, store: StoreInterface, *, workers: int | None, watch: bool
) -> Ingestor:
    return Ingestor(
        store,
        max_file_bytes=config.ingest.max_file_bytes,
        canonical_topic=config.topics.canonical,
        workers=workers,
        watch=watch,
    )


def build_digests(
    app: App,
    sender: Sender,
    jobs: DigestJobs,
    owns: Callable[[int | None], bool] = lambda _guild_id: True,
) -> DigestService:
    """The digest service of one bot: it posts through its sender and schedules on its jobs,
    the digests of the guilds it ``owns`` (its shards'; every guild when not sharded)."""
    # Imported here: the one-shot commands never post, so they do not load what posting needs.
    from bot.digests.alerts import Alerts
    from bot.digests.delivery import Delivery
    from bot.digests.service import DigestService

    delivery = Delivery(app.store, sender, config=app.config.current)
    return DigestService(
        app.store,
        config=app.config.current,
        delivery=delivery,
        jobs=jobs,
        alerts=Alerts(app.store, sender),
        owns=owns,
    )
