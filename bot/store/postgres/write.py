"""The article write path in PostgreSQL (bot.store.write), with the same outcome: counts,
change sequence values, topics, related edges, stories and the full-text vectors.

The SQLite writer upserts row by row; here the batch is decided in Python first (the same
decisions, in the same order, on the state the batch has written so far), with the ids of new
rows drawn from the identity sequence up front, and then written with a few bulk statements.
A URL written twice in one batch (two files naming it) is written in rounds, so each statement
touches a row once and the last write wins, as it does in SQLite."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import asyncpg

from bot.articles import Article, topic_key
from bot.store.bulk import load_in_batches
from bot.store.postgres import sequence
from bot.store.postgres.db import PgDatabase, executemany
from bot.store.postgres.files import bump_files_generation
from bot.store.postgres.search import document_vector, merge_pending_keys, title_vector
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
from bot.store.write import STORY_WINDOW_S, _dedupe_topics

_FILE_COLUMNS = ("id", *BOUND_COLUMNS, "from_file", "arrived_at", "change_seq", "gone")
_STUB_COLUMNS = ("id", *BOUND_COLUMNS, "from_file")
_STUB_SILENT = ("published", "published_field", "topics")


def _marks(count: int) -> str:
    return ", ".join(f"${i}" for i in range(1, count + 1))


# Every write sets the row's full-text vectors too ($N-1, $N: search, title_search; NULL when
# the row is gone), from the text it writes: no row is written twice for its index.
_VECTORS = ("search", "title_search")
# A new row is its own story ($1) until newsbot_assign_stories finds it another: most rows keep
# it, and are then never updated (an update of an indexed column redoes all the row's index keys).
_INSERT_FILE = (
    f"INSERT INTO articles ({', '.join((*_FILE_COLUMNS, *_VECTORS, 'story_id'))})"
    f" VALUES ({_marks(len(_FILE_COLUMNS) - 4)}, 1, ${len(_FILE_COLUMNS) - 3},"
    f" ${len(_FILE_COLUMNS) - 2}, ${len(_FILE_COLUMNS) - 1},"
    f" ${len(_FILE_COLUMNS)}::tsvector, ${len(_FILE_COLUMNS) + 1}::tsvector, $1)"
)
_INSERT_STUB = (
    f"INSERT INTO articles ({', '.join((*_STUB_COLUMNS, *_VECTORS, 'story_id'))})"
    f" VALUES ({_marks(len(_STUB_COLUMNS) - 1)}, 0,"
    f" ${len(_STUB_COLUMNS)}::tsvector, ${len(_STUB_COLUMNS) + 1}::tsvector, $1)"
)
# Parameters: $1 id, then BOUND_COLUMNS from $2, then arrived_at, change_seq, gone.
_FILE_PARAM = {name: f"${i}" for i, name in enumerate(BOUND_COLUMNS, start=2)}
_ARRIVED, _SEQ, _GONE, _SEARCH, _TITLE_SEARCH = (
    f"${len(BOUND_COLUMNS) + i}" for i in (2, 3, 4, 5, 6)
)
# A file's article takes the batch's change sequence value (DESIGN §4) when it was only a stub
# or changed in a column that can change whether it is due (bot.store.write).
_ELIGIBILITY_CHANGED = " OR ".join(
    [
        "a.from_file = 0",
        *(
            f"a.{c} IS DISTINCT FROM {_FILE_PARAM[c]}"
            for c in ("published", "quality", "topics", "title", "published_at")
        ),
        f"a.gone IS DISTINCT FROM {_GONE}",
    ]
)
_UPDATE_FILE = (
    "UPDATE articles a SET "
    + ", ".join(f"{c} = {_FILE_PARAM[c]}" for c in BOUND_COLUMNS[1:])
    + f", from_file = 1, arrived_at = COALESCE(a.arrived_at, {_ARRIVED}),"
    f" change_seq = CASE WHEN {_ELIGIBILITY_CHANGED} THEN {_SEQ} ELSE a.change_seq END,"
    f" gone = {_GONE}, search = {_SEARCH}::tsvector, title_search = {_TITLE_SEARCH}::tsvector"
    " WHERE a.id = $1 AND a.canonical_url = $2"
    f" AND (a.fingerprint != {_FILE_PARAM['fingerprint']}"
    f" OR a.from_file = 0 OR a.gone != {_GONE})"
)
# A stub never overwrites what a file says about itself, nor whether it is published or its
# topics; parameters: $1 id, then _STUB_UPDATED from $2 (picked from the stub's bound row).
_STUB_UPDATED = tuple(c for c in BOUND_COLUMNS[1:] if c not in _STUB_SILENT)
_STUB_PICK = tuple(BOUND_COLUMNS.index(c) for c in _STUB_UPDATED)
_UPDATE_STUB = (
    "UPDATE articles a SET "
    + ", ".join(f"{c} = ${i}" for i, c in enumerate(_STUB_UPDATED, start=2))
    + f", search = ${len(_STUB_UPDATED) + 2}::tsvector"
    f", title_search = ${len(_STUB_UPDATED) + 3}::tsvector"
    " WHERE a.id = $1 AND a.from_file = 0"
    f" AND a.fingerprint != ${_STUB_UPDATED.index('fingerprint') + 2}"
)
_UNKNOWN: tuple[Any, ...] = (None, None, None, 0)
_KNOWN_FINGERPRINT = 1


class PgArticleWriter:
    """Writes articles: ingest's batches, bulk loads, and topic alias merges."""

    def __init__(self, db: PgDatabase):
        self._db = db

    async def apply_batch(
        self,
        records: Sequence[FileRecord],
        now: float,
        canonical_topic: Callable[[str], str] = lambda name: name,
    ) -> BatchCounts:
        """Write one batch of ingested files in a single transaction."""
        async with self._db.transaction(ordered=True) as conn:
            counts = await _apply_batch(conn, records, now, canonical_topic)
        await merge_pending_keys(self._db)
        return counts

    async def bulk_load(
        self,
        articles: Iterable[Article | PreparedArticle],
        now: float,
        *,
        batch: int = 5000,
        canonical_topic: Callable[[str], str] = lambda name: name,
    ) -> BatchCounts:
        """Load articles that come from no file through the same write path as ingest,
        ``batch`` per transaction (see bot.store.write.ArticleWriter.bulk_load)."""
        return await load_in_batches(
            self.apply_batch, articles, now, batch=batch, canonical_topic=canonical_topic
        )

    async def apply_aliases(
        self, canonical_topic: Callable[[str], str], now: float | None = None
    ) -> int:
        """Merge topics that the alias table now maps onto another topic; returns merges. The
        merged topics' file articles changed topics: they take a change sequence value."""
        moment = time.time() if now is None else now
        async with self._db.transaction(ordered=True) as conn:
            merged = 0
            seq = await sequence.next_value(conn)
            for topic_id, name in await conn.fetch("SELECT id, name FROM topics ORDER BY id"):
                target = canonical_topic(name)
                if topic_key(target) == topic_key(name):
                    continue
                target_id = await _topic_id(conn, target)
                await conn.execute(
                    "UPDATE articles SET change_seq = $1 WHERE from_file = 1 AND id IN"
                    " (SELECT article_id FROM article_topics WHERE topic_id = $2)",
                    seq,
                    topic_id,
                )
                await conn.execute(
                    "INSERT INTO article_topics SELECT $1, published_at, article_id, quality"
                    " FROM article_topics WHERE topic_id = $2 ON CONFLICT DO NOTHING",
                    target_id,
                    topic_id,
                )
                await conn.execute("DELETE FROM article_topics WHERE topic_id = $1", topic_id)
                await conn.execute("DELETE FROM topics WHERE id = $1", topic_id)
                await conn.execute(
                    "UPDATE topics SET article_count ="
                    " (SELECT count(*) FROM article_topics WHERE topic_id = $1) WHERE id = $1",
                    target_id,
                )
                merged += 1
            await sequence.take(conn, seq, moment)
            return merged


