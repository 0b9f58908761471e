"""PostgreSQL search's candidates in one call (migration 006): the server's windows give exactly
the newest matches, for generated texts and lookups that no benchmark list names (words common
apart and rare together, phrases, absent words), with ids far apart and far from 1; and the whole
search answers as SQLite's on a generated corpus, held-out style."""

from __future__ import annotations

import random
from pathlib import Path

import asyncpg
import pytest

from bench.generate import iter_records
from bot.articles.fields import build_article
from bot.store import Store
from bot.store import search as sqlite_search
from bot.store.postgres import PostgresStore
from bot.store.postgres import search as pg
from bot.store.postgres.db import PgDatabase
from bot.store.relevance import words
from bot.store.search import search_terms

# word shares: a few in most texts, some in one text of 20, many rare
_COMMON = ["ai", "new", "model", "data", "robot", "the"]
_MIDDLE = [f"mid{i}" for i in range(12)]
_RARE = [f"rare{i}" for i in range(60)]


def _text(rng: random.Random, length: int) -> str:
    found = []
    for _ in range(length):
        roll = rng.random()
        pool = _COMMON if roll < 0.35 else _MIDDLE if roll < 0.75 else _RARE
        found.append(rng.choice(pool))
        if found[-1] == "mid0" and rng.random() < 0.8:  # a pair that mostly goes together
            found.append("mid1")
    return " ".join(found)


def _texts_and_lookups(rng: random.Random) -> tuple[list[tuple[str, str, str]], list[str]]:
    texts = [
        (_text(rng, rng.randrange(3, 9)), _text(rng, rng.randrange(8, 25)), _text(rng, 2))
        for _ in range(2500)
    ]
    every = _COMMON + _MIDDLE + _RARE
    searches = ["zzzz", "the", "mid0-mid1", "mid1-mid0", "ai-new-model", "rare0 rare1"]
    for _ in range(45):
        searches.append(" ".join(rng.sample(every[: rng.choice((6, 18, 78))], rng.randrange(1, 4))))
    for title, _excerpt, _provider in rng.sample(texts, 12):  # phrases that are in a text
        found = title.split()
        at = rng.randrange(len(found))
        searches.append("-".join(found[at : at + rng.randrange(2, 4)]))
    return texts, searches


def test_a_two_word_phrase_is_its_pair_key_and_needs_no_check():
    """The index keys 'a b' for two words at neighbouring positions: that is the phrase. A longer
    phrase's pairs may sit apart, so its rows are checked (the test below compares both with
    the check run on every row)."""
    assert pg.search_lookup(["self-driving"]) == ("'self driving'", "('self' <-> 'driving')", True)
    two = pg.search_lookup(["self-driving", "car"])
    assert two is not None and two.exact
    longer = pg.search_lookup(["self-driving-car"])
    assert longer is not None and not longer.exact
    assert longer.keys == "'self driving' & 'driving car'"
    assert pg.search_lookup(["x" * 1100 + "-" + "y" * 1000]) == (
        f"'{'x' * 1100}' & '{'y' * 1000}'",  # no pair key that long: the words, then the check
        f"('{'x' * 1100}' <-> '{'y' * 1000}')",
        False,
    )


@pytest.mark.parametrize("placement", ["close from 1", "far apart from 2^31"])
async def test_search_candidates_are_the_newest_matches(postgres_url: str, placement: str):
    """Against every match's id, newest first, for limits 1 to 500: windows of every size, the
    growth while few matches were seen, and the last look at every older id."""
    rng = random.Random(placement)
    texts, searches = _texts_and_lookups(rng)
    if placement == "close from 1":
        ids = list(range(1, len(texts) + 1))
    else:  # gaps of up to 600 ids: the windows hold few rows, and reach every bucket level
        ids, at = [], 1 << 31
        for _ in texts:
            at += rng.randrange(1, 600)
            ids.append(at)
    conn = await asyncpg.connect(postgres_url)
    try:
        await conn.execute(
            "INSERT INTO search_texts (id, story_id, title, excerpt, provider_name, search)"
            " SELECT i, i, t, e, p, v::tsvector"
            " FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[])"
            " AS u(i, t, e, p, v)",
            ids,
            *([t[k] for t in texts] for k in range(3)),
            [pg.document_vector(*t) for t in texts],
        )
        # into the index proper: every GIN scan reads all of its pending list (3 ms here a round)
        await conn.execute("SELECT gin_clean_pending_list('search_texts_keys')")
        compared = 0
        for text in searches:
            lookup = pg.search_lookup(search_terms(text))
            assert lookup is not None
            for limit in (1, 13, 120, 500):
                expected = await conn.fetch(
                    "SELECT id, story_id, title, excerpt, provider_name FROM search_texts"
                    " WHERE search @@ $1::tsquery ORDER BY id DESC LIMIT $2",
                    lookup.check,
                    limit,
                )
                found = await conn.fetch(
                    pg._SEARCH_CANDIDATES,
                    lookup.keys,
                    None if lookup.exact else lookup.check,
                    limit,
                )
                assert found == expected, (text, limit)
                compared += len(found)
        assert compared > 20_000  # the lookups found things
        assert not await conn.fetch(pg._SEARCH_CANDIDATES, "'ai'", None, 0)
    finally:
        await conn.close()


