"""The SQLite store: every SQL statement of the bot lives in this module."""

from __future__ import annotations

import hashlib
import importlib.resources
import re
import sqlite3
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiosqlite

from bot.articles import Article, Provider, StoryEntry, story_key, topic_key

STORY_WINDOW_S = 3 * 24 * 3600
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


@dataclass(frozen=True, slots=True)
class FileState:
    size: int
    mtime_ns: int
    hash: str


@dataclass(frozen=True, slots=True)
class RejectedFile:
    path: str
    reason: str


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


def fts_query(text: str) -> str | None:
    """User text -> an FTS5 query of quoted terms, so nothing typed is FTS syntax."""
    printable = "".join(ch if ch.isprintable() else " " for ch in text)
    terms = [t for t in printable.split() if t]
    if not terms:
        return None
    return " ".join('"' + t.replace('"', '""') + '"' for t in terms[:16])


def fts_prefix_query(text: str) -> str | None:
    """Like fts_query, the last term matching as a prefix (for autocomplete)."""
    words = re.findall(r"\w+", text, flags=re.UNICODE)
    if not words:
        return None
    quoted = ['"' + w + '"' for w in words[:8]]
    quoted[-1] += "*"
    return "title : (" + " ".join(quoted) + ")"


def _fingerprint(article: Article, topics: Sequence[str]) -> str:
    parts = (
        article.url,
        article.title,
        article.excerpt,
        _epoch(article.published_at),
        article.quality,
        article.heat,
        article.published,
        article.provider,
        article.image_url,
        article.category,
        article.type,
        article.original_url,
        article.amp_url,
        article.cdn_amp_url,
        tuple(topics),
        tuple(r.canonical_url for r in article.related),
    )
    return hashlib.blake2b(repr(parts).encode(), digest_size=12).hexdigest()


def _epoch(moment: datetime | None) -> int | None:
    return None if moment is None else int(moment.timestamp())


def _article_row(article: Article, topics: Sequence[str], now: float) -> tuple[Any, ...]:
    provider = article.provider or Provider()
    return (
        article.canonical_url,
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
        TOPIC_SEP.join(topics),
        _fingerprint(article, topics),
        story_key(article.title),
        now,
    )


_UPSERT_FILE_ARTICLE = """
INSERT INTO articles (canonical_url, url, title, excerpt, published_at, quality, heat, published,
    provider_name, provider_domain, provider_icon, image_url, category, type, original_url,
    amp_url, cdn_amp_url, topics, fingerprint, story_key, updated_at, from_file, arrived_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?)
ON CONFLICT (canonical_url) DO UPDATE SET
    url = excluded.url, title = excluded.title, excerpt = excluded.excerpt,
    published_at = excluded.published_at, quality = excluded.quality, heat = excluded.heat,
    published = excluded.published, provider_name = excluded.provider_name,
    provider_domain = excluded.provider_domain, provider_icon = excluded.provider_icon,
    image_url = excluded.image_url, category = excluded.category, type = excluded.type,
    original_url = excluded.original_url, amp_url = excluded.amp_url,
    cdn_amp_url = excluded.cdn_amp_url, topics = excluded.topics,
    fingerprint = excluded.fingerprint, story_key = excluded.story_key,
    updated_at = excluded.updated_at, from_file = 1,
    arrived_at = COALESCE(articles.arrived_at, excluded.arrived_at)
WHERE articles.fingerprint != excluded.fingerprint OR articles.from_file = 0
"""

# A related entry never overwrites what a file says about the article itself.
_UPSERT_STUB = """
INSERT INTO articles (canonical_url, url, title, excerpt, published_at, quality, heat, published,
    provider_name, provider_domain, provider_icon, image_url, category, type, original_url,
    amp_url, cdn_amp_url, topics, fingerprint, story_key, updated_at, from_file)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0)
ON CONFLICT (canonical_url) DO UPDATE SET
    url = excluded.url, title = excluded.title, excerpt = excluded.excerpt,
    published_at = excluded.published_at, quality = excluded.quality, heat = excluded.heat,
    provider_name = excluded.provider_name, provider_domain = excluded.provider_domain,
    provider_icon = excluded.provider_icon, image_url = excluded.image_url,
    category = excluded.category, type = excluded.type, original_url = excluded.original_url,
    amp_url = excluded.amp_url, cdn_amp_url = excluded.cdn_amp_url,
    fingerprint = excluded.fingerprint, story_key = excluded.story_key,
    updated_at = excluded.updated_at
WHERE articles.from_file = 0 AND articles.fingerprint != excluded.fingerprint
"""


