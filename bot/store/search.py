"""Full-text search over title, excerpt and provider, and title autocomplete: user text becomes
an FTS5 query in which nothing typed is FTS5 syntax."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from bot.articles import StoryEntry
from bot.store.db import Database, Row
from bot.store.relevance import STOP_WORDS, Relevance, words
from bot.store.rows import (
    ARTICLE_SELECT,
    EXCERPT,
    ID,
    PROVIDER_NAME,
    TITLE,
    one_per_story,
    story_entries,
)

SEARCH_CANDIDATES = 500  # search ranks the newest this many matches (all, when fewer)
TITLE_CANDIDATES = 200  # title autocomplete orders the newest this many matches
MAX_TERMS = 16  # of a search
MAX_PREFIX_WORDS = 8  # of a title autocomplete
# SQLite's error for a phrase (several tokens in one quoted string) on titles_fts (detail = none)
_PHRASE_UNSUPPORTED = "phrase queries are not supported"
# titles_fts's longest prefix index (migration 011, prefix = '1 2 3 4 5 6'), in characters
_PREFIX_INDEXED = 6


def search_terms(text: str) -> list[str]:
    """The whitespace-separated terms a search matches: stop-words dropped when other terms
    are left ("the robot" is "robot"; "the" alone stays), at most MAX_TERMS."""
    printable = "".join(ch if ch.isprintable() else " " for ch in text)
    terms = [t for t in printable.split() if t]
    content = [t for t in terms if not set(words(t)) <= STOP_WORDS]
    return (content or terms)[:MAX_TERMS]


def quoted_terms(terms: Sequence[str]) -> str | None:
    """An FTS5 query matching every term as a quoted string, so none of it is syntax."""
    return " ".join('"' + t.replace('"', '""') + '"' for t in terms) if terms else None


def prefix_query(text: str) -> str | None:
    """An FTS5 query over the words of the text, the last one matching as a prefix (for
    title autocomplete: titles_fts has a prefix index for every length up to 6)."""
    found = words(text)
    if not found:
        return None
    return " ".join(f'"{w}"' for w in found[:MAX_PREFIX_WORDS]) + "*"


async def search_entries(db: Database, text: str, limit: int) -> list[StoryEntry]:
    """Full-text search over title, excerpt and provider; best match first."""
    terms = search_terms(text)
    query = quoted_terms(terms)
    if query is None:
        return []
    relevance = Relevance([w for term in terms for w in words(term)])

    # Ranked here among the newest SEARCH_CANDIDATES matches (see relevance.py): FTS5's
    # bm25() reads every match of each word first, ~20 ms for "the" at 1M articles.
    def work(conn: sqlite3.Connection) -> list[Row]:
        rows: list[Row] = conn.execute(
            f"SELECT {ARTICLE_SELECT} FROM (SELECT rowid AS id FROM articles_fts"
            " WHERE articles_fts MATCH ? ORDER BY rowid DESC LIMIT ?) m"
            " JOIN articles a ON a.id = m.id",
            (query, SEARCH_CANDIDATES),
        ).fetchall()
        rows.sort(key=lambda r: (-relevance.score(r[TITLE], r[EXCERPT], r[PROVIDER_NAME]), -r[ID]))
        return one_per_story(rows, limit)

    return await story_entries(db, await db.read(work))


def _title_matches(table: str) -> str:
    """The newest TITLE_CANDIDATES matches of a full-text table, files first, then newest."""
    return (
        f"SELECT a.id, a.title FROM (SELECT rowid AS id FROM {table}"
        f" WHERE {table} MATCH ? ORDER BY rowid DESC LIMIT ?) m"
        " JOIN articles a ON a.id = m.id"
        " ORDER BY a.from_file DESC, a.published_at DESC, a.id DESC LIMIT ?"
    )


async def title_matches(db: Database, text: str, limit: int) -> list[tuple[int, str]]:
    """(article id, title) for autocomplete by title: articles with a file of their own
    first, then newest first."""
    query = prefix_query(text)
    if query is None:
        rows = await db.fetchall(
            "SELECT id, title FROM articles INDEXED BY articles_latest"
            " WHERE published = 1 AND from_file = 1 AND gone = 0 ORDER BY published_at DESC"
            " LIMIT ?",
            (limit,),
        )
    # A last word longer than titles_fts's prefix indexes: without positions (detail = none)
    # FTS5 merges every match of the prefix first (15 ms for "unveils"* at 1.4M articles); the
    # whole-text index's title column, with positions, reads lazily (4 ms).
    elif len(words(text)[:MAX_PREFIX_WORDS][-1]) > _PREFIX_INDEXED:
        rows = await _whole_text_titles(db, query, limit)
    else:
        try:
            rows = await db.fetchall(_title_matches("titles_fts"), (query, TITLE_CANDIDATES, limit))
        except sqlite3.OperationalError as exc:
            if _PHRASE_UNSUPPORTED not in str(exc):
                raise
            # A word our cut keeps whole that SQLite's tokenizer splits (a letter newer than its
            # Unicode tables) is a phrase, which titles_fts (detail = none) cannot match.
            rows = await _whole_text_titles(db, query, limit)
    return [(article_id, title) for article_id, title in rows]


async def _whole_text_titles(db: Database, query: str, limit: int) -> list[Row]:
    """Title autocomplete by articles_fts's title column: the same titles as titles_fts
    (both index every article that is not gone), with positions but no prefix index."""
    return await db.fetchall(
        _title_matches("articles_fts"), (f"title : ({query})", TITLE_CANDIDATES, limit)
    )
