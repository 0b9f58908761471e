"""The SQLite store: every SQL statement of the bot lives in this module."""

from __future__ import annotations

import asyncio
import hashlib
import importlib.resources
import re
import sqlite3
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from operator import itemgetter
from pathlib import Path
from typing import Any

import aiosqlite

from bot.articles import Article, Provider, StoryEntry, story_key, topic_key
from bot.store.relevance import STOP_WORDS, Relevance, words

STORY_WINDOW_S = 3 * 24 * 3600
SEARCH_CANDIDATES = 500  # search ranks the newest this many matches (all, when fewer)
TITLE_CANDIDATES = 200  # title autocomplete orders the newest this many matches
TOPIC_SEP = "\x1f"
_ARTICLE_COLUMNS = ", ".join(
    "a." + c
    for c in (
        "id",
        "url",
        "canonical_url",
        "title",
        "excerpt",
        "published_at",
        "quality",
        "heat",
        "published",
        "provider_name",
        "provider_domain",
        "provider_icon",
        "image_url",
        "category",
        "type",
        "original_url",
        "amp_url",
        "cdn_amp_url",
        "topics",
        "story_id",
    )
)


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

    @property
    def ok(self) -> bool:
        return self.article is not None or self.prepared is not None


@dataclass(slots=True)
class BatchCounts:
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    related_added: int = 0

    def __iadd__(self, other: BatchCounts) -> BatchCounts:
        self.added += other.added
        self.updated += other.updated
        self.unchanged += other.unchanged
        self.related_added += other.related_added
        return self


# What the store knows about one file, as the row itself (path, size, mtime_ns, and the reason
# when the file is rejected, else None): 100k of them are read per ingest, so no per-row object.
FileState = tuple[str, int, int, str | None]
FILES_GENERATION = "files_generation"  # meta key: bumped by every write to the files table


@dataclass(frozen=True, slots=True)
class StoreStatus:
    articles: int
    stories: int
    topics: int
    files: int
    rejected_files: int
    subscriptions: int
    last_ingest_at: str | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "articles": self.articles,
            "stories": self.stories,
            "topics": self.topics,
            "files": self.files,
            "rejected_files": self.rejected_files,
            "subscriptions": self.subscriptions,
            "last_ingest_at": self.last_ingest_at,
        }


def search_terms(text: str) -> list[str]:
    """The whitespace-separated terms a search matches: stop-words dropped when other terms
    are left ("the robot" is "robot"; "the" alone stays), at most 16."""
    printable = "".join(ch if ch.isprintable() else " " for ch in text)
    terms = [t for t in printable.split() if t]
    content = [t for t in terms if not set(words(t)) <= STOP_WORDS]
    return (content or terms)[:16]


def fts_query(text: str) -> str | None:
    """User text -> an FTS5 query of quoted terms, so nothing typed is FTS syntax."""
    return _quoted_terms(search_terms(text))


def _quoted_terms(terms: Sequence[str]) -> str | None:
    return " ".join('"' + t.replace('"', '""') + '"' for t in terms) if terms else None


def fts_prefix_query(text: str) -> str | None:
    """Like fts_query over the words of the text, the last one matching as a prefix (for
    title autocomplete: titles_fts has a prefix index for every length up to 6)."""
    found = words(text)
    if not found:
        return None
    return " ".join(f'"{w}"' for w in found[:8]) + "*"


# What the writer needs about one file's article, as plain values (cheap to pickle):
# (canonical_url, base, topics as the file names them, fingerprint of all but the topics,
#  story_key, related) where base is (url, title, excerpt, published_at, quality, heat,
# published, provider_name, provider_domain, provider_icon, image_url, category, type,
# original_url, amp_url, cdn_amp_url) and related is a tuple of (position, canonical_url,
# the stub's full row for _UPSERT_STUB without updated_at).
PreparedArticle = tuple[str, tuple[Any, ...], tuple[str, ...], str, str, tuple[Any, ...]]


def _base_row(article: Article) -> tuple[Any, ...]:
    provider = article.provider or Provider()
    return (
        article.url,
        article.title,
        article.excerpt,
        _epoch(article.published_at),
        article.quality,
        article.heat,
        int(article.published),
        provider.name,
        provider.domain,
        provider.icon_url,
        article.image_url,
        article.category,
        article.type,
        article.original_url,
        article.amp_url,
        article.cdn_amp_url,
    )


def _fingerprint(text: str, topics: Sequence[str]) -> str:
    data = (text + TOPIC_SEP + TOPIC_SEP.join(topics)).encode("utf-8", "surrogatepass")
    return hashlib.blake2b(data, digest_size=12).hexdigest()


def prepare_article(article: Article) -> PreparedArticle:
    """An article as the writer stores it; pure, so parse workers run it (not the writer)."""
    base = _base_row(article)
    related = []
    for position, stub in enumerate(article.related):
        if stub.canonical_url == article.canonical_url:
            continue
        stub_base = _base_row(stub)
        stub_fp = _fingerprint(repr((stub_base, ())), ())
        row = (stub.canonical_url, *stub_base, "", stub_fp, story_key(stub.title))
        related.append((position, stub.canonical_url, row))
    text = repr((base, tuple(r.canonical_url for r in article.related)))
    return (
        article.canonical_url,
        base,
        article.topics,
        hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=12).hexdigest(),
        story_key(article.title),
        tuple(related),
    )


def _epoch(moment: datetime | None) -> int | None:
    return None if moment is None else int(moment.timestamp())


# The columns every upsert binds, in the order of the prepared rows (updated_at last).
_BOUND_COLUMNS = (
    "canonical_url", "url", "title", "excerpt", "published_at", "quality", "heat", "published",
    "provider_name", "provider_domain", "provider_icon", "image_url", "category", "type",
    "original_url", "amp_url", "cdn_amp_url", "topics", "fingerprint", "story_key", "updated_at",
)  # fmt: skip


def _article_upsert(*, from_file: bool) -> str:
    """The upsert of a file's own article, or of a related-list stub. A stub never overwrites
    what a file says about itself, and never says whether it is published or what its topics are."""
    updated = [c for c in _BOUND_COLUMNS[1:] if from_file or c not in ("published", "topics")]
    assignments = ", ".join(f"{c} = excluded.{c}" for c in updated)
    marks = ", ".join("?" * len(_BOUND_COLUMNS))
    if from_file:
        columns = (*_BOUND_COLUMNS, "from_file", "arrived_at")
        values = f"{marks}, 1, ?"
        assignments += (
            ", from_file = 1, arrived_at = COALESCE(articles.arrived_at, excluded.arrived_at)"
        )
        where = "articles.fingerprint != excluded.fingerprint OR articles.from_file = 0"
    else:
        columns = (*_BOUND_COLUMNS, "from_file")
        values = f"{marks}, 0"
        where = "articles.from_file = 0 AND articles.fingerprint != excluded.fingerprint"
    return (
        f"INSERT INTO articles ({', '.join(columns)}) VALUES ({values})"
        f" ON CONFLICT (canonical_url) DO UPDATE SET {assignments} WHERE {where} RETURNING id"
    )


_UPSERT_FILE_ARTICLE = _article_upsert(from_file=True)
_UPSERT_STUB = _article_upsert(from_file=False)
_FTS_DELETE = (
    "INSERT INTO articles_fts (articles_fts, rowid, title, excerpt, provider)"
    " VALUES ('delete', ?, ?, ?, ?)"
)
_TITLES_FTS_DELETE = "INSERT INTO titles_fts (titles_fts, rowid, title) VALUES ('delete', ?, ?)"


