"""The change sequence (DESIGN §4, issue 11): which writes take a value, the migration from
arrival times, the claim that keeps two processes from posting a story twice, and a property
test over any interleaving of ingest batches and digest runs."""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
import tempfile
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.articles import Article, Provider, canonical_url
from bot.config import Config, DigestSettings
from bot.digests.delivery import Delivery
from bot.digests.selection import left_out, plan_run, select
from bot.digests.service import preview_digest
from bot.render import Payload
from bot.store import FileRecord, RunConflict, Store, StoreInterface, SubscriptionSpec
from bot.store.db import migration_scripts, split_sql
from bot.store.postgres import PostgresStore
from tests.postgres import create_database, fetch_sql
from tests.test_delivery import Clock, FakeDiscord

T0 = datetime(2020, 6, 25, 21, 0, tzinfo=UTC)
NOW = 1_000_000.0  # 1970: T0 is never older than a max_age_days
CH = 42
SPEC = SubscriptionSpec(
    schedule="0 9 * * *", timezone="UTC", topics=("AI",), min_quality=60, max_items=25
)


def art(n: int, **kw: object) -> Article:
    url = f"https://news.example/{n}"
    fields: dict[str, object] = {
        "title": f"Story number {n}",
        "published_at": T0,
        "published": True,
        "quality": 70,
        "topics": ("AI",),
        "excerpt": "about it",
    }
    fields.update(kw)
    return Article(url=url, canonical_url=canonical_url(url), **fields)  # type: ignore[arg-type]


def rec(article: Article) -> FileRecord:
    return FileRecord(f"/f/{article.url}", 1, 1, article.url + repr(article), article=article)


async def ingest(store: StoreInterface, *articles: Article, at: float = NOW - 100) -> None:
    await store.articles.apply_batch([rec(a) for a in articles], now=at)


async def seqs(store: StoreInterface) -> dict[str, int | None]:
    """title -> change_seq of every article row."""
    rows = await fetch_sql(store, "SELECT title, change_seq FROM articles")
    return dict(rows)


async def marks(store: StoreInterface) -> list[int]:
    rows = await fetch_sql(store, "SELECT seq FROM change_marks ORDER BY seq")
    return [seq for (seq,) in rows]


@pytest.fixture
def store(backend_store: StoreInterface) -> StoreInterface:
    """The store of each backend (tests/postgres.py)."""
    return backend_store


# --------------------------------------------------------------------------- the write rules


async def test_a_batch_takes_one_value_and_only_changes_that_matter_take_another(
    store: StoreInterface,
):
    await ingest(store, art(1), art(2))
    assert await seqs(store) == {"Story number 1": 1, "Story number 2": 1}
    assert await marks(store) == [1]
    # the same files again, and a change of excerpt only: written, but no value taken
    await ingest(store, art(1), art(2, excerpt="reworded"))
    assert await seqs(store) == {"Story number 1": 1, "Story number 2": 1}
    assert await marks(store) == [1]
    # each eligibility field takes the next value, for the changed article only
    changes: dict[str, dict[str, object]] = {
        "published": {"published": False},
        "quality": {"quality": 150},
        "topics": {"topics": ("AI", "Robotics")},
        "date": {"published_at": T0 + timedelta(hours=1)},
    }
    for expected, (what, change) in enumerate(changes.items(), start=2):
        await ingest(store, art(1, **change), art(2, excerpt="reworded"))
        assert (await seqs(store))["Story number 1"] == expected, what
        assert (await seqs(store))["Story number 2"] == 1, what
    await ingest(store, art(2, title="Story number 2, retitled"))
    assert (await seqs(store))["Story number 2, retitled"] == 6
    assert await marks(store) == [1, 2, 3, 4, 5, 6]


async def test_a_stub_takes_a_value_only_when_a_file_describes_it(store: StoreInterface):
    stub = art(9, title="Named in a related list", published=False, topics=())
    await ingest(store, art(1, related=(stub,)))
    assert (await seqs(store))["Named in a related list"] is None
    # another file's related list naming it again is still not being seen
    await ingest(store, art(2, related=(replace(stub, excerpt="other words"),)))
    assert (await seqs(store))["Named in a related list"] is None
    await ingest(store, art(9, title="Named in a related list"))
    assert (await seqs(store))["Named in a related list"] == 3


async def test_an_alias_merge_is_a_topic_change(store: StoreInterface):
    await ingest(store, art(1, topics=("Artificial Intelligence",)), art(2, topics=("AI",)))
    assert await store.articles.apply_aliases(lambda name: "AI", now=NOW) == 1
    assert await seqs(store) == {"Story number 1": 2, "Story number 2": 1}
    assert await store.articles.apply_aliases(lambda name: "AI", now=NOW) == 0
    assert await marks(store) == [1, 2]


