"""Title autocomplete in PostgreSQL, with SQLite's answers (bot.store.search.title_matches).

One statement a call: migration 005's newsbot_newest_titles finds the newest TITLE_CANDIDATES
matches of the lookup's terms (bot.store.postgres.search.title_lookup: every word, the last as a
prefix) through windows of id buckets on the server, and this query orders them as SQLite does. One
statement sees one snapshot, so no transaction is opened around it.
"""

from __future__ import annotations

from bot.store.postgres.db import PgDatabase
from bot.store.postgres.search import Lookup, title_lookup
from bot.store.relevance import words
from bot.store.search import TITLE_CANDIDATES

# files first, then newest: published_at DESC with a missing date last (SQLite's NULLs sort
# lowest), then id DESC
_NEWEST_TITLES = (
    "SELECT id, title FROM newsbot_newest_titles($1::tsquery[], $2::tsquery, $3)"
    " ORDER BY from_file DESC, published_at DESC NULLS LAST, id DESC LIMIT $4"
)


def terms(lookup: Lookup) -> list[str]:
    """The lookup's keys one by one (title_lookup joins quoted words and the prefix key with
    ' & '; a word is letters and digits, so no key holds that)."""
    return lookup.keys.split(" & ")


async def title_matches(db: PgDatabase, text: str, limit: int) -> list[tuple[int, str]]:
    """(article id, title) for autocomplete by title: articles with a file of their own
    first, then newest first; with no words in the text, the newest published files."""
    if not words(text):
        records = await db.fetch(
            "SELECT id, title FROM articles WHERE published = 1 AND from_file = 1 AND gone = 0"
            " ORDER BY published_at DESC, id LIMIT $1",
            limit,
        )
    else:
        lookup = title_lookup(text)
        if lookup is None:
            return []
        check = None if lookup.exact else lookup.check
        records = await db.fetch(_NEWEST_TITLES, terms(lookup), check, TITLE_CANDIDATES, limit)
    return [(int(r[0]), str(r[1])) for r in records]