async def write_unfiled(
    conn: asyncpg.Connection,
    prepared: Sequence[PreparedArticle],
    now: float,
    canonical_topic: Callable[[str], str],
) -> BatchCounts:
    """Articles from no file (a feed's items) in the caller's transaction (one under
    WRITE_LOCK), through the same path as a batch of files (bot.store.write.write_unfiled)."""
    records = [FileRecord("", 0, 0, "", prepared=item) for item in prepared]
    return await _apply_batch(conn, records, now, canonical_topic)


async def _topic_id(conn: asyncpg.Connection, name: str) -> int:
    key = topic_key(name)
    found = await conn.fetchval("SELECT id FROM topics WHERE key = $1", key)
    if found is None:
        found = await conn.fetchval(
            "INSERT INTO topics (name, key) VALUES ($1, $2) RETURNING id", name, key
        )
    return int(found)


@dataclass(slots=True)
class _Writes:
    """The row writes a batch decided, in order, and the ids new rows take."""

    fresh_ids: list[int]  # drawn from the identity sequence, descending: popped smallest first
    # article id -> its writes in order: (statement, parameters)
    by_id: dict[int, list[tuple[str, tuple[Any, ...]]]] = field(default_factory=dict)

    def new_id(self) -> int:
        return self.fresh_ids.pop()

    def add(self, article_id: int, statement: str, params: tuple[Any, ...]) -> None:
        self.by_id.setdefault(article_id, []).append((statement, params))

    def rounds(self) -> Iterable[dict[str, list[tuple[Any, ...]]]]:
        """Round k holds the k-th write of every row, by statement."""
        depth = max((len(w) for w in self.by_id.values()), default=0)
        for k in range(depth):
            round_: dict[str, list[tuple[Any, ...]]] = {}
            for writes in self.by_id.values():
                if k < len(writes):
                    statement, params = writes[k]
                    round_.setdefault(statement, []).append(params)
            yield round_