class Store:
    """One writer connection and one reader connection over a WAL database."""

    def __init__(self, path: Path, writer: aiosqlite.Connection, reader: aiosqlite.Connection):
        self.path = path
        self._writer = writer
        self._reader = reader
        self._closing: asyncio.Future[None] | None = None

    # ---------------------------------------------------------------- lifecycle
    @classmethod
    async def open(cls, path: Path) -> Store:
        path.parent.mkdir(parents=True, exist_ok=True)
        writer = await aiosqlite.connect(path, isolation_level=None)
        try:
            await _configure(writer)
            await _migrate(writer)
            reader = await aiosqlite.connect(path, isolation_level=None)
            await _configure(reader)
            await reader.execute("PRAGMA query_only = ON")
        except BaseException:
            await writer.close()
            raise
        return cls(path, writer, reader)

    async def close(self) -> None:
        """Idempotent and safe to call from two tasks at once: every caller waits for the one
        close (closing an aiosqlite connection twice waits forever on its stopped thread, and
        a connection left open keeps the process from exiting)."""
        if self._closing is None:
            self._closing = asyncio.ensure_future(self._close_connections())
        await asyncio.shield(self._closing)

    async def _close_connections(self) -> None:
        for conn in (self._reader, self._writer):
            await conn.close()

    async def __aenter__(self) -> Store:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def integrity_check(self) -> str:
        rows = await self._reader.execute_fetchall("PRAGMA integrity_check")
        return ", ".join(str(r[0]) for r in rows)

    # ---------------------------------------------------------------- ingest
    async def file_states(self) -> tuple[int, dict[str, FileState]]:
        """Every known file by path, and the files generation they were read at (one snapshot)."""

        def work(conn: sqlite3.Connection) -> tuple[int, dict[str, FileState]]:
            conn.execute("BEGIN")
            try:
                generation = _files_generation(conn)
                rows = conn.execute(
                    "SELECT path, size, mtime_ns,"
                    " CASE WHEN status = 'rejected' THEN coalesce(error, '') END FROM files"
                ).fetchall()
            finally:
                conn.execute("COMMIT")
            # zip/map/itemgetter keep the 100k-row loop in C.
            return generation, dict(zip(map(itemgetter(0), rows), rows, strict=True))

        return await _on_thread(self._reader, work)

    async def files_generation(self) -> int:
        """A counter every write to the files table bumps, in the same transaction (any
        process): while it stands still, what file_states() returned is still true."""
        return await _on_thread(self._reader, _files_generation)

    async def file_hashes(self, paths: Sequence[str]) -> dict[str, str]:
        """The stored content hash of each of these paths that is known."""

        def work(conn: sqlite3.Connection) -> dict[str, str]:
            found: dict[str, str] = {}
            for i in range(0, len(paths), 500):
                part = paths[i : i + 500]
                marks = ",".join("?" * len(part))
                sql = f"SELECT path, hash FROM files WHERE path IN ({marks})"
                found.update(conn.execute(sql, part).fetchall())
            return found

        return await _on_thread(self._reader, work) if paths else {}

    async def touch_files(self, records: Iterable[tuple[str, int, int]], now: float) -> None:
        """Files whose content hash is unchanged but whose size or mtime moved."""
        rows = [(size, mtime, now, path) for path, size, mtime in records]
        if not rows:
            return

        def work(conn: sqlite3.Connection) -> None:
            with _transaction(conn):
                conn.executemany(
                    "UPDATE files SET size = ?, mtime_ns = ?, seen_at = ? WHERE path = ?", rows
                )
                _bump_files_generation(conn)

        await _on_thread(self._writer, work)

    async def apply_batch(
        self,
        records: Sequence[FileRecord],
        now: float,
        canonical_topic: Callable[[str], str] = lambda name: name,
    ) -> BatchCounts:
        """Write one batch of ingested files in a single transaction."""

        def work(conn: sqlite3.Connection) -> BatchCounts:
            with _transaction(conn):
                return _apply_batch(conn, records, now, canonical_topic)

        return await _on_thread(self._writer, work)

    async def bulk_load(
        self,
        articles: Iterable[Article | PreparedArticle],
        now: float,
        *,
        batch: int = 5000,
        canonical_topic: Callable[[str], str] = lambda name: name,
    ) -> BatchCounts:
        """Load articles that come from no file (an import, a benchmark) through the same write
        path as ingest, ``batch`` per transaction. Accepts Articles or prepare_article() tuples
        (made elsewhere, e.g. in another process). No files rows are written."""
        total = BatchCounts()
        pending: list[FileRecord] = []
        for item in articles:
            if isinstance(item, Article):
                pending.append(FileRecord("", 0, 0, "", article=item))
            else:
                pending.append(FileRecord("", 0, 0, "", prepared=item))
            if len(pending) >= batch:
                total += await self.apply_batch(pending, now, canonical_topic)
                pending = []
        if pending:
            total += await self.apply_batch(pending, now, canonical_topic)
        return total

    async def set_meta(self, key: str, value: str) -> None:
        await self._writer.execute(
            "INSERT INTO meta (key, value) VALUES (?, ?)"
            " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (key, value),
        )

    async def get_meta(self, key: str) -> str | None:
        rows = await self._reader.execute_fetchall("SELECT value FROM meta WHERE key = ?", (key,))
        return rows[0][0] if rows else None

    async def apply_aliases(self, canonical_topic: Callable[[str], str]) -> int:
        """Merge topics that the alias table now maps onto another topic; returns merges."""

        def work(conn: sqlite3.Connection) -> int:
            merged = 0
            with _transaction(conn):
                for topic_id, name in conn.execute("SELECT id, name FROM topics").fetchall():
                    target = canonical_topic(name)
                    if topic_key(target) == topic_key(name):
                        continue
                    target_id = _topic_id(conn, target)
                    conn.execute(
                        "INSERT OR IGNORE INTO article_topics"
                        " SELECT ?, published_at, article_id, quality FROM article_topics"
                        " WHERE topic_id = ?",
                        (target_id, topic_id),
                    )
                    conn.execute("DELETE FROM article_topics WHERE topic_id = ?", (topic_id,))
                    conn.execute("DELETE FROM topics WHERE id = ?", (topic_id,))
                    _recount_topics(conn, [target_id])
                    merged += 1
            return merged

        return await _on_thread(self._writer, work)

    # ---------------------------------------------------------------- reads
    async def status(self) -> StoreStatus:
        r = self._reader
        articles = await _scalar(r, "SELECT count(*) FROM articles")
        stories = await _scalar(r, "SELECT count(DISTINCT story_id) FROM articles")
        topics = await _scalar(r, "SELECT count(*) FROM topics WHERE article_count > 0")
        files = await _scalar(r, "SELECT count(*) FROM files")
        rejected = await _scalar(r, "SELECT count(*) FROM files WHERE status = 'rejected'")
        subscriptions = await self.subscription_count()
        last = await self.get_meta("last_ingest_at")
        return StoreStatus(articles, stories, topics, files, rejected, subscriptions, last)

    async def subscription_count(self) -> int:
        try:
            return await _scalar(self._reader, "SELECT count(*) FROM subscriptions")
        except sqlite3.OperationalError:  # digests not migrated in yet
            return 0

    async def topics(self, prefix: str = "", limit: int = 25) -> list[tuple[str, int]]:
        """Topics with article counts, most articles first; filtered by a substring."""
        needle = topic_key(prefix)
        rows = await self._reader.execute_fetchall(
            "SELECT name, article_count FROM topics WHERE article_count > 0"
            " AND instr(key, ?) > 0 ORDER BY (substr(key, 1, length(?)) = ?) DESC,"
            " article_count DESC, key LIMIT ?",
            (needle, needle, needle, limit),
        )
        return [(r[0], r[1]) for r in rows]

    async def topic_name(self, name: str) -> str | None:
        rows = await self._reader.execute_fetchall(
            "SELECT name FROM topics WHERE key = ? AND article_count > 0", (topic_key(name),)
        )
        return rows[0][0] if rows else None

    async def topic_entries(
        self, topic: str, *, min_quality: int = 0, limit: int = 10
    ) -> list[StoryEntry]:
        """Newest articles on a topic, one story once (its best article among these)."""
        rows = await self._reader.execute_fetchall(
            f"SELECT {_ARTICLE_COLUMNS} FROM article_topics at"
            " JOIN topics t ON t.id = at.topic_id JOIN articles a ON a.id = at.article_id"
            " WHERE t.key = ? AND COALESCE(at.quality, 0) >= ?"
            " ORDER BY at.published_at DESC, at.article_id DESC LIMIT ?",
            (topic_key(topic), min_quality, limit * 4),
        )
        return await self._entries(_one_per_story(rows, limit))

    async def latest(
        self, *, min_quality: int, limit: int = 10, topic: str | None = None
    ) -> list[StoryEntry]:
        """Newest published articles at or above a quality bar, one story once."""
        if topic is not None:
            rows = await self._reader.execute_fetchall(
                f"SELECT {_ARTICLE_COLUMNS} FROM article_topics at"
                " JOIN topics t ON t.id = at.topic_id JOIN articles a ON a.id = at.article_id"
                " WHERE t.key = ? AND COALESCE(at.quality, 0) >= ? AND a.published = 1"
                " ORDER BY at.published_at DESC, at.article_id DESC LIMIT ?",
                (topic_key(topic), min_quality, limit * 4),
            )
        else:
            rows = await self._reader.execute_fetchall(
                f"SELECT {_ARTICLE_COLUMNS} FROM articles a INDEXED BY articles_latest"
                " WHERE published = 1 AND from_file = 1 AND COALESCE(quality, 0) >= ?"
                " ORDER BY published_at DESC LIMIT ?",
                (min_quality, limit * 4),
            )
        return await self._entries(_one_per_story(rows, limit))

    async def search(self, text: str, *, limit: int = 10) -> list[StoryEntry]:
        """Full-text search over title, excerpt and provider; best match first."""
        terms = search_terms(text)
        query = _quoted_terms(terms)
        if query is None:
            return []
        relevance = Relevance([w for term in terms for w in words(term)])

        # Ranked here among the newest SEARCH_CANDIDATES matches (see bot/relevance.py): FTS5's
        # bm25() reads every match of each word first, ~20 ms for "the" at 1M articles.
        def work(conn: sqlite3.Connection) -> list[Sequence[Any]]:
            rows = conn.execute(
                f"SELECT {_ARTICLE_COLUMNS} FROM (SELECT rowid AS id FROM articles_fts"
                " WHERE articles_fts MATCH ? ORDER BY rowid DESC LIMIT ?) m"
                " JOIN articles a ON a.id = m.id",
                (query, SEARCH_CANDIDATES),
            ).fetchall()
            rows.sort(key=lambda r: (-relevance.score(r[3], r[4], r[9]), -r[0]))
            return _one_per_story(rows, limit)

        return await self._entries(await _on_thread(self._reader, work))

    async def title_choices(self, text: str, *, limit: int = 25) -> list[tuple[int, str]]:
        """(article id, title) for autocomplete by title: articles with a file of their own
        first, then newest first."""
        query = fts_prefix_query(text)
        if query is None:
            rows = await self._reader.execute_fetchall(
                "SELECT id, title FROM articles INDEXED BY articles_latest"
                " WHERE published = 1 AND from_file = 1 ORDER BY published_at DESC LIMIT ?",
                (limit,),
            )
        else:
            rows = await self._reader.execute_fetchall(
                "SELECT a.id, a.title FROM (SELECT rowid AS id FROM titles_fts"
                " WHERE titles_fts MATCH ? ORDER BY rowid DESC LIMIT ?) m"
                " JOIN articles a ON a.id = m.id"
                " ORDER BY a.from_file DESC, a.published_at DESC, a.id DESC LIMIT ?",
                (query, TITLE_CANDIDATES, limit),
            )
        return [(r[0], r[1]) for r in rows]

    async def entry(self, article_id: int) -> StoryEntry | None:
        rows = await self._reader.execute_fetchall(
            f"SELECT {_ARTICLE_COLUMNS} FROM articles a WHERE id = ?", (article_id,)
        )
        entries = await self._entries(rows)
        return entries[0] if entries else None

    async def entry_by_url(self, canonical: str) -> StoryEntry | None:
        rows = await self._reader.execute_fetchall(
            f"SELECT {_ARTICLE_COLUMNS} FROM articles a WHERE canonical_url = ?", (canonical,)
        )
        entries = await self._entries(rows)
        return entries[0] if entries else None

    async def related(self, article_id: int, *, limit: int = 20) -> list[StoryEntry]:
        """Articles linked to this one in either direction, one story once, best first."""
        rows = await self._reader.execute_fetchall(
            f"SELECT {_ARTICLE_COLUMNS} FROM articles a WHERE a.id IN ("
            " SELECT child_id FROM related WHERE parent_id = ?"
            " UNION SELECT parent_id FROM related WHERE child_id = ?)"
            " AND a.story_id IS NOT (SELECT story_id FROM articles WHERE id = ?)"
            # On a tie, what a file says about itself beats what a related list says.
            " ORDER BY COALESCE(a.quality, -1) DESC, COALESCE(a.heat, -1) DESC,"
            " a.from_file DESC, a.published_at DESC LIMIT ?",
            (article_id, article_id, article_id, limit * 4),
        )
        return await self._entries(_one_per_story(rows, limit))

    async def story_members(self, article_id: int) -> list[StoryEntry]:
        """The story's other articles (the same story told at other URLs)."""
        rows = await self._reader.execute_fetchall(
            f"SELECT {_ARTICLE_COLUMNS} FROM articles a WHERE a.story_id ="
            " (SELECT story_id FROM articles WHERE id = ?) AND a.id != ?"
            " ORDER BY COALESCE(a.quality, -1) DESC, a.published_at DESC LIMIT 25",
            (article_id, article_id),
        )
        return await self._entries(rows, with_also=False)

    async def _entries(
        self, rows: Iterable[Sequence[Any]], *, with_also: bool = True
    ) -> list[StoryEntry]:
        rows = list(rows)
        also: dict[int, list[str]] = {}
        if with_also and rows:
            ids = [r[0] for r in rows]
            marks = ",".join("?" * len(ids))
            others = await self._reader.execute_fetchall(
                "SELECT s.id, COALESCE(o.provider_name, o.provider_domain)"
                f" FROM articles s JOIN articles o ON o.story_id = s.story_id AND o.id != s.id"
                f" WHERE s.id IN ({marks}) ORDER BY COALESCE(o.quality, -1) DESC, o.id",
                ids,
            )
            for article_id, name in others:
                names = also.setdefault(article_id, [])
                if name and name not in names:
                    names.append(name)
        return [
            StoryEntry(article_id=r[0], article=_row_article(r), also=tuple(also.get(r[0], ())))
            for r in rows
        ]

    # ---------------------------------------------------------------- helpers
    async def _write_many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        def work(conn: sqlite3.Connection) -> None:
            with _transaction(conn):
                conn.executemany(sql, rows)

        await _on_thread(self._writer, work)

    async def run_write(self, work: Callable[[sqlite3.Connection], Any]) -> Any:
        """Run a function on the writer connection's thread inside one transaction."""

        def wrapped(conn: sqlite3.Connection) -> Any:
            with _transaction(conn):
                return work(conn)

        return await _on_thread(self._writer, wrapped)

    async def run_read(self, work: Callable[[sqlite3.Connection], Any]) -> Any:
        return await _on_thread(self._reader, work)

    # ---------------------------------------------------------------- digests
    # Subscriptions, digest runs (items, messages) and the delivery ledger (migration 002).
    async def subscriptions(self, guild_id: int | None = None) -> list[Subscription]:
        """Every subscription (or a guild's, plus file-managed ones whose guild is unknown)."""
        if guild_id is None:
            rows = await self._reader.execute_fetchall(
                f"SELECT {_SUBSCRIPTION_COLUMNS} FROM subscriptions ORDER BY channel_id"
            )
        else:
            rows = await self._reader.execute_fetchall(
                f"SELECT {_SUBSCRIPTION_COLUMNS} FROM subscriptions"
                " WHERE guild_id = ? OR guild_id IS NULL ORDER BY channel_id",
                (guild_id,),
            )
        return [_row_subscription(r) for r in rows]

    async def subscription(self, channel_id: int) -> Subscription | None:
        rows = await self._reader.execute_fetchall(
            f"SELECT {_SUBSCRIPTION_COLUMNS} FROM subscriptions WHERE channel_id = ?",
            (channel_id,),
        )
        return _row_subscription(rows[0]) if rows else None

    async def save_subscription(
        self,
        channel_id: int,
        spec: SubscriptionSpec,
        *,
        guild_id: int | None,
        managed_by: str,
        cursor: float,
        now: float,
    ) -> Subscription:
        """Create a subscription (cursor as given) or change its settings (cursor kept)."""

        def work(conn: sqlite3.Connection) -> None:
            _upsert_subscription(
                conn,
                channel_id,
                spec,
                guild_id=guild_id,
                managed_by=managed_by,
                cursor=cursor,
                now=now,
            )

        await self.run_write(work)
        saved = await self.subscription(channel_id)
        assert saved is not None
        return saved

    async def delete_subscription(self, channel_id: int, now: float) -> bool:
        """Remove a subscription; its unsent runs are abandoned, the ledger is kept."""

        def work(conn: sqlite3.Connection) -> bool:
            _abandon_runs(conn, channel_id, "unsubscribed", now)
            cur = conn.execute("DELETE FROM subscriptions WHERE channel_id = ?", (channel_id,))
            return cur.rowcount > 0

        return bool(await self.run_write(work))

    async def set_subscription_paused(
        self, channel_id: int, paused: bool, reason: str | None, now: float
    ) -> bool:
        """Pause (with a reason) or resume; resuming forgets the failures that led to a pause."""
        cur = await self._writer.execute(
            "UPDATE subscriptions SET paused = ?, paused_reason = ?, updated_at = ?,"
            " consecutive_failures = CASE WHEN ? THEN consecutive_failures ELSE 0 END"
            " WHERE channel_id = ?",
            (int(paused), reason if paused else None, now, int(paused), channel_id),
        )
        return cur.rowcount > 0

    async def set_subscription_guild(self, channel_id: int, guild_id: int) -> None:
        await self._writer.execute(
            "UPDATE subscriptions SET guild_id = ? WHERE channel_id = ? AND guild_id IS NOT ?",
            (guild_id, channel_id, guild_id),
        )

    async def sync_file_subscriptions(
        self, specs: Sequence[tuple[int, SubscriptionSpec]], *, cursor: float, now: float
    ) -> list[int]:
        """Make the file-managed subscriptions what the config says, in one transaction.

        New ones start at ``cursor``; a channel the file now lists becomes file-managed (its
        cursor and state kept); file-managed ones the file no longer lists are removed.
        Returns the channel ids that were added, changed or removed.
        """

        def work(conn: sqlite3.Connection) -> list[int]:
            before = {
                r[0]: r[1:]
                for r in conn.execute(
                    "SELECT channel_id, managed_by, schedule, timezone, topics, min_quality,"
                    " max_items, only_published, role_id FROM subscriptions"
                )
            }
            changed: list[int] = []
            listed = set()
            for channel_id, spec in specs:
                listed.add(channel_id)
                wanted = ("file", *_spec_row(spec))
                if before.get(channel_id) != wanted:
                    _upsert_subscription(
                        conn,
                        channel_id,
                        spec,
                        guild_id=None,
                        managed_by="file",
                        cursor=cursor,
                        now=now,
                    )
                    changed.append(channel_id)
            for channel_id, row in before.items():
                if row[0] == "file" and channel_id not in listed:
                    _abandon_runs(conn, channel_id, "removed from the config file", now)
                    conn.execute("DELETE FROM subscriptions WHERE channel_id = ?", (channel_id,))
                    changed.append(channel_id)
            return changed

        return list(await self.run_write(work))

    async def digest_candidates(
        self,
        channel_id: int,
        *,
        arrived_after: float,
        arrived_until: float,
        only_published: bool,
        min_quality: int,
        topic_keys: Sequence[str],
        limit: int,
    ) -> tuple[list[DigestCandidate], int]:
        """Eligible articles, best first (quality, heat, newest), and how many stories there are.

        Eligible: a file about it arrived in (arrived_after, arrived_until], published when
        asked, quality at or above the bar, one of the topics (none: all), and no article of its
        story delivered to the channel or waiting in one of the channel's unsent runs.
        """
        where = [
            "a.arrived_at > ?",
            "a.arrived_at <= ?",
            "COALESCE(a.quality, 0) >= ?",
            _NOT_CLAIMED,
        ]
        params: list[Any] = [arrived_after, arrived_until, min_quality, channel_id, channel_id]
        if only_published:
            where.append("a.published = 1")
        if topic_keys:
            marks = ",".join("?" * len(topic_keys))
            where.append(
                "EXISTS (SELECT 1 FROM article_topics at JOIN topics t ON t.id = at.topic_id"
                f" WHERE at.article_id = a.id AND t.key IN ({marks}))"
            )
            params.extend(topic_keys)
        condition = " AND ".join(where)
        stories = await _scalar(
            self._reader,
            "SELECT count(DISTINCT COALESCE(a.story_id, -a.id)) FROM articles a"
            f" INDEXED BY articles_arrived WHERE {condition}",
            params,
        )
        fetch = max(limit * 8, 50)
        while True:
            rows = await self._reader.execute_fetchall(
                f"SELECT {_ARTICLE_COLUMNS}, a.arrived_at, 0 FROM articles a"
                f" INDEXED BY articles_arrived WHERE {condition} ORDER BY {_DIGEST_RANK} LIMIT ?",
                (*params, fetch),
            )
            kept = _one_per_story(rows, limit)
            if len(kept) >= limit or len(rows) < fetch:
                break
            fetch *= 4
        return await self._candidates(kept), stories

    async def digest_pool(
        self, channel_id: int, *, arrived_after: float, limit: int
    ) -> list[DigestCandidate]:
        """The best articles (one per story) that arrived after a moment, eligible or not,
        each flagged when its story already reached the channel: for a preview's reasons."""
        rows = await self._reader.execute_fetchall(
            f"SELECT {_ARTICLE_COLUMNS}, a.arrived_at, NOT ({_NOT_CLAIMED}) FROM articles a"
            f" INDEXED BY articles_arrived WHERE a.arrived_at > ? ORDER BY {_DIGEST_RANK} LIMIT ?",
            (channel_id, channel_id, arrived_after, limit * 4),
        )
        return await self._candidates(_one_per_story(rows, limit))

    async def _candidates(self, rows: Sequence[Sequence[Any]]) -> list[DigestCandidate]:
        entries = await self._entries(rows)
        return [
            DigestCandidate(entry, r[19], float(r[20]), bool(r[21]))
            for entry, r in zip(entries, rows, strict=True)
        ]

    async def story_article_ids(self, article_ids: Sequence[int]) -> dict[int, list[int]]:
        """Every article of each given article's story (the article itself first)."""
        result: dict[int, list[int]] = {}
        for article_id in article_ids:
            rows = await self._reader.execute_fetchall(
                "SELECT o.id FROM articles a JOIN articles o ON o.story_id = a.story_id"
                " WHERE a.id = ? AND o.id != a.id ORDER BY o.id",
                (article_id,),
            )
            result[article_id] = [article_id, *(r[0] for r in rows)]
        return result

    async def record_run(
        self,
        channel_id: int,
        *,
        trigger: str,
        selected_at: float,
        more: int,
        items: Sequence[tuple[int, int, bool]],
        payloads: Sequence[str],
        nonce: Callable[[int, int], str],
    ) -> DigestRunRecord:
        """Write a run before anything is sent: its items (article, chunk, shown), its messages
        (payload JSON, nonce(run_id, chunk)); the subscription's cursor moves to selected_at.
        A run with no messages is finished at once."""

        def work(conn: sqlite3.Connection) -> int:
            status = "pending" if payloads else "delivered"
            cur = conn.execute(
                "INSERT INTO digest_runs (channel_id, trigger, selected_at, status, more,"
                " finished_at) VALUES (?, ?, ?, ?, ?, ?)",
                (channel_id, trigger, selected_at, status, more, None if payloads else selected_at),
            )
            run_id = int(cur.lastrowid or 0)
            conn.executemany(
                "INSERT OR IGNORE INTO digest_run_items (run_id, article_id, chunk, shown)"
                " VALUES (?, ?, ?, ?)",
                [(run_id, article_id, chunk, int(shown)) for article_id, chunk, shown in items],
            )
            conn.executemany(
                "INSERT INTO digest_messages (run_id, chunk, nonce, payload) VALUES (?, ?, ?, ?)",
                [(run_id, chunk, nonce(run_id, chunk), p) for chunk, p in enumerate(payloads)],
            )
            conn.execute(
                "UPDATE subscriptions SET cursor = max(cursor, ?) WHERE channel_id = ?",
                (selected_at, channel_id),
            )
            if not payloads:
                _succeed(conn, channel_id, selected_at)
            return run_id

        run_id = await self.run_write(work)
        runs = await self.digest_runs(run_id=run_id)
        return runs[0]

    async def digest_runs(
        self, *, channel_id: int | None = None, run_id: int | None = None, pending: bool = False
    ) -> list[DigestRunRecord]:
        """Runs with their messages, oldest first; filtered by channel, id or pending status."""
        where, params = ["1"], []
        if channel_id is not None:
            where.append("channel_id = ?")
            params.append(channel_id)
        if run_id is not None:
            where.append("id = ?")
            params.append(run_id)
        if pending:
            where.append("status = 'pending'")
        runs = await self._reader.execute_fetchall(
            "SELECT id, channel_id, trigger, selected_at, status, more, attempts, last_error"
            f" FROM digest_runs WHERE {' AND '.join(where)} ORDER BY id",
            params,
        )
        result = []
        for r in runs:
            messages = await self._reader.execute_fetchall(
                "SELECT chunk, nonce, payload, message_id FROM digest_messages WHERE run_id = ?"
                " ORDER BY chunk",
                (r[0],),
            )
            result.append(
                DigestRunRecord(
                    id=r[0],
                    channel_id=r[1],
                    trigger=r[2],
                    selected_at=r[3],
                    status=r[4],
                    more=r[5],
                    attempts=r[6],
                    last_error=r[7],
                    messages=tuple(RunMessage(m[0], m[1], m[2], m[3]) for m in messages),
                )
            )
        return result

    async def confirm_message(self, run_id: int, chunk: int, message_id: int, now: float) -> int:
        """Discord confirmed a message: mark the ledger for its stories' articles (once).
        Returns how many stories it carried (0 when it was already confirmed)."""

        def work(conn: sqlite3.Connection) -> int:
            cur = conn.execute(
                "UPDATE digest_messages SET message_id = ?, sent_at = ?"
                " WHERE run_id = ? AND chunk = ? AND message_id IS NULL",
                (message_id, now, run_id, chunk),
            )
            if cur.rowcount == 0:
                return 0
            channel_id = conn.execute(
                "SELECT channel_id FROM digest_runs WHERE id = ?", (run_id,)
            ).fetchone()[0]
            conn.execute(
                "INSERT OR IGNORE INTO deliveries (channel_id, article_id, run_id, delivered_at)"
                " SELECT ?, article_id, run_id, ? FROM digest_run_items"
                " WHERE run_id = ? AND chunk = ?",
                (channel_id, now, run_id, chunk),
            )
            shown = conn.execute(
                "SELECT count(*) FROM digest_run_items WHERE run_id = ? AND chunk = ? AND shown",
                (run_id, chunk),
            ).fetchone()[0]
            conn.execute(
                "UPDATE subscriptions SET items_delivered = items_delivered + ?"
                " WHERE channel_id = ?",
                (shown, channel_id),
            )
            return int(shown)

        return int(await self.run_write(work))

    async def finish_run(self, run_id: int, now: float) -> None:
        """Every message confirmed: the run is delivered and the subscription healthy."""

        def work(conn: sqlite3.Connection) -> None:
            row = conn.execute(
                "UPDATE digest_runs SET status = 'delivered', finished_at = ?, last_error = NULL"
                " WHERE id = ? AND status = 'pending' RETURNING channel_id",
                (now, run_id),
            ).fetchone()
            if row is not None:
                _succeed(conn, row[0], now)

        await self.run_write(work)

    async def fail_run(
        self, run_id: int, error: str, now: float, *, counts: bool, pause_after: int
    ) -> Subscription | None:
        """A delivery attempt failed; the run stays pending. ``counts``: a failure towards the
        pause (missing channel or permission), not a passing server error. Returns the
        subscription as it is now (paused once ``pause_after`` failed runs came in a row)."""

        def work(conn: sqlite3.Connection) -> int:
            channel_id = conn.execute(
                "UPDATE digest_runs SET attempts = attempts + 1, last_error = ? WHERE id = ?"
                " RETURNING channel_id",
                (error, run_id),
            ).fetchone()[0]
            conn.execute(
                "UPDATE subscriptions SET last_error = ?, updated_at = ?,"
                " consecutive_failures = consecutive_failures + ? WHERE channel_id = ?",
                (error, now, int(counts), channel_id),
            )
            conn.execute(
                "UPDATE subscriptions SET paused = 1, paused_reason = ?"
                " WHERE channel_id = ? AND paused = 0 AND consecutive_failures >= ?",
                (
                    f"paused by the bot after {pause_after} failed runs in a row: {error}",
                    channel_id,
                    pause_after,
                ),
            )
            return int(channel_id)

        channel_id = await self.run_write(work)
        return await self.subscription(channel_id)

    async def delivered_article_ids(self, channel_id: int) -> list[int]:
        rows = await self._reader.execute_fetchall(
            "SELECT article_id FROM deliveries WHERE channel_id = ? ORDER BY article_id",
            (channel_id,),
        )
        return [r[0] for r in rows]


