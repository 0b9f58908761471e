"""Full-text search and title autocomplete in PostgreSQL, with SQLite's answers.

The words are cut in Python exactly as bot.store.relevance cuts them for SQLite (FTS5's
unicode61 tokenizer, accents removed, case-folded), and stored as tsvector literals of those
words, so PostgreSQL's own parser (which cuts "AI-robots" or "3.5" otherwise) never decides what
a word is. A search term of several words is a phrase (``<->``), as an FTS5 quoted string is;
the newest SEARCH_CANDIDATES matches are ranked by the same Relevance as SQLite's. Nothing a
user types is tsquery syntax: only words of letters and digits reach the query, quoted, and the
query is a parameter.

Both look for the NEWEST matches, as SQLite's ``ORDER BY rowid DESC LIMIT n`` does, through
the GIN indexes of migration 003: a first look at the newest ids only (the query AND a window
of id buckets, which GIN intersects by skipping through each word's list), then older windows
sized from the matches seen so far, until there are enough or every id was looked at. So a
common word reads a few hundred rows, not all of its matches. Search reads and ranks narrow
rows of search_texts (migration 004), and only the rows it keeps from articles.
"""

from __future__ import annotations

import asyncio
from bisect import bisect_left, insort
from collections.abc import Callable, Sequence
from itertools import pairwise
from typing import Any, NamedTuple

import asyncpg

from bot.articles import StoryEntry
from bot.store.postgres.rows import article_rows, story_entries
from bot.store.relevance import Relevance, words
from bot.store.rows import ARTICLE_SELECT, ID
from bot.store.search import MAX_PREFIX_WORDS, SEARCH_CANDIDATES, search_terms

