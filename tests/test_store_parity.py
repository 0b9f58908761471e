"""The same generated data in the SQLite store and the PostgreSQL store gives the same answers
(DESIGN §9): topic pages, latest, related, story members, search and autocomplete, loaded in
several batches and then partly rewritten, so updates, stubs and stories are compared too."""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import replace
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest

from bench.generate import TOPICS, iter_records
from bot.articles import Article
from bot.articles.fields import build_article
from bot.store import (
    FeedMove,
    FeedState,
    FileRecord,
    Publication,
    Store,
    StoreInterface,
    SubscriptionSpec,
    prepare_article,
)
from bot.store import search as sqlite_search
from bot.store.postgres import PostgresStore
from bot.store.postgres import search as pg_search
from bot.store.postgres import titles as pg_titles
from bot.store.relevance import words
from tests.postgres import create_database, settle

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
    """Bulk loads, a rewrite, files (some then deleted: gone) and an alias merge."""
    await store.articles.bulk_load(articles, NOW, batch=250)
    await store.articles.bulk_load(rewritten(articles), NOW + 60, batch=100)
    files = [FileRecord(f"/f/{i}", 1, 1, f"h{i}", article=a) for i, a in enumerate(articles[:200])]
    await store.articles.apply_batch(files, NOW + 120)
    assert await store.files.remove([f"/f/{i}" for i in range(0, 200, 5)]) == 40
    merge = {"Machine Learning": "AI", "Robotics": "Robots"}
    await store.articles.apply_aliases(lambda name: merge.get(name, name), NOW + 180)


@pytest.fixture
async def both(tmp_path: Path, postgres_server: str):
    articles = corpus()
    sqlite = await Store.open(tmp_path / "parity.sqlite3")
    url = await create_database(postgres_server)
    postgres = await PostgresStore.open(url)
    try:
        for store in (sqlite, postgres):
            await load(store, articles)
        await settle(url)
        yield sqlite, postgres, articles
    finally:
        await sqlite.close()
        await postgres.close()


def queries(articles: list[Article]) -> list[str]:
    """Search and autocomplete texts: single words, pairs, phrases, prefixes, stop-words,
    punctuation and the empty text; common, rare and absent words, phrases of common words
    that are seldom neighbours, prefixes of one letter and longer than 6, not ASCII."""
    rng = random.Random(3)
    titles = [a.title for a in articles]
    texts = ["", "the", "the !!!", "AI", '"quoted" -minus OR', "ünïcödé"]
    texts += ["a", "e", "t", "x", "ü", "zzzz", "the a", "the-a", "a-the", "of-the", "new-ai"]
    counts = Counter(w for title in titles for w in set(words(title)))
    common = [w for w, _ in counts.most_common(8)]
    texts += common + [f"{a}-{b}" for a, b in pairwise(common)]
    texts += [w for w, n in counts.items() if n == 1][:5]
    texts += [w[:7] for w in counts if len(w) >= 9][:5]
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


@pytest.mark.parametrize("candidates", [(500, 200), (20, 9)], ids=["as-shipped", "few"])
async def test_same_answers_on_both_backends(both, candidates, monkeypatch):
    sqlite, postgres, articles = both
    # few candidates: PostgreSQL's newest-first windows take several rounds, as at 1M articles
    for module in (sqlite_search, pg_search):
        monkeypatch.setattr(module, "SEARCH_CANDIDATES", candidates[0])
    for module in (sqlite_search, pg_titles):
        monkeypatch.setattr(module, "TITLE_CANDIDATES", candidates[1])
    assert await sqlite.status() == await postgres.status()
    assert await sqlite.reads.topics() == await postgres.reads.topics()
    for prefix in ("a", "ro", "x", ""):
        assert await sqlite.reads.topics(prefix, 10) == await postgres.reads.topics(prefix, 10)
    assert (await sqlite.status()).gone_files == 40
    for topic in [*TOPICS[:12], "Robots", "nothing such"]:
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


async def test_same_title_choices_for_words_not_in_ascii(both, monkeypatch):
    """Title autocomplete over Cyrillic, Greek, Japanese and Nordic titles: a last word not in
    ASCII is a GIN prefix match in PostgreSQL, the others prefix keys; few candidates, so the
    windows take several rounds."""
    sqlite, postgres, articles = both
    for module in (sqlite_search, pg_titles):
        monkeypatch.setattr(module, "TITLE_CANDIDATES", 9)
    titles = ["Новый чип от Nvidia", "Ελληνικά νέα για την AI", "日本のロボット 新しい",
              "Øresund bridge gets a robot", "Die Straße der Roboter", "Новые роботы"]  # fmt: skip
    renamed = [
        replace(article, title=f"{titles[i % len(titles)]} {i}")
        for i, article in enumerate(articles[::20])
    ]
    for store in (sqlite, postgres):
        await store.articles.bulk_load(renamed, NOW + 240, batch=50)
    # typed as written, marks and all (SQLite's lookup folds them as FTS5 does: only Latin
    # letters lose theirs); not typed: a word that has marks in the title typed without them
    # ("νεα", "strasse"), which only PostgreSQL (bot.store.relevance.words folds all) finds
    texts = ["нов", "Новые", "чип нов", "ελλ", "για ελλ", "ai ελλ", "日本", "øre", "Øresund r",
             "robot øre", "нов 1", "zz ø", "новый ч", "Новый чип", "νέα", "Ελληνικά νέ",
             "ロボット", "ロボ", "Straße", "straß", "der straße r"]  # fmt: skip
    compared = 0
    for text in texts:
        got = await postgres.reads.title_choices(text)
        assert await sqlite.reads.title_choices(text) == got, text
        compared += len(got)
    assert compared > 50


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