@dataclass(slots=True)
class _BatchState:
    seq: int
    writes: _Writes
    counts: BatchCounts = field(default_factory=BatchCounts)
    changed_ids: set[int] = field(default_factory=set)
    unchanged_ids: set[int] = field(default_factory=set)
    known: dict[str, list[Any]] = field(default_factory=dict)  # url -> [id, fp, from_file, gone]
    before: set[str] = field(default_factory=set)  # URLs with a row before the batch
    topics_cleared: set[int] = field(default_factory=set)
    topic_names: dict[str, str] = field(default_factory=dict)  # key -> name, first use first
    # article id -> its article_topics rows (topic key, published_at, article_id, quality)
    pending_topics: dict[int, list[tuple[str, int, int, Any]]] = field(default_factory=dict)
    queued_off: dict[str, int] = field(default_factory=dict)  # topic key -> rows re-queued
    edges_cleared: set[int] = field(default_factory=set)
    pending_edges: dict[int, list[tuple[int, int, int]]] = field(default_factory=dict)


async def _apply_batch(
    conn: asyncpg.Connection,
    records: Sequence[FileRecord],
    now: float,
    canonical_topic: Callable[[str], str],
) -> BatchCounts:
    prepared: list[PreparedArticle | None] = [
        record.prepared
        if record.prepared is not None
        else (prepare_article(record.article) if record.article is not None else None)
        for record in records
    ]
    urls: set[str] = set()
    for item in prepared:
        if item is not None:
            urls.add(item[0])
            urls.update(stub_url for _position, stub_url, _row in item[5])
    known: dict[str, list[Any]] = {}
    for canonical, article_id, stored_fingerprint, from_file, gone in await conn.fetch(
        "SELECT canonical_url, id, fingerprint, from_file, gone FROM articles"
        " WHERE canonical_url = ANY ($1::text[])",
        list(urls),
    ):
        known[canonical] = [article_id, stored_fingerprint, from_file, gone]
    fresh = [
        int(r[0])
        for r in await conn.fetch(
            "SELECT nextval(pg_get_serial_sequence('articles', 'id')) FROM generate_series(1, $1)",
            len(urls) - len(known),
        )
    ]
    state = _BatchState(
        seq=await sequence.next_value(conn),
        writes=_Writes(sorted(fresh, reverse=True)),
        known=known,
        before=set(known),
    )
    # The decisions (and the words of every text written) take a while for a big batch: on a
    # thread, as SQLite's writer works on its own, so the event loop stays free.
    ids = await asyncio.to_thread(_decide, prepared, now, canonical_topic, state)
    for round_ in state.writes.rounds():
        for statement, rows in round_.items():
            await conn.executemany(statement, rows)
    await _write_topics(conn, state)
    if state.edges_cleared:
        await conn.execute(
            "DELETE FROM related WHERE parent_id = ANY ($1::bigint[])", sorted(state.edges_cleared)
        )
    await executemany(
        conn,
        "INSERT INTO related VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
        [edge for edges in state.pending_edges.values() for edge in edges],
    )
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
    await executemany(
        conn,
        "INSERT INTO files (path, size, mtime_ns, hash, status, error, article_id, seen_at,"
        " parser_version) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (path) DO"
        " UPDATE SET size = excluded.size, mtime_ns = excluded.mtime_ns, hash = excluded.hash,"
        " status = excluded.status, error = excluded.error,"
        # a file edited into a broken one keeps its last good article (DESIGN §3)
        " article_id = COALESCE(excluded.article_id, files.article_id),"
        " seen_at = excluded.seen_at, parser_version = excluded.parser_version",
        file_rows,
    )
    if file_rows:
        await bump_files_generation(conn)
    if state.changed_ids:
        await conn.execute(
            "SELECT newsbot_assign_stories($1::bigint[], $2, $3::bigint[])",
            sorted(state.changed_ids),
            STORY_WINDOW_S,
            fresh,  # ids no row had before the batch: a row's story is assigned in id order
        )
    await sequence.take(conn, state.seq, now)
    return state.counts


