"""The article write path: a batch of files' articles, their related stubs, topics, stories and
the full-text index, in one transaction on the writer."""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from bot.articles import Article, topic_key
from bot.store import sequence
from bot.store.bulk import load_in_batches
from bot.store.files import bump_files_generation
from bot.store.gone import FTS_DELETE, TITLES_FTS_DELETE
from bot.store.prepare import (
    BASE_PUBLISHED_AT,
    BASE_QUALITY,
    BOUND_COLUMNS,
    STUB_FINGERPRINT,
    fingerprint,
    prepare_article,
)
from bot.store.records import BatchCounts, FileRecord, PreparedArticle
from bot.store.rows import TOPIC_SEP

if TYPE_CHECKING:  # the writer process imports this module without the event loop
    from bot.store.db import Database

STORY_WINDOW_S = 3 * 24 * 3600


# A file's article takes the batch's change sequence value (DESIGN §4) when it is new, was only
# a stub, or changed in a column that can change whether it is due (gone: restored or made
# gone); SET reads the old row.
_ELIGIBILITY_CHANGED = " OR ".join(
    [
        "articles.from_file = 0",
        *(
            f"articles.{c} IS NOT excluded.{c}"
            for c in ("published", "quality", "topics", "title", "published_at", "gone")
        ),
    ]
)


def _article_upsert(*, from_file: bool) -> str:
    """The upsert of a file's own article, or of a related-list stub. A stub never overwrites
    what a file says about itself, never says whether it is published or what its topics are,
    and never takes a change sequence value (being named in a related list is not being seen)."""
    stub_silent = ("published", "published_field", "topics")
    updated = [c for c in BOUND_COLUMNS[1:] if from_file or c not in stub_silent]
    assignments = ", ".join(f"{c} = excluded.{c}" for c in updated)
    marks = ", ".join("?" * len(BOUND_COLUMNS))
    columns: tuple[str, ...]
    if from_file:
        columns = (*BOUND_COLUMNS, "from_file", "arrived_at", "change_seq", "gone")
        values = f"{marks}, 1, ?, ?, ?"
        assignments += (
            ", from_file = 1, arrived_at = COALESCE(articles.arrived_at, excluded.arrived_at),"
            f" change_seq = CASE WHEN {_ELIGIBILITY_CHANGED} THEN excluded.change_seq"
            " ELSE articles.change_seq END, gone = excluded.gone"
        )
        where = (
            "articles.fingerprint != excluded.fingerprint OR articles.from_file = 0"
            " OR articles.gone != excluded.gone"
        )
    else:
        columns = (*BOUND_COLUMNS, "from_file")
        values = f"{marks}, 0"
        where = "articles.from_file = 0 AND articles.fingerprint != excluded.fingerprint"
    return (
        f"INSERT INTO articles ({', '.join(columns)}) VALUES ({values})"
        f" ON CONFLICT (canonical_url) DO UPDATE SET {assignments} WHERE {where} RETURNING id"
    )


_UPSERT_FILE_ARTICLE = _article_upsert(from_file=True)
_UPSERT_STUB = _article_upsert(from_file=False)
# What the upserts insert for a URL new to the database, with the id it would have taken:
# a batch's new rows go in by one executemany each (see _BatchState.new_id).
_INSERT_FILE_ARTICLE = (
    f"INSERT INTO articles (id, {', '.join(BOUND_COLUMNS)}, from_file, arrived_at, change_seq,"
    f" gone) VALUES (?, {', '.join('?' * len(BOUND_COLUMNS))}, 1, ?, ?, ?)"
)
_INSERT_STUB = (
    f"INSERT INTO articles (id, {', '.join(BOUND_COLUMNS)}, from_file)"
    f" VALUES (?, {', '.join('?' * len(BOUND_COLUMNS))}, 0)"
)
# Above this, SQLite picks a new rowid at random, not max + 1: such a batch inserts row by row.
_MAX_ROWID = (1 << 63) - 1
# A _BatchState.known entry is a list [id, fingerprint, from_file, gone]; the stub path updates
# this.
_KNOWN_FINGERPRINT = 1
# What stands for the entry of a URL that neither the database nor the batch knows.
_UNKNOWN: tuple[Any, ...] = (None, None, None, 0)