# -------------------------------------------------------------------- module helpers
async def _on_thread(conn: aiosqlite.Connection, work: Callable[[sqlite3.Connection], Any]) -> Any:
    """Run a whole batch on the connection's own thread in one hop (aiosqlite has no public
    call for this; one hop per batch instead of one per statement is what makes ingest fast)."""
    return await conn._execute(work, conn._conn)  # type: ignore[attr-defined]


async def _configure(conn: aiosqlite.Connection) -> None:
    await conn.execute("PRAGMA journal_mode = WAL")
    await conn.execute("PRAGMA synchronous = NORMAL")
    await conn.execute("PRAGMA foreign_keys = ON")
    await conn.execute("PRAGMA busy_timeout = 10000")
    await conn.execute("PRAGMA cache_size = -32000")
    await conn.execute("PRAGMA temp_store = MEMORY")


def _migrations() -> list[tuple[int, str]]:
    found = []
    for entry in importlib.resources.files("bot.store.migrations").iterdir():
        match = re.match(r"(\d+)_.*\.sql$", entry.name)
        if match:
            found.append((int(match.group(1)), entry.read_text(encoding="utf-8")))
    return sorted(found)


async def _migrate(conn: aiosqlite.Connection) -> None:
    """Apply numbered migrations, each in one transaction, tracked in PRAGMA user_version."""
    migrations = _migrations()

    def work(raw: sqlite3.Connection) -> None:
        version = raw.execute("PRAGMA user_version").fetchone()[0]
        for number, sql in migrations:
            if number <= version:
                continue
            with _transaction(raw):
                for statement in _split_sql(sql):
                    raw.execute(statement)
                raw.execute(f"PRAGMA user_version = {int(number)}")

    await _on_thread(conn, work)