async def test_published_field_is_stored_and_read_back(store: StoreInterface):
    await ingest(store, art(1, published=False, published_field=False), art(2, published=False))
    pool = await store.digests.pool(CH, after_seq=0, limit=10)
    fields = {c.entry.article.title: c.entry.article.published_field for c in pool}
    assert fields == {"Story number 1": False, "Story number 2": True}


# --------------------------------------------------------------------------- selection


async def pick(store: StoreInterface, cursor: int, **kw: object):
    return await select(
        store.digests,
        CH,
        SPEC,
        cursor=cursor,
        now=float(kw.get("now", NOW)),  # type: ignore[arg-type]
        default_max_age_days=int(kw.get("max_age", 0)),  # type: ignore[call-overload]
        canonical_topic=lambda n: n,
    )


def titles(selection) -> list[str]:
    return [e.article.title for e in selection.entries]


async def test_published_later_is_due_at_the_next_run(store: StoreInterface):
    await ingest(store, art(1, published=False), art(2))
    first = await pick(store, 0)
    assert titles(first) == ["Story number 2"] and first.selected_seq == 1
    await ingest(store, art(1))  # flipped to published after the run
    second = await pick(store, first.selected_seq)
    assert titles(second) == ["Story number 1"] and second.selected_seq == 2
    # quality revised across the bar is a change too
    await ingest(store, art(3, quality=59))
    assert titles(await pick(store, second.selected_seq)) == []
    await ingest(store, art(3, quality=187.5))
    assert titles(await pick(store, second.selected_seq)) == ["Story number 3"]


async def test_max_age_leaves_out_old_stories_and_says_why(store: StoreInterface):
    now = T0.timestamp() + 10 * 86400
    await ingest(
        store,
        art(1, published_at=T0 + timedelta(days=2)),  # 8 days old at now
        art(2, published_at=T0 + timedelta(days=5)),  # 5 days old
    )
    assert titles(await pick(store, 0, now=now, max_age=7)) == ["Story number 2"]
    assert len((await pick(store, 0, now=now, max_age=0)).entries) == 2
    selection = await pick(store, 0, now=now, max_age=7)
    [old] = await left_out(
        store.digests,
        CH,
        SPEC,
        selection,
        cursor=0,
        since_seq=0,
        default_max_age_days=7,
        canonical_topic=lambda n: n,
    )
    assert old.reasons == ("published 2020-06-27, older than 7 days",)
    # the subscription's own limit wins over the default
    own = replace(SPEC, max_age_days=0)
    chosen = await select(
        store.digests,
        CH,
        own,
        cursor=0,
        now=now,
        default_max_age_days=7,
        canonical_topic=lambda n: n,
    )
    assert len(chosen.entries) == 2


async def test_reasons_name_a_missing_published_field_and_a_decimal_quality(store: StoreInterface):
    await ingest(
        store,
        art(1, published=False, published_field=False),
        art(2, published=False),
        art(3, quality=59.5),
        art(4, quality=150),
    )
    selection = await pick(store, 0)
    assert titles(selection) == ["Story number 4"]
    reasons = {
        item.entry.article.title: item.reasons
        for item in await left_out(
            store.digests,
            CH,
            SPEC,
            selection,
            cursor=0,
            since_seq=0,
            default_max_age_days=0,
            canonical_topic=lambda n: n,
        )
    }
    assert reasons == {
        "Story number 1": ("no published field",),
        "Story number 2": ("not published",),
        "Story number 3": ("quality 59.5 is below min_quality 60",),
    }
    embed = selection.entries[0]
    assert embed.article.quality == 150


async def test_an_archive_of_old_articles_posts_nothing_and_the_preview_says_why(
    store: Store,
):
    now = T0.timestamp() + 2 * 365 * 86400
    config = Config()
    await store.digests.save_subscription(
        CH, replace(SPEC, topics=()), guild_id=1, managed_by="command", since=0, now=now
    )
    archive = [art(n, quality=90) for n in range(500)]
    await ingest(store, *archive, at=now - 10)
    sub = await store.digests.subscription(CH)
    assert sub is not None
    plan = await plan_run(
        store.digests,
        sub,
        now=now,
        default_max_age_days=config.digest.max_age_days,
        canonical_topic=lambda n: n,
    )
    assert plan.payloads == () and plan.selection.more == 0
    explained = await preview_digest(config, store, CH, explain=True, now=now)
    text = explained[-1]["content"] or ""
    assert "Nothing new" in text and "published 2020-06-25, older than 7 days" in text
    # `newsbot preview digest --max-age-days 0` (make demo) shows them
    assert await preview_digest(config, store, CH, now=now, max_age_days=0)