async def test_no_articles_no_candidates(postgres_url: str):
    conn = await asyncpg.connect(postgres_url)
    try:
        assert not await conn.fetch(pg._SEARCH_CANDIDATES, "'ai'", None, 500)
    finally:
        await conn.close()


def _held_out_searches(titles: list[str], excerpts: list[str | None]) -> list[str]:
    """Searches no benchmark names: words of the corpus picked at random, one to three, some
    from one article (so they meet), phrases joined by '-', a stop-word among them."""
    rng = random.Random(29)
    searches = []
    for title, excerpt in rng.sample(list(zip(titles, excerpts, strict=True)), 30):
        found = words(title) + words(excerpt)
        if len(found) < 2:
            continue
        searches.append(" ".join(rng.sample(found, min(len(found), rng.randrange(1, 4)))))
        at = rng.randrange(len(found) - 1)
        searches.append("-".join(found[at : at + 2]))
    vocabulary = sorted({w for t in titles for w in words(t)})
    for _ in range(30):
        searches.append(" ".join(rng.sample(vocabulary, rng.randrange(1, 4))))
    return [*searches, "the new", "new-the", "of"]


@pytest.mark.parametrize("candidates", [500, 15])
async def test_search_answers_as_sqlite_for_held_out_texts(
    tmp_path: Path, postgres_url: str, candidates: int, monkeypatch: pytest.MonkeyPatch
):
    """Searches picked from a generated corpus at random; 15 candidates: the windows take
    several rounds, as at 1M articles."""
    for module in (pg, sqlite_search):
        monkeypatch.setattr(module, "SEARCH_CANDIDATES", candidates)
    articles = [build_article(record).article for record in iter_records(300, seed=23)]
    sqlite = await Store.open(tmp_path / "held-out.sqlite3")
    postgres = await PostgresStore.open(postgres_url)
    try:
        for store in (sqlite, postgres):
            await store.articles.bulk_load(articles, 1_700_000_000.0, batch=100)
        searches = _held_out_searches([a.title for a in articles], [a.excerpt for a in articles])
        answered = 0
        for text in searches:
            found = await postgres.reads.search(text)
            assert found == await sqlite.reads.search(text), text
            answered += bool(found)
        assert answered > len(searches) // 2
    finally:
        await sqlite.close()
        await postgres.close()


async def test_a_kept_article_gone_before_its_row_is_read_is_left_out(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
):
    """Candidates and kept rows are two statements, no transaction: an article deleted between
    them is not in the answer (and the others are)."""
    articles = [build_article(record).article for record in iter_records(60, seed=31)]
    store = await PostgresStore.open(postgres_url)
    try:
        await store.articles.bulk_load(articles, 1_700_000_000.0)
        text = words(articles[-1].title)[0]
        before = await store.reads.search(text)
        assert before
        best = pg._best
        monkeypatch.setattr(pg, "_best", lambda *a: [*best(*a), 10**15])  # no such article
        assert await store.reads.search(text) == before
    finally:
        await store.close()


async def test_writes_leave_no_keys_in_the_indexes_pending_lists(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
):
    """Every GIN scan reads all of its index's pending list: after a batch the keys are in the
    indexes proper. A role that does not own the indexes may not merge them: no error then."""
    articles = [build_article(record).article for record in iter_records(40, seed=37)]
    store = await PostgresStore.open(postgres_url)
    # merges what is pending, and says how many pages that was
    pending = (
        "SELECT gin_clean_pending_list('search_texts_keys'::regclass)"
        " + gin_clean_pending_list('articles_title_keys'::regclass)"
    )
    role = f"reader_{postgres_url.rsplit('/', 1)[1].split('?', maxsplit=1)[0]}"
    try:
        await store.articles.bulk_load(articles[:20], 1_700_000_000.0)
        assert await store.database.scalar(pending) == 0
        merge = pg.merge_pending_keys
        monkeypatch.setattr("bot.store.postgres.write.merge_pending_keys", _nothing)
        await store.articles.bulk_load(articles[20:], 1_700_000_000.0)
        await store.database.execute(f"CREATE ROLE {role} LOGIN")
        await store.database.execute(f"GRANT SELECT ON ALL TABLES IN SCHEMA public TO {role}")
        pool = await asyncpg.create_pool(postgres_url.replace("postgres:@", f"{role}:@"))
        try:
            await merge(PgDatabase(pool, "reader"))
        finally:
            await pool.close()
        assert await store.database.scalar(pending) > 0  # still there: not merged
    finally:
        await store.database.execute(f"DROP OWNED BY {role}")
        await store.database.execute(f"DROP ROLE IF EXISTS {role}")
        await store.close()


async def _nothing(_db: object) -> None:
    return None