def _split_sql(script: str) -> list[str]:
    """Split a migration into statements (triggers keep their inner semicolons)."""
    statements, current = [], []
    for line in script.splitlines():
        current.append(line)
        candidate = "\n".join(current).strip()
        if candidate and sqlite3.complete_statement(candidate):
            statements.append(candidate)
            current = []
    return [s for s in statements if s.strip(" ;\n")]


class _transaction:
    """BEGIN IMMEDIATE ... COMMIT on a connection in autocommit mode; ROLLBACK on error."""

    def __init__(self, conn: sqlite3.Connection):
        self.conn = conn

    def __enter__(self) -> sqlite3.Connection:
        self.conn.execute("BEGIN IMMEDIATE")
        return self.conn

    def __exit__(self, exc_type: object, *_: object) -> None:
        self.conn.execute("ROLLBACK" if exc_type else "COMMIT")


def _files_generation(conn: sqlite3.Connection) -> int:
    row = conn.execute("SELECT value FROM meta WHERE key = ?", (FILES_GENERATION,)).fetchone()
    return int(row[0]) if row else 0


def _bump_files_generation(conn: sqlite3.Connection) -> None:
    conn.execute(
        "INSERT INTO meta (key, value) VALUES (?, 1)"
        " ON CONFLICT (key) DO UPDATE SET value = CAST(value AS INTEGER) + 1",
        (FILES_GENERATION,),
    )


