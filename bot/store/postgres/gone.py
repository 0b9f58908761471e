"""Gone articles in PostgreSQL (bot.store.gone): no article_topics rows, no full-text
entries (their tsvectors are NULL), kept everywhere else."""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg


async def mark_gone(conn: asyncpg.Connection, article_ids: Sequence[int]) -> int:
    """Make these articles gone (those not gone already); returns how many went."""
    if not article_ids:
        return 0
    went = await conn.fetch(
        "UPDATE articles SET gone = 1, search = NULL, title_search = NULL"
        " WHERE id = ANY ($1::bigint[]) AND gone = 0 AND from_file = 1 RETURNING id",
        list(article_ids),
    )
    if not went:
        return 0
    await conn.execute(
        "WITH removed AS (DELETE FROM article_topics WHERE article_id = ANY ($1::bigint[])"
        " RETURNING topic_id), counts AS (SELECT topic_id, count(*) AS n FROM removed"
        " GROUP BY topic_id)"
        " UPDATE topics t SET article_count = t.article_count - c.n FROM counts c"
        " WHERE t.id = c.topic_id",
        [r[0] for r in went],
    )
    return len(went)
