"""Full-text search and title autocomplete in PostgreSQL, with SQLite's answers.

The words are cut in Python exactly as bot.store.relevance cuts them for SQLite (FTS5's
unicode61 tokenizer, accents removed, case-folded), and stored as tsvector literals of those
words, so PostgreSQL's own parser (which cuts "AI-robots" or "3.5" otherwise) never decides what
a word is. A search term of several words is a phrase (``<->``), as an FTS5 quoted string is;
the newest SEARCH_CANDIDATES matches are ranked by the same Relevance as SQLite's. Nothing a
user types is tsquery syntax: only words of letters and digits reach the query, quoted, and the
query is a parameter.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import asyncpg

from bot.articles import StoryEntry
from bot.store.postgres.rows import article_rows, story_entries
from bot.store.relevance import Relevance, words
from bot.store.rows import ARTICLE_SELECT, ID
from bot.store.search import MAX_PREFIX_WORDS, SEARCH_CANDIDATES, TITLE_CANDIDATES, search_terms

_MAX_POSITION = 16383  # tsvector positions stop here
_MAX_LEXEME_BYTES = 2046  # a longer word is no tsvector lexeme: it is not indexed


def _indexable(word: str) -> bool:
    return len(word.encode("utf-8", "surrogatepass")) <= _MAX_LEXEME_BYTES


def document_vector(title: str | None, excerpt: str | None, provider: str | None) -> str:
    """The tsvector literal of an article's words, with positions (for phrases); each field
    starts one position after the last, so no phrase runs across two fields."""
    positions: dict[str, list[int]] = {}
    at = 0
    for text in (title, excerpt, provider):
        for word in words(text):
            at += 1
            if not _indexable(word):
                continue
            positions.setdefault(word, []).append(min(at, _MAX_POSITION))
        at += 1
    return " ".join(
        f"'{word}':{','.join(map(str, sorted(set(where))[:256]))}"
        for word, where in positions.items()
    )


def title_vector(title: str | None) -> str:
    """The tsvector literal of a title's words (autocomplete needs no positions)."""
    return " ".join(f"'{word}'" for word in dict.fromkeys(words(title)) if _indexable(word))


def search_query(terms: Sequence[str]) -> str | None:
    """A tsquery literal matching every term: a term of several words as a phrase. A term with
    no words is left out, as FTS5 leaves out an empty string (alone it matches nothing)."""
    parts = []
    for term in terms:
        found = words(term)
        if not all(map(_indexable, found)):
            return None  # a word no article can hold
        if not found:
            continue
        phrase = " <-> ".join(f"'{w}'" for w in found)
        parts.append(f"({phrase})" if len(found) > 1 else phrase)
    return " & ".join(parts) if parts else None


def prefix_query(text: str) -> str | None:
    """A tsquery literal over the words of the text, the last one matching as a prefix."""
    found = words(text)[:MAX_PREFIX_WORDS]
    if not found or not all(map(_indexable, found)):
        return None
    return " & ".join(f"'{w}'" for w in found) + ":*"


async def search_entries(conn: asyncpg.Connection, text: str, limit: int) -> list[StoryEntry]:
    """Full-text search over title, excerpt and provider; best match first."""
    terms = search_terms(text)
    query = search_query(terms)
    if query is None:
        return []
    relevance = Relevance([w for term in terms for w in words(term)])
    # Ranked among the newest SEARCH_CANDIDATES matches, as SQLite ranks them; only the text
    # travels for all of them, whole rows for the ones kept.
    matches = await conn.fetch(
        "SELECT id, story_id, title, excerpt, provider_name FROM articles"
        " WHERE search @@ $1::tsquery ORDER BY id DESC LIMIT $2",
        query,
        SEARCH_CANDIDATES,
    )
    # scoring 500 texts takes milliseconds: off the event loop, as SQLite's runs on its thread
    kept = await asyncio.to_thread(_best, matches, relevance, limit)
    records = await conn.fetch(
        f"SELECT {ARTICLE_SELECT} FROM articles a WHERE a.id = ANY ($1::bigint[])", kept
    )
    by_id = {row[ID]: row for row in article_rows(records)}
    return await story_entries(conn, [by_id[article_id] for article_id in kept])


def _best(matches: Sequence[Sequence[Any]], relevance: Relevance, limit: int) -> list[int]:
    """The ids of the best matches (id, story_id, title, excerpt, provider), one story once."""
    ranked = sorted(matches, key=lambda m: (-relevance.score(m[2], m[3], m[4]), -m[0]))
    kept: list[int] = []
    stories: set[int] = set()
    for article_id, story_id, *_text in ranked:
        story = story_id if story_id is not None else -article_id
        if story not in stories:
            stories.add(story)
            kept.append(article_id)
            if len(kept) >= limit:
                break
    return kept


async def title_matches(conn: asyncpg.Connection, text: str, limit: int) -> list[tuple[int, str]]:
    """(article id, title) for autocomplete by title: articles with a file of their own
    first, then newest first."""
    query = prefix_query(text)
    if query is None:
        records = await conn.fetch(
            "SELECT id, title FROM articles WHERE published = 1 AND from_file = 1 AND gone = 0"
            " ORDER BY published_at DESC, id LIMIT $1",
            limit,
        )
    else:
        records = await conn.fetch(
            "SELECT a.id, a.title FROM (SELECT id FROM articles"
            " WHERE title_search @@ $1::tsquery ORDER BY id DESC LIMIT $2) m"
            " JOIN articles a ON a.id = m.id"
            " ORDER BY a.from_file DESC, a.published_at DESC NULLS LAST, a.id DESC LIMIT $3",
            query,
            TITLE_CANDIDATES,
            limit,
        )
    return [(int(r[0]), str(r[1])) for r in records]