async def _scalar(conn: aiosqlite.Connection, sql: str, params: Sequence[Any] = ()) -> int:
    rows = await conn.execute_fetchall(sql, params)
    return int(rows[0][0] or 0) if rows else 0


def _row_article(r: Sequence[Any]) -> Article:
    provider = Provider(r[9], r[10], r[11]) if (r[9] or r[10] or r[11]) else None
    published_at = None if r[5] is None else datetime.fromtimestamp(r[5], UTC)
    return Article(
        url=r[1],
        canonical_url=r[2],
        title=r[3],
        excerpt=r[4],
        published_at=published_at,
        quality=r[6],
        heat=r[7],
        published=bool(r[8]),
        provider=provider,
        image_url=r[12],
        category=r[13],
        type=r[14],
        original_url=r[15],
        amp_url=r[16],
        cdn_amp_url=r[17],
        topics=tuple(t for t in (r[18] or "").split(TOPIC_SEP) if t),
    )


def _one_per_story(rows: Iterable[Sequence[Any]], limit: int) -> list[Sequence[Any]]:
    """Keep the first row of each story (rows arrive in the wanted order)."""
    seen: set[int] = set()
    kept = []
    for row in rows:
        story = row[19] if row[19] is not None else -row[0]
        if story in seen:
            continue
        seen.add(story)
        kept.append(row)
        if len(kept) >= limit:
            break
    return kept


