"""Migration 8 (issue 14): a subscription's layout, keyword filters and alert state; each
guild's alert channel. A step that finds its columns already there adds nothing, so the
migration can run again over a database that has them (as a re-run of migration 6 does)."""

from __future__ import annotations

import sqlite3

_COLUMNS = (
    # 'cards' (an embed per story) or 'compact' (a list, one line per story)
    (
        "layout",
        "TEXT NOT NULL DEFAULT 'cards' CHECK (layout IN ('cards', 'compact'))",
    ),
    # words or phrases joined by U+001F; '' = none; a story needs one (when there are any)
    ("keywords", "TEXT NOT NULL DEFAULT ''"),
    # words or phrases joined by U+001F; a story with any of them is left out
    ("exclude", "TEXT NOT NULL DEFAULT ''"),
    # the last state the guild's admins were told about, so a restart never repeats an alert
    (
        "alert_state",
        "TEXT NOT NULL DEFAULT 'healthy' CHECK (alert_state IN ('healthy', 'failing', 'paused'))",
    ),
)


def migrate(conn: sqlite3.Connection) -> None:
    existing = {row[1] for row in conn.execute("PRAGMA table_info(subscriptions)")}
    for name, definition in _COLUMNS:
        if name not in existing:
            conn.execute(f"ALTER TABLE subscriptions ADD COLUMN {name} {definition}")
    # where a guild's admins hear about failing, paused and recovered digests (no row: off)
    conn.execute(
        "CREATE TABLE IF NOT EXISTS digest_alert_channels ("
        " guild_id INTEGER PRIMARY KEY, channel_id INTEGER NOT NULL, updated_at REAL NOT NULL)"
    )
