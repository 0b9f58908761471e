"""/digest end to end: the real bot in a subprocess against the local Discord stub.

Every scenario ends by asserting on the stub's recorded channel messages: every due article in
the channel exactly once.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from tests.discord_stub import DiscordStub, Reply, UserSpec
from tests.discord_stub.process import NewsbotProcess
from tests.discord_stub.world import (
    ADMIN,
    DIGEST_CHANNEL_ID,
    GUILD_ID,
    MEMBER,
    NO_EMBED_CHANNEL_ID,
    NO_SEND_CHANNEL_ID,
    OWNER,
)
from tests.fixtures.articles import article_file
from tests.fixtures.seeds import COINDESK

POSTS = rf"^/channels/{DIGEST_CHANNEL_ID}/messages$"


async def cmd(stub: DiscordStub, name: str, user: UserSpec = ADMIN, **options: Any) -> Reply:
    reply = await stub.invoke(f"digest {name}", options, guild_id=GUILD_ID, user=user)
    return await reply.wait(timeout=30)


def assert_once(stub: DiscordStub, expected: set[str]) -> None:
    counts = Counter(stub.embed_titles(DIGEST_CHANNEL_ID))
    assert set(counts) == expected, counts
    assert all(n == 1 for n in counts.values()), counts


def subscriptions(newsbot: NewsbotProcess) -> list[tuple[Any, ...]]:
    return newsbot.query("SELECT channel_id, schedule, paused FROM subscriptions")


async def test_subscribe_now_list_preview_pause_resume(
    discord_stub: DiscordStub, newsbot: NewsbotProcess, articles: Path
):
    await newsbot.start(articles_dir=articles, ingested=True)
    reply = await cmd(discord_stub, "subscribe", channel=DIGEST_CHANNEL_ID, schedule="0 9 * * *")
    assert reply.ephemeral and "Subscribed" in reply.content, reply.content

    preview = await cmd(discord_stub, "preview", channel=DIGEST_CHANNEL_ID)
    assert preview.ephemeral
    assert discord_stub.messages(DIGEST_CHANNEL_ID) == []  # a preview posts nothing

    now = await cmd(discord_stub, "now", channel=DIGEST_CHANNEL_ID)
    assert now.ephemeral and COINDESK in now.content, now.content
    assert_once(discord_stub, {COINDESK})
    [message] = discord_stub.messages(DIGEST_CHANNEL_ID)
    assert message["allowed_mentions"]["parse"] == []
    assert message["components"], "the Related button comes with the digest"

    again = await cmd(discord_stub, "now", channel=DIGEST_CHANNEL_ID)
    assert "Nothing new" in again.content
    assert_once(discord_stub, {COINDESK})

    article_file(articles, "fresh", "A fresh published story", quality=90)
    ingest = await discord_stub.invoke("newsbot ingest", {}, guild_id=GUILD_ID, user=OWNER)
    await ingest.wait(timeout=30)
    third = await cmd(discord_stub, "now", channel=DIGEST_CHANNEL_ID)
    assert "A fresh published story" in third.content
    assert_once(discord_stub, {COINDESK, "A fresh published story"})

    listing = await cmd(discord_stub, "list")
    assert "managed by the command" in listing.content and "2 items delivered" in listing.content

    assert "Paused" in (await cmd(discord_stub, "pause", channel=DIGEST_CHANNEL_ID)).content
    assert "PAUSED" in (await cmd(discord_stub, "list")).content
    assert subscriptions(newsbot)[0][2] == 1
    assert "Resumed" in (await cmd(discord_stub, "resume", channel=DIGEST_CHANNEL_ID)).content
    assert subscriptions(newsbot)[0][2] == 0


async def test_refusals_store_nothing(
    discord_stub: DiscordStub, newsbot: NewsbotProcess, articles: Path
):
    await newsbot.start(articles_dir=articles, ingested=True)
    member = await cmd(discord_stub, "subscribe", user=MEMBER, channel=DIGEST_CHANNEL_ID)
    assert member.ephemeral and "Manage Server" in member.content
    no_send = await cmd(discord_stub, "subscribe", channel=NO_SEND_CHANNEL_ID)
    assert "Send Messages" in no_send.content
    no_embed = await cmd(discord_stub, "subscribe", channel=NO_EMBED_CHANNEL_ID)
    assert "Embed Links" in no_embed.content
    cron = await cmd(discord_stub, "subscribe", channel=DIGEST_CHANNEL_ID, schedule="61 * * * *")
    assert cron.ephemeral and "Nothing was changed" in cron.content
    zone = await cmd(discord_stub, "subscribe", channel=DIGEST_CHANNEL_ID, timezone="Mars/Base")
    assert zone.ephemeral and "time zone" in zone.content
    assert subscriptions(newsbot) == []
    assert discord_stub.messages(DIGEST_CHANNEL_ID) == []


@pytest.mark.minutes
async def test_scheduled_run_with_faults_and_gateway_drop(
    discord_stub: DiscordStub, newsbot: NewsbotProcess, articles: Path
):
    """Cron every minute fires by itself; a 429 and a 503 on the channel, and a gateway drop
    while it runs, still end with the due article posted exactly once."""
    await newsbot.start(articles_dir=articles, ingested=True)
    await cmd(discord_stub, "subscribe", channel=DIGEST_CHANNEL_ID, schedule="* * * * *")
    discord_stub.fail("POST", POSTS, 429, retry_after=0.5)
    discord_stub.fail("POST", POSTS, 503)
    discord_stub.delay("POST", POSTS, 1.0)
    await discord_stub.wait_for_request("POST", POSTS, timeout=90)
    await discord_stub.drop_gateway()
    await discord_stub.wait_for_message(DIGEST_CHANNEL_ID, timeout=60)
    await newsbot.wait_for_log(r"digest for channel \d+: run \d+ posted", timeout=30)
    assert_once(discord_stub, {COINDESK})


async def test_kill_between_accept_and_record_then_restart(
    discord_stub: DiscordStub, newsbot: NewsbotProcess, articles: Path
):
    await newsbot.start(articles_dir=articles, ingested=True)
    for n in range(12):  # two messages' worth
        article_file(articles, f"extra{n}", f"Extra story {n}", quality=90)
    ingest = await discord_stub.invoke("newsbot ingest", {}, guild_id=GUILD_ID, user=OWNER)
    await ingest.wait(timeout=30)
    await cmd(discord_stub, "subscribe", channel=DIGEST_CHANNEL_ID, max_items=25)
    # Discord takes the first message; the bot dies before it can record the answer
    discord_stub.delay("POST", POSTS, 10.0, response=True)
    await discord_stub.invoke(
        "digest now", {"channel": DIGEST_CHANNEL_ID}, guild_id=GUILD_ID, user=ADMIN
    )
    await discord_stub.wait_for_message(DIGEST_CHANNEL_ID, timeout=30)
    await newsbot.kill()
    [(confirmed,)] = newsbot.query("SELECT count(*) FROM deliveries")
    assert confirmed == 0  # the window was hit: Discord has it, the ledger does not
    await newsbot.start()
    await newsbot.wait_for_log(r"resumed digest for channel \d+: delivered", timeout=30)
    expected = {COINDESK} | {f"Extra story {n}" for n in range(12)}
    assert_once(discord_stub, expected)
    # and the next run has nothing left to post
    again = await cmd(discord_stub, "now", channel=DIGEST_CHANNEL_ID)
    assert "Nothing new" in again.content
    await asyncio.sleep(0.2)
    assert_once(discord_stub, expected)
