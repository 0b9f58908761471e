"""The tables of a newsbot database, as ``newsbot db copy`` moves them between backends.

A migration that adds a table adds its name here, after the tables its rows refer to (a test
fails while a table of the schema is in neither list).
"""

from __future__ import annotations

__all__ = ["COPIED_TABLES", "DERIVED_TABLES", "INDEX_VIEWS"]

# Every table that holds data, in an order where the rows a row refers to come first; meta
# last: SQLite's triggers of migration 010 drop its tree fingerprint whenever files are written.
COPIED_TABLES: tuple[str, ...] = (
    "change_marks",
    "topics",
    "articles",
    "article_topics",
    "related",
    "files",
    "subscriptions",
    "digest_runs",
    "digest_run_items",
    "digest_messages",
    "deliveries",
    "digest_publications",
    "digest_alert_channels",
    "feeds",
    "feed_moves",
    "meta",
)

# Built from the copied tables by the backend that holds them (SQLite's full-text indexes,
# with their shadow tables ``<name>_data`` and the like), never copied.
DERIVED_TABLES: tuple[str, ...] = ("articles_fts", "titles_fts")
# Virtual tables that read another table's index and hold nothing (SQLite's titles_vocab,
# migration 012): neither copied nor rebuilt.
INDEX_VIEWS: tuple[str, ...] = ("titles_vocab",)