class ArticleWriter:
    """Writes articles: ingest's batches, bulk loads, and topic alias merges."""

    def __init__(self, db: Database):
        self._db = db

    async def apply_batch(
        self,
        records: Sequence[FileRecord],
        now: float,
        canonical_topic: Callable[[str], str] = lambda name: name,
    ) -> BatchCounts:
        """Write one batch of ingested files in a single transaction."""
        return await self._db.write(lambda conn: _apply_batch(conn, records, now, canonical_topic))

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
        return await load_in_batches(
            self.apply_batch, articles, now, batch=batch, canonical_topic=canonical_topic
        )

    async def apply_aliases(
        self, canonical_topic: Callable[[str], str], now: float | None = None
    ) -> int:
        """Merge topics that the alias table now maps onto another topic; returns merges. The
        merged topics' file articles changed topics: they take a change sequence value."""
        moment = time.time() if now is None else now

        def work(conn: sqlite3.Connection) -> int:
            merged = 0
            seq = sequence.next_value(conn)
            for topic_id, name in conn.execute("SELECT id, name FROM topics").fetchall():
                target = canonical_topic(name)
                if topic_key(target) == topic_key(name):
                    continue
                target_id = _topic_id(conn.cursor(), target)
                conn.execute(
                    "UPDATE articles SET change_seq = ? WHERE from_file = 1 AND id IN"
                    " (SELECT article_id FROM article_topics WHERE topic_id = ?)",
                    (seq, topic_id),
                )
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
            sequence.take(conn, seq, moment)
            return merged

        return await self._db.write(work)


def write_unfiled(
    conn: sqlite3.Connection,
    prepared: Sequence[PreparedArticle],
    now: float,
    canonical_topic: Callable[[str], str],
) -> BatchCounts:
    """Articles from no file (a feed's items) in the caller's transaction, through the same
    path as a batch of files: same merging, stories and change sequence."""
    records = [FileRecord("", 0, 0, "", prepared=item) for item in prepared]
    return _apply_batch(conn, records, now, canonical_topic)


def apply_file_batch(
    conn: sqlite3.Connection,
    records: Sequence[FileRecord],
    now: float,
    canonical_topic: Callable[[str], str],
) -> BatchCounts:
    """ArticleWriter.apply_batch on a connection, in the caller's transaction (an ingest's
    writer process, bot.ingest.writer, calls it on its own connection)."""
    return _apply_batch(conn, records, now, canonical_topic)


def _topic_id(cur: sqlite3.Cursor, name: str) -> int:
    key = topic_key(name)
    row = cur.execute("SELECT id FROM topics WHERE key = ?", (key,)).fetchone()
    if row:
        return int(row[0])
    cur.execute("INSERT INTO topics (name, key) VALUES (?, ?)", (name, key))
    return int(cur.lastrowid or 0)


def _recount_topics(conn: sqlite3.Connection, topic_ids: Iterable[int]) -> None:
    conn.executemany(
        "UPDATE topics SET article_count ="
        " (SELECT count(*) FROM article_topics WHERE topic_id = ?) WHERE id = ?",
        [(t, t) for t in set(topic_ids)],
    )