def _decide(
    prepared: Sequence[PreparedArticle | None],
    now: float,
    canonical_topic: Callable[[str], str],
    state: _BatchState,
) -> list[int | None]:
    """Every write of the batch, queued in ``state``; the id of each file's article."""
    # Every file's own article first, so a related entry in the same batch never counts as new.
    ids = [
        None if item is None else _file_article(item, now, canonical_topic, state)
        for item in prepared
    ]
    for item, article_id in zip(prepared, ids, strict=True):
        if item is not None and article_id is not None:
            _link_related(article_id, item, now, state)
    return ids


def _file_article(
    item: PreparedArticle,
    now: float,
    canonical_topic: Callable[[str], str],
    state: _BatchState,
) -> int:
    """bot.store.write._upsert_file_article's decisions, its write queued."""
    canonical, base, file_topics, text, key, _related, removed = item
    gone = int(removed)
    topics = _dedupe_topics(canonical_topic(t) for t in file_topics)
    new_fingerprint = fingerprint(text, topics)
    before = state.known.get(canonical)
    known_id, known_fingerprint, known_from_file, known_gone = (
        _UNKNOWN if before is None else before
    )
    joined = TOPIC_SEP.join(topics)
    row = (canonical, *base, joined, new_fingerprint, key, now, now, state.seq, gone)
    written = not (
        known_from_file == 1 and known_fingerprint == new_fingerprint and known_gone == gone
    )
    article_id: int
    if before is None:
        article_id = state.writes.new_id()
        state.writes.add(article_id, _INSERT_FILE, (article_id, *row, *_vectors(row, removed)))
        state.counts.added += 1
    else:
        article_id = known_id
        if written:
            state.writes.add(article_id, _UPDATE_FILE, (article_id, *row, *_vectors(row, removed)))
        if known_from_file == 0:
            state.counts.added += 1
        elif known_gone and not gone:
            state.counts.restored += 1
        elif known_fingerprint != new_fingerprint or known_gone != gone:
            state.counts.updated += 1
        else:
            state.counts.unchanged += 1
            state.unchanged_ids.add(article_id)
            return article_id
    state.known[canonical] = [article_id, new_fingerprint, 1, gone]
    state.changed_ids.add(article_id)
    # Topics: replace this article's set (what the database held, and what this batch queued).
    if canonical in state.before and article_id not in state.topics_cleared:
        state.topics_cleared.add(article_id)
    for old_key, _published_at, _article_id, _quality in state.pending_topics.pop(article_id, ()):
        state.queued_off[old_key] = state.queued_off.get(old_key, 0) + 1
    published_at = base[BASE_PUBLISHED_AT] or 0
    quality = base[BASE_QUALITY]
    rows = []
    for name in () if removed else topics:  # a gone article is on no topic page
        topic = topic_key(name)
        state.topic_names.setdefault(topic, name)
        rows.append((topic, published_at, article_id, quality))
    state.pending_topics[article_id] = rows
    return article_id


