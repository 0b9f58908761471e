"""Gone articles (DESIGN §3): a file deleted from disk, or one that says `removed: true`.

A gone article keeps its row (``gone = 1``), its story, its related edges and its ledger entries,
but has no ``article_topics`` rows (not counted in ``topics.article_count``) and no full-text
entries: so topic pages, topic autocomplete, search and title autocomplete leave it out with no
filter of their own, and the queries driven by the articles table say ``gone = 0``. The write
path keeps this when it restores an article or makes one gone (bot.store.write).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

FTS_DELETE = (
    "INSERT INTO articles_fts (articles_fts, rowid, title, excerpt, provider)"
    " VALUES ('delete', ?, ?, ?, ?)"
)
TITLES_FTS_DELETE = "INSERT INTO titles_fts (titles_fts, rowid, title) VALUES ('delete', ?, ?)"


def mark_gone(conn: sqlite3.Connection, article_ids: Sequence[int]) -> int:
    """Make these articles gone (those not gone already); returns how many went."""
    rows: list[tuple[int, str, str | None, str | None]] = []
    for i in range(0, len(article_ids), 500):
        part = article_ids[i : i + 500]
        marks = ",".join("?" * len(part))
        rows += conn.execute(
            "UPDATE articles SET gone = 1"
            f" WHERE id IN ({marks}) AND gone = 0 AND from_file = 1"
            " RETURNING id, title, excerpt, provider_name",
            part,
        ).fetchall()
    if not rows:
        return 0
    conn.executemany(FTS_DELETE, rows)
    conn.executemany(TITLES_FTS_DELETE, [(article_id, title) for article_id, title, *_ in rows])
    delta: dict[int, int] = {}
    for article_id, *_ in rows:
        for (topic_id,) in conn.execute(
            "DELETE FROM article_topics WHERE article_id = ? RETURNING topic_id", (article_id,)
        ):
            delta[topic_id] = delta.get(topic_id, 0) + 1
    conn.executemany(
        "UPDATE topics SET article_count = article_count - ? WHERE id = ?",
        [(count, topic_id) for topic_id, count in delta.items()],
    )
    return len(rows)