@dataclass(slots=True)
class _BatchState:
    seq: int  # the change sequence value the batch stamps its changed articles with
    # The id SQLite gives the next inserted article: max(id) + 1 (no AUTOINCREMENT), as every
    # insert of the batch goes through new_id in order.
    next_id: int
    counts: BatchCounts = field(default_factory=BatchCounts)
    changed_ids: set[int] = field(default_factory=set)
    unchanged_ids: set[int] = field(default_factory=set)
    # canonical_url -> [id, fingerprint, from_file, gone], as the batch has written it so far
    known: dict[str, list[Any]] = field(default_factory=dict)
    # canonical_url -> (id, title, excerpt, provider_name) of rows that existed before the batch
    before: dict[str, tuple[Any, ...]] = field(default_factory=dict)
    # id -> (title, excerpt, provider_name) indexed before the batch: to unindex
    fts_old: dict[int, tuple[Any, ...]] = field(default_factory=dict)
    fts_new: set[int] = field(default_factory=set)  # (re)index from the row at the end
    unindexed: set[int] = field(default_factory=set)  # gone before the batch: nothing to unindex
    topic_ids: dict[str, int] = field(default_factory=dict)  # topic key -> id
    topic_delta: dict[int, int] = field(default_factory=dict)  # topic id -> article_count change
    topics_cleared: set[int] = field(default_factory=set)  # articles whose stored topics went
    # article id -> its article_topics rows (topic_id, published_at, article_id, quality)
    pending_topics: dict[int, list[tuple[int, int, int, int | None]]] = field(default_factory=dict)
    edges_cleared: set[int] = field(default_factory=set)  # parents whose stored edges went
    # parent id -> its related rows (parent_id, child_id, position)
    pending_edges: dict[int, list[tuple[int, int, int]]] = field(default_factory=dict)
    # Rows of URLs new to the database, not yet inserted, with the ids they take; the URLs.
    new_files: list[tuple[Any, ...]] = field(default_factory=list)
    new_stubs: list[tuple[Any, ...]] = field(default_factory=list)
    new_urls: set[str] = field(default_factory=set)

    def new_id(
        self, cur: sqlite3.Cursor, canonical: str, row: tuple[Any, ...], *, stub: bool
    ) -> int:
        """Queue the insert of a URL new to the database; its id, as the insert would give it."""
        if self.next_id > _MAX_ROWID:
            got = cur.execute(_UPSERT_STUB if stub else _UPSERT_FILE_ARTICLE, row).fetchone()
            return int(got[0])
        article_id = self.next_id
        self.next_id += 1
        (self.new_stubs if stub else self.new_files).append((article_id, *row))
        self.new_urls.add(canonical)
        return article_id

    def insert_new(self, cur: sqlite3.Cursor) -> None:
        """Insert the queued new rows (before anything reads or updates them)."""
        if self.new_files:
            cur.executemany(_INSERT_FILE_ARTICLE, self.new_files)
            self.new_files.clear()
        if self.new_stubs:
            cur.executemany(_INSERT_STUB, self.new_stubs)
            self.new_stubs.clear()
        self.new_urls.clear()

    def reindex(self, canonical: str, article_id: int, *, gone: bool = False) -> None:
        """The row changed: its full-text entry is rebuilt at the end of the batch (dropped,
        when it is ``gone``)."""
        if gone:
            self.fts_new.discard(article_id)
        else:
            self.fts_new.add(article_id)
        old = self.before.get(canonical)
        if old is not None and article_id not in self.fts_old and article_id not in self.unindexed:
            self.fts_old[article_id] = old[1:]


