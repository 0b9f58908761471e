"""Sharded bot processes end to end (DESIGN §9) against the stub's 4 guilds, two per shard."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.discord_stub import DiscordStub, GuildSpec, StubError
from tests.discord_stub.process import NewsbotProcess
from tests.discord_stub.world import (
    MEMBER,
    SHARD_COUNT,
    SHARDED_GUILDS,
    sharded_guilds,
    sharded_news_channel,
)


@pytest.fixture
def stub_guilds() -> list[GuildSpec]:
    return sharded_guilds()


@pytest.fixture
def stub_options() -> dict[str, Any]:
    return {"shard_count": SHARD_COUNT}


async def topic(stub: DiscordStub, guild: int) -> str:
    reply = await stub.invoke(
        "news topic",
        {"topic": "AI"},
        guild_id=guild,
        channel_id=sharded_news_channel(guild),
        user=MEMBER,
    )
    await reply.wait(timeout=30)
    return reply.content + " ".join(str(e.get("title")) for e in reply.embeds)


async def test_one_process_on_shard_0_serves_the_guilds_of_shard_0_only(
    discord_stub: DiscordStub, newsbot: NewsbotProcess, articles: Path
):
    await newsbot.start(
        articles_dir=articles, ingested=True, args=("--shard-count", "2", "--shard-ids", "0")
    )
    await newsbot.wait_for_log(r"ready as .* in 2 guilds \(shards 0 of 2\)")
    [session] = [s for s in discord_stub.gateway.sessions.values() if s.connected]
    assert session.shard == (0, SHARD_COUNT)
    for guild, shard in SHARDED_GUILDS.items():
        if shard == 0:
            assert await topic(discord_stub, guild)
        else:  # nobody serves shard 1
            with pytest.raises(StubError, match="no bot connected"):
                await topic(discord_stub, guild)
    assert "leadership taken" in newsbot.log  # SQLite: the one process leads