async def feeds_and_options(store: StoreInterface, articles: list[Article]) -> list[Any]:
    """Feeds (state, moves, items as articles beside files) and subscriptions with options,
    alerts, forum posts and publications, driven through the interface; every answer."""
    seen: list[Any] = []
    feeds = store.feeds
    urls = ["https://b.example/feed", "https://a.example/feed", "https://c.example/rss"]
    await feeds.sync(urls)
    await feeds.sync(urls[:2])  # c is no longer configured: its row and history go
    first = FeedState(urls[1], urls[1], title="A", etag='"e1"', last_fetch=NOW, last_status="ok")
    items = [prepare_article(a) for a in articles[:40]]
    seen.append(await feeds.save(first, articles=items, now=NOW))
    files = [FileRecord(f"/f/{i}", 1, 1, f"h{i}", article=a) for i, a in enumerate(articles[:10])]
    await store.articles.apply_batch(files, NOW + 10)
    moved = replace(first, fetch_url="https://a2.example/feed", last_fetch=NOW + 60, items=45)
    move = FeedMove(urls[1], urls[1], "https://a2.example/feed", 301, NOW + 60)
    changed = [replace(a, title=a.title + " (feed)") for a in articles[5:45]]
    seen.append(
        await feeds.save(
            moved, articles=[prepare_article(a) for a in changed], move=move, now=NOW + 60
        )
    )
    failing = FeedState(urls[0], urls[0], last_status="failed", failures=2, last_error="HTTP 500")
    await feeds.save_states([failing])
    seen += [await feeds.states(), await feeds.state(urls[0]), await feeds.state("nope")]
    seen += [await feeds.moves(), await feeds.counts()]
    seen.append(await feeds.first_seen([a.canonical_url for a in articles[:50]]))
    seen.append(await store.reads.latest(min_quality=0, limit=25))

    digests = store.digests
    spec = SubscriptionSpec(
        "0 8 * * *",
        "Europe/Paris",
        topics=("AI",),
        layout="compact",
        keywords=("robot", "deep learning"),
        exclude=("crypto",),
        publish=False,
    )
    seen.append(
        await digests.save_subscription(
            70, spec, guild_id=1, managed_by="command", since=NOW, now=NOW
        )
    )
    file_spec = replace(spec, layout="cards", keywords=(), publish=True)
    seen.append(await digests.sync_file_subscriptions([(71, file_spec)], since=NOW, now=NOW))
    seen.append(await digests.sync_file_subscriptions([(71, file_spec)], since=NOW, now=NOW))
    await digests.set_channel_kind(70, "forum")
    seen += [await digests.set_alert_state(70, "healthy", "failing")]
    seen += [await digests.set_alert_state(70, "healthy", "failing")]
    await digests.set_alert_channel(1, 99, NOW)
    seen.append(await digests.alert_channel(1))
    await digests.set_alert_channel(1, 98, NOW + 1)
    seen.append(await digests.alert_channel(1))
    await digests.set_alert_channel(2, 97, NOW)
    await digests.set_alert_channel(2, None, NOW)
    seen.append(await digests.alert_channel(2))
    subscription = await digests.subscription(70)
    assert subscription is not None
    run = await digests.record_run(
        70,
        trigger="now",
        cursor=subscription.cursor,
        selected_at=NOW,
        selected_seq=await digests.change_seq_at(NOW + 100),
        more=0,
        items=(),
        payloads=["{}", "{}"],
        nonce=lambda run_id, chunk: f"n{run_id}-{chunk}",
        topics=("AI", "Space"),
    )
    seen += [run, await digests.confirm_post(run.id, 555, 1001, NOW + 1)]
    seen += [await digests.confirm_post(run.id, 556, 1001, NOW + 2)]  # again: kept once
    for status, at in (("failed", NOW + 3), ("published", NOW + 4)):
        await digests.record_publication(Publication(run.id, 0, 70, 1001, status, None, at))
    await digests.record_publication(Publication(run.id, 1, 70, 1002, "skipped", "off", NOW + 5))
    seen += [
        await digests.publications(run_id=run.id),
        await digests.publications(channel_id=70, since=NOW + 5),
    ]
    seen += [
        await digests.runs(channel_id=70),
        await digests.subscriptions(),
        await digests.subscriptions(1),
    ]
    for at in (NOW + 6, NOW + 7):  # failing, then paused after two failed runs
        await digests.fail_run(run.id, "Missing Access", at, counts=True, pause_after=2)
        seen += [await digests.health_counts(), await store.status()]
    return seen


async def test_feeds_and_subscription_options_answer_the_same(tmp_path: Path, postgres_server: str):
    articles = corpus()[:60]
    sqlite = await Store.open(tmp_path / "options.sqlite3")
    postgres = await PostgresStore.open(await create_database(postgres_server))
    try:
        got = [await feeds_and_options(store, articles) for store in (sqlite, postgres)]
    finally:
        await sqlite.close()
        await postgres.close()
    assert got[0] == got[1]
    assert [got[0][-3].failing_subscriptions, got[0][-2]] == [1, (0, 1)]
    status = got[0][-1]
    assert (status.feeds, status.failing_feeds, status.paused_subscriptions) == (2, 1, 1)
    assert got[0][1].unchanged >= 5  # the items ten files hold were left to the files