def _apply_batch(
    conn: sqlite3.Connection,
    records: Sequence[FileRecord],
    now: float,
    canonical_topic: Callable[[str], str],
) -> BatchCounts:
    """Write a batch. The full-text index is maintained here in two set statements at the end
    (a trigger writing FTS5 row by row flushes its pending terms on every row: ~10x slower)."""
    state = _BatchState(
        sequence.next_value(conn),
        conn.execute("SELECT coalesce(max(id), 0) + 1 FROM articles").fetchone()[0],
    )
    # One cursor for every statement: conn.execute() makes a cursor per call, and the
    # connection keeps a weak reference to each of the last ~200, which then outlive the batch
    # scattered over the Python heap, holding its freed arenas (~40 MB after 20k files).
    cur = conn.cursor()
    prepared: list[PreparedArticle | None] = [
        record.prepared
        if record.prepared is not None
        else (prepare_article(record.article) if record.article is not None else None)
        for record in records
    ]
    _prefetch(cur, prepared, state)
    # Every file's own article first, so a related entry in the same batch never counts as new.
    ids: list[int | None] = [
        None if item is None else _upsert_file_article(cur, item, now, canonical_topic, state)
        for item in prepared
    ]
    state.insert_new(cur)
    for item, article_id in zip(prepared, ids, strict=True):
        if item is not None and article_id is not None:
            _link_related(cur, article_id, item, now, state)
    state.insert_new(cur)
    rows = [row for rows in state.pending_topics.values() for row in rows]
    cur.executemany("INSERT OR IGNORE INTO article_topics VALUES (?, ?, ?, ?)", rows)
    edges = [edge for edges in state.pending_edges.values() for edge in edges]
    cur.executemany("INSERT OR IGNORE INTO related VALUES (?, ?, ?)", edges)
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
            record.parser_version,
        )
        for record, item, article_id in zip(records, prepared, ids, strict=True)
        if record.path  # bulk_load: articles from no file
    ]
    cur.executemany(
        "INSERT INTO files (path, size, mtime_ns, hash, status, error, article_id, seen_at,"
        " parser_version) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (path) DO UPDATE SET"
        " size = excluded.size, mtime_ns = excluded.mtime_ns, hash = excluded.hash,"
        " status = excluded.status, error = excluded.error,"
        # a file edited into a broken one keeps its last good article (DESIGN §3)
        " article_id = COALESCE(excluded.article_id, files.article_id),"
        " seen_at = excluded.seen_at, parser_version = excluded.parser_version",
        file_rows,
    )
    if file_rows:
        bump_files_generation(conn)
    _update_fts(cur, state)
    _assign_stories(cur, state.changed_ids)
    sequence.take(conn, state.seq, now)
    cur.executemany(
        "UPDATE topics SET article_count = article_count + ? WHERE id = ?",
        [(delta, topic_id) for topic_id, delta in state.topic_delta.items() if delta],
    )
    return state.counts


def _prefetch(
    cur: sqlite3.Cursor, prepared: Sequence[PreparedArticle | None], state: _BatchState
) -> None:
    """One look-up for every URL the batch names (its files' articles and related entries)."""
    urls: set[str] = set()
    for item in prepared:
        if item is not None:
            canonical, _base, _topics, _text, _key, related, _removed = item
            urls.add(canonical)
            urls.update(stub_url for _position, stub_url, _row in related)
    # json_each: one statement text whatever the count (an IN list of as many marks is a new
    # statement, and a new entry in the connection's statement cache, per length).
    for (
        canonical,
        article_id,
        stored_fingerprint,
        from_file,
        gone,
        title,
        excerpt,
        provider,
    ) in cur.execute(
        "SELECT canonical_url, id, fingerprint, from_file, gone, title, excerpt, provider_name"
        " FROM articles WHERE canonical_url IN (SELECT value FROM json_each(?))",
        (json.dumps(list(urls), ensure_ascii=False),),
    ):
        state.known[canonical] = [article_id, stored_fingerprint, from_file, gone]
        state.before[canonical] = (article_id, title, excerpt, provider)
        if gone:
            state.unindexed.add(article_id)