def _topic_id(conn: sqlite3.Connection, name: str) -> int:
    key = topic_key(name)
    row = conn.execute("SELECT id FROM topics WHERE key = ?", (key,)).fetchone()
    if row:
        return int(row[0])
    cur = conn.execute("INSERT INTO topics (name, key) VALUES (?, ?)", (name, key))
    return int(cur.lastrowid or 0)


def _recount_topics(conn: sqlite3.Connection, topic_ids: Iterable[int]) -> None:
    conn.executemany(
        "UPDATE topics SET article_count ="
        " (SELECT count(*) FROM article_topics WHERE topic_id = ?) WHERE id = ?",
        [(t, t) for t in set(topic_ids)],
    )


@dataclass(slots=True)
class _BatchState:
    counts: BatchCounts = field(default_factory=BatchCounts)
    changed_ids: set[int] = field(default_factory=set)
    unchanged_ids: set[int] = field(default_factory=set)
    # canonical_url -> [id, fingerprint, from_file], as the batch has written it so far
    known: dict[str, list[Any]] = field(default_factory=dict)
    # canonical_url -> (id, title, excerpt, provider_name) of rows that existed before the batch
    before: dict[str, tuple[Any, ...]] = field(default_factory=dict)
    fts_old: dict[int, tuple[Any, ...]] = field(default_factory=dict)  # indexed before: unindex
    fts_new: set[int] = field(default_factory=set)  # (re)index from the row at the end
    topic_ids: dict[str, int] = field(default_factory=dict)  # topic key -> id
    topic_delta: dict[int, int] = field(default_factory=dict)  # topic id -> article_count change
    topics_cleared: set[int] = field(default_factory=set)  # articles whose stored topics went
    pending_topics: dict[int, list[tuple[int, int, int, int | None]]] = field(default_factory=dict)
    edges_cleared: set[int] = field(default_factory=set)  # parents whose stored edges went
    pending_edges: dict[int, list[tuple[int, int, int]]] = field(default_factory=dict)

    def reindex(self, canonical: str, article_id: int) -> None:
        """The row changed: its full-text entry is rebuilt at the end of the batch."""
        self.fts_new.add(article_id)
        old = self.before.get(canonical)
        if old is not None and article_id not in self.fts_old:
            self.fts_old[article_id] = old[1:]


