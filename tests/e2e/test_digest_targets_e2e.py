"""Digests in forum and announcement channels, end to end through the stub (DESIGN §4b): a forum
digest is one post with the forum's matching tags (or its first tag when it requires one), a
crash after Discord made the post still ends with one post holding the whole digest, an
announcement digest is published once, a publication held back never posts the message again,
and each kind's permissions are checked when subscribing and when running."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from bot.digests.posts import forum_title
from tests.discord_stub import DiscordStub, Reply
from tests.discord_stub import permissions as P
from tests.discord_stub.process import NewsbotProcess
from tests.discord_stub.specs import (
    REQUIRE_TAG,
    ChannelSpec,
    ForumTagSpec,
    GuildSpec,
    OverwriteSpec,
)
from tests.discord_stub.world import ADMIN, GUILD_ID, default_guild
from tests.fixtures.articles import article_file
from tests.fixtures.seeds import COINDESK

FORUM_ID = 301
TAGGED_FORUM_ID = 302  # requires a tag; none of its tags is a topic
NEWS_ID = 303  # announcement channel
NO_THREADS_FORUM_ID = 304  # the bot may post but not send messages in threads
NO_POSTS_FORUM_ID = 305  # the bot may not create posts
NO_EMBED_NEWS_ID = 306
ZONE = "Pacific/Kiritimati"  # UTC+14: the post's date is often not UTC's

GENERAL, ROBOTICS, AI, VISION = 9001, 9002, 9003, 9004
SPORTS, WEATHER = 9101, 9102
EXTRA = [f"Extra robot story {n}" for n in range(12)]  # 13 stories with the seed: 2 messages


def deny(bits: int) -> list[OverwriteSpec]:
    return [OverwriteSpec(id=GUILD_ID, type=0, deny=bits)]


@pytest.fixture
def stub_guilds() -> list[GuildSpec]:
    guild = default_guild()
    guild.channels += [
        ChannelSpec(
            id=FORUM_ID,
            name="digest-forum",
            type=15,
            position=10,
            available_tags=[
                ForumTagSpec(GENERAL, "General"),
                ForumTagSpec(ROBOTICS, "robotics", emoji_name="🤖"),
                ForumTagSpec(AI, "Ai"),
                ForumTagSpec(VISION, "Computer Vision", moderated=True),
            ],
        ),
        ChannelSpec(
            id=TAGGED_FORUM_ID,
            name="tagged-forum",
            type=15,
            position=11,
            flags=REQUIRE_TAG,
            available_tags=[ForumTagSpec(SPORTS, "Sports"), ForumTagSpec(WEATHER, "Weather")],
        ),
        ChannelSpec(id=NEWS_ID, name="announcements", type=5, position=12),
        ChannelSpec(
            id=NO_THREADS_FORUM_ID,
            name="no-threads",
            type=15,
            position=13,
            permission_overwrites=deny(P.SEND_MESSAGES_IN_THREADS),
        ),
        ChannelSpec(
            id=NO_POSTS_FORUM_ID,
            name="no-posts",
            type=15,
            position=14,
            permission_overwrites=deny(P.SEND_MESSAGES),
        ),
        ChannelSpec(
            id=NO_EMBED_NEWS_ID,
            name="no-embed-news",
            type=5,
            position=15,
            permission_overwrites=deny(P.EMBED_LINKS),
        ),
    ]
    return [guild]


async def cmd(stub: DiscordStub, name: str, **options: Any) -> Reply:
    reply = await stub.invoke(f"digest {name}", options, guild_id=GUILD_ID, user=ADMIN)
    return await reply.wait(timeout=60)


def add_stories(articles: Path) -> set[str]:
    for n, title in enumerate(EXTRA):
        article_file(
            articles, f"robot{n}", title, topics=("Robotics", "AI"), quality=90, excerpt="x" * 700
        )
    return {*EXTRA, COINDESK}


def titles(stub: DiscordStub, channel_id: int) -> list[str]:
    return [e.get("title", "") for m in stub.messages(channel_id) for e in m.get("embeds") or []]


async def test_pickers_offer_text_announcement_and_forum_channels(
    discord_stub: DiscordStub, newsbot: NewsbotProcess, articles: Path
) -> None:
    await newsbot.start(articles_dir=articles)
    [group] = [c for c in discord_stub.commands(GUILD_ID) if c["name"] == "digest"]
    for sub in group["options"]:
        for option in sub.get("options", []):
            if option["name"] == "channel":
                assert sorted(option["channel_types"]) == [0, 5, 15], (sub["name"], option)


async def test_forum_digest_is_one_post_with_matching_tags(
    discord_stub: DiscordStub, newsbot: NewsbotProcess, articles: Path
) -> None:
    expected = add_stories(articles)
    await newsbot.start(articles_dir=articles, ingested=True)
    reply = await cmd(
        discord_stub,
        "subscribe",
        channel=FORUM_ID,
        topics="Computer Vision, Robotics, AI",
        timezone=ZONE,
        max_items=25,
    )
    assert "Subscribed" in reply.content and "forum post" in reply.content, reply.content
    done = await cmd(discord_stub, "now", channel=FORUM_ID)
    assert "Posted 13 stories" in done.content, done.content
    [post] = discord_stub.threads.posts(FORUM_ID)
    [(selected_at, thread_id)] = newsbot.query("SELECT selected_at, thread_id FROM digest_runs")
    assert thread_id == post.id
    assert post.name == forum_title(selected_at, ZONE)
    # moderated "Computer Vision" needs Manage Threads; then the subscription's topic order
    assert post.applied_tags == [ROBOTICS, AI]
    messages = discord_stub.threads.messages(post.id)
    assert len(messages) == 2 and messages[0]["id"] == str(post.id)
    assert sorted(titles(discord_stub, post.id)) == sorted(expected)
    assert discord_stub.messages(FORUM_ID) == []
    again = await cmd(discord_stub, "now", channel=FORUM_ID)
    assert "Nothing new" in again.content and len(discord_stub.threads.posts(FORUM_ID)) == 1


async def test_forum_that_requires_a_tag_gets_its_first(
    discord_stub: DiscordStub, newsbot: NewsbotProcess, articles: Path
) -> None:
    await newsbot.start(articles_dir=articles, ingested=True)
    await cmd(discord_stub, "subscribe", channel=TAGGED_FORUM_ID)
    await cmd(discord_stub, "now", channel=TAGGED_FORUM_ID)
    [post] = discord_stub.threads.posts(TAGGED_FORUM_ID)
    assert post.applied_tags == [SPORTS]
    assert titles(discord_stub, post.id) == [COINDESK]


@pytest.mark.parametrize("archived", [False, True], ids=["active", "archived"])
async def test_crash_after_discord_made_the_post_ends_with_one_post(
    discord_stub: DiscordStub, newsbot: NewsbotProcess, articles: Path, archived: bool
) -> None:
    expected = add_stories(articles)
    await newsbot.start(articles_dir=articles, ingested=True)
    await cmd(discord_stub, "subscribe", channel=FORUM_ID, max_items=25, topics="AI")
    # Discord makes the post; its answer is held until the bot is dead
    discord_stub.delay("POST", rf"^/channels/{FORUM_ID}/threads$", 10.0, response=True)
    await discord_stub.invoke("digest now", {"channel": FORUM_ID}, guild_id=GUILD_ID, user=ADMIN)
    post = await discord_stub.threads.wait_for_post(FORUM_ID, timeout=60)
    await newsbot.kill()
    assert discord_stub.threads.posts(FORUM_ID) == [post]
    assert newsbot.query("SELECT thread_id, status FROM digest_runs") == [(None, "pending")]
    if archived:  # a quiet forum archives a post; the bot looks there too
        await discord_stub.threads.archive(post.id)
    discord_stub.clear_faults()
    await newsbot.start()
    await newsbot.wait_for_log(r"resumed digest for channel \d+: delivered", timeout=60)
    assert [p.id for p in discord_stub.threads.posts(FORUM_ID)] == [post.id]
    assert sorted(titles(discord_stub, post.id)) == sorted(expected)
    assert newsbot.query("SELECT thread_id, status FROM digest_runs") == [(post.id, "delivered")]


async def test_announcement_digest_is_published_once(
    discord_stub: DiscordStub, newsbot: NewsbotProcess, articles: Path
) -> None:
    add_stories(articles)
    await newsbot.start(articles_dir=articles, ingested=True)
    reply = await cmd(discord_stub, "subscribe", channel=NEWS_ID, max_items=25)
    assert "published to followers" in reply.content, reply.content
    await cmd(discord_stub, "now", channel=NEWS_ID)
    posted = [int(m["id"]) for m in discord_stub.messages(NEWS_ID)]
    assert len(posted) == 2
    assert discord_stub.crossposts.published(NEWS_ID) == posted
    assert discord_stub.count("POST", rf"^/channels/{NEWS_ID}/messages/\d+/crosspost$") == 2
    rows = newsbot.query("SELECT message_id, status FROM digest_publications ORDER BY chunk")
    assert rows == [(mid, "published") for mid in posted]


async def test_publish_off_posts_without_publishing(
    discord_stub: DiscordStub, newsbot: NewsbotProcess, articles: Path
) -> None:
    await newsbot.start(articles_dir=articles, ingested=True)
    reply = await cmd(discord_stub, "subscribe", channel=NEWS_ID, publish=False)
    assert "not published (publish off)" in reply.content, reply.content
    await cmd(discord_stub, "now", channel=NEWS_ID)
    assert titles(discord_stub, NEWS_ID) == [COINDESK]
    assert discord_stub.crossposts.published(NEWS_ID) == []
    assert discord_stub.count("POST", r"/crosspost$") == 0


@pytest.mark.parametrize("held_back", ["fault", "hourly_limit"])
async def test_publication_429_never_resends_and_is_listed(
    discord_stub: DiscordStub, newsbot: NewsbotProcess, articles: Path, held_back: str
) -> None:
    await newsbot.start(articles_dir=articles, ingested=True)
    await cmd(discord_stub, "subscribe", channel=NEWS_ID)
    if held_back == "fault":
        discord_stub.fail("POST", r"/crosspost$", status=429, retry_after=3000.0)
    else:  # ten publications this hour already (by someone else)
        discord_stub.crossposts.use_up(NEWS_ID)
    done = await cmd(discord_stub, "now", channel=NEWS_ID)
    assert "Posted 1 story" in done.content, done.content
    assert titles(discord_stub, NEWS_ID) == [COINDESK]
    assert discord_stub.crossposts.published(NEWS_ID) == []
    [(status, reason)] = newsbot.query("SELECT status, reason FROM digest_publications")
    assert status == "skipped" and reason, reason
    listing = await cmd(discord_stub, "list")
    assert "not published to followers: 1 message" in listing.content, listing.content
    assert "skipped" in listing.content
    again = await cmd(discord_stub, "now", channel=NEWS_ID)
    assert "Nothing new" in again.content
    assert titles(discord_stub, NEWS_ID) == [COINDESK]
    assert newsbot.query("SELECT count(*) FROM digest_messages") == [(1,)]


@pytest.mark.parametrize(
    ("channel_id", "missing"),
    [
        (NO_THREADS_FORUM_ID, "Send Messages in Threads"),
        (NO_POSTS_FORUM_ID, "Create Posts"),
        (NO_EMBED_NEWS_ID, "Embed Links"),
    ],
)
async def test_subscribe_checks_what_each_kind_needs(
    discord_stub: DiscordStub,
    newsbot: NewsbotProcess,
    articles: Path,
    channel_id: int,
    missing: str,
) -> None:
    await newsbot.start(articles_dir=articles)
    reply = await cmd(discord_stub, "subscribe", channel=channel_id)
    assert reply.ephemeral and missing in reply.content, reply.content
    assert newsbot.query("SELECT count(*) FROM subscriptions") == [(0,)]


async def test_forum_permission_lost_at_run_time_marks_the_subscription_failing(
    discord_stub: DiscordStub, newsbot: NewsbotProcess, articles: Path
) -> None:
    await newsbot.start(articles_dir=articles, ingested=True)
    await cmd(discord_stub, "subscribe", channel=FORUM_ID)
    # a server error leaves the run pending; meanwhile the bot loses a forum permission
    discord_stub.fail("POST", rf"^/channels/{FORUM_ID}/threads$", status=503)
    pending = await cmd(discord_stub, "now", channel=FORUM_ID)
    assert "retried" in pending.content, pending.content
    await newsbot.stop()
    await discord_stub.set_overwrites(FORUM_ID, deny(P.SEND_MESSAGES_IN_THREADS))
    await newsbot.start()
    await newsbot.wait_for_log(r"resumed digest for channel \d+: failing", timeout=60)
    [(failures, last_error)] = newsbot.query(
        "SELECT consecutive_failures, last_error FROM subscriptions"
    )
    assert failures == 1 and "Send Messages in Threads" in last_error, last_error
    assert discord_stub.threads.posts(FORUM_ID) == []
    listing = await cmd(discord_stub, "list")
    assert "Send Messages in Threads" in listing.content
    # granted again: the digest that waited is posted, once
    await discord_stub.set_overwrites(FORUM_ID, [])
    await cmd(discord_stub, "now", channel=FORUM_ID)
    [post] = discord_stub.threads.posts(FORUM_ID)
    assert titles(discord_stub, post.id) == [COINDESK]
    assert re.fullmatch(r"News digest · \d{1,2} [A-Z][a-z]{2} \d{4}", post.name)