def _upsert_file_article(
    cur: sqlite3.Cursor,
    item: PreparedArticle,
    now: float,
    canonical_topic: Callable[[str], str],
    state: _BatchState,
) -> int:
    canonical, base, file_topics, text, key, _related, removed = item
    gone = int(removed)
    topics = _dedupe_topics(canonical_topic(t) for t in file_topics)
    new_fingerprint = fingerprint(text, topics)
    before = state.known.get(canonical)
    known_id, known_fingerprint, known_from_file, known_gone = (
        _UNKNOWN if before is None else before
    )
    got: tuple[int] | None  # the id of the row the upsert wrote
    if known_from_file == 1 and known_fingerprint == new_fingerprint and known_gone == gone:
        got = None  # the upsert's WHERE would keep the row as it is
    else:
        row = (
            canonical,
            *base,
            TOPIC_SEP.join(topics),
            new_fingerprint,
            key,
            now,
            now,
            state.seq,
            gone,
        )
        if before is None:
            got = (state.new_id(cur, canonical, row, stub=False),)
        else:
            if canonical in state.new_urls:
                state.insert_new(cur)  # a second file about a URL this batch adds
            got = cur.execute(_UPSERT_FILE_ARTICLE, row).fetchone()
    article_id: int
    if before is None:
        assert got is not None  # a URL new to the database: inserted
        state.counts.added += 1
        article_id = got[0]
    else:
        article_id = known_id
        if known_from_file == 0:
            state.counts.added += 1  # first file about an article known only as related
        elif known_gone and not gone:
            state.counts.restored += 1  # its file came back, or no longer says removed
        elif known_fingerprint != new_fingerprint or known_gone != gone:
            state.counts.updated += 1
        else:
            state.counts.unchanged += 1
            state.unchanged_ids.add(article_id)
            return article_id
    state.known[canonical] = [article_id, new_fingerprint, 1, gone]
    state.changed_ids.add(article_id)
    if got is not None:
        state.reindex(canonical, article_id, gone=removed)
    # Topics: replace this article's set (what the database held, and what this batch queued).
    delta = state.topic_delta
    if canonical in state.before and article_id not in state.topics_cleared:
        state.topics_cleared.add(article_id)
        for (topic_id,) in cur.execute(
            "DELETE FROM article_topics WHERE article_id = ? RETURNING topic_id", (article_id,)
        ).fetchall():
            delta[topic_id] = delta.get(topic_id, 0) - 1
    for old_topic_id, _published_at, _article_id, _quality in state.pending_topics.pop(
        article_id, ()
    ):
        delta[old_topic_id] = delta.get(old_topic_id, 0) - 1
    published_at = base[BASE_PUBLISHED_AT] or 0
    quality = base[BASE_QUALITY]
    rows = []
    for name in () if removed else topics:  # a gone article is on no topic page (bot.store.gone)
        topic_id = _batch_topic_id(cur, name, state)
        delta[topic_id] = delta.get(topic_id, 0) + 1
        rows.append((topic_id, published_at, article_id, quality))
    state.pending_topics[article_id] = rows
    return article_id


def _batch_topic_id(cur: sqlite3.Cursor, name: str, state: _BatchState) -> int:
    key = topic_key(name)
    topic_id = state.topic_ids.get(key)
    if topic_id is None:
        topic_id = state.topic_ids[key] = _topic_id(cur, name)
    return topic_id


def _link_related(
    cur: sqlite3.Cursor,
    article_id: int,
    item: PreparedArticle,
    now: float,
    state: _BatchState,
) -> None:
    if article_id in state.unchanged_ids:
        return
    # Related: this file's list replaces the edges it made before.
    canonical_url, _base, _topics, _text, _key, related, _removed = item
    if canonical_url in state.before and article_id not in state.edges_cleared:
        state.edges_cleared.add(article_id)
        cur.execute("DELETE FROM related WHERE parent_id = ?", (article_id,))
    edges = []
    known = state.known
    for position, canonical, row in related:
        stub_fingerprint = row[STUB_FINGERPRINT]
        stub_before = known.get(canonical)
        stub_id, known_fingerprint, known_from_file, _gone = (
            _UNKNOWN if stub_before is None else stub_before
        )
        got: tuple[int] | None
        if stub_before is not None and (
            known_from_file == 1 or known_fingerprint == stub_fingerprint
        ):
            got = None  # the upsert's WHERE would keep the row as it is
        elif stub_before is None:
            got = (state.new_id(cur, canonical, (*row, now), stub=True),)
        else:
            if canonical in state.new_urls:
                state.insert_new(cur)  # named again, with other text, in this batch
            got = cur.execute(_UPSERT_STUB, (*row, now)).fetchone()
        if stub_before is None:
            assert got is not None  # a URL new to the database: inserted
            state.counts.related_added += 1
            stub_id = got[0]
            state.changed_ids.add(stub_id)
            known[canonical] = [stub_id, stub_fingerprint, 0, 0]
        elif known_from_file == 0:
            state.changed_ids.add(stub_id)
            if got is not None:
                stub_before[_KNOWN_FINGERPRINT] = stub_fingerprint
        if got is not None:
            state.reindex(canonical, stub_id)
        edges.append((article_id, stub_id, position))
    state.pending_edges[article_id] = edges


