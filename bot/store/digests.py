"""Digest storage: subscriptions, the candidates a digest picks from, runs (items, messages)
and the delivery ledger (migrations 002 and 005).

A subscription's cursor is a change sequence value (``sequence``): a run selects the articles
changed after it, up to the value current in the same read snapshot, and records that value
as the new cursor in the write transaction that claims the run's articles (``record_run``)."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from typing import Any

from bot.store import sequence
from bot.store.db import Database, Row
from bot.store.records import (
    DigestCandidate,
    DigestCandidates,
    DigestRunRecord,
    Publication,
    RunConflict,
    RunMessage,
    Subscription,
    SubscriptionSpec,
)
from bot.store.rows import (
    ARTICLE_COLUMNS,
    ARTICLE_SELECT,
    STORY_ID,
    TOPIC_SEP,
    one_per_story,
    story_entries,
)
from bot.store.subscription_rows import SUBSCRIPTION_COLUMNS, row_subscription, spec_row

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
# True when an article of the run's stories (the ids in temp.run_articles) reached channel ?
# (param 1) or waits in another of its unsent runs (param 2).
_RUN_CLAIMED = (
    "SELECT 1 FROM temp.run_articles r JOIN articles a ON a.id = r.id"
    " JOIN articles o ON o.story_id = a.story_id OR o.id = a.id"
    " WHERE EXISTS (SELECT 1 FROM deliveries d WHERE d.channel_id = ? AND d.article_id = o.id)"
    " OR EXISTS (SELECT 1 FROM digest_run_items i JOIN digest_runs p ON p.id = i.run_id"
    " AND p.status = 'pending' AND p.channel_id = ? WHERE i.article_id = o.id) LIMIT 1"
)
# A candidate row is ARTICLE_COLUMNS, then change_seq, then whether its story is claimed.
_CHANGE_SEQ = len(ARTICLE_COLUMNS)
_CLAIMED = _CHANGE_SEQ + 1


class Digests:
    """Subscriptions, digest candidates, runs and the ledger of what reached each channel."""

    def __init__(self, db: Database):
        self._db = db

    # ---------------------------------------------------------------- subscriptions
    async def subscription_count(self) -> int:
        try:
            return await self._db.scalar("SELECT count(*) FROM subscriptions")
        except sqlite3.OperationalError:  # digests not migrated in yet
            return 0

    async def subscriptions(self, guild_id: int | None = None) -> list[Subscription]:
        """Every subscription (or a guild's, plus file-managed ones whose guild is unknown)."""
        if guild_id is None:
            rows = await self._db.fetchall(
                f"SELECT {SUBSCRIPTION_COLUMNS} FROM subscriptions ORDER BY channel_id"
            )
        else:
            rows = await self._db.fetchall(
                f"SELECT {SUBSCRIPTION_COLUMNS} FROM subscriptions"
                " WHERE guild_id = ? OR guild_id IS NULL ORDER BY channel_id",
                (guild_id,),
            )
        return [row_subscription(r) for r in rows]

    async def subscription(self, channel_id: int) -> Subscription | None:
        rows = await self._db.fetchall(
            f"SELECT {SUBSCRIPTION_COLUMNS} FROM subscriptions WHERE channel_id = ?",
            (channel_id,),
        )
        return row_subscription(rows[0]) if rows else None

    async def save_subscription(
        self,
        channel_id: int,
        spec: SubscriptionSpec,
        *,
        guild_id: int | None,
        managed_by: str,
        since: float,
        now: float,
    ) -> Subscription:
        """Create a subscription, new articles being those changed after ``since``, or change
        its settings (cursor kept)."""

        def work(conn: sqlite3.Connection) -> None:
            _upsert_subscription(
                conn,
                channel_id,
                spec,
                guild_id=guild_id,
                managed_by=managed_by,
                cursor=sequence.value_at(conn, since),
                now=now,
            )

        await self._db.write(work)
        saved = await self.subscription(channel_id)
        assert saved is not None
        return saved

    async def delete_subscription(self, channel_id: int, now: float) -> bool:
        """Remove a subscription; its unsent runs are abandoned, the ledger is kept."""

        def work(conn: sqlite3.Connection) -> bool:
            _abandon_runs(conn, channel_id, "unsubscribed", now)
            cur = conn.execute("DELETE FROM subscriptions WHERE channel_id = ?", (channel_id,))
            return cur.rowcount > 0

        return await self._db.write(work)

    async def set_subscription_paused(
        self, channel_id: int, paused: bool, reason: str | None, now: float
    ) -> bool:
        """Pause (with a reason) or resume; resuming forgets the failures that led to a pause."""
        changed = await self._db.execute(
            "UPDATE subscriptions SET paused = ?, paused_reason = ?, updated_at = ?,"
            " consecutive_failures = CASE WHEN ? THEN consecutive_failures ELSE 0 END"
            " WHERE channel_id = ?",
            (int(paused), reason if paused else None, now, int(paused), channel_id),
        )
        return changed > 0

    async def set_subscription_guild(self, channel_id: int, guild_id: int) -> None:
        await self._db.execute(
            "UPDATE subscriptions SET guild_id = ? WHERE channel_id = ? AND guild_id IS NOT ?",
            (guild_id, channel_id, guild_id),
        )

    async def sync_file_subscriptions(
        self, specs: Sequence[tuple[int, SubscriptionSpec]], *, since: float, now: float
    ) -> list[int]:
        """Make the file-managed subscriptions what the config says, in one transaction.

        New ones start from the articles changed after ``since``; a channel the file now lists
        becomes file-managed (its cursor and state kept); file-managed ones the file no longer
        lists are removed.
        Returns the channel ids that were added, changed or removed.
        """

        def work(conn: sqlite3.Connection) -> list[int]:
            cursor = sequence.value_at(conn, since)
            # channel_id -> ("file" or "command", *spec_row(spec))
            before: dict[int, tuple[Any, ...]] = {
                channel_id: tuple(managed_and_spec)
                for channel_id, *managed_and_spec in conn.execute(
                    "SELECT channel_id, managed_by, schedule, timezone, topics, min_quality,"
                    " max_items, only_published, role_id, max_age_days, layout, keywords,"
                    " exclude, publish FROM subscriptions"
                )
            }
            changed: list[int] = []
            listed = set()
            for channel_id, spec in specs:
                listed.add(channel_id)
                wanted = ("file", *spec_row(spec))
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
            for channel_id, (managed_by, *_spec) in before.items():
                if managed_by == "file" and channel_id not in listed:
                    _abandon_runs(conn, channel_id, "removed from the config file", now)
                    conn.execute("DELETE FROM subscriptions WHERE channel_id = ?", (channel_id,))
                    changed.append(channel_id)
            return changed

        return await self._db.write(work)

    # ---------------------------------------------------------------- candidates
    async def change_seq_at(self, moment: float) -> int:
        """The change sequence value taken last at or before ``moment`` (0: none)."""
        return await self._db.read(lambda conn: sequence.value_at(conn, moment))

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
    ) -> DigestCandidates:
        """Due articles, best first (quality, heat, newest), how many stories are due, and the
        change sequence value read in the same snapshot that they are due up to.

        Due: changed after ``after_seq`` and up to that value, not gone, published when asked,
        quality at or above the bar, published at or after ``published_after`` (None: any
        age), one of the topics (none: all), and no article of its story delivered to the
        channel or waiting in one of the channel's unsent runs.
        """
        where = [
            "a.change_seq > ?",
            "a.change_seq <= ?",
            "a.gone = 0",
            "COALESCE(a.quality, 0) >= ?",
            _NOT_CLAIMED,
        ]
        params: list[Any] = [after_seq, 0, min_quality, channel_id, channel_id]
        if only_published:
            where.append("a.published = 1")
        if published_after is not None:
            where.append("a.published_at >= ?")
            params.append(published_after)
        if topic_keys:
            marks = ",".join("?" * len(topic_keys))
            where.append(
                "EXISTS (SELECT 1 FROM article_topics at JOIN topics t ON t.id = at.topic_id"
                f" WHERE at.article_id = a.id AND t.key IN ({marks}))"
            )
            params.extend(topic_keys)
        condition = " AND ".join(where)

        def work(conn: sqlite3.Connection) -> tuple[list[Row], int, int]:
            conn.execute("BEGIN")  # one snapshot: the value and the articles stamped up to it
            try:
                params[1] = upto = sequence.current_value(conn)
                (stories,) = conn.execute(
                    "SELECT count(DISTINCT COALESCE(a.story_id, -a.id)) FROM articles a"
                    f" INDEXED BY articles_change_seq WHERE {condition}",
                    params,
                ).fetchone()
                fetch = max(limit * 8, 50)
                while True:
                    rows = conn.execute(
                        f"SELECT {ARTICLE_SELECT}, a.change_seq, 0 FROM articles a"
                        f" INDEXED BY articles_change_seq WHERE {condition}"
                        f" ORDER BY {_DIGEST_RANK} LIMIT ?",
                        (*params, fetch),
                    ).fetchall()
                    kept = one_per_story(rows, limit)
                    if len(kept) >= limit or len(rows) < fetch:
                        return kept, int(stories), upto
                    fetch *= 4
            finally:
                conn.execute("COMMIT")

        kept, stories, upto = await self._db.read(work)
        return DigestCandidates(tuple(await self._candidates(kept)), stories, upto)

    async def pool(self, channel_id: int, *, after_seq: int, limit: int) -> list[DigestCandidate]:
        """The best articles (one per story) changed after a sequence value, not gone, eligible
        or not, each flagged when its story already reached the channel: a preview's reasons."""
        rows = await self._db.fetchall(
            f"SELECT {ARTICLE_SELECT}, a.change_seq, NOT ({_NOT_CLAIMED}) FROM articles a"
            " INDEXED BY articles_change_seq WHERE a.change_seq > ? AND a.gone = 0"
            f" ORDER BY {_DIGEST_RANK} LIMIT ?",
            (channel_id, channel_id, after_seq, limit * 4),
        )
        return await self._candidates(one_per_story(rows, limit))

    async def _candidates(self, rows: Sequence[Row]) -> list[DigestCandidate]:
        entries = await story_entries(self._db, rows)
        return [
            DigestCandidate(entry, r[STORY_ID], int(r[_CHANGE_SEQ]), bool(r[_CLAIMED]))
            for entry, r in zip(entries, rows, strict=True)
        ]

    async def story_article_ids(self, article_ids: Sequence[int]) -> dict[int, list[int]]:
        """Every article of each given article's story (the article itself first)."""
        result: dict[int, list[int]] = {}
        for article_id in article_ids:
            rows = await self._db.fetchall(
                "SELECT o.id FROM articles a JOIN articles o ON o.story_id = a.story_id"
                " WHERE a.id = ? AND o.id != a.id ORDER BY o.id",
                (article_id,),
            )
            result[article_id] = [article_id, *(other_id for (other_id,) in rows)]
        return result

    # ---------------------------------------------------------------- runs and the ledger
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
    ) -> DigestRunRecord:
        """Claim and write a run before anything is sent: its items (article, chunk, shown),
        its messages (payload JSON, nonce(run_id, chunk)); the subscription's cursor moves from
        ``cursor`` (what the selection started from) to ``selected_seq``. A run with no
        messages is finished at once.

        One write transaction, so across processes too: raises RunConflict, writing nothing,
        when the cursor is no longer ``cursor`` (another run recorded first) or an article of
        the run's stories reached the channel or is held by another unsent run of it."""

        def work(conn: sqlite3.Connection) -> int:
            row = conn.execute(
                "SELECT seq_cursor FROM subscriptions WHERE channel_id = ?", (channel_id,)
            ).fetchone()
            if row is None or row[0] != cursor:
                raise RunConflict(f"the digest of channel {channel_id} moved on")
            if items:
                conn.execute(
                    "CREATE TEMP TABLE IF NOT EXISTS run_articles (id INTEGER PRIMARY KEY)"
                )
                conn.execute("DELETE FROM temp.run_articles")
                conn.executemany(
                    "INSERT OR IGNORE INTO temp.run_articles (id) VALUES (?)",
                    [(article_id,) for article_id, _chunk, _shown in items],
                )
                claimed = conn.execute(_RUN_CLAIMED, (channel_id, channel_id)).fetchone()
                conn.execute("DELETE FROM temp.run_articles")
                if claimed is not None:
                    raise RunConflict(f"another run of channel {channel_id} holds its stories")
            status = "pending" if payloads else "delivered"
            cur = conn.execute(
                "INSERT INTO digest_runs (channel_id, trigger, selected_at, selected_seq, status,"
                " more, finished_at, topics) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    channel_id,
                    trigger,
                    selected_at,
                    selected_seq,
                    status,
                    more,
                    None if payloads else selected_at,
                    TOPIC_SEP.join(topics),
                ),
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
                "UPDATE subscriptions SET seq_cursor = ? WHERE channel_id = ?",
                (selected_seq, channel_id),
            )
            if not payloads:
                _succeed(conn, channel_id, selected_at)
            return run_id

        run_id = await self._db.write(work)
        runs = await self.runs(run_id=run_id)
        return runs[0]

    async def runs(
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
        runs = await self._db.fetchall(
            "SELECT id, channel_id, trigger, selected_at, selected_seq, status, more, attempts,"
            f" last_error, thread_id, topics FROM digest_runs WHERE {' AND '.join(where)}"
            " ORDER BY id",
            params,
        )
        result = []
        for (
            run_id_, channel_id_, trigger, selected_at, selected_seq, status, more, attempts,
            last_error, thread_id, topics,
        ) in runs:  # fmt: skip
            messages = await self._db.fetchall(
                "SELECT chunk, nonce, payload, message_id FROM digest_messages WHERE run_id = ?"
                " ORDER BY chunk",
                (run_id_,),
            )
            result.append(
                DigestRunRecord(
                    id=run_id_,
                    channel_id=channel_id_,
                    trigger=trigger,
                    selected_at=selected_at,
                    selected_seq=selected_seq,
                    status=status,
                    more=more,
                    attempts=attempts,
                    last_error=last_error,
                    messages=tuple(
                        RunMessage(chunk, nonce, payload, message_id)
                        for chunk, nonce, payload, message_id in messages
                    ),
                    thread_id=thread_id,
                    topics=tuple(t for t in topics.split(TOPIC_SEP) if t),
                )
            )
        return result

    async def confirm_message(self, run_id: int, chunk: int, message_id: int, now: float) -> int:
        """Discord confirmed a message: mark the ledger for its stories' articles (once).
        Returns how many stories it carried (0 when it was already confirmed)."""
        return await self._db.write(lambda conn: _confirm(conn, run_id, chunk, message_id, now))

    async def confirm_post(self, run_id: int, thread_id: int, message_id: int, now: float) -> int:
        """Discord created a forum run's post with its first message: record the post on the
        run and confirm that message, in one transaction."""

        def work(conn: sqlite3.Connection) -> int:
            conn.execute(
                "UPDATE digest_runs SET thread_id = ? WHERE id = ? AND thread_id IS NULL",
                (thread_id, run_id),
            )
            return _confirm(conn, run_id, 0, message_id, now)

        return await self._db.write(work)

    async def set_channel_kind(self, channel_id: int, kind: str) -> None:
        await self._db.execute(
            "UPDATE subscriptions SET channel_kind = ? WHERE channel_id = ?"
            " AND channel_kind IS NOT ?",
            (kind, channel_id, kind),
        )

    # ---------------------------------------------------------------- publications
    async def record_publication(self, publication: Publication) -> None:
        """Record whether a run's message was published (a later answer replaces it)."""
        p = publication
        await self._db.execute(
            "INSERT INTO digest_publications (run_id, chunk, channel_id, message_id, status,"
            " reason, at) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (run_id, chunk) DO UPDATE"
            " SET status = excluded.status, reason = excluded.reason, at = excluded.at",
            (p.run_id, p.chunk, p.channel_id, p.message_id, p.status, p.reason, p.at),
        )

    async def publications(
        self, *, run_id: int | None = None, channel_id: int | None = None, since: float = 0.0
    ) -> list[Publication]:
        """Publication records of a run, or of a channel at or after ``since``, oldest first."""
        where, params = ["at >= ?"], [since]
        if run_id is not None:
            where.append("run_id = ?")
            params.append(run_id)
        if channel_id is not None:
            where.append("channel_id = ?")
            params.append(channel_id)
        rows = await self._db.fetchall(
            "SELECT run_id, chunk, channel_id, message_id, status, reason, at"
            f" FROM digest_publications WHERE {' AND '.join(where)} ORDER BY at, run_id, chunk",
            params,
        )
        return [Publication(*row) for row in rows]

    async def finish_run(self, run_id: int, now: float) -> None:
        """Every message confirmed: the run is delivered and the subscription healthy."""

        def work(conn: sqlite3.Connection) -> None:
            row = conn.execute(
                "UPDATE digest_runs SET status = 'delivered', finished_at = ?, last_error = NULL"
                " WHERE id = ? AND status = 'pending' RETURNING channel_id",
                (now, run_id),
            ).fetchone()
            if row is not None:
                (channel_id,) = row
                _succeed(conn, channel_id, now)

        await self._db.write(work)

    async def fail_run(
        self, run_id: int, error: str, now: float, *, counts: bool, pause_after: int
    ) -> Subscription | None:
        """A delivery attempt failed; the run stays pending. ``counts``: a failure towards the
        pause (missing channel or permission), not a passing server error. Returns the
        subscription as it is now (paused once ``pause_after`` failed runs came in a row)."""

        def work(conn: sqlite3.Connection) -> int:
            (channel_id,) = conn.execute(
                "UPDATE digest_runs SET attempts = attempts + 1, last_error = ? WHERE id = ?"
                " RETURNING channel_id",
                (error, run_id),
            ).fetchone()
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

        channel_id = await self._db.write(work)
        return await self.subscription(channel_id)

    # ---------------------------------------------------------------- alerts and health
    async def health_counts(self) -> tuple[int, int]:
        """(failing, paused): subscriptions whose last run failed and are not paused, and
        paused ones."""
        try:
            rows = await self._db.fetchall(
                "SELECT coalesce(sum(paused = 0 AND consecutive_failures > 0), 0),"
                " coalesce(sum(paused = 1), 0) FROM subscriptions"
            )
        except sqlite3.OperationalError:  # digests not migrated in yet
            return 0, 0
        failing, paused = rows[0]
        return int(failing), int(paused)

    async def set_alert_state(self, channel_id: int, before: str, after: str) -> bool:
        """Move a subscription's alerted state from ``before`` to ``after``; False when it was
        no longer ``before`` (another run or process told the admins already)."""
        changed = await self._db.execute(
            "UPDATE subscriptions SET alert_state = ? WHERE channel_id = ? AND alert_state = ?",
            (after, channel_id, before),
        )
        return changed > 0

    async def alert_channel(self, guild_id: int) -> int | None:
        rows = await self._db.fetchall(
            "SELECT channel_id FROM digest_alert_channels WHERE guild_id = ?", (guild_id,)
        )
        return int(rows[0][0]) if rows else None

    async def set_alert_channel(self, guild_id: int, channel_id: int | None, now: float) -> None:
        """Where the guild's digest alerts go; None: alerts off."""
        if channel_id is None:
            await self._db.execute(
                "DELETE FROM digest_alert_channels WHERE guild_id = ?", (guild_id,)
            )
            return
        await self._db.execute(
            "INSERT INTO digest_alert_channels (guild_id, channel_id, updated_at) VALUES (?, ?, ?)"
            " ON CONFLICT (guild_id) DO UPDATE SET channel_id = excluded.channel_id,"
            " updated_at = excluded.updated_at",
            (guild_id, channel_id, now),
        )

    async def delivered_article_ids(self, channel_id: int) -> list[int]:
        rows = await self._db.fetchall(
            "SELECT article_id FROM deliveries WHERE channel_id = ? ORDER BY article_id",
            (channel_id,),
        )
        return [article_id for (article_id,) in rows]


def _upsert_subscription(
    conn: sqlite3.Connection,
    channel_id: int,
    spec: SubscriptionSpec,
    *,
    guild_id: int | None,
    managed_by: str,
    cursor: int,
    now: float,
) -> None:
    conn.execute(
        "INSERT INTO subscriptions (channel_id, guild_id, schedule, timezone, topics, min_quality,"
        " max_items, only_published, role_id, max_age_days, layout, keywords, exclude, publish,"
        " managed_by, seq_cursor, created_at, updated_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT (channel_id) DO UPDATE SET"
        " guild_id = COALESCE(excluded.guild_id, subscriptions.guild_id),"
        " schedule = excluded.schedule, timezone = excluded.timezone, topics = excluded.topics,"
        " min_quality = excluded.min_quality, max_items = excluded.max_items,"
        " only_published = excluded.only_published, role_id = excluded.role_id,"
        " max_age_days = excluded.max_age_days, layout = excluded.layout,"
        " keywords = excluded.keywords, exclude = excluded.exclude, publish = excluded.publish,"
        " managed_by = excluded.managed_by, updated_at = excluded.updated_at",
        (channel_id, guild_id, *spec_row(spec), managed_by, cursor, now, now),
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


def _confirm(conn: sqlite3.Connection, run_id: int, chunk: int, message_id: int, now: float) -> int:
    """Mark a run's message sent and the ledger for its stories' articles; the stories shown."""
    cur = conn.execute(
        "UPDATE digest_messages SET message_id = ?, sent_at = ?"
        " WHERE run_id = ? AND chunk = ? AND message_id IS NULL",
        (message_id, now, run_id, chunk),
    )
    if cur.rowcount == 0:
        return 0
    (channel_id,) = conn.execute(
        "SELECT channel_id FROM digest_runs WHERE id = ?", (run_id,)
    ).fetchone()
    conn.execute(
        "INSERT OR IGNORE INTO deliveries (channel_id, article_id, run_id, delivered_at)"
        " SELECT ?, article_id, run_id, ? FROM digest_run_items"
        " WHERE run_id = ? AND chunk = ?",
        (channel_id, now, run_id, chunk),
    )
    (shown,) = conn.execute(
        "SELECT count(*) FROM digest_run_items WHERE run_id = ? AND chunk = ? AND shown",
        (run_id, chunk),
    ).fetchone()
    conn.execute(
        "UPDATE subscriptions SET items_delivered = items_delivered + ? WHERE channel_id = ?",
        (shown, channel_id),
    )
    return int(shown)
