"""The change sequence (DESIGN §4): a counter in the database that every write transaction which
can change an article's eligibility advances once, stamping the articles it changed.

A write transaction reads ``next_value`` first, stamps ``articles.change_seq`` with it where
something changed (in its own SQL), then calls ``take``: the value is taken, with a
``change_marks`` row, only when some article carries it. Writes are serialised (BEGIN
IMMEDIATE, across processes too), so values are taken in commit order and a reader that sees
value N sees every article stamped N or lower.
"""

from __future__ import annotations

import sqlite3


def next_value(conn: sqlite3.Connection) -> int:
    """The value this write transaction stamps its changes with."""
    return current_value(conn) + 1


def current_value(conn: sqlite3.Connection) -> int:
    """The last value taken (0: none yet)."""
    (value,) = conn.execute("SELECT COALESCE(max(seq), 0) FROM change_marks").fetchone()
    return int(value)


def take(conn: sqlite3.Connection, value: int, now: float) -> bool:
    """Take ``value`` when some article was stamped with it; True when it was."""
    stamped = conn.execute(
        "SELECT 1 FROM articles WHERE change_seq = ? LIMIT 1", (value,)
    ).fetchone()
    if stamped is None:
        return False
    conn.execute("INSERT INTO change_marks (seq, at) VALUES (?, ?)", (value, now))
    return True


def value_at(conn: sqlite3.Connection, moment: float) -> int:
    """The value taken last at or before ``moment`` (0: none): where a new subscription that
    looks back to ``moment`` starts. One index step: values are taken in time order (a clock
    set back only moves a new subscription's start a little)."""
    row = conn.execute(
        "SELECT seq FROM change_marks WHERE at <= ? ORDER BY at DESC, seq DESC LIMIT 1",
        (moment,),
    ).fetchone()
    return 0 if row is None else int(row[0])
