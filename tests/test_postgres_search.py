"""PostgreSQL's newest-first search and title lookups (migration 003): the windows of id
buckets give exactly the newest matches that a scan of every match gives, for common, rare and
absent words, phrases of common words that are rarely neighbours, and title prefixes short,
long and not ASCII; with ids far from 1, so that windows of every bucket level are used."""

from __future__ import annotations

import random
from collections import Counter
from itertools import pairwise

import asyncpg
import pytest

from bot.store.postgres import PostgresStore
from bot.store.postgres import search as pg
from bot.store.postgres import titles as pg_titles
from bot.store.relevance import words
from bot.store.search import search_terms
from tests.test_store_parity import corpus, load


def test_a_window_is_a_few_buckets_of_one_level_holding_every_id_asked():
    rng = random.Random(11)
    for _ in range(3000):
        lo = rng.randrange(1, 1 << rng.choice((10, 16, 22, 30)))
        hi = lo + rng.randrange(1, 1 << rng.choice((4, 9, 13, 18, 24)))
        keys, lowest = pg.window_keys(lo, hi)
        assert 1 <= len(keys) <= pg._WINDOW_KEYS
        levels = {int(k.strip("'#").split(":")[0]) for k in keys}
        assert len(levels) == 1
        (level,) = levels
        bits = pg._BUCKET_BITS + level * pg._LEVEL_BITS
        buckets = [int(k.strip("'").split(":")[1]) for k in keys]
        assert buckets == list(range(lo >> bits, ((hi - 1) >> bits) + 1))  # every id, in order
        assert lowest == buckets[0] << bits <= lo
        if 0 < level < pg._LEVELS - 1:  # the narrowest level that needs this few keys
            narrower = bits - pg._LEVEL_BITS
            assert ((hi - 1) >> narrower) - (lo >> narrower) >= pg._WINDOW_KEYS


async def test_the_index_keys_are_the_buckets_python_asks_for(postgres_url: str):
    conn = await asyncpg.connect(postgres_url)
    try:
        for article_id in (1, 511, 512, 4095, 4096, 1_390_449, 3_000_001, 2**40 + 5):
            keys = await conn.fetchval(
                "SELECT tsvector_to_array(newsbot_search_keys(''::tsvector, $1))", article_id
            )
            title_keys = await conn.fetchval(
                "SELECT tsvector_to_array(newsbot_title_keys(''::tsvector, $1))", article_id
            )
            for level in range(pg._LEVELS):
                bits = pg._BUCKET_BITS + level * pg._LEVEL_BITS
                assert f"#{level}:{article_id >> bits}" in keys
                assert f"#{level}:{article_id >> bits}" in title_keys
            (narrowest,), _ = pg.window_keys(article_id, article_id + 1)
            assert narrowest.strip("'") in keys
        pairs = await conn.fetchval(
            "SELECT tsvector_to_array(newsbot_search_keys($1::tsvector, 1))", "'a':1 'b':2,4 'c':3"
        )
        assert {"a b", "b c", "c b"} <= set(pairs) and "a c" not in pairs
        prefixes = await conn.fetchval(
            "SELECT tsvector_to_array(newsbot_title_keys($1::tsvector, 1))", "'robotics' 'ai'"
        )
        assert {"^r", "^ro", "^robot", "^roboti", "^a", "^ai"} <= set(prefixes)
        assert "^robotic" not in prefixes  # 6 characters at most
    finally:
        await conn.close()


