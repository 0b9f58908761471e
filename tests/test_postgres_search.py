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
from bot.store.relevance import Relevance, words
from bot.store.search import search_terms
from tests.postgres import settle
from tests.test_store_parity import corpus, load

# migration 003's keys: id buckets of 2^9 ids, each level 2^3 times wider, 7 levels
_BUCKET_BITS, _LEVEL_BITS, _LEVELS = 9, 3, 7


async def test_the_index_keys_are_the_buckets_the_windows_ask_for(postgres_url: str):
    conn = await asyncpg.connect(postgres_url)
    try:
        for article_id in (1, 511, 512, 4095, 4096, 1_390_449, 3_000_001, 2**40 + 5):
            keys = await conn.fetchval(
                "SELECT tsvector_to_array(newsbot_search_keys(''::tsvector, $1))", article_id
            )
            title_keys = await conn.fetchval(
                "SELECT tsvector_to_array(newsbot_title_keys(''::tsvector, $1))", article_id
            )
            for level in range(_LEVELS):
                bits = _BUCKET_BITS + level * _LEVEL_BITS
                assert f"#{level}:{article_id >> bits}" in keys
                assert f"#{level}:{article_id >> bits}" in title_keys
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
                bits = _BUCKET_BITS + level * _LEVEL_BITS
                spans.append((bucket << bits, (bucket + 1) << bits))
            assert sorted(spans) == sorted(set(spans))
            covered = sorted(spans)
            assert covered[0][0] == lo and covered[-1][1] == hi
            assert all(a[1] == b[0] for a, b in pairwise(covered))  # no gap, no overlap
            assert len(spans) <= 2 * 7 * _LEVELS
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
    their words first). Search's windows are migration 006's."""
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
        await settle(postgres_url)
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
                    else:  # migration 006's windows, on the server
                        found = await conn.fetch(
                            "SELECT id FROM newsbot_search_candidates($1::tsquery, $2::tsquery,"
                            " $3)",
                            lookup.keys,
                            None if lookup.exact else lookup.check,
                            limit,
                        )
                got = [r[0] for r in found]
                assert got == expected, (text, limit)
                compared += len(got)
        assert compared > 5000  # the lookups found things
    finally:
        await store.close()


_TEXTS = "SELECT id, story_id, title, excerpt, provider_name, search::text FROM {} ORDER BY id"


async def test_search_texts_stay_in_step_with_articles(postgres_url: str):
    """Migration 004's copy of what a search reads follows every write of the articles:
    loads, text and story changes, an article gone, deletes, and TRUNCATE."""
    store = await PostgresStore.open(postgres_url)
    try:
        articles = corpus()
        await load(store, articles[: len(articles) // 2])

        async def same() -> int:
            async with store.database.snapshot() as conn:
                rows = await conn.fetch(_TEXTS.format("articles"))
                assert await conn.fetch(_TEXTS.format("search_texts")) == rows
            return len(rows)

        assert await same() > 100
        await load(store, articles)  # new rows, and stories that join older ones
        async with store.database.transaction() as conn:
            await conn.execute(
                "UPDATE articles SET title = 'Renamed robot', search = $$'renamed':1 'robot':2$$"
                " WHERE id % 7 = 0"
            )
            await conn.execute("UPDATE articles SET story_id = 1 WHERE id % 11 = 0")
            await conn.execute("UPDATE articles SET gone = 1, search = NULL WHERE id % 13 = 0")
            await conn.execute("UPDATE articles SET quality = 5 WHERE id % 5 = 0")
            await conn.execute("DELETE FROM article_topics WHERE article_id % 17 = 0")
            deleted = await conn.execute(
                "DELETE FROM articles a WHERE id % 17 = 0"
                " AND NOT EXISTS (SELECT 1 FROM related r WHERE a.id IN (r.parent_id, r.child_id))"
                " AND NOT EXISTS (SELECT 1 FROM files f WHERE f.article_id = a.id)"
            )
            assert deleted != "DELETE 0"
        assert await same() > 100
        found = await store.reads.search("renamed robot", limit=500)
        assert found and all(e.article.title == "Renamed robot" for e in found)
        async with store.database.transaction() as conn:
            await conn.execute("TRUNCATE articles CASCADE")
        assert await same() == 0
    finally:
        await store.close()


def _ranked_plainly(matches, relevance, limit):
    ranked = sorted(matches, key=lambda m: (-relevance.score(m[2], m[3], m[4]), -m[0]))
    kept, stories = [], set()
    for article_id, story_id, *_text in ranked:
        story = story_id if story_id is not None else -article_id
        if story not in stories:
            stories.add(story)
            kept.append(article_id)
            if len(kept) >= limit:
                break
    return kept


class _Counting(Relevance):
    calls = 0

    def score(self, title, excerpt, provider):
        self.calls += 1
        return super().score(title, excerpt, provider)


def test_the_best_matches_are_those_of_scoring_every_one():
    """_best scores only the candidates that can still be kept: the same ids as scoring and
    sorting all of them, with ties (the same texts), shared and missing stories."""
    rng = random.Random(21)
    vocabulary = ["robot", "Robot", "climate", "chip", "new", "the", "ai", "model", "x", "—"]
    early = 0
    for _ in range(400):
        query = rng.sample(["robot", "climate", "chip", "new", "model"], rng.randrange(1, 4))
        relevance = _Counting(query)

        def text(most: int) -> str | None:
            if rng.random() < 0.1:
                return None
            return " ".join(rng.choice(vocabulary) for _ in range(rng.randrange(1, most)))

        matches = [
            (i, rng.choice([None, i, rng.randrange(1, 40)]), text(12), text(40), text(3))
            for i in rng.sample(range(1, 5000), rng.randrange(0, 500))
        ]
        limit = rng.choice([1, 3, 10, 25, 600])
        expected = _ranked_plainly(matches, relevance, limit)
        relevance.calls = 0
        assert pg._best(matches, relevance, limit) == expected
        early += relevance.calls < len(matches)
    assert early > 50  # most often not every candidate was scored whole