def _apply_batch(
    conn: sqlite3.Connection,
    records: Sequence[FileRecord],
    now: float,
    canonical_topic: Callable[[str], str],
) -> BatchCounts:
    """Write a batch. The full-text index is maintained here in two set statements at the end
    (a trigger writing FTS5 row by row flushes its pending terms on every row: ~10x slower)."""
    state = _BatchState()
    prepared: list[PreparedArticle | None] = [
        record.prepared
        if record.prepared is not None
        else (prepare_article(record.article) if record.article is not None else None)
        for record in records
    ]
    _prefetch(conn, prepared, state)
    # Every file's own article first, so a related entry in the same batch never counts as new.
    ids: list[int | None] = [
        None if item is None else _upsert_file_article(conn, item, now, canonical_topic, state)
        for item in prepared
    ]
    for item, article_id in zip(prepared, ids, strict=True):
        if item is not None and article_id is not None:
            _link_related(conn, article_id, item, now, state)
    rows = [row for rows in state.pending_topics.values() for row in rows]
    conn.executemany("INSERT OR IGNORE INTO article_topics VALUES (?, ?, ?, ?)", rows)
    edges = [edge for edges in state.pending_edges.values() for edge in edges]
    conn.executemany("INSERT OR IGNORE INTO related VALUES (?, ?, ?)", edges)
    file_rows = [
        (
            record.path,
            record.size,
            record.mtime_ns,
            record.hash,
            "ok" if item is not None else "rejected",
            record.error,
            article_id,
            now,
        )
        for record, item, article_id in zip(records, prepared, ids, strict=True)
        if record.path  # bulk_load: articles from no file
    ]
    conn.executemany(
        "INSERT INTO files (path, size, mtime_ns, hash, status, error, article_id, seen_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (path) DO UPDATE SET"
        " size = excluded.size, mtime_ns = excluded.mtime_ns, hash = excluded.hash,"
        " status = excluded.status, error = excluded.error, article_id = excluded.article_id,"
        " seen_at = excluded.seen_at",
        file_rows,
    )
    if file_rows:
        _bump_files_generation(conn)
    _update_fts(conn, state)
    _assign_stories(conn, state.changed_ids)
    conn.executemany(
        "UPDATE topics SET article_count = article_count + ? WHERE id = ?",
        [(delta, topic_id) for topic_id, delta in state.topic_delta.items() if delta],
    )
    return state.counts


def _prefetch(
    conn: sqlite3.Connection, prepared: Sequence[PreparedArticle | None], state: _BatchState
) -> None:
    """One look-up for every URL the batch names (its files' articles and related entries)."""
    urls: set[str] = set()
    for item in prepared:
        if item is not None:
            urls.add(item[0])
            urls.update(stub[1] for stub in item[5])
    ordered = list(urls)
    for i in range(0, len(ordered), 500):
        part = ordered[i : i + 500]
        marks = ",".join("?" * len(part))
        for row in conn.execute(
            "SELECT canonical_url, id, fingerprint, from_file, title, excerpt, provider_name"
            f" FROM articles WHERE canonical_url IN ({marks})",
            part,
        ):
            state.known[row[0]] = [row[1], row[2], row[3]]
            state.before[row[0]] = (row[1], row[4], row[5], row[6])


def _upsert_file_article(
    conn: sqlite3.Connection,
    item: PreparedArticle,
    now: float,
    canonical_topic: Callable[[str], str],
    state: _BatchState,
) -> int:
    canonical, base, file_topics, text, key, _related = item
    topics = _dedupe_topics(canonical_topic(t) for t in file_topics)
    fingerprint = _fingerprint(text, topics)
    before = state.known.get(canonical)
    if before is not None and before[2] == 1 and before[1] == fingerprint:
        got = None  # the upsert's WHERE would keep the row as it is
    else:
        got = conn.execute(
            _UPSERT_FILE_ARTICLE,
            (canonical, *base, TOPIC_SEP.join(topics), fingerprint, key, now, now),
        ).fetchone()
    if before is None:
        state.counts.added += 1
        article_id = int(got[0])
    else:
        article_id = before[0]
        if before[2] == 0:
            state.counts.added += 1  # first file about an article known only as related
        elif before[1] != fingerprint:
            state.counts.updated += 1
        else:
            state.counts.unchanged += 1
            state.unchanged_ids.add(article_id)
            return article_id
    state.known[canonical] = [article_id, fingerprint, 1]
    state.changed_ids.add(article_id)
    if got is not None:
        state.reindex(canonical, article_id)
    # Topics: replace this article's set (what the database held, and what this batch queued).
    delta = state.topic_delta
    if canonical in state.before and article_id not in state.topics_cleared:
        state.topics_cleared.add(article_id)
        for (topic_id,) in conn.execute(
            "DELETE FROM article_topics WHERE article_id = ? RETURNING topic_id", (article_id,)
        ).fetchall():
            delta[topic_id] = delta.get(topic_id, 0) - 1
    for old in state.pending_topics.pop(article_id, ()):
        delta[old[0]] = delta.get(old[0], 0) - 1
    published = base[3] or 0
    quality = base[4]
    rows = []
    for name in topics:
        topic_id = _batch_topic_id(conn, name, state)
        delta[topic_id] = delta.get(topic_id, 0) + 1
        rows.append((topic_id, published, article_id, quality))
    state.pending_topics[article_id] = rows
    return article_id


def _batch_topic_id(conn: sqlite3.Connection, name: str, state: _BatchState) -> int:
    key = topic_key(name)
    topic_id = state.topic_ids.get(key)
    if topic_id is None:
        topic_id = state.topic_ids[key] = _topic_id(conn, name)
    return topic_id


def _link_related(
    conn: sqlite3.Connection,
    article_id: int,
    item: PreparedArticle,
    now: float,
    state: _BatchState,
) -> None:
    if article_id in state.unchanged_ids:
        return
    # Related: this file's list replaces the edges it made before.
    if item[0] in state.before and article_id not in state.edges_cleared:
        state.edges_cleared.add(article_id)
        conn.execute("DELETE FROM related WHERE parent_id = ?", (article_id,))
    edges = []
    known = state.known
    for position, canonical, row in item[5]:
        stub_before = known.get(canonical)
        if stub_before is not None and (stub_before[2] == 1 or stub_before[1] == row[18]):
            got = None  # the upsert's WHERE would keep the row as it is
        else:
            got = conn.execute(_UPSERT_STUB, (*row, now)).fetchone()
        if stub_before is None:
            state.counts.related_added += 1
            stub_id = int(got[0])
            state.changed_ids.add(stub_id)
            known[canonical] = [stub_id, row[18], 0]
        else:
            stub_id = stub_before[0]
            if stub_before[2] == 0:
                state.changed_ids.add(stub_id)
                if got is not None:
                    stub_before[1] = row[18]
        if got is not None:
            state.reindex(canonical, stub_id)
        edges.append((article_id, stub_id, position))
    state.pending_edges[article_id] = edges


