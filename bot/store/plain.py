"""The SQLite database on one plain connection, without the event loop or aiosqlite: the store's
settings and transactions (bot.store.db builds on them), the ingest's writer process's connection,
and what a cold `newsbot ingest` needs to find that nothing changed (the file states:
bot.store.files) and to stamp the run. A database that is missing or not yet migrated is left to
``Store.open``."""

from __future__ import annotations

import os
import re
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

_MIGRATION = re.compile(r"(\d+)_\w*\.(?:sql|py)$")  # as bot.store.db finds them
_MIGRATIONS_DIR = os.path.join(os.path.dirname(__file__), "migrations")
PRAGMAS = (  # every connection the store opens
    "PRAGMA journal_mode = WAL",
    "PRAGMA synchronous = NORMAL",
    "PRAGMA foreign_keys = ON",
    "PRAGMA busy_timeout = 10000",
    "PRAGMA cache_size = -32000",
    "PRAGMA temp_store = MEMORY",
)


def newest_migration() -> int:
    """The number of the newest migration shipped in bot/store/migrations."""
    # A listing, not importlib.resources (~5 ms to import) nor the migrations themselves.
    return max(
        (
            int(match.group(1))
            for name in os.listdir(_MIGRATIONS_DIR)
            if (match := _MIGRATION.match(name))
        ),
        default=0,
    )


def open_migrated(path: Path) -> sqlite3.Connection | None:
    """A connection with the store's busy timeout and durability to the database at ``path``
    when it exists and has every migration; None when it is missing or older (``Store.open``
    creates or migrates it)."""
    if not path.is_file():
        return None
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA busy_timeout = 10000")  # as the store's connections wait
        # as the store's commit: a cold run's stamp of the run needs no fsync of the WAL
        conn.execute("PRAGMA synchronous = NORMAL")
        version: int = conn.execute("PRAGMA user_version").fetchone()[0]
        if version < newest_migration():
            conn.close()
            return None
    except BaseException:
        conn.close()
        raise
    return conn


def set_meta(conn: sqlite3.Connection, key: str, value: str) -> None:
    """Store.set_meta on a connection."""
    conn.execute(
        "INSERT INTO meta (key, value) VALUES (?, ?)"
        " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        (key, value),
    )


def connect_writer(path: Path) -> sqlite3.Connection:
    """A plain writer connection with the store's settings, to a database already migrated
    (an ingest's writer process: bot.ingest.writer)."""
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        for pragma in PRAGMAS:
            conn.execute(pragma)
    except BaseException:
        conn.close()
        raise
    return conn


@contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """BEGIN IMMEDIATE ... COMMIT on a connection in autocommit mode; ROLLBACK on error."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
