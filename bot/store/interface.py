"""The store's interface: what the rest of the bot may call, whatever database is behind it.

``Store`` (SQLite, bot.store) and ``PostgresStore`` (bot.store.postgres) both implement these
protocols with the same results on the same data; the bot is typed against ``StoreInterface``
and ``open_store`` picks the backend from ``[database]``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Protocol

from bot.articles import PARSER_VERSION

if TYPE_CHECKING:  # types only: `newsbot` imports this module for DatabaseUnavailable
    from bot.articles import Article, StoryEntry
    from bot.store.records import (
        BatchCounts,
        DigestCandidate,
        DigestCandidates,
        DigestRunRecord,
        FeedMove,
        FeedState,
        FileRecord,
        FileState,
        PreparedArticle,
        Publication,
        StoreStatus,
        Subscription,
        SubscriptionSpec,
    )


class DatabaseUnavailable(Exception):
    """The database server could not be reached or refused the bot; the message names it
    with its password masked."""


class FilesArea(Protocol):
    """File states for ingest: what was read, at which generation, and touches."""

    async def states(
        self, *, parser_version: int = PARSER_VERSION, max_file_bytes: int | None = None
    ) -> tuple[int, dict[str, FileState]]: ...

    async def generation(self) -> int: ...

    async def hashes(
        self, paths: Sequence[str], *, parser_version: int = PARSER_VERSION
    ) -> dict[str, str]: ...

    async def touch(self, records: Iterable[tuple[str, int, int]], now: float) -> None: ...

    async def remove(self, paths: Sequence[str]) -> int: ...


class ArticlesArea(Protocol):
    """The write path: ingest's batches, bulk loads and topic alias merges."""

    async def apply_batch(
        self,
        records: Sequence[FileRecord],
        now: float,
        canonical_topic: Callable[[str], str] = ...,
    ) -> BatchCounts: ...

    async def bulk_load(
        self,
        articles: Iterable[Article | PreparedArticle],
        now: float,
        *,
        batch: int = 5000,
        canonical_topic: Callable[[str], str] = ...,
    ) -> BatchCounts: ...

    async def apply_aliases(
        self, canonical_topic: Callable[[str], str], now: float | None = None
    ) -> int: ...


class ReadsArea(Protocol):
    """What /news reads; every list shows a story once and leaves gone articles out."""

    async def topics(self, prefix: str = "", limit: int = 25) -> list[tuple[str, int]]: ...

    async def topic_name(self, name: str) -> str | None: ...

    async def topic_entries(
        self, topic: str, *, min_quality: int = 0, limit: int = 10
    ) -> list[StoryEntry]: ...

    async def latest(
        self, *, min_quality: int, limit: int = 10, topic: str | None = None
    ) -> list[StoryEntry]: ...

    async def search(self, text: str, *, limit: int = 10) -> list[StoryEntry]: ...

    async def title_choices(self, text: str, *, limit: int = 25) -> list[tuple[int, str]]: ...

    async def entry(self, article_id: int) -> StoryEntry | None: ...

    async def entry_by_url(self, canonical: str) -> StoryEntry | None: ...

    async def related(self, article_id: int, *, limit: int = 20) -> list[StoryEntry]: ...

    async def story_members(self, article_id: int) -> list[StoryEntry]: ...