# --------------------------------------------------------------------------- the migration


def _old_database(path: Path) -> None:
    """A database as migrations 1-4 left it: arrival times and REAL cursors."""
    conn = sqlite3.connect(path, isolation_level=None)
    for number, script in migration_scripts():
        if number <= 4:
            for statement in split_sql(script):
                conn.execute(statement)
    conn.execute("PRAGMA user_version = 4")
    articles = [
        # id, title, arrived_at, from_file, published
        (1, "delivered", 100.0, 1, 1),
        (2, "held by a pending run", 200.0, 1, 1),
        (3, "in the slack before the cursor", 230.0, 1, 1),
        (4, "arrived after the cursor", 300.0, 1, 1),
        (5, "same batch as 4", 300.0, 1, 1),
        (6, "a stub", None, 0, 0),
        (7, "long ago", 50.0, 1, 1),
    ]
    for article_id, title, arrived_at, from_file, published in articles:
        conn.execute(
            "INSERT INTO articles (id, canonical_url, url, title, published_at, quality,"
            " published, topics, from_file, story_key, story_id, arrived_at, updated_at)"
            " VALUES (?, ?, ?, ?, ?, 80, ?, 'AI', ?, ?, ?, ?, 0)",
            (
                article_id,
                f"https://news.example/{article_id}",
                f"https://news.example/{article_id}",
                title,
                int(T0.timestamp()),
                published,
                from_file,
                title,
                article_id,
                arrived_at,
            ),
        )
    for channel_id, cursor in ((1, 250.0), (2, 5000.0), (3, 0.0)):
        conn.execute(
            "INSERT INTO subscriptions (channel_id, schedule, timezone, min_quality, max_items,"
            " cursor, created_at, updated_at) VALUES (?, '0 9 * * *', 'UTC', 60, 25, ?, 0, 0)",
            (channel_id, cursor),
        )
    conn.execute(
        "INSERT INTO digest_runs (id, channel_id, trigger, selected_at, status)"
        " VALUES (1, 1, 'schedule', 150, 'delivered'), (2, 1, 'schedule', 250, 'pending')"
    )
    conn.execute(
        "INSERT INTO digest_run_items VALUES (1, 1, 0, 1), (2, 2, 0, 1)"
    )  # fmt: skip
    conn.execute("INSERT INTO deliveries VALUES (1, 1, 1, 160)")
    conn.close()


async def test_migration_keeps_what_is_due_and_posts_nothing_twice(tmp_path: Path):
    path = tmp_path / "old.sqlite3"
    _old_database(path)
    store = await Store.open(path)
    try:
        assert await store.integrity_check() == "ok"
        by_title = await seqs(store)
        # one value per arrival batch, in arrival order; a stub has none
        assert by_title == {
            "long ago": 1,
            "delivered": 2,
            "held by a pending run": 3,
            "in the slack before the cursor": 4,
            "arrived after the cursor": 5,
            "same batch as 4": 5,
            "a stub": None,
        }
        cursors = {s.channel_id: s.cursor for s in await store.digests.subscriptions()}
        # the old run took what arrived after its cursor less 60 s: 250 -> arrivals after 190
        assert cursors == {1: 2, 2: 5, 3: 0}
        [delivered, pending] = await store.digests.runs(channel_id=1)
        assert (delivered.selected_seq, pending.selected_seq) == (2, 4)

        async def due(channel_id: int) -> list[str]:
            sub = await store.digests.subscription(channel_id)
            assert sub is not None
            chosen = await select(
                store.digests,
                channel_id,
                replace(sub.spec, max_age_days=0),
                cursor=sub.cursor,
                now=NOW,
                default_max_age_days=0,
                canonical_topic=lambda n: n,
            )
            return sorted(titles(chosen))

        # what the old code would have selected next, exactly: the delivered story, the one
        # its pending run holds and everything behind the cursor stay out
        assert await due(1) == [
            "arrived after the cursor",
            "in the slack before the cursor",
            "same batch as 4",
        ]
        assert await due(2) == []
        assert await due(3) == [  # another channel: another ledger
            "arrived after the cursor",
            "delivered",
            "held by a pending run",
            "in the slack before the cursor",
            "long ago",
            "same batch as 4",
        ]
        # the counter goes on from the migrated values
        await ingest(store, art(8))
        assert (await seqs(store))["Story number 8"] == 6
    finally:
        await store.close()


