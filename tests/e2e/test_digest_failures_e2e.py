"""/digest when channels go wrong: another guild's channel, a deleted channel, a lost permission.

Each ends with what an admin sees in /digest list and what was (not) posted.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from tests.discord_stub import DiscordStub, Reply
from tests.discord_stub import permissions as P
from tests.discord_stub.process import NewsbotProcess
from tests.discord_stub.specs import ChannelSpec, GuildSpec, OverwriteSpec
from tests.discord_stub.world import ADMIN, DIGEST_CHANNEL_ID, GUILD_ID, OWNER, default_guild
from tests.fixtures.seeds import COINDESK

OTHER_GUILD_ID = 555
OTHER_CHANNEL_ID = 556


@pytest.fixture
def stub_guilds() -> list[GuildSpec]:
    other = GuildSpec(
        id=OTHER_GUILD_ID,
        name="Somebody else's guild",
        owner_id=OWNER.id,
        channels=[ChannelSpec(id=OTHER_CHANNEL_ID, name="their-news", position=0)],
    )
    return [default_guild(), other]


async def cmd(stub: DiscordStub, name: str, **options: Any) -> Reply:
    reply = await stub.invoke(f"digest {name}", options, guild_id=GUILD_ID, user=ADMIN)
    return await reply.wait(timeout=30)


def stored(newsbot: NewsbotProcess) -> list[tuple[Any, ...]]:
    return newsbot.query(
        "SELECT channel_id, paused, consecutive_failures, last_error FROM subscriptions"
    )


async def test_channel_of_another_guild_is_refused(
    discord_stub: DiscordStub, newsbot: NewsbotProcess, articles: Path
):
    await newsbot.start(articles_dir=articles)
    reply = await cmd(discord_stub, "subscribe", channel=OTHER_CHANNEL_ID)
    assert reply.ephemeral and "this server" in reply.content, reply.content
    assert stored(newsbot) == []
    assert discord_stub.messages(OTHER_CHANNEL_ID) == []


@pytest.mark.minutes
async def test_deleted_channel_marks_a_scheduled_run_failing(
    discord_stub: DiscordStub, newsbot: NewsbotProcess, articles: Path
):
    await newsbot.start(articles_dir=articles, ingested=True)
    reply = await cmd(discord_stub, "subscribe", channel=DIGEST_CHANNEL_ID, schedule="* * * * *")
    assert "Subscribed" in reply.content, reply.content
    await discord_stub.delete_channel(DIGEST_CHANNEL_ID)
    # The next minute's run finds no channel: the subscription says why, and nothing is lost.
    deadline = asyncio.get_running_loop().time() + 90
    while asyncio.get_running_loop().time() < deadline:
        [(_, paused, failures, last_error)] = stored(newsbot)
        if failures:
            break
        await asyncio.sleep(1)
    assert failures == 1 and last_error and paused == 0, (paused, failures, last_error)
    listing = await cmd(discord_stub, "list")
    assert last_error[:40] in listing.content, listing.content
    assert discord_stub.messages(DIGEST_CHANNEL_ID) == []
    # /digest now on the missing channel is refused at once with the reason.
    now = await cmd(discord_stub, "now", channel=DIGEST_CHANNEL_ID)
    assert now.ephemeral and now.content


async def test_lost_permission_is_named_and_delivery_works_once_granted(
    discord_stub: DiscordStub, newsbot: NewsbotProcess, articles: Path
):
    await newsbot.start(articles_dir=articles, ingested=True)
    await cmd(discord_stub, "subscribe", channel=DIGEST_CHANNEL_ID)
    await discord_stub.set_overwrites(
        DIGEST_CHANNEL_ID, [OverwriteSpec(id=GUILD_ID, type=0, deny=P.EMBED_LINKS)]
    )
    refused = await cmd(discord_stub, "now", channel=DIGEST_CHANNEL_ID)
    assert refused.ephemeral and "Embed Links" in refused.content, refused.content
    assert discord_stub.messages(DIGEST_CHANNEL_ID) == []
    # Granted again: the due article arrives, once.
    await discord_stub.set_overwrites(DIGEST_CHANNEL_ID, [])
    await cmd(discord_stub, "now", channel=DIGEST_CHANNEL_ID)
    assert discord_stub.embed_titles(DIGEST_CHANNEL_ID) == [COINDESK]