class DigestsArea(Protocol):
    """Subscriptions, digest candidates, runs and the delivery ledger."""

    async def subscription_count(self) -> int: ...

    async def subscriptions(self, guild_id: int | None = None) -> list[Subscription]: ...

    async def subscription(self, channel_id: int) -> Subscription | None: ...

    async def save_subscription(
        self,
        channel_id: int,
        spec: SubscriptionSpec,
        *,
        guild_id: int | None,
        managed_by: str,
        since: float,
        now: float,
    ) -> Subscription: ...

    async def delete_subscription(self, channel_id: int, now: float) -> bool: ...

    async def set_subscription_paused(
        self, channel_id: int, paused: bool, reason: str | None, now: float
    ) -> bool: ...

    async def set_subscription_guild(self, channel_id: int, guild_id: int) -> None: ...

    async def sync_file_subscriptions(
        self, specs: Sequence[tuple[int, SubscriptionSpec]], *, since: float, now: float
    ) -> list[int]: ...

    async def change_seq_at(self, moment: float) -> int: ...

    async def candidates(
        self,
        channel_id: int,
        *,
        after_seq: int,
        only_published: bool,
        min_quality: float,
        published_after: float | None,
        topic_keys: Sequence[str],
        limit: int,
    ) -> DigestCandidates: ...

    async def pool(
        self, channel_id: int, *, after_seq: int, limit: int
    ) -> list[DigestCandidate]: ...

    async def story_article_ids(self, article_ids: Sequence[int]) -> dict[int, list[int]]: ...

    async def record_run(
        self,
        channel_id: int,
        *,
        trigger: str,
        cursor: int,
        selected_at: float,
        selected_seq: int,
        more: int,
        items: Sequence[tuple[int, int, bool]],
        payloads: Sequence[str],
        nonce: Callable[[int, int], str],
        topics: Sequence[str] = (),
    ) -> DigestRunRecord: ...

    async def runs(
        self, *, channel_id: int | None = None, run_id: int | None = None, pending: bool = False
    ) -> list[DigestRunRecord]: ...

    async def confirm_message(
        self, run_id: int, chunk: int, message_id: int, now: float
    ) -> int: ...

    async def finish_run(self, run_id: int, now: float) -> None: ...

    async def fail_run(
        self, run_id: int, error: str, now: float, *, counts: bool, pause_after: int
    ) -> Subscription | None: ...

    async def delivered_article_ids(self, channel_id: int) -> list[int]: ...

    # forum posts and announcement publications (§4b)
    async def confirm_post(
        self, run_id: int, thread_id: int, message_id: int, now: float
    ) -> int: ...

    async def set_channel_kind(self, channel_id: int, kind: str) -> None: ...

    async def record_publication(self, publication: Publication) -> None: ...

    async def publications(
        self, *, run_id: int | None = None, channel_id: int | None = None, since: float = 0.0
    ) -> list[Publication]: ...

    # health and alerts (§4b)
    async def health_counts(self) -> tuple[int, int]: ...

    async def set_alert_state(self, channel_id: int, before: str, after: str) -> bool: ...

    async def alert_channel(self, guild_id: int) -> int | None: ...

    async def set_alert_channel(
        self, guild_id: int, channel_id: int | None, now: float
    ) -> None: ...


class FeedsArea(Protocol):
    """Each configured feed's fetch state, its moves, and its items written as articles."""

    async def sync(self, urls: Sequence[str]) -> None: ...

    async def states(self) -> list[FeedState]: ...

    async def state(self, url: str) -> FeedState | None: ...

    async def moves(self) -> list[FeedMove]: ...

    async def first_seen(self, canonical_urls: Sequence[str]) -> dict[str, int]: ...

    async def save(
        self,
        state: FeedState,
        *,
        articles: Sequence[PreparedArticle] = (),
        move: FeedMove | None = None,
        now: float,
        canonical_topic: Callable[[str], str] = ...,
    ) -> BatchCounts: ...

    async def save_states(self, states: Sequence[FeedState]) -> None: ...

    async def counts(self) -> tuple[int, int]: ...


class StoreInterface(Protocol):
    """One database and its areas; closed once by whoever opened it."""

    @property
    def files(self) -> FilesArea: ...

    @property
    def articles(self) -> ArticlesArea: ...

    @property
    def reads(self) -> ReadsArea: ...

    @property
    def digests(self) -> DigestsArea: ...

    @property
    def feeds(self) -> FeedsArea: ...

    @property
    def backend(self) -> str:
        """'sqlite' or 'postgresql'."""
        ...

    async def close(self) -> None: ...

    async def release_memory(self) -> None:
        """Give back what a large write left cached in this process."""
        ...

    async def status(self) -> StoreStatus: ...

    async def get_meta(self, key: str) -> str | None: ...

    async def set_meta(self, key: str, value: str) -> None: ...
