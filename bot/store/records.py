"""The records the store accepts and returns: its interface, whatever database is behind it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.articles import PARSER_VERSION, Article, StoryEntry

# What the store knows about one file: (path, size, mtime_ns, the reason when the file is
# rejected, else None). The row itself: 100k of them are read per ingest, and a named tuple
# per row would add ~20 ms to a full walk that takes ~330 ms.
FileState = tuple[str, int, int, str | None]

# One related-list entry of a prepared article: (position in the list, canonical_url, the
# stub's row in write.BOUND_COLUMNS order without updated_at).
RelatedStub = tuple[int, str, tuple[Any, ...]]


# What the writer needs about one file's article, made by a parse worker
# (prepare.prepare_article) and pickled to the writer: (canonical_url, base: the article's own
# columns in prepare.BASE_COLUMNS order, topics as the file names them, text_fingerprint of all
# but the topics, story_key, related stubs, removed). A plain tuple, unpacked by name where it is
# read: a first ingest makes 100k, and a NamedTuple cost ~4 us more each (pickling, and the
# writer's garbage collector, which cannot untrack a tuple subclass): ~4% of the writer's time.
PreparedArticle = tuple[
    str, tuple[Any, ...], tuple[str, ...], str, str, tuple[RelatedStub, ...], bool
]


@dataclass(frozen=True, slots=True)
class FileRecord:
    """What ingest learned about one file: an article, or the reason it was rejected."""

    path: str
    size: int
    mtime_ns: int
    hash: str
    article: Article | None = None
    error: str | None = None
    # prepare_article(article), made by a parse worker so the writer does no per-field work
    prepared: PreparedArticle | None = None
    # the parser version that read it (files.UNREAD_TOO_LARGE: rejected by its size alone, unread)
    parser_version: int = PARSER_VERSION

    @property
    def ok(self) -> bool:
        return self.article is not None or self.prepared is not None


@dataclass(slots=True)
class BatchCounts:
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    related_added: int = 0
    restored: int = 0  # gone articles whose file came back (or no longer says removed)

    def __iadd__(self, other: BatchCounts) -> BatchCounts:
        self.added += other.added
        self.updated += other.updated
        self.unchanged += other.unchanged
        self.related_added += other.related_added
        self.restored += other.restored
        return self


@dataclass(frozen=True, slots=True)
class StoreStatus:
    articles: int
    stories: int
    topics: int
    files: int
    # (path, reason) of each file that is not loaded as it is now, by path; a file edited into
    # a broken one keeps its last good article
    rejected_files: tuple[tuple[str, str], ...]
    gone_files: int  # deleted from disk, their articles gone
    subscriptions: int
    last_ingest_at: str | None
    failing_subscriptions: int = 0  # their last run failed (not paused)
    paused_subscriptions: int = 0
    feeds: int = 0  # feeds in [[feeds.sources]] (as last synced into the store)
    failing_feeds: int = 0  # of them, failing now or disabled

    def as_dict(self) -> dict[str, Any]:
        return {
            "articles": self.articles,
            "stories": self.stories,
            "topics": self.topics,
            "files": self.files,
            "rejected_files": [{"path": p, "reason": r} for p, r in self.rejected_files],
            "gone_files": self.gone_files,
            "subscriptions": self.subscriptions,
            "failing_subscriptions": self.failing_subscriptions,
            "paused_subscriptions": self.paused_subscriptions,
            "feeds": self.feeds,
            "failing_feeds": self.failing_feeds,
            "last_ingest_at": self.last_ingest_at,
        }


# -------------------------------------------------------------------- feeds
@dataclass(frozen=True, slots=True)
class FeedState:
    """What the store keeps about one configured feed between fetches (times: unix seconds)."""

    url: str  # as configured: the feed's identity
    fetch_url: str  # where it is fetched: url, or where a permanent redirect moved it
    title: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    last_fetch: float | None = None
    last_status: str | None = None  # 'ok', 'not_modified' or 'failed'
    items: int = 0
    last_error: str | None = None
    failures: int = 0  # in a row
    first_failure_at: float | None = None
    next_fetch: float | None = None  # None: due now
    disabled_reason: str | None = None

    @property
    def failing(self) -> bool:
        return self.failures > 0 or self.disabled_reason is not None


@dataclass(frozen=True, slots=True)
class FeedMove:
    """A permanent redirect that moved a feed."""

    url: str
    from_url: str
    to_url: str
    status: int
    at: float


# -------------------------------------------------------------------- digests
@dataclass(frozen=True, slots=True)
class SubscriptionSpec:
    """What an admin (or the config file) chooses for a channel's digest."""

    schedule: str
    timezone: str
    topics: tuple[str, ...] = ()  # empty: all topics
    min_quality: int = 60
    max_items: int = 10
    only_published: bool = True
    role_id: int | None = None
    max_age_days: int | None = None  # None: [digest] max_age_days at run time; 0: no limit
    layout: str = "cards"  # 'cards' (an embed per story) or 'compact' (one line per story)
    keywords: tuple[str, ...] = ()  # words or phrases; a story needs one (when there are any)
    exclude: tuple[str, ...] = ()  # words or phrases; a story with any of them is left out
    publish: bool = True  # announcement channels: publish each message to followers


@dataclass(frozen=True, slots=True)
class Subscription:
    channel_id: int
    guild_id: int | None
    spec: SubscriptionSpec
    managed_by: str  # 'command' or 'file'
    paused: bool
    paused_reason: str | None
    cursor: int  # the change sequence value its last run selected up to
    last_run_at: float | None
    items_delivered: int
    consecutive_failures: int
    last_error: str | None
    created_at: float
    updated_at: float
    alert_state: str = "healthy"  # the last state alerted: 'healthy', 'failing' or 'paused'
    channel_kind: str | None = None  # 'text', 'announcement' or 'forum' as last seen


@dataclass(frozen=True, slots=True)
class DigestCandidate:
    entry: StoryEntry
    story_id: int | None
    change_seq: int  # the change sequence value of its last change that can make it due
    delivered: bool  # its story already reached the channel (or waits in an unsent run)


@dataclass(frozen=True, slots=True)
class DigestCandidates:
    """What a run may post, read in one snapshot: the best candidates, how many stories are
    due, and the change sequence value they were selected up to (the run's new cursor)."""

    candidates: tuple[DigestCandidate, ...]
    stories: int
    seq: int


class RunConflict(Exception):
    """A run could not be recorded: another run of the channel (in this process or another)
    recorded first, or holds one of its articles. Select again."""


@dataclass(frozen=True, slots=True)
class RunMessage:
    chunk: int
    nonce: str
    payload: str  # JSON
    message_id: int | None


@dataclass(frozen=True, slots=True)
class DigestRunRecord:
    id: int
    channel_id: int
    trigger: str
    selected_at: float
    selected_seq: int | None  # None only for runs recorded before the change sequence
    status: str  # 'pending', 'delivered' or 'abandoned'
    more: int
    attempts: int
    last_error: str | None
    messages: tuple[RunMessage, ...]
    thread_id: int | None = None  # a forum run's post, once Discord created it
    topics: tuple[str, ...] = ()  # the run's topics, best story first (a forum post's tags)


@dataclass(frozen=True, slots=True)
class Publication:
    """Whether a run's message in an announcement channel was published to followers."""

    run_id: int
    chunk: int
    channel_id: int
    message_id: int
    status: str  # 'published', 'failed' or 'skipped'
    reason: str | None
    at: float
