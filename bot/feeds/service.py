"""Feeds: fetch one, some or all (now, or those due), parse off the event loop, write the items
through the articles' write path, keep each feed's state; and the health the owner reads."""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, Literal

from bot.articles import Article
from bot.config import Config, FeedSource
from bot.feeds.fetch import Fetched, Fetcher
from bot.feeds.health import after_failure, after_success, is_due
from bot.feeds.safety import check_expat
from bot.feeds.work import ParseJob, ParseOutcome, parse_job, prepare_all
from bot.store import FeedMove, FeedState, PreparedArticle, StoreInterface

log = logging.getLogger(__name__)

POOL_MIN_FEEDS = 16  # from this many feeds in one run, bodies are parsed in worker processes
IN_PROGRESS = 32  # feeds between fetch and store at once: bounds the bodies held in memory

ReportStatus = Literal["ok", "not_modified", "failed", "disabled"]


class UnknownFeed(ValueError):
    """A URL asked for that no [[feeds.sources]] entry names."""


@dataclass(frozen=True, slots=True)
class FeedReport:
    """What one fetch of one feed did."""

    url: str
    status: ReportStatus
    added: int = 0
    updated: int = 0
    error: str | None = None
    moved_to: str | None = None  # a permanent redirect moved it there
    warnings: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {
            "url": self.url,
            "status": self.status,
            "added": self.added,
            "updated": self.updated,
            "error": self.error,
        }

    def line(self) -> str:
        """The human line `newsbot fetch` prints."""
        if self.status == "ok":
            text = f"{self.url}: {self.added} added, {self.updated} updated"
        elif self.status == "not_modified":
            text = f"{self.url}: not modified"
        elif self.status == "disabled":
            text = f"{self.url}: disabled: {self.error}"
        else:
            text = f"{self.url}: failed: {self.error}"
        if self.moved_to:
            text += f" (moved permanently to {self.moved_to}; update config.toml)"
        return text


@dataclass(frozen=True, slots=True)
class FeedHealth:
    """A configured feed and its stored state, for `newsbot feeds` and /newsbot feeds."""

    source: FeedSource
    state: FeedState
    moves: tuple[FeedMove, ...] = ()