_MAX_POSITION = 16383  # tsvector positions stop here
_MAX_LEXEME_BYTES = 2046  # a longer word is no tsvector lexeme: it is not indexed
# migration 003's keys: id buckets of 2^9 ids, each level 2^3 times wider, 7 levels
_BUCKET_BITS, _LEVEL_BITS, _LEVELS = 9, 3, 7
_PREFIX_CHARS = 6  # migration 003 keys each title word's prefixes of 1 to 6 characters
# the windows seen so far times this is the most the next window takes: _GROWTH while fewer
# than _TRUSTED_MATCHES were found (a rate from a few matches may be far off)
_GROWTH, _TRUSTED_GROWTH, _TRUSTED_MATCHES = 8, 64, 8
# id-bucket keys of a window at most: with 8 (a level's width), a window holds at most about
# twice the ids asked for
_WINDOW_KEYS = 3
# a search's narrow windows (levels 0-1, up to 40k ids) take up to 10 keys: they then hold at
# most ~1.3 times the ids asked for, not 2-4 times, and each of their matches is a heap visit
# (9 keys of level 1 for 33k ids: 3.3 ms, 2 of level 2: 4.8); a wider window keeps 3 (GIN
# advances every key at each match of the rarest word: 16 keys of level 1, 6.4 ms; 3 of level
# 2, 4.5)
_SEARCH_WINDOW_KEYS, _SEARCH_NARROW_LEVELS = 10, 2
# a search asks for all the older ids at once when even a high guess of their matches is at
# most this many heap visits: a wide window costs GIN a walk of the rarest word's whole list
# (as the whole index does), so two wide rounds cost twice what one does
_SEARCH_WHOLE_WITHIN = 3 * SEARCH_CANDIDATES
_SEEN_ENOUGH = 4096  # ids seen before a rate (even of no match) says anything


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
    reads only the rows that hold the pair."""
    check = search_query(terms)
    if check is None:
        return None
    keys: list[str] = []
    for term in terms:
        found = words(term)
        pairs = [f"{a} {b}" for a, b in pairwise(found)]
        if pairs and all(map(_indexable, pairs)):
            keys += map(_quoted, pairs)
        else:
            keys += map(_quoted, found)
    return Lookup(" & ".join(keys), check, all(len(words(term)) <= 1 for term in terms))


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


def window_keys(lo: int, hi: int) -> tuple[list[str], int]:
    """At most _WINDOW_KEYS id-bucket keys ('#level:bucket', migration 003) of one level, the
    narrowest, whose buckets hold every id lo <= id < hi; and the lowest id they hold. (GIN's
    work per row it reads grows with the keys it is asked for: a few wider buckets cost less
    than an exact cover by many narrow ones.)"""
    level = 0
    while True:
        bits = _BUCKET_BITS + level * _LEVEL_BITS
        first, last = lo >> bits, (hi - 1) >> bits
        if last - first < _WINDOW_KEYS or level == _LEVELS - 1:
            return [f"'#{level}:{b}'" for b in range(first, last + 1)], first << bits
        level += 1


def search_window_keys(lo: int, hi: int) -> tuple[list[str], int]:
    """A search's window holding every id lo <= id < hi, as window_keys: up to
    _SEARCH_WINDOW_KEYS keys of a narrow level; and every id below hi (no keys, lowest id 1)
    when the window would hold half of them or more (a wide window costs GIN a walk of the
    rarest word's whole list, as the whole index does: one such round, not two)."""
    if hi - lo >= (hi - 1) / 2:
        return [], 1
    for level in range(_SEARCH_NARROW_LEVELS):
        bits = _BUCKET_BITS + level * _LEVEL_BITS
        first, last = lo >> bits, (hi - 1) >> bits
        if last - first < _SEARCH_WINDOW_KEYS:
            return [f"'#{level}:{b}'" for b in range(first, last + 1)], first << bits
    return window_keys(lo, hi)


async def newest_matches(
    conn: asyncpg.Connection,
    select: str,
    lookup: Lookup,
    limit: int,
    *,
    windows: Callable[[int, int], tuple[list[str], int]] = window_keys,
    whole_within: int = 0,
) -> list[asyncpg.Record]:
    """The rows of ``select`` for the newest ``limit`` matches of the lookup, newest first
    (its $1: the keys, $2: the check or NULL, $3: ids below this, $4: the limit; it returns
    id first, newest first).

    Each round asks for the matches in a window of ids just older than the last (a window
    is a few id buckets: GIN reads the words' lists only where the buckets are); the first
    window is the newest ids, the next is sized from the matches per id seen so far. A
    window that would reach the oldest ids is the whole index: the words are rare there,
    so all their matches are few rows. So is the next window once _SEEN_ENOUGH ids were
    seen, if even a high guess of the matches in all the older ids (as if 3 more had been
    found) is at most ``whole_within``."""
    top = await conn.fetchval(
        # a parallel plan's workers take longer to start than these queries take; a cached
        # generic plan (chosen after 5 runs of one statement on a connection) ANDs the primary
        # key's bitmap of every id below $3: 45-60 ms where the keys' own plan takes 2
        "SELECT (SELECT max(id) FROM articles),"
        " set_config('max_parallel_workers_per_gather', '0', true),"
        " set_config('plan_cache_mode', 'force_custom_plan', true)"
    )
    found: list[asyncpg.Record] = []
    if top is None:
        return found
    newest = int(top) + 1
    hi, size = newest, limit
    while True:
        buckets, lo = windows(max(1, hi - size), hi)
        # from the oldest ids: the whole index (the words are rare, or absent)
        keys = lookup.keys if lo <= 1 else f"({lookup.keys}) & ({' | '.join(buckets)})"
        check = None if lookup.exact else lookup.check
        found += await conn.fetch(select, keys, check, hi, limit - len(found))
        if len(found) >= limit or lo <= 1:
            return found
        hi = lo
        seen = newest - lo
        if seen >= _SEEN_ENOUGH and (len(found) + 3) * (hi - 1) / seen <= whole_within:
            size = hi  # all of them: few are left, one walk of the words' lists finds them
            continue
        # as many ids as the matches still wanted take at the rate seen, and a quarter more;
        # a rate from a few matches may be far off: then the window grows at most _GROWTH-fold
        growth = _TRUSTED_GROWTH if len(found) >= _TRUSTED_MATCHES else _GROWTH
        wanted = (limit - len(found)) * seen / len(found) * 1.25 if found else seen * growth
        size = int(min(wanted, seen * growth)) + 1


async def search_entries(conn: asyncpg.Connection, text: str, limit: int) -> list[StoryEntry]:
    """Full-text search over title, excerpt and provider; best match first."""
    terms = search_terms(text)
    lookup = search_lookup(terms)
    if lookup is None:
        return []
    relevance = Relevance([w for term in terms for w in words(term)])
    # Ranked among the newest SEARCH_CANDIDATES matches, as SQLite ranks them; only the text
    # travels for all of them, whole rows for the ones kept.
    matches = await newest_matches(
        conn,
        _SEARCH_SELECT,
        lookup,
        SEARCH_CANDIDATES,
        windows=search_window_keys,
        whole_within=_SEARCH_WHOLE_WITHIN,
    )
    # scoring 500 texts takes milliseconds: off the event loop, as SQLite's runs on its thread
    kept = await asyncio.to_thread(_best, matches, relevance, limit)
    records = await conn.fetch(
        f"SELECT {ARTICLE_SELECT} FROM articles a WHERE a.id = ANY ($1::bigint[])", kept
    )
    by_id = {row[ID]: row for row in article_rows(records)}
    return await story_entries(conn, [by_id[article_id] for article_id in kept])


# The match check runs on the row's own vector (no index holds it since migration 003). ORDER BY
# -id: the primary key cannot order these, so no plan walks it row by row through old rows.
# Search reads search_texts (migration 004): the articles' text and words, narrow rows.
_SEARCH_SELECT = (
    "SELECT id, story_id, title, excerpt, provider_name FROM search_texts"
    " WHERE newsbot_search_keys(search, id) @@ $1::tsquery"
    " AND ($2::tsquery IS NULL OR search @@ $2::tsquery)"
    " AND id < $3 ORDER BY -id LIMIT $4"
)


def _best(matches: Sequence[Sequence[Any]], relevance: Relevance, limit: int) -> list[int]:
    """The ids of the best matches (id, story_id, title, excerpt, provider), one story once:
    the first ``limit`` stories of the matches ordered by score, best first, then newest.

    Only the candidates that can still be kept are scored whole: the title's part first for
    all (it outweighs the rest), then whole scores from the best title down, until the last
    story kept scores more than any candidate left can (its title's part and a ceiling)."""
    ceiling = relevance.rest_ceiling()
    titles = [relevance.title_score(m[2]) for m in matches]
    scored: list[tuple[float, int, int | None]] = []  # (-score, -id, story)
    negatives: list[float] = []  # -score of each scored, ascending
    look_at = limit  # scores above every candidate left before a look at the stories kept
    for i in sorted(range(len(matches)), key=titles.__getitem__, reverse=True):
        most = titles[i] + ceiling
        above = bisect_left(negatives, -most)
        if above >= look_at:
            scored.sort()
            kept, last = _first_stories(scored, limit)
            # every candidate left scores under the last one kept: it ranks after it
            if len(kept) >= limit and -last > most:
                return kept
            look_at = above + limit - len(kept) + 1
        article_id, story_id, _title, excerpt, provider = matches[i][:5]
        score = relevance.score_after(titles[i], excerpt, provider)
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
