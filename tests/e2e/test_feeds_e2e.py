"""Feeds end to end: the real bot fetches a local feed in the background, a digest posts its
item exactly once, even after the feed changes the item's guid and adds tracking parameters to
its link; a reload adds a feed; /newsbot feeds shows the owner each feed's health."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from xml.sax.saxutils import escape

import pytest

from tests.discord_stub import DiscordStub, Reply, UserSpec
from tests.discord_stub.process import NewsbotProcess
from tests.discord_stub.world import ADMIN, DIGEST_CHANNEL_ID, GUILD_ID, MEMBER, OWNER
from tests.feeds_server import FeedServer

STORY = "Feed story: robots fold laundry"
FRESH = "Feed story: a second item arrives"


def rss(*items: tuple[str, str, str]) -> bytes:
    """(title, link, guid) items, published an hour ago."""
    when = format_datetime(datetime.now(UTC) - timedelta(hours=1), usegmt=True)
    body = "".join(
        f"<item><title>{escape(t)}</title><link>{escape(link)}</link><guid>{escape(g)}</guid>"
        f"<pubDate>{when}</pubDate><category>AI</category></item>"
        for t, link, g in items
    )
    return (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>Local Wire</title>'
        f"<link>https://wire.example/</link>{body}</channel></rss>"
    ).encode()


@pytest.fixture
async def feeds() -> AsyncIterator[FeedServer]:
    async with FeedServer() as server:
        yield server


async def cmd(stub: DiscordStub, name: str, user: UserSpec = ADMIN, **options: object) -> Reply:
    reply = await stub.invoke(name, options, guild_id=GUILD_ID, user=user)
    return await reply.wait(timeout=30)


async def fetched_after(newsbot: NewsbotProcess, url: str, moment: float) -> None:
    """Until the bot finished a good fetch of url after moment."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        rows = newsbot.query(
            "SELECT 1 FROM feeds WHERE url = ? AND last_fetch > ? AND last_status = 'ok'",
            url,
            moment,
        )
        if rows:
            return
        await asyncio.sleep(0.1)
    raise TimeoutError(f"{url} not fetched after {moment}:\n{newsbot.log[-4000:]}")


async def stored(newsbot: NewsbotProcess, sql: str, *params: object) -> None:
    """Until the query finds a row: what the bot fetched is in its database."""
    deadline = time.monotonic() + 60
    while not newsbot.query(sql, *params):
        if time.monotonic() > deadline:
            raise TimeoutError(f"nothing for {sql!r}:\n{newsbot.log[-4000:]}")
        await asyncio.sleep(0.1)


async def test_a_feed_item_is_posted_once_whatever_its_guid_or_link_parameters(
    discord_stub: DiscordStub, newsbot: NewsbotProcess, feeds: FeedServer
):
    url = feeds.set("wire", rss((STORY, "https://wire.example/robots", "wire-1")))
    started = time.time()
    await newsbot.start(
        config_overrides={
            "feeds": {
                "interval_minutes": 0.02,  # about a second: the test waits for refetches
                "quality": 80,
                "sources": [{"url": url, "topics": ["Robotics"]}],
            }
        }
    )
    await fetched_after(newsbot, url, started)
    reply = await cmd(discord_stub, "digest subscribe", channel=DIGEST_CHANNEL_ID)
    assert "Subscribed" in reply.content, reply.content
    posted = await cmd(discord_stub, "digest now", channel=DIGEST_CHANNEL_ID)
    assert STORY in posted.content, posted.content
    assert Counter(discord_stub.embed_titles(DIGEST_CHANNEL_ID)) == {STORY: 1}

    feeds.set(
        "wire",
        rss((STORY, "https://www.wire.example/robots/?utm_source=rss&fbclid=abc", "urn:new-guid")),
    )
    await stored(newsbot, "SELECT 1 FROM articles WHERE url LIKE '%fbclid=abc%'")
    again = await cmd(discord_stub, "digest now", channel=DIGEST_CHANNEL_ID)
    assert "Nothing new" in again.content, again.content

    feeds.set(
        "wire",
        rss(
            (STORY, "https://wire.example/robots?utm_medium=feed", "urn:newer-guid"),
            (FRESH, "https://wire.example/fresh", "wire-2"),
        ),
    )
    await stored(newsbot, "SELECT 1 FROM articles WHERE title = ?", FRESH)
    third = await cmd(discord_stub, "digest now", channel=DIGEST_CHANNEL_ID)
    assert FRESH in third.content and STORY not in third.content, third.content
    assert Counter(discord_stub.embed_titles(DIGEST_CHANNEL_ID)) == {STORY: 1, FRESH: 1}
    assert newsbot.query("SELECT count(*) FROM articles") == [(2,)]
    conditional = [r for r in feeds.seen("/set/wire") if r.headers.get("If-None-Match")]
    assert conditional, "refetches send the stored ETag back"


async def test_owner_sees_feed_health_and_a_reload_adds_a_feed(
    discord_stub: DiscordStub, newsbot: NewsbotProcess, feeds: FeedServer
):
    good = feeds.url("/feed/rss1_rdf.xml")
    broken = feeds.url("/feed/billion_laughs.xml")
    started = time.time()
    await newsbot.start(config_overrides={"feeds": {"sources": [{"url": good}, {"url": broken}]}})
    await fetched_after(newsbot, good, started)
    refused = await cmd(discord_stub, "newsbot feeds", user=MEMBER)
    assert refused.ephemeral and "owner" in refused.content, refused.content
    health = await cmd(discord_stub, "newsbot feeds", user=OWNER)
    assert health.ephemeral, health.content
    assert "2 feeds, 1 failing" in health.content, health.content
    assert good in health.content and "entity declarations are refused" in health.content
    assert health.content.index(broken) < health.content.index(good)  # failing first
    status = await cmd(discord_stub, "newsbot status", user=OWNER)
    assert "**feeds**: 2" in status.content and "**failing feeds**: 1" in status.content

    added = feeds.url("/feed/atom_xhtml.xml")
    text = newsbot.config_path.read_text(encoding="utf-8")
    newsbot.config_path.write_text(text + f'\n[[feeds.sources]]\nurl = "{added}"\n')
    reloaded = time.time()
    assert "reloaded" in (await cmd(discord_stub, "newsbot reload", user=OWNER)).content
    await fetched_after(newsbot, added, reloaded)
    health = await cmd(discord_stub, "newsbot feeds", user=OWNER)
    assert "3 feeds, 1 failing" in health.content, health.content
