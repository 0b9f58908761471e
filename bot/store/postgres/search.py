"""Full-text search and title autocomplete in PostgreSQL, with SQLite's answers.

The words are cut in Python exactly as bot.store.relevance cuts them for SQLite (FTS5's
unicode61 tokenizer, accents removed, case-folded), and stored as tsvector literals of those
words, so PostgreSQL's own parser (which cuts "AI-robots" or "3.5" otherwise) never decides what
a word is. A search term of several words is a phrase (``<->``), as an FTS5 quoted string is;
the newest SEARCH_CANDIDATES matches are ranked by the same Relevance as SQLite's. Nothing a
user types is tsquery syntax: only words of letters and digits reach the query, quoted, and the
query is a parameter.

Both look for the NEWEST matches, as SQLite's ``ORDER BY rowid DESC LIMIT n`` does, through
the GIN indexes of migration 003, in one statement each (migrations 005 and 006: functions that
run the windows on the server): a first look at the newest ids only (the lookup AND a window of
id buckets, which GIN intersects by skipping through each word's list), then older windows sized
from the matches seen so far, until there are enough or every id was looked at. So a common word
reads a few hundred rows, not all of its matches. Search reads and ranks narrow rows of
search_texts (migration 004), and only the rows it keeps from articles.
"""

from __future__ import annotations

import asyncio
from bisect import bisect_left, insort
from collections.abc import Sequence
from itertools import pairwise
from typing import Any, NamedTuple

import asyncpg

from bot.articles import StoryEntry
from bot.store.postgres.db import PgDatabase
from bot.store.postgres.rows import article_rows
from bot.store.relevance import Relevance, words
from bot.store.rows import ARTICLE_SELECT, ID, row_article
from bot.store.search import MAX_PREFIX_WORDS, SEARCH_CANDIDATES, search_terms

_MAX_POSITION = 16383  # tsvector positions stop here
_MAX_LEXEME_BYTES = 2046  # a longer word is no tsvector lexeme: it is not indexed
_PREFIX_CHARS = 6  # migration 003 keys each title word's prefixes of 1 to 6 characters


class Lookup(NamedTuple):
    """One newest-first lookup: ``keys`` a tsquery over the index's keys that every match
    matches (maybe more rows), ``check`` the tsquery the row's own vector matches exactly;
    ``exact``: the keys match only the matches (the check need not run)."""

    keys: str
    check: str
    exact: bool


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
    """A tsquery literal over the words of the text, the last one matching as a prefix; None
    when the text has no words; '' when a word is longer than any lexeme (it matches no
    title)."""
    found = words(text)[:MAX_PREFIX_WORDS]
    if not found:
        return None
    if not all(map(_indexable, found)):
        return ""
    return " & ".join(f"'{w}'" for w in found) + ":*"


def _quoted(lexeme: str) -> str:
    return f"'{lexeme}'"


def search_lookup(terms: Sequence[str]) -> Lookup | None:
    """The keys and check of a search: a word is its own key; a phrase's keys are its word
    pairs ('a b', migration 003), so a phrase of common words that are rarely neighbours
    reads only the rows that hold the pair. A pair key is its two-word phrase exactly (the index
    makes it from the same positions the check reads): only longer phrases are checked."""
    check = search_query(terms)
    if check is None:
        return None
    keys: list[str] = []
    exact = True
    for term in terms:
        found = words(term)
        pairs = [f"{a} {b}" for a, b in pairwise(found)]
        if pairs and all(map(_indexable, pairs)):
            keys += map(_quoted, pairs)
            exact = exact and len(pairs) == 1
        else:
            keys += map(_quoted, found)
            exact = exact and len(found) <= 1
    return Lookup(" & ".join(keys), check, exact)


def title_lookup(text: str) -> Lookup | None:
    """The keys and check of a title autocomplete (None: no words, or a word longer than a
    lexeme, which no title holds): the last word's key is '^' and its first 6 characters
    (migration 003 keys ASCII-counted prefixes; another prefix asks GIN for every word that
    starts with it)."""
    check = prefix_query(text)
    if not check:
        return None
    found = words(text)[:MAX_PREFIX_WORDS]
    last = found[-1]
    key = _quoted("^" + last[:_PREFIX_CHARS]) if last.isascii() else f"{_quoted(last)}:*"
    exact = len(last) <= _PREFIX_CHARS or not last.isascii()
    return Lookup(" & ".join([*map(_quoted, found[:-1]), key]), check, exact)


async def merge_pending_keys(db: PgDatabase) -> None:
    """Move the search and title keys that writes left in the GIN indexes' pending lists into
    the indexes proper. Every GIN scan reads all of a pending list (up to 4 MB, ~3 us a page):
    after 2,000 new articles at 1.4M, a search took 3.5-9 ms more until autovacuum merged them.
    Done after each write, it is the merge the list would have had anyway, and reads find it
    empty (a smaller list limit cost bulk loads 40%: it merges many small lists). Only the
    indexes' owner may: another role leaves the merge to autovacuum."""
    try:
        await db.fetch(
            "SELECT gin_clean_pending_list('search_texts_keys'::regclass),"
            " gin_clean_pending_list('articles_title_keys'::regclass)"
        )
    except asyncpg.InsufficientPrivilegeError:
        return


