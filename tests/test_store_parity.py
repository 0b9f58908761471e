"""The same generated data in the SQLite store and the PostgreSQL store gives the same answers
(DESIGN §9): topic pages, latest, related, story members, search and autocomplete, loaded in
several batches and then partly rewritten, so updates, stubs and stories are compared too."""

from __future__ import annotations

import random
from dataclasses import replace
from pathlib import Path

import pytest

from bench.generate import TOPICS, iter_records
from bot.articles import Article
from bot.articles.fields import build_article
from bot.store import Store, StoreInterface
from bot.store.postgres import PostgresStore
from bot.store.relevance import words
from tests.postgres import create_database

N = 1200
NOW = 1_700_000_000.0


def corpus() -> list[Article]:
    return [build_article(record).article for record in iter_records(N, seed=5)]


def rewritten(articles: list[Article]) -> list[Article]:
    """Every tenth article changed: title, quality, published flag, topics."""
    changed = []
    for i, article in enumerate(articles[::10]):
        changed.append(
            replace(
                article,
                title=article.title + (" revised" if i % 2 else ""),
                quality=(article.quality or 0) + 7,
                published=not article.published,
                topics=article.topics[1:] if i % 3 == 0 else article.topics,
            )
        )
    return changed


async def load(store: StoreInterface, articles: list[Article]) -> None:
    await store.articles.bulk_load(articles, NOW, batch=250)
    await store.articles.bulk_load(rewritten(articles), NOW + 60, batch=100)


@pytest.fixture
async def both(tmp_path: Path, postgres_server: str):
    articles = corpus()
    sqlite = await Store.open(tmp_path / "parity.sqlite3")
    postgres = await PostgresStore.open(await create_database(postgres_server))
    try:
        for store in (sqlite, postgres):
            await load(store, articles)
        yield sqlite, postgres, articles
    finally:
        await sqlite.close()
        await postgres.close()


def queries(articles: list[Article]) -> list[str]:
    """Search and autocomplete texts: single words, pairs, phrases, prefixes, stop-words,
    punctuation and the empty text."""
    rng = random.Random(3)
    titles = [a.title for a in articles]
    texts = ["", "the", "the !!!", "AI", '"quoted" -minus OR', "ünïcödé"]
    for title in rng.sample(titles, 25):
        found = words(title)
        if not found:
            continue
        texts.append(rng.choice(found))
        texts.append(" ".join(found[:2]))
        texts.append(found[0][:3])
        texts.append(title[: max(1, len(title) // 2)])
        texts.append("-".join(found[:2]))
    return texts


async def test_same_answers_on_both_backends(both):
    sqlite, postgres, articles = both
    assert await sqlite.status() == await postgres.status()
    assert await sqlite.reads.topics() == await postgres.reads.topics()
    for prefix in ("a", "ro", "x", ""):
        assert await sqlite.reads.topics(prefix, 10) == await postgres.reads.topics(prefix, 10)
    for topic in [*TOPICS[:12], "nothing such"]:
        for quality in (0, 60):
            assert await sqlite.reads.topic_entries(
                topic, min_quality=quality, limit=10
            ) == await postgres.reads.topic_entries(topic, min_quality=quality, limit=10)
        assert await sqlite.reads.latest(
            min_quality=50, topic=topic
        ) == await postgres.reads.latest(min_quality=50, topic=topic)
    for quality in (0, 60, 100):
        assert await sqlite.reads.latest(min_quality=quality) == await postgres.reads.latest(
            min_quality=quality
        )
    for article_id in random.Random(4).sample(range(1, N), 60):
        assert await sqlite.reads.entry(article_id) == await postgres.reads.entry(article_id)
        assert await sqlite.reads.related(article_id) == await postgres.reads.related(article_id)
        assert await sqlite.reads.story_members(article_id) == await postgres.reads.story_members(
            article_id
        )
    for text in queries(articles):
        assert await sqlite.reads.search(text) == await postgres.reads.search(text), text
        assert await sqlite.reads.title_choices(text) == await postgres.reads.title_choices(text), (
            text
        )


async def test_same_digest_candidates_on_both_backends(both):
    sqlite, postgres, articles = both
    newest = max(a.published_at.timestamp() for a in articles if a.published_at)
    compared = 0
    for after_seq in (0, 3, 5):
        for topic_keys in ((), ("ai",), ("robotics", "space")):
            for published_after in (None, newest - 30 * 86400.5):
                got = [
                    await store.digests.candidates(
                        7,
                        after_seq=after_seq,
                        only_published=True,
                        min_quality=60,
                        published_after=published_after,
                        topic_keys=topic_keys,
                        limit=10,
                    )
                    for store in (sqlite, postgres)
                ]
                assert got[0] == got[1]
                compared += len(got[0].candidates)
        assert await sqlite.digests.pool(7, after_seq=after_seq, limit=10) == (
            await postgres.digests.pool(7, after_seq=after_seq, limit=10)
        )
    assert compared > 50  # the comparisons compared something