# --------------------------------------------------------------------------- the claim


async def test_record_run_refuses_a_moved_cursor_or_a_held_story(store: StoreInterface):
    await store.digests.save_subscription(
        CH, SPEC, guild_id=1, managed_by="command", since=0, now=NOW
    )
    await ingest(store, art(1), art(2))
    sub = await store.digests.subscription(CH)
    assert sub is not None
    plan = await plan_run(
        store.digests, sub, now=NOW, default_max_age_days=0, canonical_topic=lambda n: n
    )

    async def record(cursor: int, items=plan.items) -> object:
        return await store.digests.record_run(
            CH,
            trigger="now",
            cursor=cursor,
            selected_at=NOW,
            selected_seq=plan.selection.selected_seq,
            more=0,
            items=items,
            payloads=["{}"],
            nonce=lambda r, c: f"n{r}.{c}",
        )

    await record(sub.cursor)
    with pytest.raises(RunConflict, match="moved on"):
        await record(sub.cursor)  # the cursor is the first run's now
    with pytest.raises(RunConflict, match="holds"):
        await record(plan.selection.selected_seq)  # its stories are held by the first run
    assert len(await store.digests.runs(channel_id=CH)) == 1


async def test_two_stores_on_one_database_post_every_story_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, backend: str, request: pytest.FixtureRequest
):
    """Two processes on one database (two stores, two Delivery objects, one subscription),
    runs started together while articles keep arriving: on SQLite the write lock keeps the
    claim single, on PostgreSQL the subscription's row lock."""
    caplog.set_level(logging.INFO, logger="bot.digests.delivery")
    first: StoreInterface
    second: StoreInterface
    if backend == "postgresql":
        url = await create_database(request.getfixturevalue("postgres_server"))
        first, second = await PostgresStore.open(url), await PostgresStore.open(url)
    else:
        path = tmp_path / "shared.sqlite3"
        first, second = await Store.open(path), await Store.open(path)
    try:
        discord = SlowDiscord()
        clock = Clock()
        clock.now = T0.timestamp()
        config = Config(digest=DigestSettings(max_age_days=0))
        deliveries = [
            Delivery(s, discord, config=lambda: config, clock=clock) for s in (first, second)
        ]
        await first.digests.save_subscription(
            CH, SPEC, guild_id=1, managed_by="command", since=0, now=clock.now
        )
        expected: set[str] = set()
        for round_ in range(25):
            new = [art(round_ * 3 + i) for i in range(round_ % 4)]
            expected.update(a.title for a in new)
            writer = (first, second)[round_ % 2]
            await asyncio.gather(
                deliveries[0].run(CH),
                ingest(writer, *new, at=clock.now),
                deliveries[1].run(CH),
            )
            clock.now += 60
        for delivery in deliveries:
            await delivery.run(CH)
        posted = discord.titles()
        assert sorted(posted) == sorted(expected)  # each once, none lost
        assert "selecting again" in caplog.text  # the runs did race, and one lost
    finally:
        await first.close()
        await second.close()


class SlowDiscord(FakeDiscord):
    """Yields to the other runs while it posts, as a network call does."""

    async def send(self, channel_id: int, payload: Payload, nonce: str) -> int:
        await asyncio.sleep(0.001)
        return await super().send(channel_id, payload, nonce)


# --------------------------------------------------------------------------- the property

SLOTS = 3  # few, so that one article's file changes many times
TOPICS = ("AI", "Robotics")


@dataclass(frozen=True)
class Version:
    published: bool
    quality: float
    topic: str
    excerpt: str = "a"
    title: int = 0
    related: int | None = None  # another slot this file names in its related list

    def eligible(self) -> bool:
        return self.published and self.quality >= SPEC.min_quality and self.topic == "AI"


Edit = tuple[str, int]  # what changes, and a choice (a quality, a slot) where there is one
Change = tuple[int, Version, Edit]  # slot, its file when first seen, the edit
BELOW, ABOVE = (30, 59.5), (60, 187.5)  # qualities either side of SPEC's bar
# A slot's file as first seen: published or not, quality on either side of the bar, on the
# subscription's topic or not.
firsts = st.builds(
    Version,
    published=st.booleans(),
    quality=st.sampled_from(BELOW + ABOVE),
    topic=st.sampled_from(TOPICS),
)
# Then one thing about it changes per edit. The first three flip a condition of eligibility
# (published both ways, quality revised across the bar, the topic changed); the rest cannot
# make it due: a new excerpt or title, a related list naming another slot, the same file.
FLIPS = ["published", "quality", "topic"]
edits = st.tuples(
    st.sampled_from(FLIPS * 2 + ["excerpt", "title", "related", "same"]),  # flips are likelier
    st.integers(0, SLOTS - 1),
)


