"""Digest channel kinds (DESIGN §4b): forum post titles and tags (pure), and the delivery state
machine with a fake Discord for forums (a post per run, found again after a crash) and
announcement channels (publications recorded apart from posting, never a second post)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import discord
import pytest

from bot.articles import StoryEntry
from bot.config import Config, ConfigError, TopicsConfig
from bot.digests.delivery import PUBLISH_PER_HOUR, Delivery
from bot.digests.model import PublishError
from bot.digests.posts import ForumTagInfo, ForumTags, forum_title, pick_tags, run_topics
from bot.digests.service import DigestService, preview_digest
from bot.digests.targets import missing_permissions
from bot.store import Store, StoreInterface
from tests.test_config import parse
from tests.test_delivery import CH, Clock, Crash, FakeDiscord, Jobs, add, art

# --------------------------------------------------------------------------- titles


def ts(year: int, month: int, day: int, hour: int, minute: int) -> float:
    return datetime(year, month, day, hour, minute, tzinfo=UTC).timestamp()


@pytest.mark.parametrize(
    ("at", "zone", "title"),
    [
        (ts(2026, 11, 30, 23, 30), "UTC", "News digest · 30 Nov 2026"),
        (ts(2026, 11, 30, 23, 30), "Europe/Berlin", "News digest · 1 Dec 2026"),
        (ts(2026, 12, 1, 5, 0), "America/Los_Angeles", "News digest · 30 Nov 2026"),
        (ts(2027, 1, 1, 0, 30), "Pacific/Honolulu", "News digest · 31 Dec 2026"),
        (ts(2026, 3, 5, 12, 0), "Asia/Kolkata", "News digest · 5 Mar 2026"),
    ],
)
def test_forum_title_is_the_date_in_the_subscription_time_zone(at, zone, title):
    assert forum_title(at, zone) == title


# --------------------------------------------------------------------------- tags

TAGS = (
    ForumTagInfo(1, "General"),
    ForumTagInfo(2, "robotics"),
    ForumTagInfo(3, "AI"),
    ForumTagInfo(4, "Space", moderated=True),
    ForumTagInfo(5, "Climate"),
    ForumTagInfo(6, "Health"),
    ForumTagInfo(7, "Crypto"),
)


def test_tags_match_topics_case_insensitively_in_topic_order():
    assert pick_tags(TAGS, ["ai", "Robotics", "Cooking"], required=False) == [3, 2]
    assert pick_tags(TAGS, ["ROBOTICS", "ai"], required=True) == [2, 3]


def test_at_most_five_tags():
    topics = ["Crypto", "Health", "Climate", "AI", "Robotics", "General"]
    assert pick_tags(TAGS, topics, required=False) == [7, 6, 5, 3, 2]


def test_moderated_tags_only_when_the_bot_may_apply_them():
    assert pick_tags(TAGS, ["Space", "AI"], required=False) == [3]
    assert pick_tags(TAGS, ["Space", "AI"], required=False, may_moderate=True) == [4, 3]


def test_required_tag_and_no_match_gets_the_first_usable_tag():
    assert pick_tags(TAGS, ["Cooking"], required=True) == [1]
    assert pick_tags(TAGS, ["Cooking"], required=False) == []
    assert pick_tags(TAGS, [], required=True) == [1]
    moderated_first = (ForumTagInfo(9, "Mods", moderated=True), *TAGS)
    assert pick_tags(moderated_first, ["Cooking"], required=True) == [1]
    assert pick_tags((), ["AI"], required=True) == []


def test_tags_match_through_topic_aliases():
    aliases = TopicsConfig({"Artificial Intelligence": "AI"})
    tags = (ForumTagInfo(1, "Artificial Intelligence"),)
    assert pick_tags(tags, ["ai"], required=False, canonical=aliases.canonical) == [1]


def test_run_topics_are_the_subscription_topics_else_the_stories_best_first():
    robotics = replace(art(1), topics=("Robotics", "AI"))
    entries = [StoryEntry(1, robotics), StoryEntry(2, art(2))]
    assert run_topics(("Space", "space", "AI"), entries) == ("Space", "AI")
    assert run_topics((), entries) == ("Robotics", "AI")


# --------------------------------------------------------------------------- config


def test_publish_is_validated_and_overridable_per_channel():
    config = parse("[digest]\npublish = false\n[[digest.channels]]\nchannel_id = 5\npublish = true")
    assert config.digest.publish is False
    assert config.channels[0].settings.publish is True
    with pytest.raises(ConfigError, match=r"digest\.channels\[0\]\.publish"):
        parse('[[digest.channels]]\nchannel_id = 5\npublish = "yes"')


# --------------------------------------------------------------------------- delivery

FORUM = 77
NEWS = 78


@pytest.fixture
async def world(backend_store: StoreInterface):
    store = backend_store  # each backend (tests/postgres.py), closed by its fixture
    fake = FakeDiscord()
    fake.kinds = {FORUM: "forum", NEWS: "announcement"}
    clock = Clock()
    delivery = Delivery(store, fake, config=Config, clock=clock)
    service = DigestService(store, config=Config, delivery=delivery, jobs=Jobs(), clock=clock)
    await service.subscribe(1, FORUM, max_items=25, timezone="Asia/Tokyo", kind="forum")
    await service.subscribe(1, NEWS, max_items=25, kind="announcement")
    await service.subscribe(1, CH, max_items=25)
    yield store, fake, clock, delivery, service


async def test_forum_run_is_one_post_with_its_tags_and_the_rest_in_its_thread(world):
    store, fake, clock, delivery, _service = world
    fake.tags = ForumTags((ForumTagInfo(1, "General"), ForumTagInfo(3, "ai")), False, False)
    await add(store, clock, *(art(n) for n in range(15)))  # three messages
    outcome = await delivery.run(FORUM)
    assert outcome.status == "delivered"
    [(forum, title, tags, thread)] = fake.posts
    assert (forum, tags) == (FORUM, [3])
    assert title == forum_title(clock.now, "Asia/Tokyo")
    [run] = await store.digests.runs(channel_id=FORUM)
    assert len(run.messages) == 3
    assert [channel for channel, _, _ in fake.messages] == [thread] * 3
    assert [nonce for _, _, nonce in fake.messages[1:]] == [m.nonce for m in run.messages[1:]]
    assert sorted(fake.titles()) == sorted(f"Story number {n}" for n in range(15))
    assert run.thread_id == thread and run.topics == ("AI",)
    assert (await store.digests.subscription(FORUM)).channel_kind == "forum"


async def test_forum_crash_after_the_post_was_made_finds_it_and_finishes_it(world):
    store, fake, clock, delivery, service = world
    await add(store, clock, *(art(n) for n in range(15)))
    fake.crash_after_post = True
    with pytest.raises(Crash):
        await delivery.run(FORUM)
    [run] = await store.digests.runs(pending=True)
    assert run.thread_id is None and len(fake.posts) == 1
    outcomes = await service.resume_pending()
    assert [o.status for o in outcomes] == ["delivered"]
    [(_, _, _, thread)] = fake.posts  # no second post
    assert [channel for channel, _, _ in fake.messages] == [thread] * len(run.messages)
    assert sorted(fake.titles()) == sorted(f"Story number {n}" for n in range(15))
    assert (await store.digests.runs(run_id=run.id))[0].thread_id == thread
    assert len(await store.digests.delivered_article_ids(FORUM)) == 15


async def test_forum_post_lost_before_discord_made_it_is_made_once_at_resume(world):
    store, fake, clock, delivery, service = world
    await add(store, clock, art(1))
    # the run is recorded, then the process dies before the post request
    real_create = fake.create_post

    async def die(*args, **kwargs):
        raise Crash

    fake.create_post = die
    with pytest.raises(Crash):
        await delivery.run(FORUM)
    fake.create_post = real_create
    await service.resume_pending()
    assert len(fake.posts) == 1 and fake.titles() == ["Story number 1"]


async def test_announcement_messages_are_published_once_each(world):
    store, fake, clock, delivery, service = world
    await add(store, clock, *(art(n) for n in range(15)))
    assert (await delivery.run(NEWS)).status == "delivered"
    assert len(fake.messages) == 3 and fake.published == [1, 2, 3]
    [run] = await store.digests.runs(channel_id=NEWS)
    publications = await store.digests.publications(run_id=run.id)
    assert [(p.chunk, p.status) for p in publications] == [(c, "published") for c in range(3)]
    listing = (await service.list_subscriptions(1))[0]["content"]
    assert "published to followers" in listing and "not published" not in listing


async def test_a_rate_limited_publication_never_resends_and_is_listed(world):
    store, fake, clock, delivery, service = world
    await add(store, clock, art(1))
    fake.publish_fail = [PublishError("rate limited for 3000 s", limited=True)]
    assert (await delivery.run(NEWS)).status == "delivered"
    assert len(fake.messages) == 1 and fake.published == []
    [publication] = await store.digests.publications(channel_id=NEWS)
    assert (publication.status, publication.reason) == ("skipped", "rate limited for 3000 s")
    assert (await delivery.run(NEWS)).status == "empty"
    assert await service.resume_pending() == []
    assert len(fake.messages) == 1 and fake.published == []
    listing = (await service.list_subscriptions(1))[0]["content"]
    assert "not published to followers: 1 message" in listing
    assert "skipped: rate limited for 3000 s" in listing


async def test_an_hour_holds_at_most_ten_publications(world):
    store, fake, clock, delivery, _service = world
    for n in range(PUBLISH_PER_HOUR + 2):
        await add(store, clock, art(n))
        await delivery.run(NEWS)
        clock.now += 60
    assert len(fake.messages) == PUBLISH_PER_HOUR + 2
    assert len(fake.published) == PUBLISH_PER_HOUR
    statuses = [p.status for p in await store.digests.publications(channel_id=NEWS)]
    assert statuses == ["published"] * PUBLISH_PER_HOUR + ["skipped"] * 2
    clock.now += 3600
    await add(store, clock, art(99))
    await delivery.run(NEWS)
    assert len(fake.published) == PUBLISH_PER_HOUR + 1


async def test_publish_off_and_text_channels_publish_nothing(world):
    store, fake, clock, delivery, service = world
    await service.subscribe(1, NEWS, publish=False, kind="announcement")
    await add(store, clock, art(1))
    await delivery.run(NEWS)
    await delivery.run(CH)
    assert len(fake.messages) == 2 and fake.published == []
    assert await store.digests.publications(channel_id=NEWS) == []
    assert "not published (publish off)" in (await service.list_subscriptions(1))[0]["content"]


async def test_crash_after_posting_publishes_at_resume(world):
    store, fake, clock, delivery, service = world
    await add(store, clock, art(1))
    fake.publish_fail = []

    async def die(channel_id: int, message_id: int) -> None:
        raise Crash

    real_publish = fake.publish
    fake.publish = die
    with pytest.raises(Crash):
        await delivery.run(NEWS)
    fake.publish = real_publish
    await service.resume_pending()
    assert len(fake.messages) == 1 and fake.published == [1]


async def test_previews_say_how_the_kind_delivers(world):
    store, _fake, clock, _delivery, _service = world
    await add(store, clock, art(1))
    news = await preview_digest(Config(), store, NEWS, explain=True, now=clock.now)
    assert any("published to followers" in (p.get("content") or "") for p in news)
    forum = await preview_digest(Config(), store, FORUM, explain=True, now=clock.now)
    title = forum_title(clock.now, "Asia/Tokyo")
    assert any(title in (p.get("content") or "") for p in forum)
    text = await preview_digest(Config(), store, CH, explain=True, now=clock.now)
    assert not any("followers" in (p.get("content") or "") for p in text)


# --------------------------------------------------------------------------- migration


async def test_migration_9_gives_existing_subscriptions_publish_on(tmp_path: Path):
    path = tmp_path / "db.sqlite3"
    async with await Store.open(path) as store:
        service = DigestService(store, config=Config, delivery=None, jobs=Jobs())  # type: ignore[arg-type]
        await service.subscribe(1, CH)

        def before_9(conn) -> None:
            for table, column in [
                ("subscriptions", "publish"),
                ("subscriptions", "channel_kind"),
                ("digest_runs", "thread_id"),
                ("digest_runs", "topics"),
            ]:
                conn.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
            conn.execute("DROP TABLE digest_publications")
            conn.execute("PRAGMA user_version = 8")

        await store.run_write(before_9)
    async with await Store.open(path) as store:
        sub = await store.digests.subscription(CH)
        assert sub is not None and sub.spec.publish is True and sub.channel_kind is None
        assert await store.digests.publications(channel_id=CH) == []


def test_a_forum_needs_read_message_history_to_find_its_post_again():
    allowed = discord.Permissions(
        view_channel=True, send_messages=True, send_messages_in_threads=True, embed_links=True
    )
    assert missing_permissions("forum", allowed) == (
        "the bot is missing the Read Message History permission"
    )
    allowed.read_message_history = True
    assert missing_permissions("forum", allowed) is None
    assert missing_permissions("text", discord.Permissions(1 << 10 | 1 << 11 | 1 << 14)) is None