class FeedService:
    def __init__(
        self,
        store: StoreInterface,
        fetcher: Fetcher,
        config: Callable[[], Config],
        *,
        make_pool: Callable[[], Executor] | None = None,
        rng: random.Random | None = None,
        clock: Callable[[], float] = time.time,
    ):
        """make_pool: worker processes for a large run (shut down after it); without it, or
        for a few feeds, bodies are parsed on a thread."""
        self._store = store
        self._fetcher = fetcher
        self._config = config
        self._make_pool = make_pool
        self._rng = rng or random.Random()
        self._clock = clock

    async def sync(self) -> None:
        """Make the store's feeds the configured ones (at start-up and on reload)."""
        await self._store.feeds.sync([source.url for source in self._config().feeds.sources])

    async def health(self) -> list[FeedHealth]:
        """Each configured feed, in config order, with its state."""
        await self.sync()
        states = {state.url: state for state in await self._store.feeds.states()}
        moves = await self._store.feeds.moves()
        return [
            FeedHealth(
                source,
                states.get(source.url) or FeedState(source.url, source.url),
                tuple(move for move in moves if move.url == source.url),
            )
            for source in self._config().feeds.sources
        ]

    def resolve(
        self, urls: Sequence[str], fetch_urls: Mapping[str, str] | None = None
    ) -> list[FeedSource]:
        """The configured feeds these URLs name, by their configured URL or by the URL they
        moved to (``fetch_urls``: configured URL -> where it is fetched now); UnknownFeed for
        a URL that names none."""
        sources = self._config().feeds.sources
        fetch_urls = fetch_urls or {}
        found = []
        for url in urls:
            wanted = url.strip()
            matches = [s for s in sources if wanted in (s.url, fetch_urls.get(s.url))]
            if not matches:
                raise UnknownFeed(
                    f"{url} is not in [[feeds.sources]]; add it to config.toml first"
                    + ("" if sources else " (no feeds are configured)")
                )
            found.extend(matches)
        return list(dict.fromkeys(found))

    async def fetch(
        self, urls: Sequence[str] | None = None, *, due_only: bool = False
    ) -> list[FeedReport]:
        """Fetch the given configured feeds (all when None), now: a disabled one only when
        named; with due_only, only those due (the background fetcher)."""
        config = self._config()
        named = urls is not None
        await self.sync()
        states = {state.url: state for state in await self._store.feeds.states()}
        # a feed that moved (301/308) is also named by the URL it moved to
        fetch_urls = {url: state.fetch_url for url, state in states.items()}
        sources = self.resolve(urls, fetch_urls) if urls is not None else list(config.feeds.sources)
        refused = check_expat()
        if refused is not None:
            log.error("%s", refused)
            return [FeedReport(s.url, "failed", error=refused) for s in sources]
        now = self._clock()
        reports: dict[str, FeedReport] = {}
        todo: list[tuple[FeedSource, FeedState]] = []
        for source in sources:
            state = states.get(source.url) or FeedState(source.url, source.url)
            if state.disabled_reason is not None and not named:
                reports[source.url] = FeedReport(
                    source.url, "disabled", error=state.disabled_reason
                )
            elif not due_only or is_due(state, now):
                todo.append((source, state))
        run = _Run(self._make_pool if len(todo) >= POOL_MIN_FEEDS else None)
        try:
            gate = asyncio.Semaphore(IN_PROGRESS)

            async def one(source: FeedSource, state: FeedState) -> None:
                async with gate:
                    reports[source.url] = await self._fetch_one(config, source, state, run)

            await asyncio.gather(*(one(source, state) for source, state in todo))
        finally:
            await run.close()
            # what changed only the feeds' state (304s, failures): one transaction for all
            await self._store.feeds.save_states(run.states)
        return [reports[s.url] for s in sources if s.url in reports]

    async def seconds_until_due(self) -> float | None:
        """Seconds until the next configured feed is due (0: one is); None: none will be."""
        configured = {source.url for source in self._config().feeds.sources}
        now = self._clock()
        waits = [
            0.0 if state.next_fetch is None else max(0.0, state.next_fetch - now)
            for state in await self._store.feeds.states()
            if state.url in configured and state.disabled_reason is None
        ]
        return min(waits) if waits else None

    # ------------------------------------------------------------ one feed
    async def _fetch_one(
        self, config: Config, source: FeedSource, state: FeedState, run: _Run
    ) -> FeedReport:
        feeds = config.feeds
        interval_s = feeds.interval_of(source) * 60.0
        fetched = await self._fetcher.fetch(
            state.fetch_url,
            etag=state.etag,
            last_modified=state.last_modified,
            timeout_s=feeds.timeout_seconds,
            max_bytes=feeds.max_bytes,
            user_agent=feeds.user_agent,
        )
        now = self._clock()
        move = self._move(source, state, fetched, now)
        fetch_url = move.to_url if move is not None else state.fetch_url
        if fetched.status == "failed":
            return await self._failed(
                run, source, state, fetched.error or "failed", now=now, interval_s=interval_s,
                retry_after=fetched.retry_after,
            )  # fmt: skip
        if fetched.status == "not_modified":
            fresh = after_success(
                state, status="not_modified", now=now, interval_s=interval_s, rng=self._rng,
                fetch_url=fetch_url, etag=fetched.etag, last_modified=fetched.last_modified,
            )  # fmt: skip
            await run.save(self._store, fresh, move, now)
            return FeedReport(source.url, "not_modified", moved_to=_moved(move))
        outcome = await self._parse(config, source, fetched, now, run)
        if outcome.error is not None:
            return await self._failed(
                run, source, replace(state, fetch_url=fetch_url), outcome.error, now=now,
                interval_s=interval_s, move=move,
            )  # fmt: skip
        for warning in outcome.warnings[:5]:
            log.warning("feed %s: %s", source.url, warning)
        prepared = list(outcome.prepared)
        prepared += await self._undated(outcome.undated)
        fresh = after_success(
            state, status="ok", now=now, interval_s=interval_s, rng=self._rng,
            fetch_url=fetch_url, title=outcome.title, items=outcome.items, etag=fetched.etag,
            last_modified=fetched.last_modified,
        )  # fmt: skip
        counts = await self._store.feeds.save(
            fresh,
            articles=prepared,
            move=move,
            now=now,
            canonical_topic=config.topics.canonical,
        )
        return FeedReport(
            source.url,
            "ok",
            added=counts.added,
            updated=counts.updated + counts.restored,
            moved_to=_moved(move),
            warnings=outcome.warnings,
        )

    def _move(
        self, source: FeedSource, state: FeedState, fetched: Fetched, now: float
    ) -> FeedMove | None:
        if fetched.moved_to is None or fetched.status == "failed":
            return None
        if fetched.moved_to == state.fetch_url:
            return None
        log.warning(
            "feed %s moved permanently (HTTP %s) from %s to %s: fetched from there from now on;"
            " update its url in config.toml",
            source.url,
            fetched.moved_status,
            state.fetch_url,
            fetched.moved_to,
        )
        return FeedMove(
            source.url, state.fetch_url, fetched.moved_to, fetched.moved_status or 301, now
        )

    async def _failed(
        self,
        run: _Run,
        source: FeedSource,
        state: FeedState,
        error: str,
        *,
        now: float,
        interval_s: float,
        retry_after: float | None = None,
        move: FeedMove | None = None,
    ) -> FeedReport:
        fresh = after_failure(
            state, error=error, now=now, interval_s=interval_s, rng=self._rng,
            retry_after=retry_after,
        )  # fmt: skip
        await run.save(self._store, fresh, move, now)
        if fresh.disabled_reason is not None and state.disabled_reason is None:
            log.error("feed %s disabled: %s", source.url, fresh.disabled_reason)
        else:
            log.warning("feed %s failed: %s", source.url, error)
        return FeedReport(source.url, "failed", error=error, moved_to=_moved(move))

    async def _parse(
        self,
        config: Config,
        source: FeedSource,
        fetched: Fetched,
        now: float,
        run: _Run,
    ) -> ParseOutcome:
        job = ParseJob(
            body=fetched.body,
            fetch_url=fetched.url,
            feed_url=source.url,
            content_type=fetched.content_type,
            provider_name=source.name,
            topics=source.topics,
            quality=config.feeds.quality_of(source),
            aliases=dict(config.topics.aliases),
            now=datetime.fromtimestamp(now, UTC),
        )
        try:
            pool = await run.pool()
            if pool is not None:
                return await asyncio.get_running_loop().run_in_executor(pool, parse_job, job)
            return await asyncio.to_thread(parse_job, job)
        except Exception as exc:  # a worker that died, a parser bug: this feed fails, not the run
            log.exception("feed %s: parsing failed", source.url)
            return ParseOutcome(error=f"could not be parsed ({type(exc).__name__})")

    async def _undated(self, articles: tuple[Article, ...]) -> list[PreparedArticle]:
        """Items with no date keep the date they were first seen (what the store holds)."""
        if not articles:
            return []
        stored = await self._store.feeds.first_seen([a.canonical_url for a in articles])
        dated = tuple(
            replace(a, published_at=datetime.fromtimestamp(stored[a.canonical_url], UTC))
            if a.canonical_url in stored
            else a
            for a in articles
        )
        return await asyncio.to_thread(prepare_all, dated)