def _update_fts(conn: sqlite3.Connection, state: _BatchState) -> None:
    """Unindex the changed rows' old text, then index their text as it is now, in bulk."""
    if state.fts_old:
        conn.executemany(_FTS_DELETE, [(i, *old) for i, old in state.fts_old.items()])
        conn.executemany(_TITLES_FTS_DELETE, [(i, old[0]) for i, old in state.fts_old.items()])
    if state.fts_new:
        conn.execute("CREATE TEMP TABLE IF NOT EXISTS fts_pending (id INTEGER PRIMARY KEY)")
        conn.execute("DELETE FROM temp.fts_pending")
        conn.executemany(
            "INSERT INTO temp.fts_pending (id) VALUES (?)", [(i,) for i in state.fts_new]
        )
        conn.execute(
            "INSERT INTO articles_fts (rowid, title, excerpt, provider)"
            " SELECT a.id, a.title, a.excerpt, a.provider_name"
            " FROM temp.fts_pending p JOIN articles a ON a.id = p.id ORDER BY a.id"
        )
        conn.execute(
            "INSERT INTO titles_fts (rowid, title) SELECT a.id, a.title"
            " FROM temp.fts_pending p JOIN articles a ON a.id = p.id ORDER BY a.id"
        )
        conn.execute("DELETE FROM temp.fts_pending")


def _dedupe_topics(names: Iterable[str]) -> list[str]:
    seen: set[str] = set()
    kept = []
    for name in names:
        key = topic_key(name)
        if key and key not in seen:
            seen.add(key)
            kept.append(name)
    return kept


def _assign_stories(conn: sqlite3.Connection, article_ids: Iterable[int]) -> None:
    """Join each changed article to a story: same normalised title, within 3 days."""
    ordered = sorted(article_ids)
    rows: dict[int, tuple[Any, ...]] = {}
    for i in range(0, len(ordered), 500):  # each row is read before any of them is updated
        part = ordered[i : i + 500]
        for r in conn.execute(
            "SELECT id, story_key, published_at, story_id FROM articles"
            f" WHERE id IN ({','.join('?' * len(part))})",
            part,
        ):
            rows[r[0]] = r[1:]
    for article_id in ordered:
        row = rows.get(article_id)
        if row is None:
            continue
        key, published_at, current = row
        match = None
        if published_at is not None and key:
            match = conn.execute(
                "SELECT min(story_id) FROM articles WHERE story_key = ? AND id != ?"
                " AND published_at BETWEEN ? AND ? AND story_id IS NOT NULL",
                (key, article_id, published_at - STORY_WINDOW_S, published_at + STORY_WINDOW_S),
            ).fetchone()[0]
        story = match if match is not None else (current if current == article_id else article_id)
        if story != current:
            conn.execute("UPDATE articles SET story_id = ? WHERE id = ?", (story, article_id))


# -------------------------------------------------------------------- digests (module helpers)
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


@dataclass(frozen=True, slots=True)
class Subscription:
    channel_id: int
    guild_id: int | None
    spec: SubscriptionSpec
    managed_by: str  # 'command' or 'file'
    paused: bool
    paused_reason: str | None
    cursor: float
    last_run_at: float | None
    items_delivered: int
    consecutive_failures: int
    last_error: str | None
    created_at: float
    updated_at: float


@dataclass(frozen=True, slots=True)
class DigestCandidate:
    entry: StoryEntry
    story_id: int | None
    arrived_at: float
    delivered: bool  # its story already reached the channel (or waits in an unsent run)


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
    status: str  # 'pending', 'delivered' or 'abandoned'
    more: int
    attempts: int
    last_error: str | None
    messages: tuple[RunMessage, ...]


_SUBSCRIPTION_COLUMNS = (
    "channel_id, guild_id, schedule, timezone, topics, min_quality, max_items, only_published,"
    " role_id, managed_by, paused, paused_reason, cursor, last_run_at, items_delivered,"
    " consecutive_failures, last_error, created_at, updated_at"
)
_DIGEST_RANK = (
    "COALESCE(a.quality, -1) DESC, COALESCE(a.heat, -1) DESC, a.published_at DESC, a.id DESC"
)
# True when no article of the story reached channel ? (param 1) or waits in its unsent runs (2).
_NOT_CLAIMED = (
    "NOT EXISTS (SELECT 1 FROM articles o JOIN deliveries d ON d.article_id = o.id"
    " AND d.channel_id = ? WHERE o.story_id = a.story_id OR o.id = a.id)"
    " AND NOT EXISTS (SELECT 1 FROM articles o JOIN digest_run_items i ON i.article_id = o.id"
    " JOIN digest_runs r ON r.id = i.run_id AND r.status = 'pending' AND r.channel_id = ?"
    " WHERE o.story_id = a.story_id OR o.id = a.id)"
)


def _spec_row(spec: SubscriptionSpec) -> tuple[Any, ...]:
    return (
        spec.schedule,
        spec.timezone,
        TOPIC_SEP.join(spec.topics),
        spec.min_quality,
        spec.max_items,
        int(spec.only_published),
        spec.role_id,
    )


def _row_subscription(r: Sequence[Any]) -> Subscription:
    spec = SubscriptionSpec(
        schedule=r[2],
        timezone=r[3],
        topics=tuple(t for t in (r[4] or "").split(TOPIC_SEP) if t),
        min_quality=r[5],
        max_items=r[6],
        only_published=bool(r[7]),
        role_id=r[8],
    )
    return Subscription(
        channel_id=r[0],
        guild_id=r[1],
        spec=spec,
        managed_by=r[9],
        paused=bool(r[10]),
        paused_reason=r[11],
        cursor=r[12],
        last_run_at=r[13],
        items_delivered=r[14],
        consecutive_failures=r[15],
        last_error=r[16],
        created_at=r[17],
        updated_at=r[18],
    )


def _upsert_subscription(
    conn: sqlite3.Connection,
    channel_id: int,
    spec: SubscriptionSpec,
    *,
    guild_id: int | None,
    managed_by: str,
    cursor: float,
    now: float,
) -> None:
    conn.execute(
        "INSERT INTO subscriptions (channel_id, guild_id, schedule, timezone, topics, min_quality,"
        " max_items, only_published, role_id, managed_by, cursor, created_at, updated_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (channel_id) DO UPDATE SET"
        " guild_id = COALESCE(excluded.guild_id, subscriptions.guild_id),"
        " schedule = excluded.schedule, timezone = excluded.timezone, topics = excluded.topics,"
        " min_quality = excluded.min_quality, max_items = excluded.max_items,"
        " only_published = excluded.only_published, role_id = excluded.role_id,"
        " managed_by = excluded.managed_by, updated_at = excluded.updated_at",
        (channel_id, guild_id, *_spec_row(spec), managed_by, cursor, now, now),
    )


def _abandon_runs(conn: sqlite3.Connection, channel_id: int, reason: str, now: float) -> None:
    conn.execute(
        "UPDATE digest_runs SET status = 'abandoned', last_error = ?, finished_at = ?"
        " WHERE channel_id = ? AND status = 'pending'",
        (reason, now, channel_id),
    )


def _succeed(conn: sqlite3.Connection, channel_id: int, now: float) -> None:
    conn.execute(
        "UPDATE subscriptions SET last_run_at = ?, consecutive_failures = 0, last_error = NULL"
        " WHERE channel_id = ?",
        (now, channel_id),
    )