async def test_a_title_window_is_the_exact_cover_of_its_ids_by_buckets(postgres_url: str):
    """Migration 005's windows: the buckets hold every id lo <= id < hi and none other, are the
    keys migration 003 gives those ids, and are few (the widest that fit)."""
    rng = random.Random(5)
    conn = await asyncpg.connect(postgres_url)
    try:
        for _ in range(300):
            lo = rng.randrange(0, 1 << rng.choice((12, 20, 28, 36))) >> 9 << 9
            hi = lo + (rng.randrange(1, 1 << rng.choice((1, 5, 10, 16, 22))) << 9)
            query = await conn.fetchval("SELECT newsbot_id_buckets($1, $2)::text", lo, hi)
            buckets = [k.strip("'").lstrip("#").split(":") for k in query.split(" | ")]
            spans = []
            for level, bucket in ((int(a), int(b)) for a, b in buckets):
                bits = pg._BUCKET_BITS + level * pg._LEVEL_BITS
                spans.append((bucket << bits, (bucket + 1) << bits))
            assert sorted(spans) == sorted(set(spans))
            covered = sorted(spans)
            assert covered[0][0] == lo and covered[-1][1] == hi
            assert all(a[1] == b[0] for a, b in pairwise(covered))  # no gap, no overlap
            assert len(spans) <= 2 * 7 * pg._LEVELS
        with pytest.raises(asyncpg.RaiseError):
            await conn.fetchval("SELECT newsbot_id_buckets(1, 512)")
        # no articles: no titles, and no window
        assert not await conn.fetch(
            "SELECT * FROM newsbot_newest_titles($1::tsquery[], NULL, 200)", ["'a'"]
        )
        # a key the index holds for an id in the window
        for article_id in (1, 511, 512, 262_143, 1_390_449, 2**40 + 5):
            lo = article_id >> 9 << 9
            keys = await conn.fetchval(
                "SELECT newsbot_title_keys(''::tsvector, $1) @@ newsbot_id_buckets($2, $3)",
                article_id,
                max(0, lo - (1 << 20)),
                lo + (1 << 21),
            )
            assert keys
    finally:
        await conn.close()


def _lookups(titles: list[str]) -> tuple[list[str], list[str]]:
    """Search texts and title texts: the commonest words, one-off words, an absent word,
    phrases of two common words that are seldom neighbours, stop-words, and prefixes of one
    letter, of 7 letters and more, of several words, and not ASCII."""
    counts = Counter(w for title in titles for w in set(words(title)))
    common = [w for w, _ in counts.most_common(12)]
    rare = [w for w, n in counts.items() if n == 1][:6]
    searches = ["the", "a", "zzzz", "the a", *common, *rare]
    searches += [f"{a}-{b}" for a, b in zip(common, common[3:], strict=False)]
    searches += [f"{common[0]} {rare[0]}", f"{common[1]} {common[2]}", "self-driving"]
    long_words = [w for w in counts if len(w) >= 8][:4]
    title_texts = ["a", "t", "e", "ro", "zz", "ü", "é", *common[:6], *rare[:3]]
    title_texts += [w[:7] for w in long_words] + [w[: len(w) - 1] for w in long_words]
    title_texts += [f"{common[0]} {common[1][:2]}", f"{common[2]} {rare[1][:3]}", "new chip"]
    return searches, title_texts


@pytest.mark.parametrize(("first_id", "step"), [(1, 1), (3_000_000, 1), (1, 97)])
async def test_newest_matches_are_the_newest_of_every_match(
    postgres_url: str, first_id: int, step: int
):
    """Against the plain answer (every match's id, newest first) for limits from 1 to 500;
    ids 97 apart put rows in title windows of more than 65536 ids (migration 005 asks GIN for
    their words first)."""
    conn = await asyncpg.connect(postgres_url)
    try:
        await conn.execute("SELECT setval('articles_id_seq', $1, false)", first_id)
        await conn.execute(f"ALTER SEQUENCE articles_id_seq INCREMENT BY {int(step)}")
    finally:
        await conn.close()
    articles = corpus()
    store = await PostgresStore.open(postgres_url)
    try:
        await load(store, articles)
        searches, title_texts = _lookups([a.title for a in articles])
        compared = 0
        for text, is_title in [(t, False) for t in searches] + [(t, True) for t in title_texts]:
            lookup = pg.title_lookup(text) if is_title else pg.search_lookup(search_terms(text))
            if lookup is None:
                continue
            column = "title_search" if is_title else "search"
            for limit in (1, 7, 60, 500):
                async with store.database.snapshot() as conn:
                    expected = [
                        r[0]
                        for r in await conn.fetch(
                            f"SELECT id FROM articles WHERE {column} @@ $1::tsquery"
                            " ORDER BY id DESC LIMIT $2",
                            lookup.check,
                            limit,
                        )
                    ]
                    if is_title:  # migration 005's windows, on the server
                        found = await conn.fetch(
                            "SELECT id FROM newsbot_newest_titles($1::tsquery[], $2::tsquery, $3)",
                            pg_titles.terms(lookup),
                            None if lookup.exact else lookup.check,
                            limit,
                        )
                    else:
                        found = await pg.newest_matches(conn, pg._SEARCH_SELECT, lookup, limit)
                got = [r[0] for r in found]
                assert got == expected, (text, limit)
                compared += len(got)
        assert compared > 5000  # the lookups found things
    finally:
        await store.close()
