"""Full-text search over title, excerpt and provider, and title autocomplete: user text becomes
an FTS5 query in which nothing typed is FTS5 syntax."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from bot.articles import StoryEntry
from bot.store.db import Database, Row
from bot.store.relevance import STOP_WORDS, Relevance, fts5_words, words
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
# the most title words a longer prefix is matched as (more: the prefix itself, slower)
_MAX_LONGER = 16


def search_terms(text: str) -> list[str]:
    """The whitespace-separated terms a search matches: stop-words dropped when other terms
    are left ("the robot" is "robot"; "the" alone stays), at most MAX_TERMS."""
    printable = "".join(ch if ch.isprintable() else " " for ch in text)
    terms = [t for t in printable.split() if t]
    content = [t for t in terms if not set(words(t)) <= STOP_WORDS]
    return (content or terms)[:MAX_TERMS]


def quoted_terms(terms: Sequence[str]) -> str | None:
    """An FTS5 query matching every term as a quoted string, so none of it is syntax."""
    return " ".join(map(_quoted, terms)) if terms else None


def prefix_query(text: str) -> str | None:
    """An FTS5 query over the words of the text, the last one matching as a prefix (for
    title autocomplete: titles_fts has a prefix index for every length up to 6)."""
    return _prefix_of(fts5_words(text)[:MAX_PREFIX_WORDS])


def _prefix_of(found: list[str]) -> str | None:
    if not found:
        return None
    return " ".join(map(_quoted, found)) + "*"


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
    found = fts5_words(text)[:MAX_PREFIX_WORDS]
    query = _prefix_of(found)
    if query is None:
        rows = await db.fetchall(
            "SELECT id, title FROM articles INDEXED BY articles_latest"
            " WHERE published = 1 AND from_file = 1 AND gone = 0 ORDER BY published_at DESC"
            " LIMIT ?",
            (limit,),
        )
    else:
        if len(found[-1]) > _PREFIX_INDEXED:
            query = await _whole_words_query(db, found) or query
        try:
            rows = await db.fetchall(_title_matches("titles_fts"), (query, TITLE_CANDIDATES, limit))
        except sqlite3.OperationalError as exc:
            if _PHRASE_UNSUPPORTED not in str(exc):
                raise
            # A word our cut keeps whole that SQLite's tokenizer splits (a letter newer than its
            # Unicode tables) is a phrase, which titles_fts (detail = none) cannot match: the
            # whole-text index can, by its title column, without a prefix index (rare, slower).
            rows = await db.fetchall(
                _title_matches("articles_fts"), (f"title : ({query})", TITLE_CANDIDATES, limit)
            )
    return [(article_id, title) for article_id, title in rows]


async def _whole_words_query(db: Database, found: list[str]) -> str | None:
    """The prefix query of these words with its last one as the title words that start with it
    (migration 012's titles_vocab); None when it extends into more than _MAX_LONGER words
    (the prefix itself then). A prefix longer than titles_fts's prefix indexes costs FTS5 a
    merge of all its matches first; whole words are read lazily, newest first."""
    last = found[-1]
    # from last + "\x01" (no word holds a control character), not > last: the table reads the
    # matches of each term it passes, and the typed word itself may be in 100k titles
    longer = await db.fetchall(
        "SELECT term FROM titles_vocab WHERE term >= ? AND term < ? LIMIT ?",
        (last + "\x01", last + "\U0010ffff", _MAX_LONGER + 1),
    )
    if len(longer) > _MAX_LONGER:
        return None
    alternatives = " OR ".join(_quoted(w) for w in [last, *(str(r[0]) for r in longer)])
    return " AND ".join([*map(_quoted, found[:-1]), f"({alternatives})"])


def _quoted(word: str) -> str:
    return '"' + word.replace('"', '""') + '"'  # an FTS5 string: nothing in it is syntax