async def search_entries(db: PgDatabase, text: str, limit: int) -> list[StoryEntry]:
    """Full-text search over title, excerpt and provider; best match first."""
    terms = search_terms(text)
    lookup = search_lookup(terms)
    if lookup is None:
        return []
    relevance = Relevance([w for term in terms for w in words(term)])
    # Ranked among the newest SEARCH_CANDIDATES matches, as SQLite ranks them; only the text
    # travels for all of them, whole rows for the ones kept. Two statements, no transaction
    # around them (its BEGIN and COMMIT were two round trips more): a row gone in between is
    # left out.
    matches = await db.fetch(
        _SEARCH_CANDIDATES,
        lookup.keys,
        None if lookup.exact else lookup.check,
        SEARCH_CANDIDATES,
    )
    # scoring 500 texts takes milliseconds: off the event loop, as SQLite's runs on its thread
    kept = await asyncio.to_thread(_best, matches, relevance, limit)
    by_id = {row[ID]: row for row in article_rows(await db.fetch(_KEPT, kept))}
    return [
        # the story's other providers, best first, each once (as rows.story_entries)
        StoryEntry(article_id, row_article(row), tuple(dict.fromkeys(filter(None, row[-1]))))
        for article_id in kept
        if (row := by_id.get(article_id)) is not None
    ]


# Migration 006's windows on the server: (id, story_id, title, excerpt, provider) of the newest
# matches, from search_texts (migration 004: the articles' text and words, narrow rows).
_SEARCH_CANDIDATES = (
    "SELECT id, story_id, title, excerpt, provider_name"
    " FROM newsbot_search_candidates($1::tsquery, $2::tsquery, $3)"
)
# The kept rows, each with the names of its story's other providers still there
_KEPT = (
    f"SELECT {ARTICLE_SELECT}, ARRAY(SELECT COALESCE(o.provider_name, o.provider_domain)"
    " FROM articles o WHERE o.story_id = a.story_id AND o.id != a.id AND o.gone = 0"
    " ORDER BY COALESCE(o.quality, -1) DESC, o.id)"
    " FROM articles a WHERE a.id = ANY ($1::bigint[])"
)


def _best(matches: Sequence[Sequence[Any]], relevance: Relevance, limit: int) -> list[int]:
    """The ids of the best matches (id, story_id, title, excerpt, provider), one story once:
    the first ``limit`` stories of the matches ordered by score, best first, then newest.

    Only the candidates that can still be kept are scored whole: the title's and provider's
    parts first for all (the title outweighs the rest; a provider is the same text for many),
    then whole scores from the best of those down, until the last story kept scores more than
    any candidate left can (those parts and the most an excerpt adds)."""
    ceiling = relevance.excerpt_ceiling()
    providers: dict[str | None, float] = {}
    for match in matches:
        if match[4] not in providers:
            providers[match[4]] = relevance.provider_score(match[4])
    titles = [relevance.title_score(m[2]) for m in matches]
    known = [title + providers[m[4]] for title, m in zip(titles, matches, strict=True)]
    scored: list[tuple[float, int, int | None]] = []  # (-score, -id, story)
    negatives: list[float] = []  # -score of each scored, ascending
    look_at = limit  # scores above every candidate left before a look at the stories kept
    for i in sorted(range(len(matches)), key=known.__getitem__, reverse=True):
        most = known[i] + ceiling
        above = bisect_left(negatives, -most)
        if above >= look_at:
            scored.sort()
            kept, last = _first_stories(scored, limit)
            # every candidate left scores under the last one kept: it ranks after it
            if len(kept) >= limit and -last > most:
                return kept
            look_at = above + limit - len(kept) + 1
        article_id, story_id, _title, excerpt, provider = matches[i][:5]
        score = relevance.score_after(titles[i], excerpt, providers[provider])
        scored.append((-score, -article_id, story_id))
        insort(negatives, -score)
    scored.sort()
    return _first_stories(scored, limit)[0]


def _first_stories(
    scored: Sequence[tuple[float, int, int | None]], limit: int
) -> tuple[list[int], float]:
    """The ids of the first ``limit`` stories of the ranked (-score, -id, story) and the
    -score of the last one kept."""
    kept: list[int] = []
    stories: set[int] = set()
    last = 0.0
    for negative, negative_id, story_id in scored:
        story = story_id if story_id is not None else negative_id
        if story not in stories:
            stories.add(story)
            kept.append(-negative_id)
            last = negative
            if len(kept) >= limit:
                break
    return kept, last