class Store:
    """One writer connection and one reader connection over a WAL database."""

    def __init__(self, path: Path, writer: aiosqlite.Connection, reader: aiosqlite.Connection):
        self.path = path
        self._writer = writer
        self._reader = reader

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
        for conn in (self._reader, self._writer):
            try:
                await conn.close()
            except ValueError:  # already closed
                pass

    async def __aenter__(self) -> Store:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def integrity_check(self) -> str:
        rows = await self._reader.execute_fetchall("PRAGMA integrity_check")
        return ", ".join(str(r[0]) for r in rows)

    # ---------------------------------------------------------------- ingest
    async def file_states(self) -> dict[str, FileState]:
        rows = await self._reader.execute_fetchall("SELECT path, size, mtime_ns, hash FROM files")
        return {r[0]: FileState(r[1], r[2], r[3]) for r in rows}

    async def touch_files(self, records: Iterable[tuple[str, int, int]], now: float) -> None:
        """Files whose content hash is unchanged but whose size or mtime moved."""
        rows = [(size, mtime, now, path) for path, size, mtime in records]
        if rows:
            await self._write_many(
                "UPDATE files SET size = ?, mtime_ns = ?, seen_at = ? WHERE path = ?", rows
            )

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

    async def set_meta(self, key: str, value: str) -> None:
        await self._writer.execute(
            "INSERT INTO meta (key, value) VALUES (?, ?)"
            " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (key, value),
        )

    async def get_meta(self, key: str) -> str | None:
        rows = await self._reader.execute_fetchall("SELECT value FROM meta WHERE key = ?", (key,))
        return rows[0][0] if rows else None

    async def rejected_files(self) -> list[RejectedFile]:
        rows = await self._reader.execute_fetchall(
            "SELECT path, error FROM files WHERE status = 'rejected' ORDER BY path"
        )
        return [RejectedFile(r[0], r[1] or "") for r in rows]

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
        query = fts_query(text)
        if query is None:
            return []
        rows = await self._reader.execute_fetchall(
            f"SELECT {_ARTICLE_COLUMNS} FROM articles_fts f JOIN articles a ON a.id = f.rowid"
            " WHERE articles_fts MATCH ? ORDER BY bm25(articles_fts, 10.0, 2.0, 1.0) LIMIT ?",
            (query, limit * 4),
        )
        return await self._entries(_one_per_story(rows, limit))

    async def title_choices(self, text: str, *, limit: int = 25) -> list[tuple[int, str]]:
        """(article id, title) for autocomplete by title; newest first."""
        query = fts_prefix_query(text)
        if query is None:
            rows = await self._reader.execute_fetchall(
                "SELECT id, title FROM articles INDEXED BY articles_latest"
                " WHERE published = 1 AND from_file = 1 ORDER BY published_at DESC LIMIT ?",
                (limit,),
            )
        else:
            rows = await self._reader.execute_fetchall(
                "SELECT a.id, a.title FROM articles_fts f JOIN articles a ON a.id = f.rowid"
                " WHERE articles_fts MATCH ? ORDER BY a.from_file DESC, rank LIMIT ?",
                (query, limit),
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
            " ORDER BY COALESCE(a.quality, -1) DESC, COALESCE(a.heat, -1) DESC,"
            " a.published_at DESC LIMIT ?",
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
    for entry in importlib.resources.files("bot.migrations").iterdir():
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
    topic_ids: set[int] = field(default_factory=set)
    unchanged_ids: set[int] = field(default_factory=set)


def _apply_batch(
    conn: sqlite3.Connection,
    records: Sequence[FileRecord],
    now: float,
    canonical_topic: Callable[[str], str],
) -> BatchCounts:
    state = _BatchState()
    # Every file's own article first, so a related entry in the same batch never counts as new.
    ids: list[int | None] = []
    for record in records:
        article = record.article
        ids.append(
            None
            if article is None
            else _upsert_file_article(conn, article, now, canonical_topic, state)
        )
    for record, article_id in zip(records, ids, strict=True):
        if record.article is not None and article_id is not None:
            _link_related(conn, article_id, record.article, now, state)
    file_rows = [
        (
            record.path,
            record.size,
            record.mtime_ns,
            record.hash,
            "ok" if record.article is not None else "rejected",
            record.error,
            article_id,
            now,
        )
        for record, article_id in zip(records, ids, strict=True)
    ]
    conn.executemany(
        "INSERT INTO files (path, size, mtime_ns, hash, status, error, article_id, seen_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (path) DO UPDATE SET"
        " size = excluded.size, mtime_ns = excluded.mtime_ns, hash = excluded.hash,"
        " status = excluded.status, error = excluded.error, article_id = excluded.article_id,"
        " seen_at = excluded.seen_at",
        file_rows,
    )
    _assign_stories(conn, state.changed_ids)
    _recount_topics(conn, state.topic_ids)
    return state.counts


def _existing(conn: sqlite3.Connection, canonical: str) -> tuple[int, str, int] | None:
    return conn.execute(
        "SELECT id, fingerprint, from_file FROM articles WHERE canonical_url = ?", (canonical,)
    ).fetchone()


def _upsert_file_article(
    conn: sqlite3.Connection,
    article: Article,
    now: float,
    canonical_topic: Callable[[str], str],
    state: _BatchState,
) -> int:
    topics = _dedupe_topics(canonical_topic(t) for t in article.topics)
    before = _existing(conn, article.canonical_url)
    row = _article_row(article, topics, now)
    conn.execute(_UPSERT_FILE_ARTICLE, (*row, now))
    if before is None:
        state.counts.added += 1
        article_id = _existing(conn, article.canonical_url)[0]  # type: ignore[index]
    else:
        article_id = before[0]
        if before[2] == 0:
            state.counts.added += 1  # first file about an article known only as related
        elif before[1] != row[18]:
            state.counts.updated += 1
        else:
            state.counts.unchanged += 1
            state.unchanged_ids.add(article_id)
            return article_id
    state.changed_ids.add(article_id)
    # Topics: replace this article's set.
    old_topics = [
        r[0]
        for r in conn.execute(
            "SELECT topic_id FROM article_topics WHERE article_id = ?", (article_id,)
        )
    ]
    conn.execute("DELETE FROM article_topics WHERE article_id = ?", (article_id,))
    state.topic_ids.update(old_topics)
    published = _epoch(article.published_at) or 0
    topic_rows = []
    for name in topics:
        topic_id = _topic_id(conn, name)
        state.topic_ids.add(topic_id)
        topic_rows.append((topic_id, published, article_id, article.quality))
    conn.executemany("INSERT OR IGNORE INTO article_topics VALUES (?, ?, ?, ?)", topic_rows)
    return article_id


def _link_related(
    conn: sqlite3.Connection, article_id: int, article: Article, now: float, state: _BatchState
) -> None:
    if article_id in state.unchanged_ids:
        return
    # Related: this file's list replaces the edges it made before.
    conn.execute("DELETE FROM related WHERE parent_id = ?", (article_id,))
    edges = []
    for position, stub in enumerate(article.related):
        if stub.canonical_url == article.canonical_url:
            continue
        stub_before = _existing(conn, stub.canonical_url)
        conn.execute(_UPSERT_STUB, _article_row(stub, (), now))
        if stub_before is None:
            state.counts.related_added += 1
            stub_id = _existing(conn, stub.canonical_url)[0]  # type: ignore[index]
            state.changed_ids.add(stub_id)
        else:
            stub_id = stub_before[0]
            if stub_before[2] == 0:
                state.changed_ids.add(stub_id)
        edges.append((article_id, stub_id, position))
    conn.executemany("INSERT OR IGNORE INTO related VALUES (?, ?, ?)", edges)


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
    for article_id in sorted(article_ids):
        row = conn.execute(
            "SELECT story_key, published_at, story_id FROM articles WHERE id = ?", (article_id,)
        ).fetchone()
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


def utc_now() -> float:
    return time.time()
