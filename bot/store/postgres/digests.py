"""Digest storage in PostgreSQL (bot.store.digests): subscriptions, candidates, runs and the
delivery ledger, with the same results.

``record_run`` claims a run in one transaction that first locks the subscription's row
(SELECT ... FOR UPDATE): two processes recording a run of one channel take turns, and the
second sees the first one's cursor and held articles, so it raises RunConflict and writes
nothing. No two runs (of any process) hold the same article of a channel."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import asyncpg

from bot.store.postgres import sequence
from bot.store.postgres.db import PgDatabase, Row, affected
from bot.store.postgres.rows import article_rows, story_entries
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
from bot.store.rows import ARTICLE_COLUMNS, ARTICLE_SELECT, STORY_ID, TOPIC_SEP, one_per_story
from bot.store.subscription_rows import SUBSCRIPTION_COLUMNS, row_subscription, spec_row

_DIGEST_RANK = (
    "COALESCE(a.quality, -1) DESC, COALESCE(a.heat, -1) DESC, a.published_at DESC NULLS LAST,"
    " a.id DESC"
)


def _not_claimed(channel: str) -> str:
    """True when no article of a's story reached the channel (the parameter ``channel``) or
    waits in one of its unsent runs."""
    return (
        "NOT EXISTS (SELECT 1 FROM articles o JOIN deliveries d ON d.article_id = o.id"
        f" AND d.channel_id = {channel} WHERE o.story_id = a.story_id OR o.id = a.id)"
        " AND NOT EXISTS (SELECT 1 FROM articles o JOIN digest_run_items i"
        " ON i.article_id = o.id JOIN digest_runs r ON r.id = i.run_id"
        f" AND r.status = 'pending' AND r.channel_id = {channel}"
        " WHERE o.story_id = a.story_id OR o.id = a.id)"
    )


# True when an article of the run's stories ($1: the run's article ids) reached channel $2 or
# waits in another of its unsent runs.
_RUN_CLAIMED = (
    "SELECT 1 FROM articles a JOIN articles o ON o.story_id = a.story_id OR o.id = a.id"
    " WHERE a.id = ANY ($1::bigint[]) AND (EXISTS (SELECT 1 FROM deliveries d"
    " WHERE d.channel_id = $2 AND d.article_id = o.id)"
    " OR EXISTS (SELECT 1 FROM digest_run_items i JOIN digest_runs p ON p.id = i.run_id"
    " AND p.status = 'pending' AND p.channel_id = $2 WHERE i.article_id = o.id)) LIMIT 1"
)
_CHANGE_SEQ = len(ARTICLE_COLUMNS)
_CLAIMED = _CHANGE_SEQ + 1


def _subscription(record: Sequence[Any]) -> Subscription:
    return row_subscription(tuple(record))


class PgDigests:
    """Subscriptions, digest candidates, runs and the ledger of what reached each channel."""

    def __init__(self, db: PgDatabase):
        self._db = db

    # ---------------------------------------------------------------- subscriptions
    async def subscription_count(self) -> int:
        return await self._db.scalar("SELECT count(*) FROM subscriptions")

    async def subscriptions(self, guild_id: int | None = None) -> list[Subscription]:
        """Every subscription (or a guild's, plus file-managed ones whose guild is unknown)."""
        if guild_id is None:
            rows = await self._db.fetch(
                f"SELECT {SUBSCRIPTION_COLUMNS} FROM subscriptions ORDER BY channel_id"
            )
        else:
            rows = await self._db.fetch(
                f"SELECT {SUBSCRIPTION_COLUMNS} FROM subscriptions"
                " WHERE guild_id = $1 OR guild_id IS NULL ORDER BY channel_id",
                guild_id,
            )
        return [_subscription(r) for r in rows]

    async def subscription(self, channel_id: int) -> Subscription | None:
        rows = await self._db.fetch(
            f"SELECT {SUBSCRIPTION_COLUMNS} FROM subscriptions WHERE channel_id = $1",
            channel_id,
        )
        return _subscription(rows[0]) if rows else None

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
        async with self._db.transaction() as conn:
            await _upsert_subscription(
                conn,
                channel_id,
                spec,
                guild_id=guild_id,
                managed_by=managed_by,
                cursor=await sequence.value_at(conn, since),
                now=now,
            )
        saved = await self.subscription(channel_id)
        assert saved is not None
        return saved

    async def delete_subscription(self, channel_id: int, now: float) -> bool:
        """Remove a subscription; its unsent runs are abandoned, the ledger is kept."""
        async with self._db.transaction() as conn:
            await _abandon_runs(conn, channel_id, "unsubscribed", now)
            status = await conn.execute(
                "DELETE FROM subscriptions WHERE channel_id = $1", channel_id
            )
            return affected(status) > 0

    async def set_subscription_paused(
        self, channel_id: int, paused: bool, reason: str | None, now: float
    ) -> bool:
        """Pause (with a reason) or resume; resuming forgets the failures that led to a pause."""
        changed = await self._db.execute(
            "UPDATE subscriptions SET paused = $1, paused_reason = $2, updated_at = $3,"
            " consecutive_failures = CASE WHEN $4 THEN consecutive_failures ELSE 0 END"
            " WHERE channel_id = $5",
            int(paused),
            reason if paused else None,
            now,
            paused,
            channel_id,
        )
        return changed > 0

    async def set_subscription_guild(self, channel_id: int, guild_id: int) -> None:
        await self._db.execute(
            "UPDATE subscriptions SET guild_id = $1"
            " WHERE channel_id = $2 AND guild_id IS DISTINCT FROM $1",
            guild_id,
            channel_id,
        )

    async def sync_file_subscriptions(
        self, specs: Sequence[tuple[int, SubscriptionSpec]], *, since: float, now: float
    ) -> list[int]:
        """Make the file-managed subscriptions what the config says, in one transaction (see
        bot.store.digests.Digests.sync_file_subscriptions). Returns the channels changed."""
        async with self._db.transaction() as conn:
            cursor = await sequence.value_at(conn, since)
            before: dict[int, tuple[Any, ...]] = {
                int(r[0]): tuple(r)[1:]
                for r in await conn.fetch(
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
                    await _upsert_subscription(
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
                    await _abandon_runs(conn, channel_id, "removed from the config file", now)
                    await conn.execute(
                        "DELETE FROM subscriptions WHERE channel_id = $1", channel_id
                    )
                    changed.append(channel_id)
            return changed

    # ---------------------------------------------------------------- candidates
    async def change_seq_at(self, moment: float) -> int:
        """The change sequence value taken last at or before ``moment`` (0: none)."""
        async with self._db.snapshot() as conn:
            return await sequence.value_at(conn, moment)

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
        """Due articles, best first, how many stories are due, and the change sequence value
        read in the same snapshot (see bot.store.digests.Digests.candidates)."""
        where = [
            "a.change_seq > $1",
            "a.change_seq <= $2",
            "a.gone = 0",
            "COALESCE(a.quality, 0) >= $3",
            _not_claimed("$4"),
        ]
        params: list[Any] = [after_seq, 0, min_quality, channel_id]
        if only_published:
            where.append("a.published = 1")
        if published_after is not None:
            params.append(published_after)
            where.append(f"a.published_at >= ${len(params)}::double precision")
        if topic_keys:
            params.append(list(topic_keys))
            where.append(
                "EXISTS (SELECT 1 FROM article_topics at JOIN topics t ON t.id = at.topic_id"
                f" WHERE at.article_id = a.id AND t.key = ANY (${len(params)}::text[]))"
            )
        condition = " AND ".join(where)
        fetch_param = f"${len(params) + 1}"
        async with self._db.snapshot() as conn:
            params[1] = upto = await sequence.current_value(conn)
            stories = int(
                await conn.fetchval(
                    "SELECT count(DISTINCT COALESCE(a.story_id, -a.id)) FROM articles a"
                    f" WHERE {condition}",
                    *params,
                )
            )
            fetch = max(limit * 8, 50)
            while True:
                rows = article_rows(
                    await conn.fetch(
                        f"SELECT {ARTICLE_SELECT}, a.change_seq, 0 FROM articles a"
                        f" WHERE {condition} ORDER BY {_DIGEST_RANK} LIMIT {fetch_param}",
                        *params,
                        fetch,
                    )
                )
                kept = one_per_story(rows, limit)
                if len(kept) >= limit or len(rows) < fetch:
                    break
                fetch *= 4
            found = await _candidates(conn, kept)
        return DigestCandidates(tuple(found), stories, upto)

    async def pool(self, channel_id: int, *, after_seq: int, limit: int) -> list[DigestCandidate]:
        """The best articles (one per story) changed after a sequence value, not gone, eligible
        or not, each flagged when its story already reached the channel: a preview's reasons."""
        async with self._db.snapshot() as conn:
            rows = article_rows(
                await conn.fetch(
                    f"SELECT {ARTICLE_SELECT}, a.change_seq, NOT ({_not_claimed('$1')})"
                    " FROM articles a WHERE a.change_seq > $2 AND a.gone = 0"
                    f" ORDER BY {_DIGEST_RANK} LIMIT $3",
                    channel_id,
                    after_seq,
                    limit * 4,
                )
            )
            return await _candidates(conn, one_per_story(rows, limit))

    async def story_article_ids(self, article_ids: Sequence[int]) -> dict[int, list[int]]:
        """Every article of each given article's story (the article itself first)."""
        rows = await self._db.fetch(
            "SELECT a.id, o.id FROM articles a JOIN articles o ON o.story_id = a.story_id"
            " WHERE a.id = ANY ($1::bigint[]) AND o.id != a.id ORDER BY a.id, o.id",
            list(article_ids),
        )
        result: dict[int, list[int]] = {article_id: [article_id] for article_id in article_ids}
        for article_id, other_id in rows:
            result[article_id].append(other_id)
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
        """Claim and write a run before anything is sent (see
        bot.store.digests.Digests.record_run): RunConflict, writing nothing, when the cursor
        moved or an article of the run's stories reached the channel or is held by another
        unsent run of it. The subscription's row lock makes the check and the claim one step
        across processes."""
        async with self._db.transaction() as conn:
            current = await conn.fetchval(
                "SELECT seq_cursor FROM subscriptions WHERE channel_id = $1 FOR UPDATE",
                channel_id,
            )
            if current is None or current != cursor:
                raise RunConflict(f"the digest of channel {channel_id} moved on")
            if items:
                claimed = await conn.fetchval(
                    _RUN_CLAIMED, sorted({article_id for article_id, _c, _s in items}), channel_id
                )
                if claimed is not None:
                    raise RunConflict(f"another run of channel {channel_id} holds its stories")
            status = "pending" if payloads else "delivered"
            run_id = int(
                await conn.fetchval(
                    "INSERT INTO digest_runs (channel_id, trigger, selected_at, selected_seq,"
                    " status, more, finished_at, topics) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
                    " RETURNING id",
                    channel_id,
                    trigger,
                    selected_at,
                    selected_seq,
                    status,
                    more,
                    None if payloads else selected_at,
                    TOPIC_SEP.join(topics),
                )
            )
            if items:
                await conn.executemany(
                    "INSERT INTO digest_run_items (run_id, article_id, chunk, shown)"
                    " VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
                    [(run_id, article_id, chunk, int(shown)) for article_id, chunk, shown in items],
                )
            if payloads:
                await conn.executemany(
                    "INSERT INTO digest_messages (run_id, chunk, nonce, payload)"
                    " VALUES ($1, $2, $3, $4)",
                    [(run_id, chunk, nonce(run_id, chunk), p) for chunk, p in enumerate(payloads)],
                )
            await conn.execute(
                "UPDATE subscriptions SET seq_cursor = $1 WHERE channel_id = $2",
                selected_seq,
                channel_id,
            )
            if not payloads:
                await _succeed(conn, channel_id, selected_at)
        runs = await self.runs(run_id=run_id)
        return runs[0]

    async def runs(
        self, *, channel_id: int | None = None, run_id: int | None = None, pending: bool = False
    ) -> list[DigestRunRecord]:
        """Runs with their messages, oldest first; filtered by channel, id or pending status."""
        where, params = ["TRUE"], []
        if channel_id is not None:
            params.append(channel_id)
            where.append(f"channel_id = ${len(params)}")
        if run_id is not None:
            params.append(run_id)
            where.append(f"id = ${len(params)}")
        if pending:
            where.append("status = 'pending'")
        async with self._db.snapshot() as conn:
            runs = await conn.fetch(
                "SELECT id, channel_id, trigger, selected_at, selected_seq, status, more,"
                " attempts, last_error, thread_id, topics FROM digest_runs"
                f" WHERE {' AND '.join(where)} ORDER BY id",
                *params,
            )
            messages = await conn.fetch(
                "SELECT run_id, chunk, nonce, payload, message_id FROM digest_messages"
                " WHERE run_id = ANY ($1::bigint[]) ORDER BY run_id, chunk",
                [r[0] for r in runs],
            )
        by_run: dict[int, list[RunMessage]] = {}
        for run_id_, chunk, nonce, payload, message_id in messages:
            by_run.setdefault(run_id_, []).append(RunMessage(chunk, nonce, payload, message_id))
        return [
            DigestRunRecord(
                id=r[0],
                channel_id=r[1],
                trigger=r[2],
                selected_at=r[3],
                selected_seq=r[4],
                status=r[5],
                more=r[6],
                attempts=r[7],
                last_error=r[8],
                messages=tuple(by_run.get(r[0], ())),
                thread_id=r[9],
                topics=tuple(t for t in r[10].split(TOPIC_SEP) if t),
            )
            for r in runs
        ]

    async def confirm_message(self, run_id: int, chunk: int, message_id: int, now: float) -> int:
        """Discord confirmed a message: mark the ledger for its stories' articles (once).
        Returns how many stories it carried (0 when it was already confirmed)."""
        async with self._db.transaction() as conn:
            return await _confirm(conn, run_id, chunk, message_id, now)

    async def confirm_post(self, run_id: int, thread_id: int, message_id: int, now: float) -> int:
        """Discord created a forum run's post with its first message: record the post on the
        run and confirm that message, in one transaction."""
        async with self._db.transaction() as conn:
            await conn.execute(
                "UPDATE digest_runs SET thread_id = $1 WHERE id = $2 AND thread_id IS NULL",
                thread_id,
                run_id,
            )
            return await _confirm(conn, run_id, 0, message_id, now)

    async def set_channel_kind(self, channel_id: int, kind: str) -> None:
        await self._db.execute(
            "UPDATE subscriptions SET channel_kind = $1"
            " WHERE channel_id = $2 AND channel_kind IS DISTINCT FROM $1",
            kind,
            channel_id,
        )

    # ---------------------------------------------------------------- publications
    async def record_publication(self, publication: Publication) -> None:
        """Record whether a run's message was published (a later answer replaces it)."""
        p = publication
        await self._db.execute(
            "INSERT INTO digest_publications (run_id, chunk, channel_id, message_id, status,"
            " reason, at) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (run_id, chunk) DO"
            " UPDATE SET status = excluded.status, reason = excluded.reason, at = excluded.at",
            p.run_id,
            p.chunk,
            p.channel_id,
            p.message_id,
            p.status,
            p.reason,
            p.at,
        )

    async def publications(
        self, *, run_id: int | None = None, channel_id: int | None = None, since: float = 0.0
    ) -> list[Publication]:
        """Publication records of a run, or of a channel at or after ``since``, oldest first."""
        params: list[Any] = [since]
        where = ["at >= $1"]
        if run_id is not None:
            params.append(run_id)
            where.append(f"run_id = ${len(params)}")
        if channel_id is not None:
            params.append(channel_id)
            where.append(f"channel_id = ${len(params)}")
        rows = await self._db.fetch(
            "SELECT run_id, chunk, channel_id, message_id, status, reason, at"
            f" FROM digest_publications WHERE {' AND '.join(where)} ORDER BY at, run_id, chunk",
            *params,
        )
        return [Publication(*row) for row in rows]

    async def finish_run(self, run_id: int, now: float) -> None:
        """Every message confirmed: the run is delivered and the subscription healthy."""
        async with self._db.transaction() as conn:
            channel_id = await conn.fetchval(
                "UPDATE digest_runs SET status = 'delivered', finished_at = $1, last_error = NULL"
                " WHERE id = $2 AND status = 'pending' RETURNING channel_id",
                now,
                run_id,
            )
            if channel_id is not None:
                await _succeed(conn, channel_id, now)

    async def fail_run(
        self, run_id: int, error: str, now: float, *, counts: bool, pause_after: int
    ) -> Subscription | None:
        """A delivery attempt failed; the run stays pending (see
        bot.store.digests.Digests.fail_run). Returns the subscription as it is now."""
        async with self._db.transaction() as conn:
            channel_id = await conn.fetchval(
                "UPDATE digest_runs SET attempts = attempts + 1, last_error = $1 WHERE id = $2"
                " RETURNING channel_id",
                error,
                run_id,
            )
            await conn.execute(
                "UPDATE subscriptions SET last_error = $1, updated_at = $2,"
                " consecutive_failures = consecutive_failures + $3 WHERE channel_id = $4",
                error,
                now,
                int(counts),
                channel_id,
            )
            await conn.execute(
                "UPDATE subscriptions SET paused = 1, paused_reason = $1"
                " WHERE channel_id = $2 AND paused = 0 AND consecutive_failures >= $3",
                f"paused by the bot after {pause_after} failed runs in a row: {error}",
                channel_id,
                pause_after,
            )
        return await self.subscription(int(channel_id))

    # ---------------------------------------------------------------- alerts and health
    async def health_counts(self) -> tuple[int, int]:
        """(failing, paused): subscriptions whose last run failed and are not paused, and
        paused ones."""
        rows = await self._db.fetch(
            "SELECT count(*) FILTER (WHERE paused = 0 AND consecutive_failures > 0),"
            " count(*) FILTER (WHERE paused = 1) FROM subscriptions"
        )
        failing, paused = rows[0]
        return int(failing), int(paused)

    async def set_alert_state(self, channel_id: int, before: str, after: str) -> bool:
        """Move a subscription's alerted state from ``before`` to ``after``; False when it was
        no longer ``before`` (another run or process told the admins already)."""
        changed = await self._db.execute(
            "UPDATE subscriptions SET alert_state = $1 WHERE channel_id = $2 AND alert_state = $3",
            after,
            channel_id,
            before,
        )
        return changed > 0

    async def alert_channel(self, guild_id: int) -> int | None:
        rows = await self._db.fetch(
            "SELECT channel_id FROM digest_alert_channels WHERE guild_id = $1", guild_id
        )
        return int(rows[0][0]) if rows else None

    async def set_alert_channel(self, guild_id: int, channel_id: int | None, now: float) -> None:
        """Where the guild's digest alerts go; None: alerts off."""
        if channel_id is None:
            await self._db.execute(
                "DELETE FROM digest_alert_channels WHERE guild_id = $1", guild_id
            )
            return
        await self._db.execute(
            "INSERT INTO digest_alert_channels (guild_id, channel_id, updated_at)"
            " VALUES ($1, $2, $3) ON CONFLICT (guild_id) DO UPDATE"
            " SET channel_id = excluded.channel_id, updated_at = excluded.updated_at",
            guild_id,
            channel_id,
            now,
        )

    async def delivered_article_ids(self, channel_id: int) -> list[int]:
        rows = await self._db.fetch(
            "SELECT article_id FROM deliveries WHERE channel_id = $1 ORDER BY article_id",
            channel_id,
        )
        return [int(article_id) for (article_id,) in rows]


async def _candidates(conn: asyncpg.Connection, rows: Sequence[Row]) -> list[DigestCandidate]:
    entries = await story_entries(conn, rows)
    return [
        DigestCandidate(entry, r[STORY_ID], int(r[_CHANGE_SEQ]), bool(r[_CLAIMED]))
        for entry, r in zip(entries, rows, strict=True)
    ]


async def _upsert_subscription(
    conn: asyncpg.Connection,
    channel_id: int,
    spec: SubscriptionSpec,
    *,
    guild_id: int | None,
    managed_by: str,
    cursor: int,
    now: float,
) -> None:
    await conn.execute(
        "INSERT INTO subscriptions (channel_id, guild_id, schedule, timezone, topics, min_quality,"
        " max_items, only_published, role_id, max_age_days, layout, keywords, exclude, publish,"
        " managed_by, seq_cursor, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8,"
        " $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)"
        " ON CONFLICT (channel_id) DO UPDATE SET"
        " guild_id = COALESCE(excluded.guild_id, subscriptions.guild_id),"
        " schedule = excluded.schedule, timezone = excluded.timezone, topics = excluded.topics,"
        " min_quality = excluded.min_quality, max_items = excluded.max_items,"
        " only_published = excluded.only_published, role_id = excluded.role_id,"
        " max_age_days = excluded.max_age_days, layout = excluded.layout,"
        " keywords = excluded.keywords, exclude = excluded.exclude, publish = excluded.publish,"
        " managed_by = excluded.managed_by, updated_at = excluded.updated_at",
        channel_id,
        guild_id,
        *spec_row(spec),
        managed_by,
        cursor,
        now,
        now,
    )


async def _abandon_runs(conn: asyncpg.Connection, channel_id: int, reason: str, now: float) -> None:
    await conn.execute(
        "UPDATE digest_runs SET status = 'abandoned', last_error = $1, finished_at = $2"
        " WHERE channel_id = $3 AND status = 'pending'",
        reason,
        now,
        channel_id,
    )


async def _succeed(conn: asyncpg.Connection, channel_id: int, now: float) -> None:
    await conn.execute(
        "UPDATE subscriptions SET last_run_at = $1, consecutive_failures = 0, last_error = NULL"
        " WHERE channel_id = $2",
        now,
        channel_id,
    )


async def _confirm(
    conn: asyncpg.Connection, run_id: int, chunk: int, message_id: int, now: float
) -> int:
    """Mark a run's message sent and the ledger for its stories' articles; the stories shown."""
    status = await conn.execute(
        "UPDATE digest_messages SET message_id = $1, sent_at = $2"
        " WHERE run_id = $3 AND chunk = $4 AND message_id IS NULL",
        message_id,
        now,
        run_id,
        chunk,
    )
    if affected(status) == 0:
        return 0
    channel_id = await conn.fetchval("SELECT channel_id FROM digest_runs WHERE id = $1", run_id)
    await conn.execute(
        "INSERT INTO deliveries (channel_id, article_id, run_id, delivered_at)"
        " SELECT $1, article_id, run_id, $2 FROM digest_run_items"
        " WHERE run_id = $3 AND chunk = $4 ON CONFLICT DO NOTHING",
        channel_id,
        now,
        run_id,
        chunk,
    )
    shown = int(
        await conn.fetchval(
            "SELECT count(*) FROM digest_run_items WHERE run_id = $1 AND chunk = $2 AND shown != 0",
            run_id,
            chunk,
        )
    )
    await conn.execute(
        "UPDATE subscriptions SET items_delivered = items_delivered + $1 WHERE channel_id = $2",
        shown,
        channel_id,
    )
    return shown