def edited(version: Version, edit: Edit) -> Version:
    what, pick = edit
    if what == "published":
        return replace(version, published=not version.published)
    if what == "quality":
        side = BELOW if version.quality >= SPEC.min_quality else ABOVE
        return replace(version, quality=side[pick % 2])
    if what == "topic":
        return replace(version, topic=TOPICS[version.topic == TOPICS[0]])
    if what == "excerpt":
        return replace(version, excerpt="b" if version.excerpt == "a" else "a")
    if what == "title":
        return replace(version, title=1 - version.title)
    if what == "related":
        return replace(version, related=pick)
    return version


batches = st.lists(st.tuples(st.integers(0, SLOTS - 1), firsts, edits), min_size=1, max_size=3)
# ("ingest", batch) | ("run", None) | ("run", batch): a batch written between the run's
# selection and its record
steps = st.lists(
    st.tuples(st.just("ingest"), batches) | st.tuples(st.just("run"), st.none() | batches),
    min_size=1,
    max_size=16,
)


def slot_article(slot: int, version: Version) -> Article:
    related: tuple[Article, ...] = ()
    if version.related is not None and version.related != slot:
        related = (art(version.related, published=False, topics=(), excerpt=None),)
    return art(
        slot,
        title=f"Slot {slot} take {version.title}",
        published=version.published,
        quality=version.quality,
        topics=(version.topic,),
        excerpt=version.excerpt,
        provider=Provider(f"P{slot}"),
        related=related,
    )


class Model:
    """What the files say now, and which slots reached the channel."""

    def __init__(self) -> None:
        self.files: dict[int, Version] = {}
        self.delivered: set[int] = set()

    def due(self) -> set[int]:
        return {s for s, v in self.files.items() if v.eligible() and s not in self.delivered}


async def _write(store: StoreInterface, model: Model, batch: list[Change], at: float) -> None:
    latest: dict[int, Version] = {}  # a batch names a slot's file once: as its edits left it
    for slot, first, edit in batch:
        before = latest.get(slot) or model.files.get(slot) or first
        latest[slot] = edited(before, edit)
    await ingest(store, *(slot_article(s, v) for s, v in latest.items()), at=at)
    model.files.update(latest)


def _slot(title: str) -> int:
    return int(title.split()[1])


async def _run(store: StoreInterface, model: Model, between: list[Change] | None) -> None:
    sub = await store.digests.subscription(CH)
    assert sub is not None
    plan = await plan_run(
        store.digests, sub, now=NOW, default_max_age_days=0, canonical_topic=lambda n: n
    )
    expected = model.due()  # at the moment of the selection
    if between:
        await _write(store, model, between, NOW)
    run = await store.digests.record_run(
        CH,
        trigger="schedule",
        cursor=sub.cursor,
        selected_at=NOW,
        selected_seq=plan.selection.selected_seq,
        more=plan.selection.more,
        items=plan.items,
        payloads=[json.dumps(p) for p in plan.payloads],
        nonce=lambda r, c: f"n{r}.{c}",
    )
    for message in run.messages:
        await store.digests.confirm_message(run.id, message.chunk, 1000 + message.chunk, NOW)
    await store.digests.finish_run(run.id, NOW)
    posted = [_slot(e.article.title) for e in plan.selection.entries]
    assert len(posted) == len(set(posted))
    assert set(posted) == expected, (posted, expected)
    model.delivered.update(posted)


async def _replay(script: list[tuple[str, list[Change] | None]]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        store = await Store.open(Path(tmp) / "db.sqlite3")
        try:
            await store.digests.save_subscription(
                CH, SPEC, guild_id=1, managed_by="command", since=0, now=NOW
            )
            model = Model()
            for what, batch in script:
                if what == "ingest":
                    assert batch is not None
                    await _write(store, model, batch, NOW)
                else:
                    await _run(store, model, batch)
            await _run(store, model, None)  # whatever became due at the end is posted
            assert model.due() == set()
            ledger = await store.digests.delivered_article_ids(CH)
            assert len(ledger) == len(set(ledger))
        finally:
            await store.close()


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps)
def test_any_interleaving_posts_each_story_once_at_the_first_run_it_is_due(script):
    """Each slot's story is posted at the first run where it is eligible, once, and never
    again, whatever the order of batches (new, published both ways, quality across the bar,
    topics, excerpt only, the same file again, named in a related list first) and runs."""
    asyncio.run(_replay(script))
