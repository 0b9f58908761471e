"""The feeds tables: each configured feed's fetch state and URL history, and the write of a
fetch (its items as articles, through the same write path as files, and its new state) in one
transaction."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import astuple, fields

from bot.store.db import Database
from bot.store.records import BatchCounts, FeedMove, FeedState, PreparedArticle
from bot.store.write import write_unfiled

_STATE_COLUMNS = tuple(f.name for f in fields(FeedState))
_SELECT_STATE = f"SELECT {', '.join(_STATE_COLUMNS)} FROM feeds"
_UPSERT_STATE = (
    f"INSERT INTO feeds ({', '.join(_STATE_COLUMNS)})"
    f" VALUES ({', '.join('?' * len(_STATE_COLUMNS))}) ON CONFLICT (url) DO UPDATE SET "
    + ", ".join(f"{c} = excluded.{c}" for c in _STATE_COLUMNS[1:])
)


class Feeds:
    """Feed state: which feeds there are, how each last went, and where each moved."""

    def __init__(self, db: Database):
        self._db = db

    async def sync(self, urls: Sequence[str]) -> None:
        """Make the configured feeds the known ones: a new URL gets a row (due now), a URL no
        longer configured loses its row and history (its articles stay)."""
        listed = json.dumps(list(urls))

        def work(conn: sqlite3.Connection) -> None:
            conn.execute(
                "DELETE FROM feeds WHERE url NOT IN (SELECT value FROM json_each(?))", (listed,)
            )
            conn.execute(
                "INSERT INTO feeds (url, fetch_url) SELECT value, value FROM json_each(?)"
                " WHERE true ON CONFLICT (url) DO NOTHING",
                (listed,),
            )

        await self._db.write(work)

    async def states(self) -> list[FeedState]:
        """Every known feed, by URL."""
        rows = await self._db.fetchall(_SELECT_STATE + " ORDER BY url")
        return [FeedState(*row) for row in rows]

    async def state(self, url: str) -> FeedState | None:
        rows = await self._db.fetchall(_SELECT_STATE + " WHERE url = ?", (url,))
        return FeedState(*rows[0]) if rows else None

    async def moves(self) -> list[FeedMove]:
        """Every permanent redirect of the known feeds, oldest first."""
        rows = await self._db.fetchall(
            "SELECT url, from_url, to_url, status, at FROM feed_moves ORDER BY at, rowid"
        )
        return [FeedMove(*row) for row in rows]

    async def first_seen(self, canonical_urls: Sequence[str]) -> dict[str, int]:
        """The stored published_at (unix seconds) of each of these articles that is stored: for
        an item with no date, the moment it was first seen stays its date."""
        if not canonical_urls:
            return {}
        rows = await self._db.fetchall(
            "SELECT canonical_url, published_at FROM articles"
            " WHERE canonical_url IN (SELECT value FROM json_each(?))"
            " AND published_at IS NOT NULL",
            (json.dumps(list(canonical_urls)),),
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

        def work(conn: sqlite3.Connection) -> BatchCounts:
            counts = BatchCounts()
            if articles:
                held = _held_by_files(conn, [item[0] for item in articles])
                counts.unchanged += sum(1 for item in articles if item[0] in held)
                mine = [item for item in articles if item[0] not in held]
                if mine:
                    counts += write_unfiled(conn, mine, now, canonical_topic)
            conn.execute(_UPSERT_STATE, astuple(state))
            if move is not None:
                conn.execute(
                    "INSERT INTO feed_moves (url, from_url, to_url, status, at)"
                    " VALUES (?, ?, ?, ?, ?)",
                    astuple(move),
                )
            return counts

        return await self._db.write(work)

    async def save_states(self, states: Sequence[FeedState]) -> None:
        """Feeds whose fetch changed only their state (not modified, failed), in one
        transaction."""
        if states:
            rows = [astuple(state) for state in states]
            await self._db.write(lambda conn: conn.executemany(_UPSERT_STATE, rows))

    async def counts(self) -> tuple[int, int]:
        """(feeds, failing feeds: failing now or disabled)."""
        rows = await self._db.fetchall(
            "SELECT count(*), coalesce(sum(failures > 0 OR disabled_reason IS NOT NULL), 0)"
            " FROM feeds"
        )
        return int(rows[0][0]), int(rows[0][1])


def _held_by_files(conn: sqlite3.Connection, canonical_urls: Sequence[str]) -> set[str]:
    """Which of these articles a file holds."""
    rows = conn.execute(
        "SELECT a.canonical_url FROM articles a"
        " WHERE a.canonical_url IN (SELECT value FROM json_each(?))"
        " AND EXISTS (SELECT 1 FROM files f WHERE f.article_id = a.id)",
        (json.dumps(list(canonical_urls)),),
    )
    return {url for (url,) in rows}