def _update_fts(cur: sqlite3.Cursor, state: _BatchState) -> None:
    """Unindex the changed rows' old text, then index their text as it is now, in bulk."""
    if state.fts_old:
        cur.executemany(FTS_DELETE, [(i, *old) for i, old in state.fts_old.items()])
        cur.executemany(
            TITLES_FTS_DELETE,
            [(i, title) for i, (title, _excerpt, _provider) in state.fts_old.items()],
        )
    if state.fts_new:
        cur.execute("CREATE TEMP TABLE IF NOT EXISTS fts_pending (id INTEGER PRIMARY KEY)")
        cur.execute("DELETE FROM temp.fts_pending")
        cur.executemany(
            "INSERT INTO temp.fts_pending (id) VALUES (?)", [(i,) for i in state.fts_new]
        )
        cur.execute(
            "INSERT INTO articles_fts (rowid, title, excerpt, provider)"
            " SELECT a.id, a.title, a.excerpt, a.provider_name"
            " FROM temp.fts_pending p JOIN articles a ON a.id = p.id ORDER BY a.id"
        )
        cur.execute(
            "INSERT INTO titles_fts (rowid, title) SELECT a.id, a.title"
            " FROM temp.fts_pending p JOIN articles a ON a.id = p.id ORDER BY a.id"
        )
        cur.execute("DELETE FROM temp.fts_pending")


def _dedupe_topics(names: Iterable[str]) -> list[str]:
    seen: set[str] = set()
    kept = []
    for name in names:
        key = topic_key(name)
        if key and key not in seen:
            seen.add(key)
            kept.append(name)
    return kept


def _assign_stories(cur: sqlite3.Cursor, article_ids: Iterable[int]) -> None:
    """Join each changed article to a story: same normalised title, within 3 days."""
    ordered = sorted(article_ids)
    rows: dict[int, tuple[Any, ...]] = {}  # each row is read before any of them is updated
    for article_id, key, published_at, story_id in cur.execute(
        "SELECT id, story_key, published_at, story_id FROM articles"
        " WHERE id IN (SELECT value FROM json_each(?))",
        (json.dumps(ordered),),
    ):
        rows[article_id] = (key, published_at, story_id)
    # Updates wait for the next look-up of the same key (only that look-up reads them): one
    # executemany for most of a batch.
    updates: list[tuple[int, int]] = []
    updated_keys: set[str] = set()
    for article_id in ordered:
        row = rows.get(article_id)
        if row is None:
            continue
        key, published_at, current = row
        match = None
        if published_at is not None and key:
            if key in updated_keys:
                cur.executemany(_SET_STORY, updates)
                updates.clear()
                updated_keys.clear()
            match = cur.execute(
                "SELECT min(story_id) FROM articles WHERE story_key = ? AND id != ?"
                " AND published_at BETWEEN ? AND ? AND story_id IS NOT NULL",
                (key, article_id, published_at - STORY_WINDOW_S, published_at + STORY_WINDOW_S),
            ).fetchone()[0]
        story = match if match is not None else (current if current == article_id else article_id)
        if story != current:
            updates.append((story, article_id))
            updated_keys.add(key)
    cur.executemany(_SET_STORY, updates)


_SET_STORY = "UPDATE articles SET story_id = ? WHERE id = ?"