def _link_related(article_id: int, item: PreparedArticle, now: float, state: _BatchState) -> None:
    """bot.store.write._link_related's decisions, its writes queued."""
    if article_id in state.unchanged_ids:
        return
    canonical_url, _base, _topics, _text, _key, related, _removed = item
    if canonical_url in state.before and article_id not in state.edges_cleared:
        state.edges_cleared.add(article_id)
    edges = []
    known = state.known
    for position, canonical, row in related:
        stub_fingerprint = row[STUB_FINGERPRINT]
        stub_before = known.get(canonical)
        stub_id, known_fingerprint, known_from_file, _gone = (
            _UNKNOWN if stub_before is None else stub_before
        )
        written = stub_before is None or (
            known_from_file != 1 and known_fingerprint != stub_fingerprint
        )
        if stub_before is None:
            stub_id = state.writes.new_id()
            state.writes.add(stub_id, _INSERT_STUB, (stub_id, *row, now, *_vectors(row)))
            state.counts.related_added += 1
            state.changed_ids.add(stub_id)
            known[canonical] = [stub_id, stub_fingerprint, 0, 0]
        elif known_from_file == 0:
            state.changed_ids.add(stub_id)
            if written:
                bound = (*row, now)
                picked = (bound[i] for i in _STUB_PICK)
                state.writes.add(stub_id, _UPDATE_STUB, (stub_id, *picked, *_vectors(row)))
                stub_before[_KNOWN_FINGERPRINT] = stub_fingerprint
        edges.append((article_id, stub_id, position))
    state.pending_edges[article_id] = edges


async def _write_topics(conn: asyncpg.Connection, state: _BatchState) -> None:
    """Replace the changed articles' topic rows and move the topics' counts."""
    delta: dict[int, int] = {}
    if state.topics_cleared:
        for (topic_id,) in await conn.fetch(
            "DELETE FROM article_topics WHERE article_id = ANY ($1::bigint[]) RETURNING topic_id",
            sorted(state.topics_cleared),
        ):
            delta[topic_id] = delta.get(topic_id, 0) - 1
    rows = [row for rows in state.pending_topics.values() for row in rows]
    names = state.topic_names
    ids: dict[str, int] = {}
    if names:
        keys = list(names)
        for key, topic_id in await conn.fetch(
            "SELECT key, id FROM topics WHERE key = ANY ($1::text[])", keys
        ):
            ids[key] = topic_id
        missing = [key for key in keys if key not in ids]
        if missing:  # created in the order the batch first named them
            for key, topic_id in await conn.fetch(
                "INSERT INTO topics (name, key) SELECT n, k FROM unnest($1::text[], $2::text[])"
                " WITH ORDINALITY AS m(n, k, o) ORDER BY o RETURNING key, id",
                [names[key] for key in missing],
                missing,
            ):
                ids[key] = topic_id
    for key, count in state.queued_off.items():
        delta[ids[key]] = delta.get(ids[key], 0) - count
    for key, _published_at, _article_id, _quality in rows:
        delta[ids[key]] = delta.get(ids[key], 0) + 1
    await executemany(
        conn,
        "INSERT INTO article_topics VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
        [(ids[key], *rest) for key, *rest in rows],
    )
    await executemany(
        conn,
        "UPDATE topics SET article_count = article_count + $1 WHERE id = $2",
        [(change, topic_id) for topic_id, change in delta.items() if change],
    )


_TITLE, _EXCERPT, _PROVIDER = (
    BOUND_COLUMNS.index(c) for c in ("title", "excerpt", "provider_name")
)


def _vectors(row: Sequence[Any], gone: bool = False) -> tuple[str | None, str | None]:
    """The full-text vectors of a row being written (bound columns first): none when gone
    (bot.store.gone)."""
    if gone:
        return None, None
    title = row[_TITLE]
    return document_vector(title, row[_EXCERPT], row[_PROVIDER]), title_vector(title)
