"""Migration 9 (issue 14): digests in announcement and forum channels.

Columns are added only where missing, so the step is safe on a database that already has them
(a database whose recorded version was set back, as the migration tests do).
"""

from __future__ import annotations

import sqlite3

# (table, column, definition)
_COLUMNS = (
    # 1: publish each digest message to the channel's followers (announcement channels only)
    ("subscriptions", "publish", "INTEGER NOT NULL DEFAULT 1"),
    # 'text', 'announcement' or 'forum' as last seen (subscribe or a run); NULL: not seen yet
    ("subscriptions", "channel_kind", "TEXT"),
    # a forum run's post, recorded as soon as Discord made it (before the rest go into it)
    ("digest_runs", "thread_id", "INTEGER"),
    # the run's topics, best story first, joined by U+001F: what a forum post's tags match
    ("digest_runs", "topics", "TEXT NOT NULL DEFAULT ''"),
)

# Publishing is recorded apart from posting: one row per published (or not) message of a run.
_PUBLICATIONS = """
CREATE TABLE IF NOT EXISTS digest_publications (
    run_id     INTEGER NOT NULL REFERENCES digest_runs (id) ON DELETE CASCADE,
    chunk      INTEGER NOT NULL,
    channel_id INTEGER NOT NULL,
    message_id INTEGER NOT NULL,
    status     TEXT    NOT NULL CHECK (status IN ('published', 'failed', 'skipped')),
    reason     TEXT,
    at         REAL    NOT NULL,
    PRIMARY KEY (run_id, chunk)
) WITHOUT ROWID
"""


def migrate(conn: sqlite3.Connection) -> None:
    for table, column, definition in _COLUMNS:
        present = {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}
        if column not in present:
            conn.execute(f"ALTER TABLE {table} ADD COLUMN {column} {definition}")
    conn.execute(_PUBLICATIONS)
    conn.execute(
        "CREATE INDEX IF NOT EXISTS digest_publications_channel"
        " ON digest_publications (channel_id, at)"
    )
