"""Migration 11: the full-text indexes rebuilt leaner (no column sizes; titles_fts without word
positions) answer every query as the indexes before it did, and leave gone articles out."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

from bench.generate import iter_records
from bot.articles.fields import read_article
from bot.store import FileRecord, Store
from bot.store.db import migration_steps
from bot.store.gone import mark_gone
from bot.store.prepare import prepare_values
from bot.store.relevance import words
from bot.store.search import prefix_query, quoted_terms
from bot.store.write import apply_file_batch

ARTICLES = 600


def store_before_11(path: Path) -> None:
    """A database at migration 10 holding generated articles (and their related stubs), a few
    of them gone, written by today's write path (which keeps both index shapes alike)."""
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        for number, step in migration_steps():
            if number < 11:
                step(conn)
        conn.execute("PRAGMA user_version = 10")
        records = [
            FileRecord(f"/f{i}", 1, 1, f"h{i}", prepared=prepare_values(read_article(record)[0]))
            for i, record in enumerate(iter_records(ARTICLES, seed=3))
        ]
        conn.execute("BEGIN")
        apply_file_batch(conn, records, time.time(), lambda name: name)
        mark_gone(conn, [row[0] for row in conn.execute("SELECT id FROM articles LIMIT 20")])
        conn.execute("COMMIT")
    finally:
        conn.close()


def queries(conn: sqlite3.Connection) -> tuple[list[str], list[str]]:
    """Title-autocomplete queries (each title's first words, the last cut to a prefix of 1-7
    letters) and search queries (one or two of a text's words), from the stored texts."""
    prefixes: set[str] = set()
    searches: set[str] = set()
    for title, excerpt in conn.execute("SELECT title, excerpt FROM articles ORDER BY id"):
        found = words(title)
        for count in range(1, min(3, len(found)) + 1):
            *head, last = found[:count]
            for cut in (1, 3, 7):
                query = prefix_query(" ".join([*head, last[:cut]]))
                if query is not None:
                    prefixes.add(query)
        text = words(excerpt)
        for term in (*found[:2], *text[:2], " ".join(text[:2])):
            query = quoted_terms(term.split())
            if query is not None:
                searches.add(query)
    return sorted(prefixes), sorted(searches)


def answers(path: Path, prefixes: list[str], searches: list[str]) -> list[list[int]]:
    with sqlite3.connect(path) as conn:
        return [
            [
                row[0]
                for row in conn.execute(
                    f"SELECT rowid FROM {table} WHERE {table} MATCH ? ORDER BY rowid DESC",
                    (query,),
                )
            ]
            for table, asked in (("titles_fts", prefixes), ("articles_fts", searches))
            for query in asked
        ]


async def test_the_rebuilt_indexes_answer_as_before(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite3"
    store_before_11(path)
    with sqlite3.connect(path) as conn:
        prefixes, searches = queries(conn)
        assert conn.execute("SELECT count(*) FROM articles WHERE gone = 1").fetchone()[0] == 20
    assert len(prefixes) > 1000 and len(searches) > 300
    before = answers(path, prefixes, searches)
    assert sum(map(len, before)) > 10 * len(before)  # most queries match many articles

    async with await Store.open(path) as store:  # migrates
        assert await store.integrity_check() == "ok"

        def check(conn: sqlite3.Connection) -> None:
            for table in ("articles_fts", "titles_fts"):
                conn.execute(f"INSERT INTO {table} ({table}) VALUES ('integrity-check')")

        await store.run_write(check)
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] >= 11
        options = conn.execute("SELECT sql FROM sqlite_master WHERE name = 'titles_fts'").fetchone()
        assert "detail = none" in options[0]
    assert answers(path, prefixes, searches) == before