class _Run:
    """One fetch run: its worker processes, started when the first body needs parsing (a run of
    304s starts none), and the state-only changes written together at its end."""

    def __init__(self, make_pool: Callable[[], Executor] | None):
        self._make_pool = make_pool
        self._pool: asyncio.Task[Executor] | None = None
        self.states: list[FeedState] = []

    async def pool(self) -> Executor | None:
        """The run's worker processes; None (parse on a thread) for a small run, or when they
        cannot be started."""
        if self._make_pool is None:
            return None
        if self._pool is None:
            self._pool = asyncio.ensure_future(asyncio.to_thread(self._make_pool))
        try:
            return await asyncio.shield(self._pool)
        except Exception:
            if self._make_pool is not None:
                log.exception("feed parse workers could not start; parsing on a thread")
            self._make_pool = None
            return None

    async def save(
        self, store: StoreInterface, state: FeedState, move: FeedMove | None, now: float
    ) -> None:
        if move is None:
            self.states.append(state)
        else:  # a move is said once, with its state, at once
            await store.feeds.save(state, move=move, now=now)

    async def close(self) -> None:
        if self._pool is not None and await self.pool() is not None:
            await asyncio.to_thread(self._pool.result().shutdown)


def _moved(move: FeedMove | None) -> str | None:
    return None if move is None else move.to_url
