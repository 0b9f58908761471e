"""The feeds tables in PostgreSQL (bot.store.feeds): each configured feed's fetch state and URL
history, and the write of a fetch (its items as articles, through the PostgreSQL write path,
and its new state) in one transaction."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import astuple, fields

import asyncpg

from bot.store.postgres.db import PgDatabase, executemany
from bot.store.postgres.search import merge_pending_keys
from bot.store.postgres.write import write_unfiled
from bot.store.records import BatchCounts, FeedMove, FeedState, PreparedArticle

_STATE_COLUMNS = tuple(f.name for f in fields(FeedState))
_SELECT_STATE = f"SELECT {', '.join(_STATE_COLUMNS)} FROM feeds"
_UPSERT_STATE = (
    f"INSERT INTO feeds ({', '.join(_STATE_COLUMNS)})"
    f" VALUES ({', '.join(f'${i}' for i in range(1, len(_STATE_COLUMNS) + 1))})"
    " ON CONFLICT (url) DO UPDATE SET "
    + ", ".join(f"{c} = excluded.{c}" for c in _STATE_COLUMNS[1:])
)
_INSERT_MOVE = (
    "INSERT INTO feed_moves (url, from_url, to_url, status, at) VALUES ($1, $2, $3, $4, $5)"
)


class PgFeeds:
    """Feed state: which feeds there are, how each last went, and where each moved."""

    def __init__(self, db: PgDatabase):
        self._db = db

    async def sync(self, urls: Sequence[str]) -> None:
        """Make the configured feeds the known ones: a new URL gets a row (due now), a URL no
        longer configured loses its row and history (its articles stay)."""
        listed = list(urls)
        async with self._db.transaction() as conn:
            await conn.execute("DELETE FROM feeds WHERE url <> ALL ($1::text[])", listed)
            await conn.execute(
                "INSERT INTO feeds (url, fetch_url) SELECT u, u FROM unnest($1::text[]) AS u"
                " ON CONFLICT (url) DO NOTHING",
                listed,
            )

    async def states(self) -> list[FeedState]:
        """Every known feed, by URL."""
        rows = await self._db.fetch(_SELECT_STATE + " ORDER BY url")
        return [FeedState(*row) for row in rows]

    async def state(self, url: str) -> FeedState | None:
        rows = await self._db.fetch(_SELECT_STATE + " WHERE url = $1", url)
        return FeedState(*rows[0]) if rows else None

    async def moves(self) -> list[FeedMove]:
        """Every permanent redirect of the known feeds, oldest first (ties: as written; the
        table is only inserted into and deleted from, so its row order is that)."""
        rows = await self._db.fetch(
            "SELECT url, from_url, to_url, status, at FROM feed_moves ORDER BY at, ctid"
        )
        return [FeedMove(*row) for row in rows]

    async def first_seen(self, canonical_urls: Sequence[str]) -> dict[str, int]:
        """The stored published_at (unix seconds) of each of these articles that is stored: for
        an item with no date, the moment it was first seen stays its date."""
        if not canonical_urls:
            return {}
        rows = await self._db.fetch(
            "SELECT canonical_url, published_at FROM articles"
            " WHERE canonical_url = ANY ($1::text[]) AND published_at IS NOT NULL",
            list(canonical_urls),
        )
        return {str(url): int(published_at) for url, published_at in rows}

    async def save(
        self,
        state: FeedState,
        *,
        articles: Sequence[PreparedArticle] = (),
        move: FeedMove | None = None,
        now: float,
        canonical_topic: Callable[[str], str] = lambda name: name,
    ) -> BatchCounts:
        """One fetch, in one transaction: its items written as articles (an item whose article
        a file holds is left to the file: what a file says wins), the feed's new state, and its
        move when a permanent redirect moved it."""
        # ordered: the items may take a change sequence value (bot.store.postgres.db)
        async with self._db.transaction(ordered=bool(articles)) as conn:
            counts = BatchCounts()
            if articles:
                held = await _held_by_files(conn, [item[0] for item in articles])
                counts.unchanged += sum(1 for item in articles if item[0] in held)
                mine = [item for item in articles if item[0] not in held]
                if mine:
                    counts += await write_unfiled(conn, mine, now, canonical_topic)
            await conn.execute(_UPSERT_STATE, *astuple(state))
            if move is not None:
                await conn.execute(_INSERT_MOVE, *astuple(move))
        if articles:
            await merge_pending_keys(self._db)
        return counts

    async def save_states(self, states: Sequence[FeedState]) -> None:
        """Feeds whose fetch changed only their state (not modified, failed), in one
        transaction."""
        if states:
            async with self._db.transaction() as conn:
                await executemany(conn, _UPSERT_STATE, [astuple(state) for state in states])

    async def counts(self) -> tuple[int, int]:
        """(feeds, failing feeds: failing now or disabled)."""
        rows = await self._db.fetch(
            "SELECT count(*), count(*) FILTER (WHERE failures > 0 OR disabled_reason IS NOT NULL)"
            " FROM feeds"
        )
        return int(rows[0][0]), int(rows[0][1])


async def _held_by_files(conn: asyncpg.Connection, canonical_urls: Sequence[str]) -> set[str]:
    """Which of these articles a file holds."""
    rows = await conn.fetch(
        "SELECT a.canonical_url FROM articles a WHERE a.canonical_url = ANY ($1::text[])"
        " AND EXISTS (SELECT 1 FROM files f WHERE f.article_id = a.id)",
        list(canonical_urls),
    )
    return {str(row[0]) for row in rows}
